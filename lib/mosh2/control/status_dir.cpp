// The one directory choice; see status_dir.hpp.

#include "mosh2/control/status_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace mosh2::control {

std::vector<std::filesystem::path> status_directories() {
  if (const char* dir = std::getenv("MOSH2_STATUS_DIR")) {
    if (!*dir) return {};
    return {std::filesystem::path(dir)};
  }
  std::vector<std::filesystem::path> dirs;
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime && runtime[0] == '/')
    dirs.push_back(std::filesystem::path(runtime) / "mosh2");
  dirs.push_back(std::filesystem::path(fmt::format("/tmp/mosh2-{}", ::geteuid())));
  return dirs;
}

result<private_directory, std::string> private_directory::open(const std::filesystem::path& dir, bool create) {
  if (create && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return failure{fmt::format("cannot create {}: {}", dir.string(), std::strerror(errno))};
  const auto refusal = [&](const struct stat& st) -> std::optional<std::string> {
    if (S_ISLNK(st.st_mode)) return fmt::format("{} is a symlink", dir.string());
    if (!S_ISDIR(st.st_mode)) return fmt::format("{} is not a directory", dir.string());
    if (st.st_uid != ::geteuid())
      return fmt::format("{} belongs to uid {}, not to this user (uid {})", dir.string(), st.st_uid, ::geteuid());
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) return fmt::format("{} is writable by others", dir.string());
    return std::nullopt;
  };
  // O_NOFOLLOW refuses a symlink in the last component; the checks below are made on
  // what was opened, so nothing can be swapped in between.
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    // Why, in the rule's words when the path shows it (a stranger's 0700 directory
    // cannot be opened at all).
    const int e = errno;
    struct stat st {};
    if (::lstat(dir.c_str(), &st) == 0)
      if (auto bad = refusal(st)) return failure{*bad};
    return failure{fmt::format("cannot use {}: {}", dir.string(), std::strerror(e))};
  }
  struct stat st {};
  std::optional<std::string> bad;
  if (::fstat(fd, &st) != 0) bad = fmt::format("cannot use {}: {}", dir.string(), std::strerror(errno));
  else bad = refusal(st);
  if (bad) {
    ::close(fd);
    return failure{*bad};
  }
  return private_directory(fd, dir, st.st_dev, st.st_ino);
}

private_directory::private_directory(private_directory&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), dev_(other.dev_), ino_(other.ino_) {}

private_directory& private_directory::operator=(private_directory&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    dev_ = other.dev_;
    ino_ = other.ino_;
  }
  return *this;
}

private_directory::~private_directory() {
  if (fd_ >= 0) ::close(fd_);
}

bool private_directory::still_at_path() const {
  struct stat st {};
  if (fd_ < 0 || ::fstat(fd_, &st) != 0 || st.st_nlink == 0) return false;
  struct stat at {};
  return ::lstat(path_.c_str(), &at) == 0 && at.st_dev == dev_ && at.st_ino == ino_;
}

std::string private_directory::through_fd(std::string_view name) const {
  return fmt::format("/proc/self/fd/{}/{}", fd_, name);
}

std::optional<std::string> check_private_directory(const std::filesystem::path& dir, bool create) {
  auto d = private_directory::open(dir, create);
  if (!d) return d.error();
  return std::nullopt;
}

namespace {

/// Why `name` in `dir` cannot be ours, or nothing: missing, or of the kind we make.
std::optional<std::string> name_taken(const private_directory& dir, const std::string& name, mode_t ours) {
  struct stat st {};
  if (::fstatat(dir.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return std::nullopt;
  if ((st.st_mode & S_IFMT) == ours) return std::nullopt;
  return fmt::format("{} exists and is not a {}", (dir.path() / name).string(), ours == S_IFSOCK ? "socket" : "file");
}

}  // namespace

result<private_directory, std::string> choose_status_directory(const std::vector<std::filesystem::path>& candidates,
                                                               pid_t pid) {
  std::string why = "status files are off (MOSH2_STATUS_DIR is empty)";
  for (const auto& candidate : candidates) {
    auto dir = private_directory::open(candidate, true);
    if (!dir) {
      why = dir.error();
      continue;
    }
    // Both the path readers connect to and the one bind(2) uses must fit.
    const auto socket = control_socket_path(candidate, pid).string();
    if (socket.size() >= sizeof(sockaddr_un::sun_path) ||
        dir->through_fd(control_socket_name(pid)).size() >= sizeof(sockaddr_un::sun_path)) {
      why = fmt::format("{}: path too long for a Unix socket", socket);
      continue;
    }
    if (auto taken = name_taken(*dir, status_file_name(pid), S_IFREG)) {
      why = *taken;
      continue;
    }
    if (auto taken = name_taken(*dir, control_socket_name(pid), S_IFSOCK)) {
      why = *taken;
      continue;
    }
    if (::faccessat(dir->fd(), ".", W_OK | X_OK, AT_EACCESS) != 0) {
      why = fmt::format("cannot write in {}: {}", candidate.string(), std::strerror(errno));
      continue;
    }
    return std::move(*dir);
  }
  return failure{why};
}

}  // namespace mosh2::control
