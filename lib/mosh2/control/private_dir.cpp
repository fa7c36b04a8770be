// The private-directory rule; see private_dir.hpp.

#include "mosh2/control/private_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace mosh2::control {

std::optional<std::string> check_private_directory(const std::filesystem::path& dir, bool create) {
  if (create && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fmt::format("cannot create {}: {}", dir.string(), std::strerror(errno));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return fmt::format("cannot use {}: {}", dir.string(), std::strerror(errno));
  if (S_ISLNK(st.st_mode)) return fmt::format("{} is a symlink", dir.string());
  if (!S_ISDIR(st.st_mode)) return fmt::format("{} is not a directory", dir.string());
  if (st.st_uid != ::geteuid())
    return fmt::format("{} belongs to uid {}, not to this user (uid {})", dir.string(), st.st_uid, ::geteuid());
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) return fmt::format("{} is writable by others", dir.string());
  return std::nullopt;
}

}  // namespace mosh2::control
