#pragma once
// `mosh2-server attach` and `new --name` (docs/status.md, "Attaching"): this user's
// server sessions as their status files and control sockets describe them, which one
// an attach means, and the key rotation that hands it over. The choice is pure; only
// find_servers and attach_to touch files and sockets.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "mosh2/os/options.hpp"
#include "mosh2/status/view.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::session {

using status::session_view;

/// A live server session of this user.
struct attach_candidate {
  session_view view;
  std::optional<std::filesystem::path> control;  ///< its control socket, if it has one
};

/// How long one session's control socket may take to answer.
inline constexpr std::chrono::milliseconds attach_control_timeout{2000};

/// The live servers in `dirs` (not shutting down), each with its status fresh from its
/// control socket when that answers (the file may be up to 30 s old). Never prunes.
std::vector<attach_candidate> find_servers(const std::vector<std::filesystem::path>& dirs);

/// Why an attach found nothing to attach to: one line, or the list of sessions to
/// choose from; `status` is the exit status (2: the user must choose).
struct attach_refusal {
  std::string text;
  int status = 1;
};

/// Which of `servers` `which` (a process id or a name) means; with nothing named, the
/// only detached one. Several detached and none named: the list (exit 2).
result<std::size_t, attach_refusal> choose_session(const std::vector<attach_candidate>& servers,
                                                   const std::optional<std::string>& which);

/// The table an ambiguous attach prints: ID, NAME, STATE, IDLE (since the newest
/// keystroke, else since the client was heard), COMMAND.
std::string session_list(const std::vector<attach_candidate>& servers);

/// The session already named `name`, if any: names are unique among live sessions.
std::optional<pid_t> name_taken(const std::vector<attach_candidate>& servers, const std::string& name);

/// The detached sessions as `mosh2-server new` reports them to the launcher: their
/// names, or ids for those without one, comma-separated; empty when there are none.
std::string detached_labels(const std::vector<attach_candidate>& servers);

using os::detached_line_prefix;
using os::report_detached_variable;

/// The new key and port of `server` after asking it to rotate its key.
struct attach_result {
  unsigned port = 0;
  std::string key;
};
result<attach_result, std::string> attach_to(const attach_candidate& server);

}  // namespace mosh2::session
