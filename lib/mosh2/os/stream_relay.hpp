#pragma once
// `mosh2-server stream-relay PORT [ADDRESS]`: the host's end of the byte-stream path
// (docs/protocol.md, "Paths"). Started over ssh by a client whose UDP gets no answer, it
// bridges ssh's stdio to the session's UDP port on this host: each frame from standard
// input goes out as one datagram to ADDRESS:PORT, each datagram back comes out as one
// frame on standard output. The datagrams stay sealed (the relay has no key), and the
// server sees an ordinary client address (this host's) that it follows as a roam.

#include <cstdint>
#include <optional>
#include <string>

#include "mosh2/util/result.hpp"

namespace mosh2::os {

/// Where the relay sends: ADDRESS if given, else the server's side of $SSH_CONNECTION
/// (the address `mosh2-server new -s` binds), else 127.0.0.1.
std::string stream_relay_target(const std::optional<std::string>& address,
                                const std::optional<std::string>& ssh_connection);

/// Runs the relay on descriptors `in` and `out` until `in` ends (0) or something fails
/// (the one-line reason). Memory: one frame in each direction.
result<int, std::string> run_stream_relay(int in, int out, const std::string& address, std::uint16_t port);

}  // namespace mosh2::os
