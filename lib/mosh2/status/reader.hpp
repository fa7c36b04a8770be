#pragma once
// Reading the status files back, as `mosh2-status` does: every check a file must pass
// before anything in it is believed, and the removal of files whose process is gone.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mosh2::status {

/// A status file larger than this is not a status file (they are ~2 KiB).
inline constexpr std::size_t max_status_file_bytes = 64 * 1024;
/// For a file without `process_start_ticks` (written before it existed): a process
/// that started more than this after the file's `started_unix_ms` is a newer one that
/// reused the pid. The margin covers /proc's whole-second boot time and the moments
/// between process start and session start.
inline constexpr std::chrono::milliseconds pid_reuse_margin{3000};

/// One status file read back.
struct status_entry {
  std::filesystem::path path;
  pid_t pid = 0;
  std::string json;  ///< the file's text, already checked to parse as a JSON object
  std::optional<std::filesystem::path> control;  ///< `<pid>.sock` beside it, if present
};

/// Something the reader skipped, and whether to say so without -v.
struct read_problem {
  std::string text;
  bool always = false;  ///< false: only with -v (a stranger's file, a stale entry)
  bool directory = false;  ///< a whole directory was not read
};

/// How read_status_files treats what it finds.
struct read_options {
  bool prune_stale = true;     ///< remove the files and sockets of processes that are gone
  bool explicit_dirs = false;  ///< the user named the directories: a missing one is a problem
};

/// Reads every `<pid>.json` in `dirs` (first directory wins for a pid). A directory is
/// read only if it opens as a private directory (control::private_directory), and is
/// then read through that descriptor. A file is read only if it opens with
/// O_NOFOLLOW|O_NONBLOCK as a regular file of this user of at most
/// max_status_file_bytes, parses as a JSON object whose `pid` matches its name, and its
/// process is alive and the one that wrote it: the same `process_start_ticks` (clock
/// ticks since boot, immune to wall-clock steps), or for older files the
/// pid_reuse_margin rule. Everything skipped is described in `problems`.
std::vector<status_entry> read_status_files(const std::vector<std::filesystem::path>& dirs,
                                            const read_options& options, std::vector<read_problem>& problems);

/// When process `pid` started, in Unix milliseconds (from /proc), if it exists.
std::optional<std::int64_t> process_start_unix_ms(pid_t pid);

}  // namespace mosh2::status
