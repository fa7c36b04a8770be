#pragma once
// The framed byte-stream path (docs/protocol.md, "Paths"): each sealed datagram as a
// 4-byte big-endian length and the datagram, over a pipe, ssh's stdio or TCP. The
// datagrams stay sealed end to end; a stream only replaces UDP underneath them. A core:
// bytes in, datagrams out, no I/O.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "mosh2/util/bytes.hpp"

namespace mosh2::transport {

/// Bytes of the length prefix.
inline constexpr std::size_t frame_header_size = 4;
/// The largest frame accepted: well above any MTU a path states (16 KiB for a stream),
/// small enough that a hostile length costs at most this much buffer.
inline constexpr std::size_t max_frame_size = 64 * 1024;

/// `datagram` with its length prefix.
inline bytes frame(bytes_view datagram) {
  bytes out;
  out.reserve(frame_header_size + datagram.size());
  const auto n = static_cast<std::uint32_t>(datagram.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
  out.append(datagram);
  return out;
}

/// What the decoder refused.
struct deframe_stats {
  std::uint64_t frames = 0;          ///< whole frames returned
  std::uint64_t oversize = 0;        ///< frames longer than max_frame_size, skipped
  std::uint64_t empty = 0;           ///< zero-length frames, skipped
  std::uint64_t bytes_skipped = 0;   ///< bytes of the skipped frames
};

/// Splits a byte stream back into datagrams. A frame announcing more than
/// max_frame_size is refused: its bytes are skipped as they arrive (never buffered)
/// and counted, and the frames after it are read as usual. Memory: at most one frame.
class deframer {
public:
  /// Feeds what the stream delivered; returns the datagrams it completed, in order.
  std::vector<bytes> feed(bytes_view in) {
    std::vector<bytes> out;
    while (!in.empty()) {
      if (skipping_ > 0) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(skipping_, in.size()));
        skipping_ -= n;
        stats_.bytes_skipped += n;
        in.remove_prefix(n);
        continue;
      }
      if (header_.size() < frame_header_size) {
        const std::size_t n = std::min(frame_header_size - header_.size(), in.size());
        header_.append(in.substr(0, n));
        in.remove_prefix(n);
        if (header_.size() < frame_header_size) break;
        std::uint32_t len = 0;
        for (char c : header_) len = (len << 8) | static_cast<std::uint8_t>(c);
        if (len == 0) {
          ++stats_.empty;
          header_.clear();
        } else if (len > max_frame_size) {
          ++stats_.oversize;
          skipping_ = len;
          header_.clear();
        } else {
          wanted_ = len;
          body_.reserve(len);
        }
        continue;
      }
      const std::size_t n = std::min(wanted_ - body_.size(), in.size());
      body_.append(in.substr(0, n));
      in.remove_prefix(n);
      if (body_.size() == wanted_) {
        out.push_back(std::move(body_));
        body_.clear();
        header_.clear();
        ++stats_.frames;
      }
    }
    return out;
  }

  /// Bytes of a frame received so far but not complete (at most max_frame_size).
  std::size_t buffered() const { return header_.size() + body_.size(); }
  const deframe_stats& stats() const { return stats_; }

private:
  bytes header_;
  bytes body_;
  std::size_t wanted_ = 0;
  std::uint64_t skipping_ = 0;
  deframe_stats stats_;
};

}  // namespace mosh2::transport
