// Datagram encode/decode: framing around AES-128-OCB, no connection state.

#include "mosh2/datagram/packet.hpp"

namespace mosh2::datagram {

std::string_view describe(drop_reason r) noexcept {
  switch (r) {
    case drop_reason::too_short: return "Ciphertext must contain nonce and tag.";
    case drop_reason::oversize: return "Received oversize datagram.";
    case drop_reason::wrong_direction: return "Datagram carries our own direction.";
    case drop_reason::bad_tag: return "Packet failed integrity check.";
    case drop_reason::short_plaintext: return "Datagram too short for its timestamps.";
  }
  return "Datagram dropped.";
}

bytes encode(crypto::ocb_session& cipher, std::uint64_t number, std::uint16_t timestamp,
             std::uint16_t timestamp_reply, bytes_view payload) {
  bytes plain;
  plain.reserve(timestamp_bytes + payload.size());
  put_be<2>(plain, timestamp);
  put_be<2>(plain, timestamp_reply);
  plain.append(payload);

  bytes wire;
  wire.reserve(nonce_bytes + plain.size() + crypto::ocb_session::tag_size);
  put_be<8>(wire, number);
  wire += cipher.seal(number, plain);
  return wire;
}

result<decoded, drop_reason> decode(crypto::ocb_session& cipher, bytes_view wire, role peer) {
  if (wire.size() < min_datagram) return failure{drop_reason::too_short};
  if (wire.size() > receive_buffer) return failure{drop_reason::oversize};
  const std::uint64_t number = get_be<8>(wire);
  if ((number & to_client_bit) != direction_bit_of(peer))
    return failure{drop_reason::wrong_direction};

  auto plain = cipher.open(number, wire.substr(nonce_bytes));
  // The length was checked above, so the only possible failure is the tag.
  if (!plain) return failure{drop_reason::bad_tag};
  if (plain->size() < timestamp_bytes) return failure{drop_reason::short_plaintext};

  const bytes_view p = *plain;
  return decoded(number, static_cast<std::uint16_t>(get_be<2>(p)),
                 static_cast<std::uint16_t>(get_be<2>(p.substr(2))),
                 bytes(p.substr(timestamp_bytes)));
}

}  // namespace mosh2::datagram
