#pragma once
// The client's live session: the pipeline of stages that joins the keyboard, the UDP
// sockets and the signals to SSP, and draws the synchronized screen on the terminal.

#include <cstdint>
#include <string>
#include <vector>

#include <asio/io_context.hpp>

#include "mosh2/session/client_core.hpp"

namespace mosh2::session {

/// What a client displaced by an attach says before it exits with status 1.
inline constexpr const char* attached_elsewhere_message = "this session was attached from elsewhere";

struct client_config {
  std::string host;  ///< numeric address
  std::uint16_t port = 0;
  int verbosity = 0;
  /// What the session decides with: key, escape key, terminal and prediction settings
  /// (see client_core); the server's address and the window size are filled in here.
  client_core_config core;
  /// The command that carries the byte-stream path (ssh ... mosh2-server stream-relay
  /// PORT); empty: UDP only.
  std::vector<std::string> stream_command;
};

/// Runs the session until it ends; returns the exit status (0 after a clean shutdown).
/// Throws std::runtime_error with a one-line message if the address is unusable.
int run_client_session(asio::io_context& ctx, client_config config);

}  // namespace mosh2::session
