// AES-128-OCB: round trips, tampering, short input and the block limit.

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "mosh2/crypto/ocb_session.hpp"

using mosh2::bytes;
using mosh2::crypto::ocb_session;
using mosh2::crypto::open_error;
using mosh2::crypto::session_key;

namespace {

session_key test_key() {
  session_key::raw_type raw{};
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return session_key(raw);
}

}  // namespace

TEST_SUITE("crypto") {

TEST_CASE("the nonce is four zero bytes and the big-endian 64-bit number") {
  CHECK(mosh2::to_hex(ocb_session::make_nonce(0)) == "000000000000000000000000");
  CHECK(mosh2::to_hex(ocb_session::make_nonce(0x8000000000000005ull)) ==
        "000000008000000000000005");
  CHECK(ocb_session::make_nonce(1).size() == ocb_session::nonce_size);
}

TEST_CASE("seal then open gives back the plaintext for every length up to 100") {
  ocb_session a(test_key());
  ocb_session b(test_key());
  for (std::size_t len = 0; len <= 100; ++len) {
    bytes plain(len, '\0');
    for (std::size_t i = 0; i < len; ++i) plain[i] = static_cast<char>(i * 31 + len);
    const bytes sealed = a.seal(len, plain);
    REQUIRE(sealed.size() == len + ocb_session::tag_size);
    if (len > 0) CHECK(sealed.substr(0, len) != plain);
    auto opened = b.open(len, sealed);
    REQUIRE(opened);
    CHECK(*opened == plain);
  }
}

TEST_CASE("a ciphertext opened under a different nonce fails the tag") {
  ocb_session s(test_key());
  const bytes sealed = s.seal(7, "hello");
  auto r = s.open(8, sealed);
  REQUIRE_FALSE(r);
  CHECK(r.error() == open_error::bad_tag);
  CHECK(s.open(7, sealed));  // and the session still works afterwards
}

TEST_CASE("flipping any bit of the ciphertext or tag fails the tag") {
  ocb_session s(test_key());
  const bytes sealed = s.seal(1, "a message of some length");
  for (std::size_t i = 0; i < sealed.size() * 8; ++i) {
    bytes bad = sealed;
    bad[i / 8] = static_cast<char>(bad[i / 8] ^ (1 << (i % 8)));
    auto r = s.open(1, bad);
    REQUIRE_FALSE(r);
    CHECK(r.error() == open_error::bad_tag);
  }
}

TEST_CASE("a different key fails the tag") {
  ocb_session s(test_key());
  ocb_session other(session_key(session_key::raw_type{}));
  auto r = other.open(3, s.seal(3, "secret"));
  REQUIRE_FALSE(r);
  CHECK(r.error() == open_error::bad_tag);
}

TEST_CASE("input shorter than the tag is an error value, not a Botan assertion") {
  ocb_session s(test_key());
  for (std::size_t len = 0; len < ocb_session::tag_size; ++len) {
    auto r = s.open(0, bytes(len, 'x'));
    REQUIRE_FALSE(r);
    CHECK(r.error() == open_error::too_short);
  }
  CHECK(describe(open_error::too_short) == "Ciphertext must contain nonce and tag.");
  CHECK(describe(open_error::bad_tag) == "Packet failed integrity check.");
}

TEST_CASE("an exactly tag-sized forgery is checked and refused") {
  ocb_session s(test_key());
  auto r = s.open(0, bytes(16, '\0'));
  REQUIRE_FALSE(r);
  CHECK(r.error() == open_error::bad_tag);
  // The genuine empty message is exactly 16 bytes too.
  auto ok = s.open(0, s.seal(0, ""));
  REQUIRE(ok);
  CHECK(ok->empty());
}

TEST_CASE("associated data is authenticated and does not leak into the next message") {
  ocb_session s(test_key());
  const bytes with_ad = s.seal_with(ocb_session::make_nonce(9), "header", "body");
  CHECK(s.open_with(ocb_session::make_nonce(9), "header", with_ad));
  auto wrong = s.open_with(ocb_session::make_nonce(9), "other", with_ad);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error() == open_error::bad_tag);
  // The plain API must behave as if no associated data had ever been set.
  const bytes plain = s.seal(9, "body");
  CHECK(plain != with_ad);
  CHECK(plain == s.seal_with(ocb_session::make_nonce(9), "", "body"));
  CHECK(s.open(9, plain));
}

TEST_CASE("a nonce length OCB cannot take is a setup error") {
  ocb_session s(test_key());
  CHECK_THROWS_AS(s.seal_with(bytes(16, '\0'), "", "x"), std::invalid_argument);
  CHECK_THROWS_AS(static_cast<void>(s.open_with(bytes(), "", bytes(20, '\0'))),
                  std::invalid_argument);
}

TEST_CASE("encrypted blocks are counted with a partial block counting as one") {
  ocb_session s(test_key());
  CHECK(s.blocks_encrypted() == 0);
  static_cast<void>(s.seal(0, ""));
  CHECK(s.blocks_encrypted() == 0);
  static_cast<void>(s.seal(1, bytes(1, 'x')));
  CHECK(s.blocks_encrypted() == 1);
  static_cast<void>(s.seal(2, bytes(16, 'x')));
  CHECK(s.blocks_encrypted() == 2);
  static_cast<void>(s.seal(3, bytes(17, 'x')));
  CHECK(s.blocks_encrypted() == 4);
  static_cast<void>(s.open(3, s.seal(4, bytes(40, 'x'))));
  CHECK(s.blocks_encrypted() == 7);  // opening does not count
  CHECK(ocb_session::default_block_limit == (std::uint64_t{1} << 47));
}

TEST_CASE("sealing past the block limit throws and encrypts nothing") {
  ocb_session s(test_key(), 3);
  static_cast<void>(s.seal(0, bytes(32, 'x')));
  CHECK(s.blocks_encrypted() == 2);
  CHECK_THROWS_AS(s.seal(1, bytes(17, 'x')), std::runtime_error);
  CHECK(s.blocks_encrypted() == 2);
  static_cast<void>(s.seal(2, bytes(16, 'x')));  // exactly reaching the limit is allowed
  CHECK(s.blocks_encrypted() == 3);
  CHECK_THROWS_AS(s.seal(3, bytes(1, 'x')), std::runtime_error);
}

TEST_CASE("a moved session keeps its key and counter") {
  ocb_session a(test_key());
  const bytes sealed = a.seal(5, "moved");
  ocb_session b(std::move(a));
  CHECK(b.blocks_encrypted() == 1);
  auto r = b.open(5, sealed);
  REQUIRE(r);
  CHECK(*r == "moved");
}

}  // TEST_SUITE
