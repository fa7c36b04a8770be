#pragma once
// The stage both programs run on each UDP socket: read what the kernel has queued,
// open it through the link, and pass complete instructions to the session's pipe.

#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>

#include "mosh2/session/events.hpp"
#include "mosh2/session/link_core.hpp"
#include "mosh2/session/udp_socket.hpp"
#include "mosh2/util/io.hpp"

namespace mosh2::session {

/// Datagrams read per wake-up before other stages get a turn.
inline constexpr int receive_burst = 64;

/// The default for receive_datagrams's `on_drop`: nothing beyond the link's counters.
struct ignore_drops {
  void operator()(const received_datagram&) const {}
};

/// Runs until the socket is closed or cancelled, or the pipe is closed. `on_authentic`
/// sees every datagram that passed the datagram layer, before its instruction (if it
/// completed one) goes to `events` as `Event{peer_instruction}`; the server uses it to
/// follow a roaming client. Drops are counted by the link, never thrown; `on_drop`
/// sees each dropped datagram after the link counted it (the server's reject log).
template <class Event, class Pipe, class OnAuthentic, class OnDrop = ignore_drops>
asio::awaitable<void> receive_datagrams(asio::ip::udp::socket& socket, link_core& link, Pipe& events,
                                        OnAuthentic on_authentic, OnDrop on_drop = {}) {
  while (events.is_open()) {
    auto [ec] = co_await socket.async_wait(asio::ip::udp::socket::wait_read, io::use_nothrow);
    if (ec || !socket.is_open()) co_return;
    for (int n = 0; n < receive_burst; ++n) {
      auto d = receive_now(socket);
      if (!d) break;
      auto arrival = link.receive(d->payload, steady::now(), d->truncated, d->congestion);
      if (!arrival) {
        on_drop(*d);  // reject log hook (issue 12)
        continue;
      }
      on_authentic(*d, *arrival);
      if (!arrival->instruction) continue;
      Event e{peer_instruction(std::move(*arrival->instruction))};
      // A full pipe means the session is far behind: drop, and SSP retransmits.
      if (!events.try_send(asio::error_code{}, std::move(e)) && !events.is_open()) co_return;
    }
  }
}

}  // namespace mosh2::session
