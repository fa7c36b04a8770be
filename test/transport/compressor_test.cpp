// zlib compression and capped decompression (protocol §5).

#include <doctest/doctest.h>

#include <random>

#include "mosh2/transport/compressor.hpp"
#include "transport_test_util.hpp"

using namespace mosh2;
using namespace mosh2::transport;
using mosh2::transport::test::random_bytes;
using mosh2::transport::test::unhex;

TEST_SUITE("transport") {

TEST_CASE("compression reproduces the protocol 13.1 zlib bytes at level 6") {
  const bytes in = unhex("0802100018012000280032080a061a04285030183a00");
  const bytes z = compress(in);
  CHECK(to_hex(z) == "789ce360126090605460d06030e2e0629362d1083090b0620000105301de");
  auto back = decompress(z);
  REQUIRE(back);
  CHECK(*back == in);
}

TEST_CASE("compressed data round trips at many sizes and always starts 78 9C") {
  std::mt19937_64 rng(1);
  for (std::size_t n : {0, 1, 2, 100, 1000, 65535, 65536, 65537, 300000}) {
    CAPTURE(n);
    const bytes in = random_bytes(rng, n);
    const bytes z = compress(in);
    REQUIRE(z.size() >= 2);
    CHECK(static_cast<unsigned char>(z[0]) == 0x78);
    CHECK(static_cast<unsigned char>(z[1]) == 0x9c);
    CHECK(z.size() <= zlib_compress_bound(n));
    auto back = decompress(z);
    REQUIRE(back);
    CHECK(*back == in);
  }
}

TEST_CASE("the output cap is inclusive: 4 MiB decompresses and one byte more does not") {
  const bytes exact(max_decompressed_size, 'a');
  auto ok = decompress(compress(exact));
  REQUIRE(ok);
  CHECK(ok->size() == max_decompressed_size);
  auto over = decompress(compress(exact + "a"));
  REQUIRE_FALSE(over.has_value());
  CHECK(over.error() == zlib_error::too_large);
}

TEST_CASE("a caller-supplied limit is honoured") {
  const bytes z = compress(bytes(1000, 'q'));
  CHECK(decompress(z, 1000).has_value());
  auto r = decompress(z, 999);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == zlib_error::too_large);
}

TEST_CASE("garbage, truncated and tampered streams are refused as corrupt") {
  auto corrupt = [](bytes_view in) {
    auto r = decompress(in);
    return !r.has_value() && r.error() == zlib_error::corrupt;
  };
  CHECK(corrupt(""));
  CHECK(corrupt("hello, world"));
  CHECK(corrupt(unhex("789c")));
  const bytes good = compress("some instruction bytes, some instruction bytes");
  for (std::size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    CHECK(corrupt(bytes_view(good).substr(0, n)));
  }
  bytes bad_sum = good;
  bad_sum.back() = static_cast<char>(bad_sum.back() ^ 1);
  CHECK(corrupt(bad_sum));
  bytes bad_header = good;
  bad_header[1] = static_cast<char>(bad_header[1] ^ 1);  // FCHECK no longer divides by 31
  CHECK(corrupt(bad_header));
  // gzip framing and a preset-dictionary stream are not what the peer sends.
  CHECK(corrupt(unhex("1f8b0800000000000003cb48cde1020020303a3606000000")));
  CHECK(corrupt(unhex("78bb 00000001 0300")));
}

TEST_CASE("bytes after the end of the stream are ignored, as uncompress ignores them") {
  auto r = decompress(compress("abc") + "trailing");
  REQUIRE(r);
  CHECK(*r == "abc");
}

}  // TEST_SUITE
