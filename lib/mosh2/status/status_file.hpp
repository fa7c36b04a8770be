#pragma once
// The file a live mosh2 process keeps (docs/status.md), and when to rewrite it. The
// directory is the one choice it shares with the control socket
// (control::choose_status_directory), so `<pid>.json` and `<pid>.sock` sit together.

#include <sys/types.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "mosh2/control/status_dir.hpp"
#include "mosh2/status/relay_status.hpp"
#include "mosh2/status/session_status.hpp"
#include "mosh2/util/clock.hpp"

namespace mosh2::status {

/// The file `<pid>.json`: written whole and renamed into place, so a reader never sees
/// half a file; removed when the writer goes. Failures are quiet (a status file must
/// never disturb a session) but the newest reason is kept for logs.
class status_file {
public:
  status_file(std::vector<std::filesystem::path> candidates, pid_t pid);
  ~status_file();
  status_file(const status_file&) = delete;
  status_file& operator=(const status_file&) = delete;

  /// Replaces the file's contents with `json`. The directory is chosen on the first
  /// write and again when it is no longer at its path (removed, unmounted, replaced);
  /// the file then moves, and the old one is removed. False when it was not written.
  bool write(const std::string& json);
  /// The file last written, if any.
  const std::optional<std::filesystem::path>& path() const { return written_; }
  /// Why the newest write failed (empty after a success).
  const std::string& last_error() const { return error_; }

private:
  std::vector<std::filesystem::path> candidates_;
  pid_t pid_;
  std::string name_;
  std::optional<control::private_directory> dir_;
  std::optional<std::filesystem::path> written_;
  std::string error_;
};

/// What a session owns to publish its status: the file, and when to rewrite it (at
/// most once per status_interval, and only when something happened since).
class status_reporter {
public:
  explicit status_reporter(std::vector<std::filesystem::path> candidates = control::status_directories())
      : file_(std::move(candidates), ::getpid()) {}

  /// Records that the session changed.
  void touch() { dirty_ = true; }
  /// Records that only counters moved (a heartbeat came or went): the file catches up
  /// within status_idle_interval, on a wake-up the session has anyway. An idle session
  /// then rewrites its file twice a minute rather than on every heartbeat; each rewrite
  /// costs a filesystem wake-up (measured: bench/idle_wakeups.py). The control socket
  /// always answers with the live values.
  void touch_idle() { idle_dirty_ = true; }
  /// True when a write is due at `now`.
  bool due(time_point now) const {
    return (dirty_ && now >= next_) || (idle_dirty_ && now >= last_ + status_idle_interval);
  }
  /// The next time a write can be due, or `never`.
  time_point next_deadline() const { return dirty_ ? next_ : never; }
  /// Writes `s`. Returns the reason of the first failure, once, for the session's log.
  std::optional<std::string> publish(const session_status& s, time_point now);
  /// The same for a relay's file.
  std::optional<std::string> publish(const relay_status& r, time_point now);
  const status_file& file() const { return file_; }

private:
  std::optional<std::string> publish_json(const std::string& json, time_point now);

  status_file file_;
  bool dirty_ = true;
  bool idle_dirty_ = false;
  bool warned_ = false;
  time_point next_{};
  time_point last_{};
};

/// The candidate directories (control::status_directories), here too so that the
/// sessions find everything about publishing their status in this folder.
using control::status_directories;

}  // namespace mosh2::status
