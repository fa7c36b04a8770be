#pragma once
// The wire datagram (protocol §3.3, §4.1): 8-byte direction|sequence number in clear,
// then OCB(timestamp ‖ timestamp_reply ‖ one fragment) ‖ tag. Stateless encode/decode.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "mosh2/crypto/ocb_session.hpp"
#include "mosh2/util/bytes.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::datagram {

/// Which end of the session this process is.
enum class role : std::uint8_t { client, server };

/// Bit 63 of the wire number: set on datagrams travelling to the client.
inline constexpr std::uint64_t to_client_bit = std::uint64_t{1} << 63;
/// The sequence number occupies bits 0-62.
inline constexpr std::uint64_t seq_mask = to_client_bit - 1;
/// "No timestamp" in the timestamp_reply field.
inline constexpr std::uint16_t no_timestamp = 0xffff;

inline constexpr std::size_t nonce_bytes = 8;       ///< clear-text prefix
inline constexpr std::size_t timestamp_bytes = 4;   ///< timestamp + timestamp_reply
inline constexpr std::size_t min_datagram = nonce_bytes + crypto::ocb_session::tag_size;  ///< 24
inline constexpr std::size_t receive_buffer = 2048; ///< larger datagrams are dropped
/// Bytes a datagram adds around one fragment: nonce, timestamps and tag (8 + 4 + 16).
inline constexpr std::size_t datagram_overhead = min_datagram + timestamp_bytes;

/// Why a received datagram was dropped; each reason is counted.
enum class drop_reason : std::uint8_t {
  too_short,        ///< under 24 bytes: no room for nonce and tag
  oversize,         ///< over the 2048-byte receive buffer (truncated by the kernel)
  wrong_direction,  ///< carries our own direction bit (a reflected packet)
  bad_tag,          ///< failed authentication
  short_plaintext,  ///< authentic, but under the 4 timestamp bytes
};
/// Number of drop_reason values (for counter arrays).
inline constexpr std::size_t drop_reason_count = 5;

/// A short description of `r`, e.g. "Packet failed integrity check.".
std::string_view describe(drop_reason r) noexcept;

/// The wire number's direction bit for datagrams that `sender` sends.
constexpr std::uint64_t direction_bit_of(role sender) noexcept {
  return sender == role::server ? to_client_bit : 0;
}

/// A decoded, authenticated datagram.
struct decoded {
  decoded(std::uint64_t n, std::uint16_t ts, std::uint16_t ts_reply, bytes p)
      : number(n), timestamp(ts), timestamp_reply(ts_reply), payload(std::move(p)) {}
  std::uint64_t number;           ///< the full 64-bit wire number (direction bit included)
  std::uint16_t timestamp;        ///< sender's 16-bit clock
  std::uint16_t timestamp_reply;  ///< echo of our timestamp, or no_timestamp
  bytes payload;                  ///< one fragment, still encoded

  /// The sender's sequence number (bits 0-62).
  [[nodiscard]] std::uint64_t seq() const noexcept { return number & seq_mask; }
};

/// The wire bytes of one datagram. `number` already carries the direction bit.
bytes encode(crypto::ocb_session& cipher, std::uint64_t number, std::uint16_t timestamp,
             std::uint16_t timestamp_reply, bytes_view payload);

/// Authenticates and splits `wire`, which must have been sent by `peer`. Never
/// throws; the direction bit is checked before decryption, so reflected packets
/// cost no cipher work.
result<decoded, drop_reason> decode(crypto::ocb_session& cipher, bytes_view wire, role peer);

}  // namespace mosh2::datagram
