// The session key: generation, printing and the strict parser of protocol §1.4.

#include <doctest/doctest.h>

#include <set>
#include <string>

#include "mosh2/crypto/session_key.hpp"

using mosh2::crypto::key_error;
using mosh2::crypto::session_key;

namespace {

session_key key_of(std::initializer_list<std::uint8_t> b) {
  session_key::raw_type raw{};
  std::copy(b.begin(), b.end(), raw.begin());
  return session_key(raw);
}

}  // namespace

TEST_SUITE("crypto") {

TEST_CASE("the all-zero key prints as 22 letters A") {
  CHECK(key_of({}).to_string() == "AAAAAAAAAAAAAAAAAAAAAA");
}

TEST_CASE("a known key prints as standard base64 without the padding") {
  // 000102...0F is "AAECAwQFBgcICQoLDA0ODw==" in standard base64.
  auto k = key_of({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  CHECK(k.to_string() == "AAECAwQFBgcICQoLDA0ODw");
  auto all_ones = key_of({255, 255, 255, 255, 255, 255, 255, 255,
                          255, 255, 255, 255, 255, 255, 255, 255});
  CHECK(all_ones.to_string() == "/////////////////////w");
}

TEST_CASE("parsing a printed key gives back the same bytes") {
  auto k = key_of({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  auto parsed = session_key::parse("AAECAwQFBgcICQoLDA0ODw");
  REQUIRE(parsed);
  CHECK(*parsed == k);
  CHECK(parsed->raw() == k.raw());
}

TEST_CASE("generated keys are 16 bytes, differ, and survive a print/parse round trip") {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto k = session_key::generate();
    CHECK(k.raw().size() == 16);
    auto printed = k.to_string();
    REQUIRE(printed.size() == 22);
    const char last = printed.back();
    CHECK((last == 'A' || last == 'Q' || last == 'g' || last == 'w'));
    auto back = session_key::parse(printed);
    REQUIRE(back);
    CHECK(*back == k);
    seen.insert(printed);
  }
  CHECK(seen.size() == 200);
}

TEST_CASE("a key of the wrong length is refused with the user-facing message") {
  for (const char* s : {"", "AAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAA",
                        "AAAAAAAAAAAAAAAAAAAAAA==", "AAAAAAAAAAAAAAAAAAAAAA\n"}) {
    auto r = session_key::parse(s);
    REQUIRE_FALSE(r);
    CHECK(r.error() == key_error::wrong_length);
  }
  CHECK(describe(key_error::wrong_length) == "Key must be 22 letters long.");
}

TEST_CASE("a key with a character outside the base64 alphabet is refused") {
  for (const char* s : {"AAAAAAAAAAAAAAAAAAAA=A", "AAAAAAAAAAAAAAAAAAAAA=",
                        "AAAAAAAAAA-AAAAAAAAAAA", "AAAAAAAAAA_AAAAAAAAAAA",
                        "AAAAAAAAAA AAAAAAAAAAA", "AAAAAAAAAA\xc3\xa9" "AAAAAAAAAA"}) {
    auto r = session_key::parse(s);
    REQUIRE_FALSE(r);
    CHECK(r.error() == key_error::bad_character);
  }
  std::string with_nul(22, 'A');
  with_nul[5] = '\0';
  auto r = session_key::parse(with_nul);
  REQUIRE_FALSE(r);
  CHECK(r.error() == key_error::bad_character);
  CHECK_FALSE(describe(key_error::bad_character).empty());
}

TEST_CASE("only A, Q, g and w are accepted as the last letter") {
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  int accepted = 0;
  for (char last : alphabet) {
    std::string s(21, 'B');
    s.push_back(last);
    auto r = session_key::parse(s);
    const bool canonical = last == 'A' || last == 'Q' || last == 'g' || last == 'w';
    CHECK(static_cast<bool>(r) == canonical);
    if (r) {
      ++accepted;
      CHECK(r->to_string() == s);
    } else {
      CHECK(r.error() == key_error::not_canonical);
    }
  }
  CHECK(accepted == 4);
  CHECK_FALSE(describe(key_error::not_canonical).empty());
}

}  // TEST_SUITE
