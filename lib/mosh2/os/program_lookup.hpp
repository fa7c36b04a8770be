#pragma once
// Finding a program the way execvp(3) will, before committing to run it: the server
// checks the session's command before it detaches, and the launcher checks the client
// before it starts a server, so that a typo is one clear line instead of a session that
// ends at once or a server left waiting for a client that never comes.

#include <optional>
#include <string>

#include "mosh2/util/result.hpp"

namespace mosh2::os {

/// Where execvp would find `name`, or the errno it would fail with (ENOENT, EACCES).
/// A name with a '/' is taken as it is, relative to `cwd` when it is relative; any other
/// name is searched in `path` (`$PATH`; unset means "/bin:/usr/bin", as glibc does; an
/// empty element is `cwd`). A file counts when it exists, is not a directory and is
/// executable by us.
result<std::string, int> find_program(const std::string& name, const std::optional<std::string>& path,
                                      const std::string& cwd);

/// "cannot run NAME: REASON", the one line shown when find_program fails.
std::string cannot_run_message(const std::string& name, int error);

}  // namespace mosh2::os
