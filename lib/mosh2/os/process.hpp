#pragma once
// Running other programs from a launcher: start one with its output on a pipe (an exec
// failure told apart from the program's own exit status), wait for it within a bound,
// and replace this process with another. What to run and with which environment is the
// caller's decision, passed in as data; these functions only carry it out.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mosh2::os {

/// A failure a program reports in one line and ends on, with the exit status to use.
/// Helpers throw it so that only main() prints and exits.
struct fatal_error : std::runtime_error {
  fatal_error(int status, const std::string& message) : std::runtime_error(message), status(status) {}
  int status;
};

/// What a child changes before it runs its program, in this order.
struct child_setup {
  std::vector<std::string> unset;                            ///< variables removed
  std::vector<std::pair<std::string, std::string>> set;      ///< variables set (replacing)
  std::optional<std::string> directory;                      ///< chdir here if it can
  /// spawn_with_output: the child's standard input is a pipe holding this (at most
  /// PIPE_BUF bytes), then end of file. Unset: this process's standard input.
  std::optional<std::string> input;
};

/// A running child with its stdout and stderr on one pipe.
struct child_process {
  pid_t pid = -1;
  int output = -1;  ///< read end; the caller closes it
};

/// Starts argv[0] (found on PATH) with `setup` applied, stdout and stderr on a pipe.
/// Throws fatal_error(1, "cannot run NAME: REASON") when it cannot be executed.
child_process spawn_with_output(const std::vector<std::string>& argv, const child_setup& setup);

/// Reads a child's output until end of file, at most `max_bytes`.
std::string read_output(int fd, std::size_t max_bytes);

/// How read_until ended.
enum class read_end {
  eof,        ///< the writer closed its end
  stopped,    ///< on_bytes asked to stop
  timed_out,  ///< the deadline passed (or poll failed)
};

/// Reads `fd` in chunks of up to 4 KiB, handing each to `on_bytes`, until end of file,
/// `on_bytes` returns false, or `deadline`.
read_end read_until(int fd, std::chrono::steady_clock::time_point deadline,
                    const std::function<bool(std::string_view)>& on_bytes);

/// Its wait status once it ends, waiting as long as it takes.
int wait_for(pid_t pid);

/// Its wait status if it ends within `tries` polls `interval_ms` apart, else nothing.
std::optional<int> reap_within(pid_t pid, int tries, int interval_ms);

/// Applies `setup` and execs argv[0] (found on PATH). Returns only on failure, with the
/// errno of execvp.
int exec_program(const std::vector<std::string>& argv, const child_setup& setup);

/// This program's own path (/proc/self/exe), or "" when it cannot be read.
std::string self_path();

/// `name` next to this program if it is there and executable, else `name` (for PATH).
std::string beside_self(const std::string& name);

/// The current directory, or "." when it cannot be read.
std::string current_directory();

}  // namespace mosh2::os
