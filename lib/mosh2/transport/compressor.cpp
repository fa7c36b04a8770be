// zlib one-shot compression and capped streaming decompression.

#include "mosh2/transport/compressor.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <new>

namespace mosh2::transport {

bytes compress(bytes_view in) {
  uLongf out_size = ::compressBound(static_cast<uLong>(in.size()));
  bytes out(out_size, '\0');
  const int rc = ::compress2(reinterpret_cast<Bytef*>(out.data()), &out_size,
                             reinterpret_cast<const Bytef*>(in.data()),
                             static_cast<uLong>(in.size()), Z_DEFAULT_COMPRESSION);
  // With a compressBound-sized buffer the only possible failure is memory.
  if (rc != Z_OK) throw std::bad_alloc();
  out.resize(out_size);
  return out;
}

namespace {

// Owns a z_stream so every return path runs inflateEnd.
class inflater {
public:
  inflater() = default;
  inflater(const inflater&) = delete;
  inflater& operator=(const inflater&) = delete;
  ~inflater() {
    if (ready_) ::inflateEnd(&s_);
  }

  bool init() {
    ready_ = ::inflateInit(&s_) == Z_OK;
    return ready_;
  }
  z_stream& stream() { return s_; }

private:
  z_stream s_{};
  bool ready_ = false;
};

}  // namespace

result<bytes, zlib_error> decompress(bytes_view in, std::size_t limit) {
  inflater z;
  if (!z.init()) return failure{zlib_error::no_memory};
  z_stream& s = z.stream();
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  std::size_t in_left = in.size();

  bytes out;
  std::array<char, 64 * 1024> chunk;
  // inflate() returning Z_OK has consumed input or produced output, so the rounds are
  // bounded by the input size plus the capped number of output chunks.
  const std::size_t max_rounds = in.size() + limit / chunk.size() + 2;
  for (std::size_t round = 0; round < max_rounds; ++round) {
    if (s.avail_in == 0 && in_left > 0) {
      const auto n = static_cast<uInt>(std::min<std::size_t>(in_left, UINT_MAX));
      s.avail_in = n;
      in_left -= n;
    }
    s.next_out = reinterpret_cast<Bytef*>(chunk.data());
    s.avail_out = static_cast<uInt>(chunk.size());
    const int rc = ::inflate(&s, Z_NO_FLUSH);
    const std::size_t produced = chunk.size() - s.avail_out;
    if (produced > limit - out.size()) return failure{zlib_error::too_large};
    out.append(chunk.data(), produced);
    switch (rc) {
      case Z_STREAM_END:
        return out;
      case Z_OK:
        break;
      case Z_BUF_ERROR:
        // The output buffer was empty, so no progress means the input ended before
        // the stream did.
        return failure{zlib_error::corrupt};
      case Z_MEM_ERROR:
        return failure{zlib_error::no_memory};
      default:  // Z_DATA_ERROR, Z_NEED_DICT (a preset dictionary we do not have), ...
        return failure{zlib_error::corrupt};
    }
  }
  return failure{zlib_error::corrupt};
}

}  // namespace mosh2::transport
