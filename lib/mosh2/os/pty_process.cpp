// Forking the user's program on a pty (protocol §1.3 steps 6-7), with a pipe instead
// of a newline written into the pty to release it, so the first screen is clean.

#include "mosh2/os/pty_process.hpp"
#include "mosh2/os/utmp_record.hpp"
#include "mosh2/terminal/limits.hpp"

#include <fcntl.h>
#include <pty.h>
#include <pwd.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace mosh2::os {
namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

/// Copies a small file to stdout; used for the message of the day.
bool print_file(const char* path) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  for (int chunks = 0; chunks < 64; ++chunks) {  // a MOTD is small; never loop forever
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    if (::write(STDOUT_FILENO, buf, static_cast<std::size_t>(n)) < 0) break;
  }
  ::close(fd);
  return true;
}

void print_motd() {
  if (const char* home = std::getenv("HOME")) {
    struct stat st {};
    if (::stat((std::string(home) + "/.hushlogin").c_str(), &st) == 0) return;
  }
  if (!print_file("/run/motd.dynamic")) print_file("/var/run/motd.dynamic");
  print_file("/etc/motd");
}

/// Runs in the child between fork and exec: the process is single-threaded here.
[[noreturn]] void become_program(const pty_spec& spec, int release_read) {
  ::signal(SIGHUP, SIG_DFL);
  ::signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  // The pty speaks UTF-8: let the line discipline erase whole characters.
  termios t {};
  if (::tcgetattr(STDIN_FILENO, &t) == 0) {
    t.c_iflag |= IUTF8;
    ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }

  for (const auto& name : spec.unset_env) ::unsetenv(name.c_str());
  for (const auto& [name, value] : spec.set_env) ::setenv(name.c_str(), value.c_str(), 1);
  if (const char* home = std::getenv("HOME"); home && ::chdir(home) == 0) ::setenv("PWD", home, 1);

  if (spec.show_motd) {
    print_motd();
    if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name) {
      const std::string warning = detached_warning(detached_sessions(pw->pw_name, static_cast<int>(::getppid())));
      if (!warning.empty() && ::write(STDOUT_FILENO, warning.data(), warning.size()) < 0) {
        // Nothing to do: a warning that cannot be shown is not worth failing the session.
      }
    }
  }

  // Wait for the first client state; EOF means the server gave up on this session.
  char go = 0;
  ssize_t n;
  do {
    n = ::read(release_read, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) ::_exit(1);
  ::close(release_read);

  std::vector<char*> argv;
  std::string argv0 = spec.argv0_override.empty() ? spec.argv[0] : spec.argv0_override;
  argv.push_back(argv0.data());
  for (std::size_t i = 1; i < spec.argv.size(); ++i) argv.push_back(const_cast<char*>(spec.argv[i].c_str()));
  argv.push_back(nullptr);
  ::execvp(spec.argv[0].c_str(), argv.data());
  std::fprintf(stderr, "mosh2-server: cannot run %s: %s\r\n", spec.argv[0].c_str(), std::strerror(errno));
  ::_exit(127);
}

}  // namespace

pty_process::pty_process(const pty_spec& spec) {
  if (spec.argv.empty()) throw std::invalid_argument("pty_process needs a program");
  int release[2];
  if (::pipe2(release, O_CLOEXEC) != 0) throw_errno("pipe");

  // The same limits as the emulator's, so the program never sees a bigger screen.
  const auto size = terminal::clamp_screen_size(spec.width, spec.height);
  winsize ws {};
  ws.ws_col = static_cast<unsigned short>(size.width);
  ws.ws_row = static_cast<unsigned short>(size.height);
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, &ws);
  if (pid < 0) {
    int e = errno;
    ::close(release[0]);
    ::close(release[1]);
    throw std::system_error(e, std::generic_category(), "forkpty");
  }
  if (pid == 0) {
    ::close(release[1]);
    // O_CLOEXEC would close it on exec, but the child reads it before exec.
    become_program(spec, release[0]);
  }
  ::close(release[0]);
  ::fcntl(master, F_SETFD, FD_CLOEXEC);
  master_ = master;
  release_fd_ = release[1];
  pid_ = pid;
}

pty_process::~pty_process() {
  if (release_fd_ >= 0) ::close(release_fd_);
  if (master_ >= 0) ::close(master_);
  if (!reaped_ && pid_ > 0) ::waitpid(pid_, nullptr, WNOHANG);
}

void pty_process::start() {
  if (release_fd_ < 0) return;
  char go = '\n';
  ssize_t n;
  do {
    n = ::write(release_fd_, &go, 1);
  } while (n < 0 && errno == EINTR);
  ::close(release_fd_);
  release_fd_ = -1;
}

void pty_process::resize(int width, int height) {
  const auto size = terminal::clamp_screen_size(width, height);
  winsize ws {};
  ws.ws_col = static_cast<unsigned short>(size.width);
  ws.ws_row = static_cast<unsigned short>(size.height);
  if (master_ >= 0) ::ioctl(master_, TIOCSWINSZ, &ws);
}

void pty_process::hang_up() {
  if (pid_ > 0 && !reaped_) ::kill(-pid_, SIGHUP);
}

bool pty_process::reap() {
  if (reaped_ || pid_ <= 0) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) reaped_ = true;
  return reaped_;
}

std::string login_shell() {
  if (const char* s = std::getenv("SHELL"); s && *s) return s;
  if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_shell && *pw->pw_shell) return pw->pw_shell;
  return "/bin/sh";
}

}  // namespace mosh2::os
