#pragma once
// The relay's end datagram: how a mosh2-server started with `new --relay-end` tells the
// relays between it and its client that the session is over, without them ever holding
// the session key (docs/protocol.md, "Paths", the relay). The server makes a fresh
// 128-bit token, prints it once on its startup line, and sends `relay_end_magic` plus
// the token, unsealed, to its newest peer when its session ends. Each relay was given the
// token on its standard input by the launcher; one that receives exactly that datagram
// from its next hop passes it on to its sources and ends. Pure: no I/O but the token's
// random bytes.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mosh2::os {

/// The datagram's first 16 bytes. The leading zero byte clears bit 63 of what would be a
/// sealed datagram's nonce, the "to client" direction bit (§4.1): no authentic datagram
/// from a server, the only place a relay's next hop sends from, can begin with it.
inline constexpr std::string_view relay_end_magic{"\0mosh2 relay end", 16};

/// The startup line of `mosh2-server new --relay-end`, printed before MOSH CONNECT.
inline constexpr std::string_view relay_end_line_prefix = "MOSH2 RELAY-END ";

/// A fresh secret, unrelated to the session key: knowing it ends the relays and nothing
/// else.
class relay_end_token {
public:
  static constexpr std::size_t size = 16;
  /// From the kernel's CSPRNG.
  static relay_end_token generate();
  /// From its text (32 lowercase or uppercase hex digits); nothing for anything else.
  static std::optional<relay_end_token> parse(std::string_view text);
  /// 32 lowercase hex digits.
  std::string text() const;
  /// The end datagram: the magic, then the token's 16 bytes (32 bytes in all).
  std::string datagram() const;
  /// True for exactly datagram(): any other length, magic or token is not the end. The
  /// token is compared in constant time.
  bool ends(std::string_view datagram) const;

private:
  std::array<std::uint8_t, size> bytes_{};
};

}  // namespace mosh2::os
