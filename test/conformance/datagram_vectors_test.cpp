// The two complete datagrams of protocol §13.1: decrypted to their stated fields
// and rebuilt byte for byte, both through the codec and through a connection core.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "../support/test_data.hpp"
#include "mosh2/crypto/session_key.hpp"
#include "mosh2/datagram/connection_core.hpp"
#include "mosh2/datagram/packet.hpp"

using namespace mosh2;
using namespace mosh2::datagram;

namespace {

bytes unhex(const std::string& hex) {
  bytes out;
  REQUIRE(from_hex(hex, out));
  return out;
}

nlohmann::json vectors() {
  return nlohmann::json::parse(test::read_file("vectors/mosh_datagrams.json"));
}

crypto::session_key vector_key(const nlohmann::json& j) {
  auto k = crypto::session_key::parse(j.at("key").get<std::string>());
  REQUIRE(k);
  CHECK(to_hex(k->raw()) == j.at("key_hex").get<std::string>());
  return *k;
}

std::uint16_t u16(const nlohmann::json& v) {
  return static_cast<std::uint16_t>(std::stoul(v.get<std::string>(), nullptr, 16));
}

role sender_of(const nlohmann::json& v) {
  return v.at("sender").get<std::string>() == "server" ? role::server : role::client;
}

time_point at(std::int64_t ms) { return time_point(milliseconds(ms)); }

}  // namespace

TEST_SUITE("conformance") {

TEST_CASE("both §13.1 datagrams decrypt to exactly their stated fields") {
  const auto j = vectors();
  REQUIRE(j.at("datagrams").size() == 2);
  const auto key = vector_key(j);
  crypto::ocb_session cipher(key);
  for (const auto& v : j.at("datagrams")) {
    CAPTURE(v.at("name").get<std::string>());
    const bytes wire = unhex(v.at("datagram").get<std::string>());
    const role sender = sender_of(v);
    CHECK(to_hex(wire.substr(0, 8)) == v.at("nonce_tail").get<std::string>());
    CHECK(to_hex(crypto::ocb_session::make_nonce(get_be<8>(wire))) ==
          v.at("nonce").get<std::string>());

    auto plain = cipher.open(get_be<8>(wire), bytes_view(wire).substr(8));
    REQUIRE(plain);
    CHECK(to_hex(*plain) == v.at("plaintext").get<std::string>());

    auto d = decode(cipher, wire, sender);
    REQUIRE(d);
    CHECK(d->seq() == v.at("seq").get<std::uint64_t>());
    CHECK((d->number & to_client_bit) == direction_bit_of(sender));
    CHECK(d->timestamp == u16(v.at("timestamp")));
    CHECK(d->timestamp_reply == u16(v.at("timestamp_reply")));
    CHECK(to_hex(d->payload) == v.at("fragment").get<std::string>());
    CHECK(to_hex(d->payload.substr(0, 8)) == v.at("fragment_id").get<std::string>());
    CHECK(to_hex(d->payload.substr(8, 2)) == v.at("fragment_number").get<std::string>());
    CHECK(to_hex(d->payload.substr(10)) == v.at("zlib").get<std::string>());
  }
}

TEST_CASE("both §13.1 datagrams re-seal to exactly their stated bytes") {
  const auto j = vectors();
  const auto key = vector_key(j);
  crypto::ocb_session cipher(key);
  for (const auto& v : j.at("datagrams")) {
    CAPTURE(v.at("name").get<std::string>());
    const std::uint64_t number =
        v.at("seq").get<std::uint64_t>() | direction_bit_of(sender_of(v));
    const bytes wire = encode(cipher, number, u16(v.at("timestamp")),
                              u16(v.at("timestamp_reply")), unhex(v.at("fragment")));
    CHECK(to_hex(wire) == v.at("datagram").get<std::string>());
  }
}

TEST_CASE("connection cores on both ends reproduce the §13.1 exchange") {
  const auto j = vectors();
  const auto key = vector_key(j);
  const auto& up = j.at("datagrams").at(0);
  const auto& down = j.at("datagrams").at(1);

  // The client sends its first datagram when its clock reads 0x1234 ms.
  connection_core client(role::client, key, at(0));
  const bytes first = client.seal(unhex(up.at("fragment")), at(0x1234));
  CHECK(to_hex(first) == up.at("datagram").get<std::string>());

  // The server has already sent seq 0-4; it receives the client's datagram and
  // answers at once when its own clock reads 0x0102 (mod 65536), so the echo is
  // 0x1234 with no hold time.
  connection_core server(role::server, key, at(0));
  for (int i = 0; i < 5; ++i) static_cast<void>(server.seal("", at(0)));
  const std::int64_t server_now = 65536 * 3 + 0x0102;
  auto r = server.open(unhex(up.at("datagram")), at(server_now));
  REQUIRE(r);
  CHECK(r->in_order);
  CHECK(to_hex(r->payload) == up.at("fragment").get<std::string>());
  const bytes answer = server.seal(unhex(down.at("fragment")), at(server_now));
  CHECK(to_hex(answer) == down.at("datagram").get<std::string>());

  auto back = client.open(answer, at(0x1234 + 40));
  REQUIRE(back);
  CHECK(back->seq == 5);
  CHECK(back->in_order);
  CHECK(client.srtt_ms() == 40.0);
}

}  // TEST_SUITE
