// Starting, waiting for and becoming other programs.

#include "mosh2/os/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "mosh2/os/program_lookup.hpp"

namespace mosh2::os {
namespace {

std::vector<char*> c_argv(std::vector<std::string>& words) {
  std::vector<char*> out;
  for (auto& w : words) out.push_back(w.data());
  out.push_back(nullptr);
  return out;
}

void apply(const child_setup& setup) {
  for (const auto& name : setup.unset) ::unsetenv(name.c_str());
  for (const auto& [name, value] : setup.set) ::setenv(name.c_str(), value.c_str(), 1);
  if (setup.directory && ::chdir(setup.directory->c_str()) != 0) {
    // Stay where we are: the directory is a preference, not a requirement.
  }
}

}  // namespace

child_process spawn_with_output(const std::vector<std::string>& argv, const child_setup& setup) {
  int out[2], exec_error[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw fatal_error(1, fmt::format("pipe: {}", std::strerror(errno)));
  if (::pipe2(exec_error, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(out[0]);
    ::close(out[1]);
    throw fatal_error(1, fmt::format("pipe: {}", std::strerror(e)));
  }
  // Everything the child needs is made before fork: it only calls async-signal-safe
  // functions besides setenv, and this process has one thread.
  int in[2] = {-1, -1};
  if (setup.input) {
    // Written whole before the child runs: a pipe takes PIPE_BUF bytes without a reader.
    if (setup.input->size() > PIPE_BUF || ::pipe2(in, O_CLOEXEC) != 0 ||
        ::write(in[1], setup.input->data(), setup.input->size()) != static_cast<ssize_t>(setup.input->size()))
      throw fatal_error(1, fmt::format("pipe: {}", std::strerror(errno)));
    ::close(in[1]);
  }
  std::vector<std::string> words = argv;
  auto args = c_argv(words);
  const pid_t pid = ::fork();
  if (pid < 0) throw fatal_error(1, fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    if (in[0] >= 0) ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(out[1], STDERR_FILENO);
    apply(setup);
    ::execvp(args[0], args.data());
    const int e = errno;
    if (::write(exec_error[1], &e, sizeof e) < 0) {
      // The parent then sees a plain exit status 127.
    }
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(exec_error[1]);
  if (in[0] >= 0) ::close(in[0]);
  // The close-on-exec pipe is closed by a successful exec, or carries exec's errno.
  int e = 0;
  ssize_t n;
  do {
    n = ::read(exec_error[0], &e, sizeof e);
  } while (n < 0 && errno == EINTR);
  ::close(exec_error[0]);
  if (n == sizeof e) {
    ::close(out[0]);
    ::waitpid(pid, nullptr, 0);
    throw fatal_error(1, cannot_run_message(argv[0], e));
  }
  return {pid, out[0]};
}

std::string read_output(int fd, std::size_t max_bytes) {
  std::string out;
  char buf[256];
  while (out.size() < max_bytes) {
    const ssize_t n = ::read(fd, buf, std::min(sizeof buf, max_bytes - out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

read_end read_until(int fd, std::chrono::steady_clock::time_point deadline,
                    const std::function<bool(std::string_view)>& on_bytes) {
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    if (left <= 0) return read_end::timed_out;
    pollfd p{fd, POLLIN, 0};
    // At most a second at a time, so that the deadline is checked even if poll's
    // timeout and the steady clock disagree.
    const int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (rc < 0 && errno != EINTR) return read_end::timed_out;
    if (rc <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return read_end::eof;
    if (!on_bytes(std::string_view(buf, static_cast<std::size_t>(n)))) return read_end::stopped;
  }
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::optional<int> reap_within(pid_t pid, int tries, int interval_ms) {
  int status = 0;
  for (int i = 0; i < tries; ++i) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    ::usleep(static_cast<useconds_t>(interval_ms) * 1000);
  }
  return std::nullopt;
}

int exec_program(const std::vector<std::string>& argv, const child_setup& setup) {
  apply(setup);
  std::vector<std::string> words = argv;
  auto args = c_argv(words);
  ::execvp(args[0], args.data());
  return errno;
}

std::string self_path() {
  std::vector<char> buf(PATH_MAX + 1);
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  return n > 0 ? std::string(buf.data(), static_cast<std::size_t>(n)) : std::string{};
}

std::string beside_self(const std::string& name) {
  const std::string self = self_path();
  const auto slash = self.rfind('/');
  if (slash != std::string::npos) {
    std::string candidate = self.substr(0, slash + 1) + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;
}

std::string current_directory() {
  std::vector<char> cwd(PATH_MAX + 1);
  return ::getcwd(cwd.data(), cwd.size()) ? std::string(cwd.data()) : std::string(".");
}

}  // namespace mosh2::os
