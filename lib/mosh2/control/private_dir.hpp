#pragma once
// The one rule for the directories that hold status files and control sockets: a real
// directory (not a symlink) of this user that nobody else can write. Writers and
// readers check the same way (issue 10): in a shared /tmp, someone else could
// otherwise plant files or sockets for us to read or connect to.

#include <filesystem>
#include <optional>
#include <string>

namespace mosh2::control {

/// Checks `dir`, creating it with mode 0700 first when `create`; the reason when it is
/// not safe to use (it names the directory).
std::optional<std::string> check_private_directory(const std::filesystem::path& dir, bool create);

}  // namespace mosh2::control
