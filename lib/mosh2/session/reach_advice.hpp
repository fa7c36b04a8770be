#pragma once
// What the client tells the user when UDP gets no answer: which port on which address
// it tried, whether ssh reached the host (so the host is up and the server started),
// and what to open. Pure: text in, text and framebuffer rows out.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mosh2/terminal/framebuffer.hpp"

namespace mosh2::session {

/// The default wait for a first answer over UDP before the client says what is wrong.
inline constexpr std::chrono::seconds default_udp_timeout{5};

struct udp_silence {
  std::string address;         ///< the server's numeric address the client sent to
  std::uint16_t port = 0;      ///< the server's UDP port
  std::string ssh_host;        ///< what ssh reached to start the server; empty = unknown
  std::chrono::seconds waited{default_udp_timeout};
};

/// One short paragraph, without line breaks: what was tried, what worked, what to open.
std::string udp_silence_paragraph(const udp_silence& s);

/// `text` broken at blanks into lines of at most `width` columns (a longer word is cut).
/// The text is ASCII apart from the names in it, which count one column per code point.
std::vector<std::string> wrap_words(std::string_view text, std::size_t width);

/// Draws `text`, wrapped to the frame's width, from row `first_row` down, over what
/// is there (rows past the bottom are left out). Plain renditions, so it reads as a
/// message rather than as the session's contents.
void draw_paragraph(terminal::framebuffer& fb, int first_row, std::string_view text);

}  // namespace mosh2::session
