#pragma once
// Relaying bytes between a pair of descriptors and a socket, as a ProxyCommand does for
// ssh: `in` to the socket, the socket to `out`.

namespace mosh2::os {

/// Copies until the socket ends (0) or a write or poll fails (1). End of `in` is passed
/// on as a half-close of the socket; SIGPIPE is ignored from here on.
int relay(int in, int out, int sock);

}  // namespace mosh2::os
