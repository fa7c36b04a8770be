#pragma once
// The history: lines that scrolled off the top of the main screen, numbered from the
// session start, kept in a bounded ring in their encoded form (docs/terminal.md,
// "History"). Also the encoding of a run of lines for the wire and the bytes that print
// history lines into a local terminal's scrollback.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mosh2/terminal/framebuffer.hpp"
#include "mosh2/terminal/terminal_profile.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::terminal {

/// Lines the server keeps unless told otherwise.
inline constexpr std::size_t default_history_lines = 10000;
/// The most lines a history may be configured to keep.
inline constexpr std::size_t max_history_lines = 1000000;

/// One history line: its cells up to the last one that is not a default blank (those
/// after it are left out), and whether the text continued on the next line (autowrap).
struct history_line {
  std::vector<cell> cells;
  bool wrap = false;
  bool operator==(const history_line&) const = default;
};

/// The lines that scrolled off, as a ring of encoded lines. Once the ring is full a
/// new line reuses the storage of the oldest, so the scroll path allocates nothing in a
/// steady state (a line of up to 31 encoded bytes, a `seq` line of up to 23
/// characters, needs no heap block at all). Memory: at most `limit` slots of
/// sizeof(stored) bytes, each with a block of at most max_encoded_line bytes, and one
/// scratch line of as much.
class history {
public:
  explicit history(std::size_t limit = default_history_lines);

  /// Lines kept at most (0: none are kept, but lines are still numbered).
  std::size_t limit() const { return limit_; }
  /// Changes the bound (cut to max_history_lines), dropping the oldest lines if needed.
  void set_limit(std::size_t limit);

  /// Appends a copy of `r` as the next line.
  void push(const row& r);

  /// Number of the oldest kept line (== end() when none is kept).
  std::uint64_t first() const { return end_ - count_; }
  /// Number the next line will get: how many lines scrolled off since the start.
  std::uint64_t end() const { return end_; }
  /// Lines kept.
  std::size_t size() const { return count_; }

  /// The encoded form of kept line `n` (first() <= n < end()), as in encode_history.
  std::string_view encoded(std::uint64_t n) const;
  /// Kept line `n`, decoded.
  history_line line(std::uint64_t n) const;

  /// What a consumer that wants every line from number `from` on can have.
  struct span_from {
    std::uint64_t first = 0;    ///< the first line it gets
    std::uint64_t skipped = 0;  ///< lines from `from` on that are no longer kept
    std::uint64_t end = 0;      ///< one past the last line it gets
  };
  span_from from(std::uint64_t from) const;

  /// A run of kept lines from `from` on (first the line numbered span_from::first), in
  /// the encoding of encode_history: as many as fit in `max_bytes` (at least one when
  /// any is kept and `max_lines` > 0), at most `max_lines`.
  std::string encode_from(std::uint64_t from, std::size_t max_lines, std::size_t max_bytes) const;

  /// Bytes held by the encoded lines (capacity, so what the ring really costs).
  std::size_t bytes() const;

  /// Lines numbered below `n` were handed to a consumer (the history stream): they are
  /// never taken back. Only raises the mark.
  void settle(std::uint64_t n) { settled_ = std::max(settled_, n); }
  /// The oldest line that may still be taken back (drop_newest): kept, and not settled.
  std::uint64_t withdrawable_from() const { return std::max(settled_, first()); }
  /// Takes back the `n` newest lines (at most those from withdrawable_from() on): they
  /// are gone and end() goes back by that many, so the next lines reuse their numbers.
  /// For a reflow, which re-wraps them with the screen (docs/terminal.md, "Reflow").
  void drop_newest(std::size_t n);

private:
  // One encoded line: in place when short (a `seq` line is 13 bytes), else in a heap
  // block that the slot keeps for the next line written into it.
  struct stored {
    std::uint32_t size = 0;
    std::uint32_t big_capacity = 0;
    std::array<char, 31> small{};
    bool in_big = false;
    std::unique_ptr<char[]> big;
    std::string_view view() const;
    /// Encodes `cells` (already cut after the last cell that is not a default blank) as
    /// this line; `scratch` is the history's buffer for a line too long for the slot.
    void assign(std::span<const cell> cells, bool wrap, std::vector<char>& scratch);
    /// Encodes cells known to be plain ASCII in one rendition (row::plain) as this line.
    void assign_plain(std::span<const cell> cells, bool wrap);
    void reserve(std::size_t n);
  };

