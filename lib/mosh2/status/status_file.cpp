// The status file and its rewrite policy; see status_file.hpp.

#include "mosh2/status/status_file.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "mosh2/status/document.hpp"

namespace mosh2::status {
namespace {

// Puts `temporary` in place of `target`, both in `dir`. An existing target is swapped
// out with RENAME_EXCHANGE and then unlinked rather than renamed over: ext4
// (auto_da_alloc) starts writeback of a file renamed over another and the process
// sleeps on it, one wake-up per rewrite that an idle session would pay twice a minute
// (bench/idle_wakeups.py). Readers still see the old file or the new one, never
// neither; a status file need not survive a crash, so nothing is lost by not flushing.
bool put_in_place(int dir, const std::string& temporary, const std::string& target) {
  if (::renameat2(dir, temporary.c_str(), dir, target.c_str(), RENAME_EXCHANGE) == 0) {
    ::unlinkat(dir, temporary.c_str(), 0);
    return true;
  }
  // The first write (no target yet), or a filesystem without exchange.
  return ::renameat(dir, temporary.c_str(), dir, target.c_str()) == 0;
}

}  // namespace

status_file::status_file(std::vector<std::filesystem::path> candidates, pid_t pid)
    : candidates_(std::move(candidates)), pid_(pid), name_(control::status_file_name(pid)) {}

status_file::~status_file() {
  if (dir_ && written_) ::unlinkat(dir_->fd(), name_.c_str(), 0);
}

bool status_file::write(const std::string& text) {
  if (!dir_ || !dir_->still_at_path()) {
    auto chosen = control::choose_status_directory(candidates_, pid_);
    if (!chosen) {
      error_ = chosen.error();
      return false;
    }
    // Moving must not leave the old file behind as a second entry.
    if (dir_ && written_) ::unlinkat(dir_->fd(), name_.c_str(), 0);
    written_.reset();
    dir_ = std::move(*chosen);
  }
  const std::string temporary = "." + name_ + ".tmp";
  const auto target = dir_->path() / name_;
  const int fd = ::openat(dir_->fd(), temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    error_ = fmt::format("cannot write {}: {}", (dir_->path() / temporary).string(), std::strerror(errno));
    return false;
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  const int write_errno = errno;
  ::close(fd);
  if (done != text.size() || !put_in_place(dir_->fd(), temporary, name_)) {
    error_ = fmt::format("cannot write {}: {}", target.string(), std::strerror(done != text.size() ? write_errno : errno));
    ::unlinkat(dir_->fd(), temporary.c_str(), 0);
    return false;
  }
  written_ = target;
  error_.clear();
  return true;
}

std::optional<std::string> status_reporter::publish(const session_status& s, time_point now) {
  return publish_json(to_json(s, now), now);
}

std::optional<std::string> status_reporter::publish(const relay_status& r, time_point now) {
  return publish_json(to_json(r, now), now);
}

std::optional<std::string> status_reporter::publish_json(const std::string& json, time_point now) {
  dirty_ = false;
  idle_dirty_ = false;
  last_ = now;
  next_ = now + status_interval;
  if (file_.write(json) || warned_) return std::nullopt;
  warned_ = true;
  return file_.last_error();
}

}  // namespace mosh2::status
