// open() on hostile input: random bytes and mutations of a valid datagram never
// crash, are all dropped and counted, and leave the core working.

#include <doctest/doctest.h>

#include <cstdint>
#include <random>

#include "helpers.hpp"
#include "mosh2/datagram/connection_core.hpp"

using namespace mosh2;
using namespace mosh2::datagram;
using mosh2::datagram::test::at;
using mosh2::datagram::test::fixed_key;

namespace {

bytes random_bytes_of(std::mt19937_64& rng, std::size_t n) {
  bytes out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

}  // namespace

TEST_SUITE("datagram") {

TEST_CASE("random datagrams are all dropped and counted") {
  constexpr int rounds = 200'000;
  std::mt19937_64 rng(0x5eed'0001);
  connection_core server(role::server, fixed_key(), at(0));
  int dropped = 0;
  for (int i = 0; i < rounds; ++i) {
    // Mostly plausible lengths, with some over the receive buffer.
    const std::size_t len = rng() % 2200;
    bytes wire = random_bytes_of(rng, len);
    // Half the time clear the direction bit so the input reaches the cipher.
    if (len > 0 && (i & 1)) wire[0] = static_cast<char>(wire[0] & 0x7f);
    if (!server.open(wire, at(i))) ++dropped;
  }
  CHECK(dropped == rounds);
  const auto& s = server.counters();
  CHECK(s.total_dropped() == static_cast<std::uint64_t>(rounds));
  CHECK(s.accepted == 0);
  CHECK(s.drops(drop_reason::too_short) > 0);
  CHECK(s.drops(drop_reason::oversize) > 0);
  CHECK(s.drops(drop_reason::wrong_direction) > 0);
  CHECK(s.drops(drop_reason::bad_tag) > 0);
  CHECK(server.expected_seq() == 0);
  CHECK_FALSE(server.last_heard());
}

TEST_CASE("bit flips, truncations and extensions of a valid datagram are all dropped") {
  constexpr int rounds = 150'000;
  std::mt19937_64 rng(0x5eed'0002);
  connection_core client(role::client, fixed_key(), at(0));
  connection_core server(role::server, fixed_key(), at(0));
  int mutated = 0;
  int valid = 0;
  for (int i = 0; i < rounds; ++i) {
    const bytes good = client.seal(random_bytes_of(rng, rng() % 1300), at(i));
    bytes wire = good;
    switch (rng() % 4) {
      case 0: {  // one bit
        const std::size_t bit = rng() % (wire.size() * 8);
        wire[bit / 8] = static_cast<char>(wire[bit / 8] ^ (1 << (bit % 8)));
        break;
      }
      case 1: {  // several bits, anywhere
        const int flips = 2 + static_cast<int>(rng() % 8);
        for (int f = 0; f < flips; ++f) {
          const std::size_t bit = rng() % (wire.size() * 8);
          wire[bit / 8] = static_cast<char>(wire[bit / 8] ^ (1 << (bit % 8)));
        }
        break;
      }
      case 2:  // truncation
        wire.resize(rng() % wire.size());
        break;
      default:  // extension, sometimes past the receive buffer
        wire += random_bytes_of(rng, 1 + rng() % 900);
        break;
    }
    if (wire == good) continue;  // flips that cancelled out
    ++mutated;
    CHECK_FALSE(server.open(wire, at(i)));
    if (i % 1000 == 0) {
      // The core keeps working between attacks.
      auto r = server.open(good, at(i));
      REQUIRE(r);
      CHECK(r->in_order);
      ++valid;
    }
  }
  const auto& s = server.counters();
  CHECK(mutated > rounds - 100);
  CHECK(s.total_dropped() == static_cast<std::uint64_t>(mutated));
  CHECK(s.accepted == static_cast<std::uint64_t>(valid));
  CHECK(s.drops(drop_reason::bad_tag) > 0);
  CHECK(s.drops(drop_reason::too_short) > 0);
  CHECK(s.drops(drop_reason::oversize) > 0);
  CHECK(s.drops(drop_reason::wrong_direction) > 0);
}

}  // TEST_SUITE
