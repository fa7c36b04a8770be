#pragma once
// The 128-bit session key shared by client and server, and its 22-letter printed form.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mosh2/util/bytes.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::crypto {

/// Why a printed key was refused.
enum class key_error : std::uint8_t {
  wrong_length,   ///< not exactly 22 characters
  bad_character,  ///< a character outside A-Z a-z 0-9 + /
  not_canonical,  ///< the last character carries nonzero padding bits
};

/// The message a user sees for `e`, e.g. "Key must be 22 letters long.".
std::string_view describe(key_error e) noexcept;

/// A 16-byte AES-128 key. Printed as standard base64 without the trailing "==",
/// always 22 characters (protocol §1.4). The bytes are wiped on destruction.
class session_key {
public:
  static constexpr std::size_t size = 16;           ///< key bytes
  static constexpr std::size_t printed_size = 22;   ///< letters in the printed form
  using raw_type = std::array<std::uint8_t, size>;

  /// A fresh key from the kernel CSPRNG; throws only if the kernel refuses.
  static session_key generate();

  /// Parses the printed form strictly: 22 letters of the standard alphabet whose
  /// re-encoding gives back the same letters (so the last one is A, Q, g or w).
  static result<session_key, key_error> parse(std::string_view printed);

  /// A key with the given bytes (tests and known-answer vectors).
  explicit session_key(const raw_type& raw) noexcept : raw_(raw) {}

  session_key(const session_key&) = default;
  session_key& operator=(const session_key&) = default;
  ~session_key();

  /// The 22-letter printed form. It is the secret itself: never log it.
  [[nodiscard]] std::string to_string() const;

  /// The key bytes, for the cipher.
  [[nodiscard]] bytes_view raw() const noexcept {
    return {reinterpret_cast<const char*>(raw_.data()), raw_.size()};
  }

  friend bool operator==(const session_key&, const session_key&) = default;

private:
  raw_type raw_;
};

}  // namespace mosh2::crypto
