#pragma once
// zlib stream compression of serialized instructions (protocol §5): RFC 1950 framing at
// the default level, and bounded decompression for input from the network.

#include <cstddef>

#include "mosh2/util/bytes.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::transport {

/// The receiver's output limit (2048 * 2048 bytes, protocol §5.2): a larger instruction
/// is refused by the stock peer too.
inline constexpr std::size_t max_decompressed_size = std::size_t{4} * 1024 * 1024;

/// zlib's compressBound(n) for one-shot compression at any level: the largest output
/// compress() can produce for `n` input bytes (documented in zlib.h).
constexpr std::size_t zlib_compress_bound(std::size_t n) {
  return n + (n >> 12) + (n >> 14) + (n >> 25) + 13;
}

/// Why a compressed string was refused.
enum class zlib_error {
  corrupt,    ///< not a complete, valid zlib stream (bad header, data or checksum)
  too_large,  ///< would decompress to more than the limit
  no_memory,  ///< zlib could not allocate its state
};

/// zlib format (78 9C header) at the default level 6, as the stock sender's compress();
/// never empty. Throws std::bad_alloc only.
bytes compress(bytes_view in);

/// Inflates one zlib stream, refusing output beyond `limit` bytes (inclusive bound).
/// Bytes after the end of the stream are ignored, as zlib's uncompress() ignores them.
result<bytes, zlib_error> decompress(bytes_view in, std::size_t limit = max_decompressed_size);

}  // namespace mosh2::transport
