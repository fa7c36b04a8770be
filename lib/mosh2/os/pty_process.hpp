#pragma once
// The program the server runs for the user: forked on a new pty, held back until
// the first client state arrives (so nothing it prints is lost before a client can
// see it), then exec'd with the session environment.

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace mosh2::os {

/// What to run and with which environment.
struct pty_spec {
  std::vector<std::string> argv;   ///< argv[0] is the program looked up in PATH
  std::string argv0_override;      ///< e.g. "-bash" for a login shell; empty = argv[0]
  bool show_motd = false;          ///< login shells print the message of the day and
                                   ///< a warning about detached mosh sessions
  std::vector<std::pair<std::string, std::string>> set_env;
  std::vector<std::string> unset_env;
  int width = 80;
  int height = 24;
};

/// A child process on a pty. Owns the master fd and the release pipe.
class pty_process {
public:
  /// Forks the child; throws std::system_error if the pty or the fork fails.
  explicit pty_process(const pty_spec& spec);
  ~pty_process();
  pty_process(const pty_process&) = delete;
  pty_process& operator=(const pty_process&) = delete;

  /// The master side, for reading the program's output and writing its input.
  int master_fd() const { return master_; }
  pid_t pid() const { return pid_; }

  /// Lets the held-back child exec its program. Idempotent.
  void start();
  bool started() const { return release_fd_ < 0; }

  /// Tells the program its window size (TIOCSWINSZ on the master).
  void resize(int width, int height);

  /// Sends SIGHUP to the child's process group (the session is over).
  void hang_up();

  /// Reaps the child if it has exited; returns true once it is gone.
  bool reap();

private:
  int master_ = -1;
  int release_fd_ = -1;
  pid_t pid_ = -1;
  bool reaped_ = false;
};

/// The user's login shell: $SHELL, else the passwd entry, else /bin/sh.
std::string login_shell();

}  // namespace mosh2::os
