// Bounded random and mutation runs over every decoder of the layer: nothing may crash,
// hang or throw, and whatever decodes must re-encode to something that decodes equal.
// The libFuzzer targets in test/fuzz/ explore the same functions without a bound.

#include <doctest/doctest.h>

#include <optional>
#include <random>
#include <vector>

#include "mosh2/transport/compressor.hpp"
#include "mosh2/transport/fragment.hpp"
#include "mosh2/transport/messages.hpp"
#include "transport_test_util.hpp"

using namespace mosh2;
using namespace mosh2::transport;
using mosh2::transport::test::random_bytes;
using mosh2::transport::test::unhex;

namespace {

// One to four random edits: the bytes stay close to valid, which reaches deeper paths
// than uniform noise does.
bytes mutate(std::mt19937_64& rng, bytes in) {
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    const std::size_t pos = in.empty() ? 0 : rng() % in.size();
    switch (rng() % 7) {
      case 0:
        if (!in.empty()) in[pos] = static_cast<char>(in[pos] ^ (1 << (rng() % 8)));
        break;
      case 1:
        if (!in.empty()) in[pos] = static_cast<char>(rng());
        break;
      case 2:
        in.insert(in.begin() + static_cast<std::ptrdiff_t>(pos), static_cast<char>(rng()));
        break;
      case 3:
        if (!in.empty()) in.erase(pos, 1);
        break;
      case 4:
        in.resize(pos);
        break;
      case 5:
        in.insert(pos, in.substr(pos, rng() % 8));
        break;
      default:
        in.insert(pos, rng() % 2 ? "\xff\xff\xff\xff\xff" : "\x80");
        break;
    }
  }
  return in;
}

bytes noise(std::mt19937_64& rng, std::size_t max_len) {
  return random_bytes(rng, rng() % (max_len + 1));
}

std::vector<bytes> instruction_seeds(std::mt19937_64& rng) {
  std::vector<bytes> seeds{unhex("0802100018012000280032080a061a04285030183a00"),
                           unhex("0802100018012001280032003a00")};
  for (int i = 0; i < 8; ++i) {
    instruction in{static_cast<std::uint32_t>(rng()), rng(), rng(), rng(), rng(),
                   random_bytes(rng, rng() % 40), random_bytes(rng, rng() % 17), {}};
    seeds.push_back(encode(in));
  }
  return seeds;
}

}  // namespace

TEST_SUITE("transport") {

TEST_CASE("random and mutated instructions decode to an error or to a stable value") {
  std::mt19937_64 rng(101);
  const auto seeds = instruction_seeds(rng);
  int unstable = 0, accepted = 0, rejected = 0;
  for (int i = 0; i < 150000; ++i) {
    const bytes in = i % 2 ? noise(rng, 64) : mutate(rng, seeds[rng() % seeds.size()]);
    auto r = decode_instruction(in);
    if (!r) { ++rejected; continue; }
    ++accepted;
    auto again = decode_instruction(encode(*r));
    if (!again || !(*again == *r)) ++unstable;
  }
  CHECK(unstable == 0);
  CHECK(accepted > 1000);
  CHECK(rejected > 1000);
}

TEST_CASE("random and mutated diff messages decode to an error or to a stable value") {
  std::mt19937_64 rng(102);
  const std::vector<bytes> user_seeds{
      encode(user_message{{resize{80, 24}, keystroke{"ls\r"}, resize{-5, 70000}}}),
      unhex("0a061a0428503018"), unhex("0a07120522036c730d")};
  const std::vector<bytes> host_seeds{
      encode(host_message{{echo_ack{3}, resize{1, 2}, host_bytes{"\x1b[H hello"}}}),
      unhex("0a043a0240030a0612042202" "6869")};
  int unstable = 0, accepted = 0;
  for (int i = 0; i < 75000; ++i) {
    const bytes u = i % 2 ? noise(rng, 48) : mutate(rng, user_seeds[rng() % user_seeds.size()]);
    if (auto r = decode_user_message(u)) {
      ++accepted;
      auto again = decode_user_message(encode(*r));
      if (!again || !(*again == *r)) ++unstable;
    }
    const bytes h = i % 2 ? noise(rng, 48) : mutate(rng, host_seeds[rng() % host_seeds.size()]);
    if (auto r = decode_host_message(h)) {
      ++accepted;
      auto again = decode_host_message(encode(*r));
      if (!again || !(*again == *r)) ++unstable;
    }
  }
  CHECK(unstable == 0);
  CHECK(accepted > 1000);
}

TEST_CASE("random and mutated zlib streams decompress within the limit or fail") {
  std::mt19937_64 rng(103);
  std::vector<bytes> seeds;
  for (int i = 0; i < 6; ++i) seeds.push_back(compress(bytes(rng() % 3000, static_cast<char>('a' + i))));
  seeds.push_back(compress(random_bytes(rng, 500)));
  int over = 0, accepted = 0;
  for (int i = 0; i < 40000; ++i) {
    bytes in = i % 2 ? noise(rng, 64) : mutate(rng, seeds[rng() % seeds.size()]);
    if (i % 4 == 1) in = "\x78\x9c" + in;
    const std::size_t limit = i % 3 == 0 ? 100 : max_decompressed_size;
    auto r = decompress(in, limit);
    if (r) {
      ++accepted;
      if (r->size() > limit) ++over;
    }
  }
  CHECK(over == 0);
  CHECK(accepted > 100);
}

TEST_CASE("random, mutated and shuffled fragments never break the assembler's accounting") {
  std::mt19937_64 rng(104);
  fragmenter f;
  std::vector<bytes> real;
  for (int i = 0; i < 6; ++i) {
    instruction in;
    in.new_num = static_cast<std::uint64_t>(i);
    in.diff = random_bytes(rng, 200 + rng() % 600);
    for (auto& fr : f.make_fragments(in, 150)) real.push_back(std::move(fr));
  }
  // A mutated id is usually huge, and every real fragment is stale after it: a fresh
  // assembler every 64 inputs, and real fragments taken in order, keep deliveries possible.
  std::optional<fragment_assembler> a;
  std::uint64_t delivered = 0, dropped = 0, counted_delivered = 0, counted_dropped = 0;
  std::size_t next_real = 0;
  for (int i = 0; i < 100000; ++i) {
    if (i % 64 == 0) {
      if (a) {
        counted_delivered += a->stats().instructions;
        counted_dropped += a->stats().drops();
      }
      a.emplace();
    }
    bytes in;
    switch (i % 4) {
      case 0: in = real[next_real++ % real.size()]; break;
      case 1: in = mutate(rng, real[rng() % real.size()]); break;
      case 2:  // a plausible header over a random chunk: small ids and numbers collide
        in = encode_fragment(rng() % 3, static_cast<std::uint16_t>(rng() % 6), rng() % 3 == 0,
                             noise(rng, 40));
        break;
      default: in = noise(rng, 24); break;
    }
    auto r = a->add(in);
    if (!r) ++dropped;
    else if (r->has_value()) ++delivered;
  }
  counted_delivered += a->stats().instructions;
  counted_dropped += a->stats().drops();
  CHECK(delivered == counted_delivered);
  CHECK(dropped == counted_dropped);
  CHECK(delivered > 0);
  CHECK(dropped > 0);
}

}  // TEST_SUITE
