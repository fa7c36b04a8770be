#pragma once
// The server's live session: the pipeline of stages that joins the UDP socket, the
// pty and the signals to SSP and the emulator, after the process has detached.

#include <optional>
#include <string>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include "mosh2/os/pty_process.hpp"
#include "mosh2/session/server_core.hpp"

namespace mosh2::session {

struct server_config {
  /// What the session decides with: key, size, timeouts, input cap (see server_core).
  /// The status file's `command` is taken from `program`.
  server_core_config core;
  os::pty_spec program;
  int verbosity = 0;
  /// Sent unsealed to the newest peer when the session ends, whatever ends it: the end
  /// datagram of the relays in between (`new --relay-end`, os/relay_end.hpp). Unset: nothing.
  std::optional<std::string> end_datagram;
};

/// Runs the session on `socket` until it ends; returns the process exit status.
int run_server_session(asio::io_context& ctx, asio::ip::udp::socket socket, server_config config);

}  // namespace mosh2::session
