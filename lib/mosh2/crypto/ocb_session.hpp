#pragma once
// AES-128-OCB (RFC 7253, 16-byte tag) keyed once with the session key, with Mosh's
// nonce layout: 4 zero bytes then the 8-byte big-endian direction|sequence number.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "mosh2/crypto/session_key.hpp"
#include "mosh2/util/bytes.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::crypto {

/// Why a sealed message was refused.
enum class open_error : std::uint8_t {
  too_short,  ///< shorter than the 16-byte tag
  bad_tag,    ///< authentication failed: wrong key, nonce, data or tampering
};

/// A short description of `e`, e.g. "Packet failed integrity check.".
std::string_view describe(open_error e) noexcept;

/// One key's OCB encryptor and decryptor. seal/open never reuse state between
/// messages; the caller owns nonce uniqueness (the datagram layer's sequence counter).
class ocb_session {
public:
  static constexpr std::size_t tag_size = 16;    ///< bytes appended by seal
  static constexpr std::size_t nonce_size = 12;  ///< bytes of Mosh's nonce
  static constexpr std::size_t block_size = 16;
  /// Blocks one side may encrypt under the shared key: half the RFC 7253 guideline
  /// of 2^48, since both directions use the same key (protocol §3.5).
  static constexpr std::uint64_t default_block_limit = std::uint64_t{1} << 47;

  /// Keys the cipher. `block_limit` is lowered only by tests of the limit itself.
  explicit ocb_session(const session_key& key, std::uint64_t block_limit = default_block_limit);
  ~ocb_session();
  ocb_session(ocb_session&&) noexcept;
  ocb_session& operator=(ocb_session&&) noexcept;
  ocb_session(const ocb_session&) = delete;
  ocb_session& operator=(const ocb_session&) = delete;

  /// The 12-byte nonce for the 64-bit wire value `n` (bit 63 = to-client).
  static bytes make_nonce(std::uint64_t n);

  /// ciphertext ‖ tag for `plaintext` under nonce make_nonce(n), no associated data.
  /// Throws std::runtime_error if this would pass the block limit (fatal: the key
  /// must not be used further).
  bytes seal(std::uint64_t n, bytes_view plaintext);

  /// The plaintext of `sealed` (= ciphertext ‖ tag) under make_nonce(n); never throws
  /// on bad input.
  result<bytes, open_error> open(std::uint64_t n, bytes_view sealed);

  /// seal with an explicit nonce and associated data (RFC 7253 vectors; the wire
  /// uses neither). Throws std::invalid_argument for a nonce length OCB rejects.
  bytes seal_with(bytes_view nonce, bytes_view associated_data, bytes_view plaintext);

  /// open with an explicit nonce and associated data. Throws std::invalid_argument
  /// for a nonce length OCB rejects; bad input is an error value.
  result<bytes, open_error> open_with(bytes_view nonce, bytes_view associated_data,
                                      bytes_view sealed);

  /// 16-byte blocks encrypted so far (a partial final block counts as one).
  [[nodiscard]] std::uint64_t blocks_encrypted() const noexcept { return blocks_; }

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::uint64_t blocks_ = 0;
  std::uint64_t block_limit_;
};

}  // namespace mosh2::crypto
