// The terminal object's diff and apply (protocol §8.2).

#include "mosh2/session/terminal_state.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <variant>
#include <vector>

#include "mosh2/terminal/display.hpp"
#include "mosh2/terminal/limits.hpp"
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
    auto frame = terminal::new_frame(from, to, terminal::terminal_profile::wire(extended_styles_), true);
    if (!frame.empty()) m.instructions.emplace_back(transport::host_bytes{std::move(frame)});
  }
  return m.instructions.empty() ? bytes{} : transport::encode(m);
}

namespace {

// True when a later resize follows instruction i with no screen output in between:
// such a resize would be undone at once, so only the last of a run is applied (the
// server treats the client's resizes the same way, protocol §8.4).
bool superseded(const std::vector<transport::host_instruction>& insts, std::size_t i) {
  for (std::size_t j = i + 1; j < insts.size(); ++j) {
    if (std::holds_alternative<transport::resize>(insts[j])) return true;
    if (auto* hb = std::get_if<transport::host_bytes>(&insts[j]); hb && !hb->hoststring.empty())
      return false;
  }
  return false;
}

// The largest screen a host message may leave the client with at any point: the one it
// starts from or any size it names (clamped as the emulator clamps it).
struct screen_extent {
  std::uint64_t cells;
  std::uint64_t rows;
};
screen_extent largest_screen(const terminal::framebuffer& fb, const std::vector<transport::host_instruction>& insts) {
  auto extent_of = [](int width, int height) {
    return screen_extent{std::uint64_t(width) * std::uint64_t(height), std::uint64_t(height)};
  };
  screen_extent e = extent_of(fb.width(), fb.height());
  for (const auto& inst : insts) {
    if (const auto* r = std::get_if<transport::resize>(&inst); r && r->width >= 1 && r->height >= 1) {
      const auto size = terminal::clamp_screen_size(r->width, r->height);
      const auto here = extent_of(size.width, size.height);
      e = {std::max(e.cells, here.cells), std::max(e.rows, here.rows)};
    }
  }
  return e;
}

}  // namespace

std::uint64_t host_message_work_limit(std::uint64_t bytes, std::uint64_t cells, std::uint64_t rows) {
  return 16 * std::min(bytes, 4 * cells) + 16 * cells + 2 * rows * rows;
}

bool terminal_state::apply_diff(bytes_view diff) {
  last_apply_work_ = 0;
  auto m = transport::decode_host_message(diff);
  if (!m) return false;
  // A host message may cost only so much work (host_message_work_limit, for the screens
  // it touches); past that it is refused whole, and the state goes back to what it was.
  // The copy is cheap: rows are shared until written.
  const terminal::emulator before = emulator_;
  const std::uint64_t before_ack = echo_ack_;
  const auto screen = largest_screen(emulator_.fb(), m->instructions);
  const std::uint64_t start = emulator_.work();
  emulator_.set_work_limit(start + host_message_work_limit(diff.size(), screen.cells, screen.rows));
  for (std::size_t i = 0; i < m->instructions.size(); ++i) {
    auto& inst = m->instructions[i];
    if (auto* hb = std::get_if<transport::host_bytes>(&inst)) {
      emulator_.write(hb->hoststring);
    } else if (auto* r = std::get_if<transport::resize>(&inst)) {
      if (!superseded(m->instructions, i)) emulator_.resize(r->width, r->height);
    } else if (auto* a = std::get_if<transport::echo_ack>(&inst)) {
      echo_ack_ = std::max(echo_ack_, a->echo_ack_num);
    }
    if (emulator_.work_limit_reached()) break;
  }
  const bool refused = emulator_.work_limit_reached();
  emulator_.clear_work_limit();
  last_apply_work_ = emulator_.work() - start;
  if (refused) {
    emulator_ = before;
    echo_ack_ = before_ack;
    return false;
  }
  // A hoststring is a screen diff, never a question: drop any reply it provoked.
  (void)emulator_.take_replies();
  return true;
}

std::size_t terminal_state::approx_bytes() const {
  const auto& fb = emulator_.fb();
  // Every row counted as if unshared: an upper bound, which is what a budget needs.
  const auto cells = static_cast<std::size_t>(fb.width()) * static_cast<std::size_t>(fb.height());
  const std::size_t screens = emulator_.has_hidden_screen() ? 2 : 1;
  return sizeof(*this) + screens * (cells * sizeof(terminal::cell) +
                                    static_cast<std::size_t>(fb.height()) * sizeof(terminal::row)) +
         (fb.title().size() + fb.icon_name().size()) * sizeof(char32_t) + fb.clipboard().size() +
         emulator_.parser_heap_bytes();
}

}  // namespace mosh2::session
