#pragma once
// The server's live session: the pipeline of stages that joins the UDP socket, the
// pty and the signals to SSP and the emulator, after the process has detached.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include "mosh2/crypto/session_key.hpp"
#include "mosh2/os/pty_process.hpp"
#include "mosh2/session/program_input.hpp"

namespace mosh2::session {

struct server_config {
  crypto::session_key key;
  os::pty_spec program;
  int width = 80;
  int height = 24;
  int verbosity = 0;
  std::optional<std::chrono::seconds> network_timeout;  ///< MOSH_SERVER_NETWORK_TMOUT
  std::optional<std::chrono::seconds> signal_timeout;   ///< MOSH_SERVER_SIGNAL_TMOUT
  /// Without any client state for this long after start, the server exits (stock: 60 s);
  /// the launcher may ask for less so that a client that never starts leaves no server.
  std::chrono::seconds first_contact_limit{60};
  /// `--idle-timeout`: end the session once the client has not been heard for this long.
  std::optional<std::chrono::seconds> idle_timeout;
  /// MOSH2_INPUT_LIMIT: typed input held for a program that is not reading.
  std::size_t program_input_cap = session::program_input_cap;
};

/// Runs the session on `socket` until it ends; returns the process exit status.
int run_server_session(asio::io_context& ctx, asio::ip::udp::socket socket, server_config config);

}  // namespace mosh2::session
