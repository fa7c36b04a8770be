#pragma once
// Where a session publishes itself: the one directory choice that the status file and
// the control socket both make, so that `<pid>.json` and `<pid>.sock` always sit side
// by side, and the rule for such a directory (a real directory of this user that
// nobody else can write). Writers and readers check the same way: in a shared /tmp,
// someone else could otherwise plant files or sockets for us to read or connect to.
// A directory is opened once (O_DIRECTORY|O_NOFOLLOW) and used through its
// descriptor, so swapping a symlink in after the check changes nothing.

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mosh2/util/result.hpp"

namespace mosh2::control {

/// Where status files and sockets go, most preferred first: $MOSH2_STATUS_DIR alone
/// when set; otherwise $XDG_RUNTIME_DIR/mosh2 and then /tmp/mosh2-<uid> (a detached
/// server outlives the login that owned XDG_RUNTIME_DIR unless lingering is enabled).
/// Empty when MOSH2_STATUS_DIR is set to the empty string: status files are off.
std::vector<std::filesystem::path> status_directories();

/// `<pid>.json`, the status file's name.
inline std::string status_file_name(pid_t pid) { return std::to_string(pid) + ".json"; }
/// `<pid>.sock`, the control socket's name.
inline std::string control_socket_name(pid_t pid) { return std::to_string(pid) + ".sock"; }
/// `<dir>/<pid>.sock`.
inline std::filesystem::path control_socket_path(const std::filesystem::path& dir, pid_t pid) {
  return dir / control_socket_name(pid);
}

/// An open directory that passed the private-directory rule. Move-only; closes its
/// descriptor when it goes.
class private_directory {
public:
  /// Opens `dir` (creating it with mode 0700 first when `create`) and checks the open
  /// descriptor: a directory, not reached through a symlink, of this user, writable by
  /// nobody else. The reason (naming the directory) when it is not.
  static result<private_directory, std::string> open(const std::filesystem::path& dir, bool create);

  private_directory(private_directory&& other) noexcept;
  private_directory& operator=(private_directory&& other) noexcept;
  private_directory(const private_directory&) = delete;
  private_directory& operator=(const private_directory&) = delete;
  ~private_directory();

  int fd() const { return fd_; }
  const std::filesystem::path& path() const { return path_; }
  /// True while path() still names the directory that was opened. False once it was
  /// removed, unmounted (logind removes /run/user/UID at logout) or replaced.
  bool still_at_path() const;
  /// A path to `name` inside this directory that resolves through the descriptor
  /// (/proc/self/fd/N/name), for calls such as bind(2) that take only a path.
  std::string through_fd(std::string_view name) const;

private:
  private_directory(int fd, std::filesystem::path path, dev_t dev, ino_t ino)
      : fd_(fd), path_(std::move(path)), dev_(dev), ino_(ino) {}
  int fd_ = -1;
  std::filesystem::path path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

/// The reason `dir` is not a private directory, or nothing when it is (see
/// private_directory::open).
std::optional<std::string> check_private_directory(const std::filesystem::path& dir, bool create);

/// The one choice: the first of `candidates` that opens as a private directory
/// (created if missing) in which both of process `pid`'s names can live: the socket's
/// path fits a Unix socket address, and neither `<pid>.json` nor `<pid>.sock` is held
/// by something other than a regular file or a socket (a stranger's plant is left
/// alone, and we move on). The newest reason when none qualifies.
result<private_directory, std::string> choose_status_directory(const std::vector<std::filesystem::path>& candidates,
                                                               pid_t pid);

}  // namespace mosh2::control
