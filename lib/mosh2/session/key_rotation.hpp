#pragma once
// The event a control socket's "rotate_key" request puts on a server's event pipe: the
// session's next key (docs/protocol.md, "Rekeying"). It travels the same pipe as the
// datagrams, so the core takes the key before any datagram sealed with it.

#include "mosh2/crypto/session_key.hpp"

namespace mosh2::session {

struct key_rotation {
  explicit key_rotation(crypto::session_key k) : key(std::move(k)) {}
  crypto::session_key key;
};

}  // namespace mosh2::session
