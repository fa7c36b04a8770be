// libFuzzer target: capped zlib decompression. Output beyond the limit is a bug; a
// success must round trip through our compressor.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "mosh2/transport/compressor.hpp"

using namespace mosh2;
using namespace mosh2::transport;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes_view in(reinterpret_cast<const char*>(data), size);
  // A small limit on odd sizes reaches the over-cap path without 4 MiB allocations.
  const std::size_t limit = size % 2 ? 1024 : max_decompressed_size;
  if (auto r = decompress(in, limit)) {
    if (r->size() > limit) std::abort();
    auto again = decompress(compress(*r), limit);
    if (!again || *again != *r) std::abort();
  }
  return 0;
}
