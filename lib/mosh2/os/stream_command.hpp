#pragma once
// Starts the command that carries the client's byte-stream path (ssh HOST mosh2-server
// stream-relay PORT) with its standard input and output on one end of a socket pair.
// It runs in a session of its own, without the user's terminal: ssh must log in without
// asking (an agent, a key, ControlMaster), since the terminal belongs to the session.

#include <sys/types.h>

#include <string>
#include <vector>

#include "mosh2/util/result.hpp"

namespace mosh2::os {

struct stream_child {
  pid_t pid = -1;
  int fd = -1;  ///< our end of the socket pair; the caller closes it
};

/// Starts `argv`; its standard error goes to /dev/null (ssh's words would land in the
/// middle of the session's screen). Errors: one line.
result<stream_child, std::string> start_stream_command(const std::vector<std::string>& argv);

/// Reaps the command: given `grace` (tenths of a second) to end by itself (its stream
/// has closed), then SIGTERM. Returns its wait status.
int stop_stream_command(pid_t pid, int grace_tenths = 0);

/// One line on why a stream command that ended with wait status `status` cannot carry
/// the session (ssh's 255: it could not connect or log in; 127: no such program).
std::string stream_end_reason(int status, const std::string& server);

}  // namespace mosh2::os
