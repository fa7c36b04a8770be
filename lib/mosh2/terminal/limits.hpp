#pragma once
// The largest screen either end of a session accepts, in one place: the emulator, the
// client's state, the server's resize handling and the window-size queries all clamp
// with clamp_screen_size, so no path can build a screen the others would refuse.

#include <algorithm>
#include <cstdint>

namespace mosh2::terminal {

/// Columns or rows on one side of the screen, at most.
inline constexpr int max_screen_side = 4096;

/// Cells (width * height) on the screen, at most. Chosen together with the transport's
/// 4 MiB instruction cap (transport::max_decompressed_size, which stock Mosh enforces
/// as well): a full repaint of the worst screen of this many cells (every cell a
/// different true-colour rendition, a 4-byte character and 28 bytes of combining
/// marks: 75 bytes a cell measured, 3.43 of the 4 MiB at this cap), a full title and a
/// clipboard still fits in one instruction. test/session/terminal_state_test.cpp ("a
/// full repaint of the largest allowed screen fits in one instruction") proves it.
/// 46,000 cells is e.g. 383 x 120 or 230 x 200; a million cells would need 75 MiB.
inline constexpr std::int64_t max_screen_cells = 46000;

/// A screen size in columns and rows.
struct screen_size {
  int width = 80;
  int height = 24;
  constexpr bool operator==(const screen_size&) const = default;
};

/// True when a screen of `width` x `height` is within the limits (and not empty).
constexpr bool screen_size_allowed(std::int64_t width, std::int64_t height) {
  return width >= 1 && height >= 1 && width <= max_screen_side && height <= max_screen_side &&
         width * height <= max_screen_cells;
}

/// The nearest allowed size: each side cut to 1..4096, then rows cut until the cell
/// count fits (a wide window keeps its width, as a terminal keeps its columns). The
/// product is computed in 64 bits, so any two ints are safe inputs.
constexpr screen_size clamp_screen_size(std::int64_t width, std::int64_t height) {
  const std::int64_t w = std::clamp<std::int64_t>(width, 1, max_screen_side);
  std::int64_t h = std::clamp<std::int64_t>(height, 1, max_screen_side);
  h = std::min(h, max_screen_cells / w);
  return {static_cast<int>(w), static_cast<int>(h)};
}

/// The work (framebuffer::work: cells written or copied, rows moved) that one host
/// message of `bytes` bytes may cost the client before it is refused. A frame diff
/// from a real server costs about a cell per byte plus at most one screen of copies
/// and erases, and one line feed per row at the bottom of a full screen (stock Mosh
/// scrolls that way: rows squared); the budget allows several times that, while a
/// hostile server's 4 MiB of REP, DECALN, line feeds or resizes cannot cost more.
constexpr std::uint64_t host_message_work_budget(std::uint64_t bytes) {
  return 16 * bytes + 16 * static_cast<std::uint64_t>(max_screen_cells) +
         2 * std::uint64_t{max_screen_side} * max_screen_side;
}

static_assert(max_screen_cells >= max_screen_side, "a full-width row must fit");
static_assert(clamp_screen_size(max_screen_side, max_screen_side).height >= 1);

}  // namespace mosh2::terminal
