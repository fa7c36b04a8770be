#pragma once
// The session's utmp entry (protocol §8.4 step 7): "mosh [PID]" while detached,
// "<ip> via mosh [PID]" while a client is attached, so `who` and `w` show mosh sessions
// and the next login can warn about detached ones. Written through libutempter, whose
// setgid helper lets an ordinary user update utmp; the library is loaded at run time, so
// a system without it simply gets no entry.

#include <string>
#include <vector>

namespace mosh2::os {

class utmp_record {
public:
  /// Records `host` for the pty whose master is `master_fd`, if libutempter is present.
  utmp_record(int master_fd, const std::string& host);
  ~utmp_record();
  utmp_record(const utmp_record&) = delete;
  utmp_record& operator=(const utmp_record&) = delete;

  /// Replaces the entry's host text (a no-op when it is unchanged or utmp is unavailable).
  void set_host(const std::string& host);
  /// True when libutempter was found and accepted the first record.
  bool active() const { return active_; }

private:
  void* library_ = nullptr;
  int (*add_)(int, const char*) = nullptr;
  int (*remove_)(int) = nullptr;
  int master_fd_;
  std::string host_;
  bool active_ = false;
};

/// "mosh [PID]": the host text of a session with no client attached.
std::string detached_host(int pid);
/// "<ip> via mosh [PID]": the host text while the client at `ip` is attached.
std::string attached_host(const std::string& ip, int pid);

/// The pids in detached mosh entries ("mosh [PID]") of `user` in utmp, other than
/// `except_pid`: what the login warning lists.
std::vector<int> detached_sessions(const std::string& user, int except_pid);

/// The warning a new session prints about detached ones; empty when there are none.
std::string detached_warning(const std::vector<int>& pids);

}  // namespace mosh2::os
