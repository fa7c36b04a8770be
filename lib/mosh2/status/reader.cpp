// Reading status files back; see reader.hpp.

#include "mosh2/status/reader.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mosh2/control/status_dir.hpp"
#include "mosh2/status/process_start.hpp"

namespace mosh2::status {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

/// "1234.json" -> 1234; anything else (temporaries, strangers) -> nothing.
std::optional<pid_t> pid_of_name(std::string_view name, std::string_view suffix) {
  if (name.size() <= suffix.size() || !name.ends_with(suffix)) return std::nullopt;
  long value = 0;
  const char* first = name.data();
  const char* last = name.data() + name.size() - suffix.size();
  auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc{} || end != last || value <= 0 || value > 0x3fffffff) return std::nullopt;
  return static_cast<pid_t>(value);
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

/// The text of `name` in `dir` if it is a regular file of ours of at most the size
/// limit; opened so that a symlink (to /dev/zero, say) or a FIFO can neither be
/// followed nor block.
std::optional<std::string> read_small_file(int dir, const std::string& name, std::string& why) {
  const int fd = ::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    why = errno == ELOOP ? "a symlink" : fmt::format("unreadable ({})", std::strerror(errno));
    return std::nullopt;
  }
  struct stat st {};
  std::optional<std::string> text;
  if (::fstat(fd, &st) != 0) why = fmt::format("unreadable ({})", std::strerror(errno));
  else if (!S_ISREG(st.st_mode)) why = "not a regular file";
  else if (st.st_uid != ::geteuid()) why = fmt::format("owned by uid {}", st.st_uid);
  else if (st.st_size > static_cast<off_t>(max_status_file_bytes)) why = fmt::format("larger than {} bytes", max_status_file_bytes);
  else {
    std::string buf(max_status_file_bytes + 1, '\0');
    std::size_t done = 0;
    for (;;) {
      const ssize_t n = ::read(fd, buf.data() + done, buf.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
      if (done == buf.size()) break;
    }
    if (done > max_status_file_bytes) why = fmt::format("larger than {} bytes", max_status_file_bytes);
    else text = buf.substr(0, done);
  }
  ::close(fd);
  return text;
}

bool is_socket_at(int dir, const std::string& name) {
  struct stat st {};
  return ::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode);
}

/// The names in `dir`, sorted; read through a duplicate of its descriptor.
std::optional<std::vector<std::string>> names_in(int dir) {
  const int copy = ::fcntl(dir, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return std::nullopt;
  DIR* d = ::fdopendir(copy);
  if (!d) {
    ::close(copy);
    return std::nullopt;
  }
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

/// True when `pid`'s process is the one that wrote `file`.
bool same_process(const json& file, pid_t pid) {
  if (const auto ticks = file.find("process_start_ticks"); ticks != file.end() && ticks->is_number_unsigned()) {
    const auto now = process_start_ticks(pid);
    return now && *now == ticks->get<std::uint64_t>();
  }
  const auto started = file.find("started_unix_ms");
  const auto process_start = process_start_unix_ms(pid);
  return started != file.end() && started->is_number_integer() && process_start &&
         *process_start <= started->get<std::int64_t>() + pid_reuse_margin.count();
}

}  // namespace

std::optional<std::int64_t> process_start_unix_ms(pid_t pid) {
  const auto start_ticks = process_start_ticks(pid);
  if (!start_ticks || *start_ticks == 0) return std::nullopt;
  std::ifstream proc_stat("/proc/stat");
  std::string key;
  long long boot_unix = -1;
  while (proc_stat >> key) {
    if (key == "btime") {
      proc_stat >> boot_unix;
      break;
    }
    proc_stat.ignore(1 << 20, '\n');
  }
  const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  if (boot_unix < 0 || ticks_per_second <= 0) return std::nullopt;
  return boot_unix * 1000 + static_cast<std::int64_t>(*start_ticks * 1000 / static_cast<unsigned long long>(ticks_per_second));
}

std::vector<status_entry> read_status_files(const std::vector<fs::path>& dirs, const read_options& options,
                                            std::vector<read_problem>& problems) {
  std::vector<status_entry> entries;
  std::set<pid_t> seen;
  for (const auto& path : dirs) {
    auto dir = control::private_directory::open(path, false);
    if (!dir) {
      // A default directory that does not exist simply holds no sessions.
      struct stat st {};
      const bool missing = ::lstat(path.c_str(), &st) != 0 && errno == ENOENT;
      if (!missing || options.explicit_dirs)
        problems.push_back({fmt::format("{}; not reading it", dir.error()), true, true});
      continue;
    }
    const int fd = dir->fd();
    const auto prune = [&](pid_t pid) {
      if (!options.prune_stale) return;
      ::unlinkat(fd, control::status_file_name(pid).c_str(), 0);
      const auto sock = control::control_socket_name(pid);
      if (is_socket_at(fd, sock)) ::unlinkat(fd, sock.c_str(), 0);
    };
    const auto names = names_in(fd);
    if (!names) {
      problems.push_back({fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)), true, true});
      continue;
    }
    for (const auto& name : *names) {
      const fs::path file = path / name;
      if (const auto pid = pid_of_name(name, ".sock")) {
        // A socket whose process is gone (its status file may already be gone too).
        if (!process_exists(*pid)) prune(*pid);
        continue;
      }
      const auto pid = pid_of_name(name, ".json");
      if (!pid || seen.contains(*pid)) continue;
      if (!process_exists(*pid)) {
        problems.push_back({fmt::format("{}: process {} is gone{}", file.string(), *pid,
                                        options.prune_stale ? "; removed" : ""), false});
        prune(*pid);
        continue;
      }
      std::string why;
      const auto text = read_small_file(fd, name, why);
      if (!text) {
        problems.push_back({fmt::format("{}: skipped, {}", file.string(), why), false});
        continue;
      }
      const auto parsed = json::parse(*text, nullptr, false);
      if (parsed.is_discarded() || !parsed.is_object()) {
        problems.push_back({fmt::format("{}: skipped, not a status file", file.string()), false});
        continue;
      }
      const auto pid_field = parsed.find("pid");
      if (pid_field == parsed.end() || !pid_field->is_number_integer() || *pid_field != *pid) {
        problems.push_back({fmt::format("{}: skipped, its pid does not match its name", file.string()), false});
        continue;
      }
      if (!same_process(parsed, *pid)) {
        problems.push_back({fmt::format("{}: process {} is not the session's (pid reused){}", file.string(), *pid,
                                        options.prune_stale ? "; removed" : ""), false});
        prune(*pid);
        continue;
      }
      seen.insert(*pid);
      status_entry e{file, *pid, *text, std::nullopt};
      if (is_socket_at(fd, control::control_socket_name(*pid))) e.control = control::control_socket_path(path, *pid);
      entries.push_back(std::move(e));
    }
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.pid < b.pid; });
  return entries;
}

}  // namespace mosh2::status
