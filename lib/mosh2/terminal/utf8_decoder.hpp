#pragma once
// Incremental UTF-8 decoder for host output: one U+FFFD per maximal ill-formed
// subsequence (Unicode §3.9 "best practice"), state kept across write() calls; and
// the one encoder the terminal layer (and its tests) use for the way back.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mosh2::terminal {

/// Writes the UTF-8 form of `c` (a valid scalar value) to `out`; returns its length.
inline std::size_t encode_utf8(char32_t c, char* out) {
  if (c < 0x80) {
    out[0] = static_cast<char>(c);
    return 1;
  }
  if (c < 0x800) {
    out[0] = static_cast<char>(0xC0 | (c >> 6));
    out[1] = static_cast<char>(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (c >> 12));
    out[1] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (c & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (c >> 18));
  out[1] = static_cast<char>(0x80 | ((c >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (c & 0x3F));
  return 4;
}

/// Appends the UTF-8 form of `c` to `out`.
inline void append_utf8(std::string& out, char32_t c) {
  char buf[4];
  out.append(buf, encode_utf8(c, buf));
}

/// A code point string as UTF-8.
inline std::string to_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) append_utf8(out, c);
  return out;
}

/// Decodes the multi-byte sequence at `p` when it is well-formed (Unicode Table 3-7)
/// and lies entirely before `end`: stores the code point in `cp` and returns the length
/// (2-4). Returns 0, touching nothing, for anything else, which is left to utf8_decoder;
/// on the sequences accepted here the decoder would emit the same code point.
inline int decode_utf8_sequence(const unsigned char* p, const unsigned char* end, char32_t& cp) {
  const unsigned b0 = p[0];
  auto cont = [](unsigned b) { return (b & 0xC0u) == 0x80u; };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (end - p < 2 || !cont(p[1])) return 0;
    cp = ((b0 & 0x1Fu) << 6) | (p[1] & 0x3Fu);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (end - p < 3 || !cont(p[1]) || !cont(p[2])) return 0;
    if ((b0 == 0xE0 && p[1] < 0xA0) || (b0 == 0xED && p[1] > 0x9F)) return 0;  // overlong, surrogate
    cp = ((b0 & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (end - p < 4 || !cont(p[1]) || !cont(p[2]) || !cont(p[3])) return 0;
    if ((b0 == 0xF0 && p[1] < 0x90) || (b0 == 0xF4 && p[1] > 0x8F)) return 0;  // overlong, > U+10FFFF
    cp = ((b0 & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
    return 4;
  }
  return 0;
}

/// Turns a byte stream into code points. Ill-formed input (stray continuation bytes,
/// overlong forms, surrogates, values above U+10FFFF, truncated sequences) yields
/// U+FFFD once per maximal ill-formed subsequence, so a damaged character never eats
/// the well-formed byte that follows it.
class utf8_decoder {
public:
  static constexpr char32_t replacement = 0xFFFD;

  /// True when no multi-byte sequence is half read (ASCII may then bypass the decoder).
  bool idle() const { return needed_ == 0; }

  /// Feeds one byte; calls `emit(char32_t)` zero, one or two times (two when a
  /// truncated sequence is followed by a byte that starts something new).
  template <class Emit>
  void feed(std::uint8_t b, Emit&& emit) {
    if (needed_ != 0) {
      if (b >= lower_ && b <= upper_) {
        cp_ = (cp_ << 6) | (b & 0x3Fu);
        lower_ = 0x80;
        upper_ = 0xBF;
        if (--needed_ == 0) emit(cp_);
        return;
      }
      // The sequence so far is a maximal ill-formed subsequence; `b` starts afresh.
      needed_ = 0;
      emit(replacement);
    }
    if (b < 0x80) {
      emit(char32_t{b});
    } else if (b >= 0xC2 && b <= 0xDF) {
      start(b & 0x1Fu, 1, 0x80, 0xBF);
    } else if (b >= 0xE0 && b <= 0xEF) {
      // E0 needs A0.. (no overlongs); ED needs ..9F (no surrogates).
      start(b & 0x0Fu, 2, b == 0xE0 ? 0xA0 : 0x80, b == 0xED ? 0x9F : 0xBF);
    } else if (b >= 0xF0 && b <= 0xF4) {
      // F0 needs 90.. (no overlongs); F4 needs ..8F (nothing above U+10FFFF).
      start(b & 0x07u, 3, b == 0xF0 ? 0x90 : 0x80, b == 0xF4 ? 0x8F : 0xBF);
    } else {
      emit(replacement);  // continuation byte without a lead, C0, C1, F5..FF
    }
  }

  /// Forgets a half-read sequence (used by a full reset).
  void reset() { needed_ = 0; }

private:
  void start(std::uint32_t bits, int needed, std::uint8_t lower, std::uint8_t upper) {
    cp_ = bits;
    needed_ = needed;
    lower_ = lower;
    upper_ = upper;
  }

  char32_t cp_ = 0;
  int needed_ = 0;             ///< continuation bytes still expected
  std::uint8_t lower_ = 0x80;  ///< allowed range of the next continuation byte
  std::uint8_t upper_ = 0xBF;
};

}  // namespace mosh2::terminal
