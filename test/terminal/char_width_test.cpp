// Spot checks of the width table and a full comparison with glibc's wcwidth in
// C.UTF-8, the table a stock Mosh 1.4 peer uses (docs/terminal.md lists the differences).

#include <doctest/doctest.h>

#include <clocale>
#include <cwchar>
#include <ios>
#include <map>
#include <string>
#include <vector>

#include <gnu/libc-version.h>

#include "mosh2/terminal/char_width.hpp"

using mosh2::terminal::char_width;

namespace {

struct diff_range {
  char32_t first, last;
  int ours, glibc;
  bool operator==(const diff_range&) const = default;
};

// Restores the caller's locale whatever happens in the test.
class scoped_ctype {
public:
  explicit scoped_ctype(const char* name) : old_(std::setlocale(LC_CTYPE, nullptr)) {
    ok_ = std::setlocale(LC_CTYPE, name) != nullptr;
  }
  ~scoped_ctype() { std::setlocale(LC_CTYPE, old_.c_str()); }
  scoped_ctype(const scoped_ctype&) = delete;
  scoped_ctype& operator=(const scoped_ctype&) = delete;
  bool ok() const { return ok_; }

private:
  std::string old_;
  bool ok_ = false;
};

}  // namespace

TEST_SUITE("terminal") {

TEST_CASE("printable ISO 8859-1 is one column and controls are unprintable") {
  for (char32_t c = 0x20; c < 0x7F; ++c) CHECK(char_width(c) == 1);
  for (char32_t c = 0xA0; c < 0x100; ++c) CHECK(char_width(c) == 1);
  for (char32_t c = 0; c < 0x20; ++c) CHECK(char_width(c) == -1);
  for (char32_t c = 0x7F; c < 0xA0; ++c) CHECK(char_width(c) == -1);
  CHECK(char_width(0xAD) == 1);  // soft hyphen
}

TEST_CASE("width table spot checks") {
  CHECK(char_width(0x4F60) == 2);   // CJK ideograph
  CHECK(char_width(0x3000) == 2);   // ideographic space (F)
  CHECK(char_width(0xFF21) == 2);   // fullwidth A
  CHECK(char_width(0x1F600) == 2);  // emoji with default emoji presentation
  CHECK(char_width(0x0301) == 0);   // combining acute (Mn)
  CHECK(char_width(0x20DD) == 0);   // combining enclosing circle (Me)
  CHECK(char_width(0x200B) == 0);   // zero width space
  CHECK(char_width(0x200D) == 0);   // ZWJ (Cf)
  CHECK(char_width(0x1160) == 0);   // Hangul Jungseong filler
  CHECK(char_width(0x11FF) == 0);
  CHECK(char_width(0x1100) == 2);   // Hangul Choseong: wide
  CHECK(char_width(0x0600) == 1);   // prepended concatenation mark: spacing
  CHECK(char_width(0x0378) == -1);  // unassigned
  CHECK(char_width(0xE000) == 1);   // private use
  CHECK(char_width(0x2028) == -1);  // line separator
  CHECK(char_width(0xD800) == -1);  // surrogate
  CHECK(char_width(0x110000) == -1);
  CHECK(char_width(0x2500) == 1);   // box drawing (ambiguous: narrow)
}

TEST_CASE("the packed lookup agrees with a binary search of the ranges everywhere") {
  int mismatches = 0;
  for (char32_t c = 0; c <= 0x110010; ++c)
    if (char_width(c) != mosh2::terminal::detail::char_width_search(c) && ++mismatches <= 5)
      FAIL_CHECK("U+" << std::hex << static_cast<unsigned>(c));
  CHECK(mismatches == 0);
}

TEST_CASE("the width table differs from glibc's C.UTF-8 wcwidth exactly where documented") {
  // C.UTF-8 is built into glibc from 2.35 on (Debian 12 has 2.36); without it there is
  // nothing to compare against, which is a broken test machine, not a pass.
  scoped_ctype loc("C.UTF-8");
  REQUIRE_MESSAGE(loc.ok(), "the C.UTF-8 locale is missing (tools/install-deps installs locales)");
  std::vector<diff_range> diffs;
  for (char32_t c = 0; c <= 0x10FFFF; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    const int ours = char_width(c);
    const int theirs = ::wcwidth(static_cast<wchar_t>(c));
    if (ours == theirs) continue;
    if (!diffs.empty() && diffs.back().last + 1 == c && diffs.back().ours == ours &&
        diffs.back().glibc == theirs)
      diffs.back().last = c;
    else
      diffs.push_back({c, c, ours, theirs});
  }
  // The expected differences per glibc version (the table follows 2.36, the stock
  // peer's wcwidth on Debian 12). Another version needs its own list, checked by hand
  // against docs/terminal.md: the test fails until it has one.
  // NUL: glibc says 0, we say -1 like every other C0 control; a control is never
  // printed, so the difference cannot reach a framebuffer.
  const std::map<std::string, std::vector<diff_range>> expected = {
      {"2.36", {{0x0000, 0x0000, -1, 0}}},
  };
  const std::string version = gnu_get_libc_version();
  for (const auto& d : diffs)
    MESSAGE(std::hex << "U+" << static_cast<unsigned>(d.first) << "..U+"
                     << static_cast<unsigned>(d.last) << std::dec << " ours " << d.ours
                     << " glibc " << d.glibc);
  const auto known = expected.find(version);
  REQUIRE_MESSAGE(known != expected.end(), "no expected difference list for glibc " << version);
  CHECK(diffs == known->second);
}

}  // TEST_SUITE
