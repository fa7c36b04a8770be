#pragma once
// The events both session cores take through handle(event, now). A core is driven the
// same way by the programs' session runner and by test/session's simulator: events as
// they come, then a `turn` when the queue is drained, which returns what is due now
// (datagrams, the screen, the program's next operation, the end). Plain values, no I/O.

#include <string>

#include "mosh2/session/transport_core.hpp"
#include "mosh2/util/bytes.hpp"

namespace mosh2::session {

/// A datagram from `from`, not yet authenticated.
struct incoming_datagram {
  bytes_view wire;
  peer_address from;
  bool truncated = false;   ///< larger than the receive buffer
  bool congestion = false;  ///< ECN CE on its IP header
};

/// SIGTERM, SIGINT, SIGHUP or SIGUSR1 reached the process.
struct signal_received {
  int signo = 0;
};

/// Someone asked the session to end (the control socket's kill).
struct shutdown_requested {
  std::string why;
};

/// The datagrams of the last turn went out (err 0), or `err` stopped one.
struct send_result {
  int err = 0;
};

/// The loop's queue is drained: what is due now.
struct turn {};

/// What every core's actions have in common.
struct common_actions {
  std::vector<bytes> datagrams;  ///< to send now, in order (only a turn has any)
  std::optional<int> exit;       ///< the session is over with this status
  time_point deadline = never;   ///< when the core wants its next turn by itself
  /// The event changed what a reader of the status file should see soon (a heartbeat
  /// or a tick only moves counters, which the file catches up with later).
  bool news = false;
};

}  // namespace mosh2::session
