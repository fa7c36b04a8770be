#include "mosh2/os/stream_command.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace mosh2::os {

result<stream_child, std::string> start_stream_command(const std::vector<std::string>& argv) {
  if (argv.empty()) return failure{std::string("no command for the stream path")};
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    return failure{fmt::format("cannot make a socket pair for the stream path: {}", std::strerror(errno))};
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    ::close(pair[0]);
    ::close(pair[1]);
    return failure{fmt::format("cannot start {}: {}", argv.front(), std::strerror(e))};
  }
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::setsid();
    ::dup2(pair[1], STDIN_FILENO);
    ::dup2(pair[1], STDOUT_FILENO);
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, STDERR_FILENO);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(pair[1]);
  return stream_child{pid, pair[0]};
}

int stop_stream_command(pid_t pid, int grace_tenths) {
  if (pid <= 0) return 0;
  int status = 0;
  for (int i = 0; i < grace_tenths; ++i) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) return status;
    ::usleep(100 * 1000);
  }
  ::kill(pid, SIGTERM);
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string stream_end_reason(int status, const std::string& server) {
  if (WIFEXITED(status) && WEXITSTATUS(status) == 255)
    return "ssh could not connect or log in again without asking (an agent, a key without a passphrase or "
           "ControlMaster lets it)";
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return fmt::format("the host has no \"{} stream-relay\" (a stock mosh-server has none)", server);
  if (WIFEXITED(status)) return fmt::format("the ssh stream ended with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("the ssh stream ended by signal {}", WTERMSIG(status));
  return "the ssh stream ended";
}

}  // namespace mosh2::os
