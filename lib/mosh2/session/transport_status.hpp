#pragma once
// The transport's part of a status (link, SSP, agreed extensions, rekeys), which both
// cores fill the same way.

#include "mosh2/session/transport_core.hpp"
#include "mosh2/status/session_status.hpp"

namespace mosh2::session {

template <class Local, class Remote>
void fill_transport_status(status::session_status& s, const transport_core<Local, Remote>& t) {
  status::fill_link_status(s, t.link());
  status::fill_ssp_status(s, t.ssp());
  s.extensions.clear();
  for (auto id : t.extensions().agreed_set()) s.extensions.push_back(extension::name(id));
  s.rekeys = t.rekeys();
  const auto senders = t.sender_totals();
  s.retransmissions = senders.retransmissions;
  s.reliable_path = {t.reliable_now(), t.ssp().outgoing().stats().reliable_entered, senders.path_resyncs,
                     senders.reliable_retransmissions, senders.stall_resyncs};
}

}  // namespace mosh2::session
