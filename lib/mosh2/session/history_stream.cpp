// The history stream. See history_stream.hpp.

#include "mosh2/session/history_stream.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

namespace mosh2::session {

namespace {

// The line count in a run's header (version, first, count; docs/terminal.md, "History
// encoding"), read without decoding the lines.
std::uint64_t run_count(std::string_view run) {
  std::size_t i = 1;
  auto varint = [&]() {
    std::uint64_t v = 0;
    for (int shift = 0; i < run.size() && shift < 64; shift += 7) {
      const auto b = static_cast<unsigned char>(run[i++]);
      v |= std::uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80u)) break;
    }
    return v;
  };
  (void)varint();
  return varint();
}

}  // namespace

void history_sender::restart(const terminal::history& h, std::size_t recent) {
  next_ = h.end() - std::min<std::uint64_t>(recent, h.size());
}

void history_sender::pump(const terminal::history& h, ssp::append_log& log, std::size_t window) {
  // Bounded by the window, and by the lines there are: each round sends at least one.
  while (log.held_data_bytes() < window && next_ < h.end()) {
    const auto span = h.from(next_);
    if (span.first == span.end) {
      // Everything from next_ on was dropped by the bound and nothing newer is kept.
      next_ = span.end;
      break;
    }
    const std::size_t room = std::min(history_item_bytes, window - log.held_data_bytes());
    std::string run = h.encode_from(span.first, h.size(), room);
    const std::uint64_t count = run_count(run);
    if (count == 0) break;
    log.append(bytes(std::move(run)), span.skipped);
    next_ = span.first + count;
  }
}

namespace {

// Rows a line of `cols` columns takes from column `col` of a terminal `width` wide,
// and where the cursor ends; the terminal wraps before a character past the edge.
void advance(std::size_t cols, std::size_t width, std::size_t& col, std::size_t& rows) {
  col += cols;
  while (col > width) {
    col -= width;
    ++rows;
  }
}

}  // namespace

std::string history_writer::take(const ssp::log_delivery& items, const terminal::terminal_profile& profile,
                                 int width, int height) {
  const std::size_t w = static_cast<std::size_t>(std::max(width, 1));
  const std::size_t h = static_cast<std::size_t>(std::max(height, 1));
  std::string text;
  std::size_t rows = 0;  // rows finished (ended by a line feed)
  std::size_t col = 0;   // columns written on the current row
  auto end_row = [&] {
    text += "\r\n";
    ++rows;
    col = 0;
  };
  for (const auto& item : items.items) {
    auto run = terminal::decode_history(item.data);
    if (!run) {
      ++bad_items_;
      continue;
    }
    if (item.skipped_before > 0) {
      if (col > 0) end_row();
      const std::string marker = terminal::render_skipped(item.skipped_before);
      text += marker;
      rows += 1;
      skipped_ += item.skipped_before;
    }
    if (run->lines.empty()) continue;
    text += terminal::render_history(run->lines, profile);
    for (const auto& line : run->lines) {
      advance(line.cells.size(), w, col, rows);
      if (!line.wrap) {
        ++rows;
        col = 0;
      }
    }
    lines_ += run->lines.size();
  }
  if (text.empty()) return {};
  // The last line may have wrapped into a row the next item would continue; the
  // repaint comes in between, so it ends here.
  if (col > 0) end_row();
  // From a blank screen with the cursor home, `rows` rows were printed; those that did
  // not scroll off yet (all but the cursor's row once the screen filled) are scrolled
  // off from the bottom row.
  const std::size_t on_screen = std::min(rows, h - 1);
  std::string out = blank_screen();
  out += text;
  out += fmt::format("\033[{};1H", h);
  out.append(on_screen, '\n');
  return out;
}

}  // namespace mosh2::session
