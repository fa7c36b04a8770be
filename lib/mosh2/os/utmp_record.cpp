// utmp through libutempter, loaded with dlopen: the library is optional at run time and
// adds nothing to the build.

#include "mosh2/os/utmp_record.hpp"

#include <dlfcn.h>
#include <utmpx.h>

#include <cstring>

#include <fmt/format.h>

namespace mosh2::os {

utmp_record::utmp_record(int master_fd, const std::string& host) : master_fd_(master_fd) {
  library_ = ::dlopen("libutempter.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!library_) return;
  add_ = reinterpret_cast<int (*)(int, const char*)>(::dlsym(library_, "utempter_add_record"));
  remove_ = reinterpret_cast<int (*)(int)>(::dlsym(library_, "utempter_remove_record"));
  if (!add_ || !remove_) return;
  active_ = add_(master_fd_, host.c_str()) != 0;
  host_ = host;
}

utmp_record::~utmp_record() {
  if (active_) remove_(master_fd_);
  if (library_) ::dlclose(library_);
}

void utmp_record::set_host(const std::string& host) {
  if (!active_ || host == host_) return;
  // The helper keys entries by the pty's line: the new record replaces the old one.
  remove_(master_fd_);
  add_(master_fd_, host.c_str());
  host_ = host;
}

std::string detached_host(int pid) { return fmt::format("mosh [{}]", pid); }

std::string attached_host(const std::string& ip, int pid) { return fmt::format("{} via mosh [{}]", ip, pid); }

std::vector<int> detached_sessions(const std::string& user, int except_pid) {
  std::vector<int> pids;
  ::setutxent();
  // utmp is a small file of fixed records; the bound only guards against a broken one.
  for (int n = 0; n < 100000; ++n) {
    const utmpx* e = ::getutxent();
    if (!e) break;
    if (e->ut_type != USER_PROCESS) continue;
    if (std::strncmp(e->ut_user, user.c_str(), sizeof e->ut_user) != 0) continue;
    const std::string host(e->ut_host, ::strnlen(e->ut_host, sizeof e->ut_host));
    int pid = 0;
    char tail = 0;
    if (std::sscanf(host.c_str(), "mosh [%d]%c", &pid, &tail) != 1 || pid == except_pid) continue;
    if (host != detached_host(pid)) continue;
    pids.push_back(pid);
  }
  ::endutxent();
  return pids;
}

std::string detached_warning(const std::vector<int>& pids) {
  if (pids.empty()) return {};
  if (pids.size() == 1)
    return fmt::format("\033[37;44mMosh: You have a detached Mosh session on this server (mosh [{}]).\033[m\r\n\r\n",
                       pids[0]);
  std::string list;
  for (int pid : pids) list += fmt::format("\r\n        - mosh [{}]", pid);
  return fmt::format("\033[37;44mMosh: You have {} detached Mosh sessions on this server, with PIDs:{}\033[m\r\n\r\n",
                     pids.size(), list);
}

}  // namespace mosh2::os
