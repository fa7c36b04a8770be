// The stateless datagram codec: layout, direction bit and every drop reason.

#include <doctest/doctest.h>

#include "helpers.hpp"
#include "mosh2/datagram/packet.hpp"

using namespace mosh2;
using namespace mosh2::datagram;
using mosh2::crypto::ocb_session;

TEST_SUITE("datagram") {

TEST_CASE("an encoded datagram is the clear number, the ciphertext and the tag") {
  ocb_session c(test::fixed_key());
  const bytes wire = encode(c, to_client_bit | 5, 0x0102, 0x1234, "fragment");
  CHECK(wire.size() == 8 + 4 + 8 + 16);
  CHECK(to_hex(wire.substr(0, 8)) == "8000000000000005");
  auto plain = c.open(to_client_bit | 5, bytes_view(wire).substr(8));
  REQUIRE(plain);
  CHECK(to_hex(*plain) == "01021234" + to_hex("fragment"));
}

TEST_CASE("decode returns the fields that encode was given, in both directions") {
  ocb_session c(test::fixed_key());
  for (role sender : {role::client, role::server}) {
    const std::uint64_t number = 77 | direction_bit_of(sender);
    auto d = decode(c, encode(c, number, 4000, no_timestamp, "abc"), sender);
    REQUIRE(d);
    CHECK(d->number == number);
    CHECK(d->seq() == 77);
    CHECK(d->timestamp == 4000);
    CHECK(d->timestamp_reply == no_timestamp);
    CHECK(d->payload == "abc");
  }
}

TEST_CASE("a datagram claiming the receiver's own direction is dropped before decryption") {
  ocb_session c(test::fixed_key());
  const bytes from_client = encode(c, 3, 1, 2, "x");
  auto d = decode(c, from_client, role::server);  // expecting it from the server: reflected
  REQUIRE_FALSE(d);
  CHECK(d.error() == drop_reason::wrong_direction);
}

TEST_CASE("datagrams under 24 bytes are too short and over 2048 are oversize") {
  ocb_session c(test::fixed_key());
  for (std::size_t len : {0, 1, 8, 23}) {
    auto d = decode(c, bytes(len, '\0'), role::client);
    REQUIRE_FALSE(d);
    CHECK(d.error() == drop_reason::too_short);
  }
  auto big = decode(c, bytes(2049, '\0'), role::client);
  REQUIRE_FALSE(big);
  CHECK(big.error() == drop_reason::oversize);
}

TEST_CASE("a datagram of exactly 2048 bytes is accepted") {
  ocb_session c(test::fixed_key());
  const bytes payload(receive_buffer - datagram_overhead, 'p');
  const bytes wire = encode(c, 1, 0, no_timestamp, payload);
  REQUIRE(wire.size() == 2048);
  auto d = decode(c, wire, role::client);
  REQUIRE(d);
  CHECK(d->payload == payload);
}

TEST_CASE("an authentic datagram with fewer than 4 plaintext bytes is short") {
  ocb_session c(test::fixed_key());
  for (std::size_t len = 0; len < 4; ++len) {
    bytes wire;
    put_be<8>(wire, 9);
    wire += c.seal(9, bytes(len, 'z'));
    auto d = decode(c, wire, role::client);
    REQUIRE_FALSE(d);
    CHECK(d.error() == drop_reason::short_plaintext);
  }
  bytes wire;
  put_be<8>(wire, 9);
  wire += c.seal(9, bytes(4, 'z'));
  auto d = decode(c, wire, role::client);
  REQUIRE(d);
  CHECK(d->payload.empty());
}

TEST_CASE("a tampered datagram fails the integrity check") {
  ocb_session c(test::fixed_key());
  bytes wire = encode(c, 4, 1, 2, "payload");
  wire[3] = static_cast<char>(wire[3] ^ 1);  // the clear number is authenticated too
  auto d = decode(c, wire, role::client);
  REQUIRE_FALSE(d);
  CHECK(d.error() == drop_reason::bad_tag);
  CHECK(describe(drop_reason::bad_tag) == "Packet failed integrity check.");
  CHECK(describe(drop_reason::too_short) == "Ciphertext must contain nonce and tag.");
}

}  // TEST_SUITE
