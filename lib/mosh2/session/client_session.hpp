#pragma once
// The client's live session: the pipeline of stages that joins the keyboard, the UDP
// sockets and the signals to SSP, and draws the synchronized screen on the terminal.

#include <cstdint>
#include <string>

#include <asio/io_context.hpp>

#include "mosh2/crypto/session_key.hpp"
#include "mosh2/overlay/prediction.hpp"
#include "mosh2/session/escape_key.hpp"

namespace mosh2::session {

struct client_config {
  std::string host;  ///< numeric address
  std::uint16_t port = 0;
  crypto::session_key key;
  int verbosity = 0;
  escape_key escape;
  bool term_init = true;     ///< false with MOSH_NO_TERM_INIT: no smcup/rmcup
  bool title_prefix = true;  ///< false with MOSH_TITLE_NOPREFIX
  std::string term;          ///< $TERM, for the local terminal profile
  overlay::prediction_mode predict = overlay::prediction_mode::adaptive;  ///< MOSH_PREDICTION_DISPLAY
  bool predict_overwrite = false;  ///< MOSH_PREDICTION_OVERWRITE=yes
};

/// Runs the session until it ends; returns the exit status (0 after a clean shutdown).
/// Throws std::runtime_error with a one-line message if the address is unusable.
int run_client_session(asio::io_context& ctx, client_config config);

}  // namespace mosh2::session