  std::size_t limit_;
  std::vector<stored> ring_;  ///< grows up to limit_ slots, then wraps around
  std::size_t head_ = 0;           ///< index of the oldest line once the ring wrapped
  std::uint64_t end_ = 0;
  std::size_t count_ = 0;
  std::uint64_t settled_ = 0;  ///< see settle()
  std::vector<char> scratch_;  ///< see stored::assign

  // The renditions of the last line encode_plain wrote, and its header for them.
  struct plain_header {
    std::uint64_t lo = 0, hi = 0;  ///< the renditions' fields as two words (history.cpp)
    std::array<char, 8> bytes{};   ///< a line header with these renditions in its run
  };
  plain_header plain_;  ///< starts as renditions{}, whose fields are all zero
  /// With known_plain, the cells are plain ASCII in cells[0]'s renditions (row::plain).
  template <bool known_plain>
  std::size_t encode_plain(std::span<const cell> cells, bool wrap, char* out);
  stored& grow();
};

/// Encoding format version written by encode_history; decode_history accepts only it.
inline constexpr std::uint8_t history_encoding_version = 1;
/// Bytes one encoded line can take at most: a row of the widest screen, every cell a
/// rendition change and a full cell of text.
inline constexpr std::size_t max_encoded_line = 8 + std::size_t{max_screen_side} * (2 + 14 + 3 + cell::max_bytes);

/// Appends the encoded form of one line (the cells of `cells` up to the last that is not
/// a default blank, and `wrap`) to `out`.
void encode_history_line(std::span<const cell> cells, bool wrap, std::string& out);

/// A run of consecutive history lines: `first` is the number of lines.front().
struct history_run {
  std::uint64_t first = 0;
  std::vector<history_line> lines;
  bool operator==(const history_run&) const = default;
};

/// Bytes of a run (docs/terminal.md, "History encoding").
std::string encode_history(std::uint64_t first, std::span<const history_line> lines);

enum class history_error : std::uint8_t {
  truncated,       ///< the bytes end inside a field
  bad_version,     ///< not a version this decoder knows
  too_many_lines,  ///< more lines than max_decoded_lines
  bad_line,        ///< a line breaks a rule of the encoding (flags, counts, lengths)
  bad_text,        ///< cell text that is not printable UTF-8
  trailing_bytes,  ///< bytes after the last line
};
/// A short English name of the error, for logs.
std::string_view describe(history_error e);

/// Lines one run may hold at most; a bigger count is refused before anything is read.
inline constexpr std::size_t max_decoded_lines = 100000;

/// Decodes a run. Never trusts the input: every count is checked against the bytes
/// left, so the work and memory are bounded by the input's size (at most one cell per
/// input byte); anything malformed is an error, never a partial run.
result<history_run, history_error> decode_history(std::string_view bytes);

/// Bytes that print `lines` into a local terminal at the cursor, each line ended by
/// CR LF unless it wrapped (so the local terminal joins and re-wraps it), with the SGR
/// the profile can show, ending with renditions reset. Written at the bottom of the
/// screen, the lines scroll up into the terminal's own scrollback.
std::string render_history(std::span<const history_line> lines, const terminal_profile& profile);

/// The line that stands for `n` history lines that were never received.
std::string render_skipped(std::uint64_t n);

}  // namespace mosh2::terminal
