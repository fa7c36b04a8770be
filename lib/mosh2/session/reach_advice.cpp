#include "mosh2/session/reach_advice.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace mosh2::session {
namespace {

/// Length in bytes of the UTF-8 sequence led by `lead` (1 for a stray byte).
std::size_t sequence_length(unsigned char lead) {
  if (lead >= 0xf0) return 4;
  if (lead >= 0xe0) return 3;
  if (lead >= 0xc0) return 2;
  return 1;
}

/// Code points in `s`, the columns the paragraph's names take.
std::size_t columns(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); i += sequence_length(static_cast<unsigned char>(s[i]))) ++n;
  return n;
}

/// The first `cols` code points of `s`.
std::string_view first_columns(std::string_view s, std::size_t cols) {
  std::size_t i = 0;
  for (; i < s.size() && cols > 0; --cols) i += sequence_length(static_cast<unsigned char>(s[i]));
  return s.substr(0, std::min(i, s.size()));
}

}  // namespace

std::string udp_silence_paragraph(const udp_silence& s) {
  const auto where = fmt::format("UDP port {} on {}", s.port, s.address);
  const auto open = fmt::format("Allow UDP {} on {} in the host's firewall or cloud security group", s.port, s.address);
  if (s.ssh_host.empty())
    return fmt::format("mosh2: nothing came back from {} in {} s. Is the server running there? If it is, UDP "
                       "is blocked on the way: {}.",
                       where, s.waited.count(), open);
  return fmt::format("mosh2: nothing came back from {} in {} s. ssh to {} worked, so the host is up and the "
                     "server started: UDP is blocked on the way. {} (or pick an open port with -p).",
                     where, s.waited.count(), s.ssh_host, open);
}

std::vector<std::string> wrap_words(std::string_view text, std::size_t width) {
  std::vector<std::string> lines;
  if (width == 0) return lines;
  std::string line;
  std::size_t line_cols = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    std::size_t end = text.find(' ', i);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(i, end - i);
    i = end;
    if (word.empty()) break;
    if (line_cols > 0 && line_cols + 1 + columns(word) > width) {
      lines.push_back(std::move(line));
      line.clear();
      line_cols = 0;
    }
    while (columns(word) > width) {  // a word longer than a line is cut
      if (line_cols > 0) {
        lines.push_back(std::move(line));
        line.clear();
        line_cols = 0;
      }
      const auto head = first_columns(word, width);
      lines.emplace_back(head);
      word.remove_prefix(head.size());
    }
    if (word.empty()) continue;
    if (line_cols > 0) {
      line += ' ';
      ++line_cols;
    }
    line += word;
    line_cols += columns(word);
  }
  if (line_cols > 0) lines.push_back(std::move(line));
  return lines;
}

void draw_paragraph(terminal::framebuffer& fb, int first_row, std::string_view text) {
  if (first_row < 0 || fb.width() < 1) return;
  const auto lines = wrap_words(text, static_cast<std::size_t>(fb.width()));
  terminal::renditions plain;
  for (std::size_t n = 0; n < lines.size(); ++n) {
    const int r = first_row + static_cast<int>(n);
    if (r >= fb.height()) break;
    auto& row = fb.mutable_row(r);
    row.wrap = false;
    for (auto& c : row.cells) c.reset(plain);
    const std::string_view line = lines[n];
    std::size_t col = 0;
    for (std::size_t i = 0; i < line.size() && col < row.cells.size();) {
      const std::size_t len = std::min(sequence_length(static_cast<unsigned char>(line[i])), line.size() - i);
      row.cells[col++].set_text(line.substr(i, len));
      i += len;
    }
  }
}

}  // namespace mosh2::session
