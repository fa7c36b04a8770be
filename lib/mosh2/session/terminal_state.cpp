// The terminal object's diff and apply (protocol §8.2).

#include "mosh2/session/terminal_state.hpp"

#include "mosh2/terminal/display.hpp"
#include "mosh2/transport/messages.hpp"

namespace mosh2::session {

bytes terminal_state::diff_from(const terminal_state& older) const {
  transport::host_message m;
  if (echo_ack_ != older.echo_ack_) m.instructions.emplace_back(transport::echo_ack{echo_ack_});
  const auto& from = older.emulator_.fb();
  const auto& to = emulator_.fb();
  if (!(from == to)) {
    if (from.width() != to.width() || from.height() != to.height())
      m.instructions.emplace_back(transport::resize{to.width(), to.height()});
    auto frame = terminal::new_frame(from, to, terminal::terminal_profile::wire(), true);
    if (!frame.empty()) m.instructions.emplace_back(transport::host_bytes{std::move(frame)});
  }
  return m.instructions.empty() ? bytes{} : transport::encode(m);
}

bool terminal_state::apply_diff(bytes_view diff) {
  auto m = transport::decode_host_message(diff);
  if (!m) return false;
  for (auto& inst : m->instructions) {
    if (auto* hb = std::get_if<transport::host_bytes>(&inst)) {
      emulator_.write(hb->hoststring);
    } else if (auto* r = std::get_if<transport::resize>(&inst)) {
      if (r->width > 0 && r->height > 0 && r->width <= 4096 && r->height <= 4096) emulator_.resize(r->width, r->height);
    } else if (auto* a = std::get_if<transport::echo_ack>(&inst)) {
      echo_ack_ = std::max(echo_ack_, a->echo_ack_num);
    }
  }
  // A hoststring is a screen diff, never a question: drop any reply it provoked.
  (void)emulator_.take_replies();
  return true;
}

}  // namespace mosh2::session
