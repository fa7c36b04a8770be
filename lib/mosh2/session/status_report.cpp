// The status dump (docs/status.md). nlohmann/json stays in this file alone: it is a
// heavy header and the sessions only need a string.

#include "mosh2/session/status_report.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mosh2::session {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// A steady time as Unix milliseconds, anchored at `now` (steady) = `now_unix` (wall).
std::int64_t to_unix_ms(time_point t, time_point now, std::int64_t now_unix) {
  return now_unix - std::chrono::duration_cast<milliseconds>(now - t).count();
}

json optional_time(const std::optional<time_point>& t, time_point now, std::int64_t now_unix) {
  return t ? json(to_unix_ms(*t, now, now_unix)) : json(nullptr);
}

/// "1234.json" -> 1234; anything else (temporaries, strangers) -> nothing.
std::optional<pid_t> pid_of_file_name(const std::string& name) {
  constexpr std::string_view suffix = ".json";
  if (name.size() <= suffix.size() || !name.ends_with(suffix)) return std::nullopt;
  long value = 0;
  const char* first = name.data();
  const char* last = name.data() + name.size() - suffix.size();
  auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc{} || end != last || value <= 0) return std::nullopt;
  return static_cast<pid_t>(value);
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

void fill_link_status(session_status& s, const link_core& link) {
  const auto& d = link.datagram();
  s.last_contact = d.last_heard();
  s.last_roundtrip = d.last_roundtrip_success();
  s.srtt_ms = d.srtt_ms();
  s.rto_ms = static_cast<long>(d.rto().count());
  s.rtt_measured = d.rtt().has_sample();
  s.datagrams = d.counters();
  s.link = link.drops();
}

std::string to_json(const session_status& s, time_point now) {
  const std::int64_t now_unix = unix_ms_now();
  using datagram::drop_reason;
  const auto& c = s.datagrams;
  json dropped = {
      {"too_short", c.drops(drop_reason::too_short)},
      {"oversize", c.drops(drop_reason::oversize) + s.link.truncated},
      {"wrong_direction", c.drops(drop_reason::wrong_direction)},
      {"bad_tag", c.drops(drop_reason::bad_tag)},
      {"short_plaintext", c.drops(drop_reason::short_plaintext)},
      {"undecodable", s.link.fragment},
      {"total", c.total_dropped() + s.link.truncated + s.link.fragment},
  };
  json doc = {
      {"schema", status_schema_version},
      {"role", s.role},
      {"pid", s.pid},
      {"started_unix_ms", to_unix_ms(s.started, now, now_unix)},
      {"updated_unix_ms", now_unix},
      {"local", {{"address", s.local_address}, {"port", s.local_port}}},
      {"peer", s.peer_address ? json{{"address", *s.peer_address}, {"port", s.peer_port}} : json(nullptr)},
      {"last_contact_unix_ms", optional_time(s.last_contact, now, now_unix)},
      {"last_roundtrip_unix_ms", optional_time(s.last_roundtrip, now, now_unix)},
      {"rtt", {{"measured", s.rtt_measured}, {"srtt_ms", s.srtt_ms}, {"rto_ms", s.rto_ms}}},
      {"terminal", {{"width", s.width}, {"height", s.height}}},
      {"state", {{"sent", s.state_sent}, {"acked", s.state_acked}, {"received", s.state_received}}},
      {"shutting_down", s.shutting_down},
      {"datagrams",
       {{"sent", c.sealed},
        {"received", c.accepted},
        {"out_of_order", c.out_of_order},
        {"congestion_marks", c.congestion_marks},
        {"dropped", std::move(dropped)}}},
  };
  return doc.dump(2) + "\n";
}

std::vector<fs::path> status_directories() {
  if (const char* dir = std::getenv("MOSH2_STATUS_DIR")) {
    if (!*dir) return {};
    return {fs::path(dir)};
  }
  std::vector<fs::path> dirs;
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime && runtime[0] == '/')
    dirs.push_back(fs::path(runtime) / "mosh2");
  dirs.push_back(fs::path(fmt::format("/tmp/mosh2-{}", ::geteuid())));
  return dirs;
}

std::optional<std::string> prepare_status_directory(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fmt::format("cannot create {}: {}", dir.string(), std::strerror(errno));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return fmt::format("cannot inspect {}: {}", dir.string(), std::strerror(errno));
  // /tmp is shared: a directory someone else made (or a symlink) must not receive our files.
  if (!S_ISDIR(st.st_mode)) return fmt::format("{} is not a directory", dir.string());
  if (st.st_uid != ::geteuid()) return fmt::format("{} belongs to another user", dir.string());
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) return fmt::format("{} is writable by others", dir.string());
  return std::nullopt;
}

status_file::status_file(std::vector<fs::path> candidates, pid_t pid)
    : candidates_(std::move(candidates)), name_(fmt::format("{}.json", pid)) {}

status_file::~status_file() {
  if (written_) ::unlink(written_->c_str());
}

bool status_file::write(const std::string& text) {
  for (const auto& dir : candidates_) {
    if (auto problem = prepare_status_directory(dir)) {
      error_ = *problem;
      continue;
    }
    const fs::path target = dir / name_;
    const fs::path temporary = dir / ("." + name_ + ".tmp");
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      error_ = fmt::format("cannot write {}: {}", temporary.string(), std::strerror(errno));
      continue;
    }
    std::size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (done != text.size() || ::rename(temporary.c_str(), target.c_str()) != 0) {
      error_ = fmt::format("cannot write {}: {}", target.string(), std::strerror(errno));
      ::unlink(temporary.c_str());
      continue;
    }
    // Moving to another directory must not leave the old file behind as a second entry.
    if (written_ && *written_ != target) ::unlink(written_->c_str());
    written_ = target;
    error_.clear();
    return true;
  }
  return false;
}

std::optional<std::string> status_reporter::publish(const session_status& s, time_point now) {
  dirty_ = false;
  next_ = now + status_interval;
  if (file_.write(to_json(s, now)) || warned_) return std::nullopt;
  warned_ = true;
  return file_.last_error();
}

std::vector<status_entry> read_status_files(const std::vector<fs::path>& dirs, bool prune_stale,
                                            std::vector<std::string>& problems) {
  std::vector<status_entry> entries;
  std::set<pid_t> seen;
  for (const auto& dir : dirs) {
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) continue;  // a directory that does not exist holds no sessions
    std::vector<fs::path> files;
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      if (ec) break;
      files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      const auto pid = pid_of_file_name(file.filename().string());
      if (!pid || seen.contains(*pid)) continue;
      if (!process_exists(*pid)) {
        if (prune_stale) fs::remove(file, ec);
        continue;
      }
      std::ifstream in(file);
      std::stringstream text;
      text << in.rdbuf();
      auto parsed = json::parse(text.str(), nullptr, false);
      if (!in.is_open() || parsed.is_discarded() || !parsed.is_object()) {
        problems.push_back(fmt::format("{}: not a status file", file.string()));
        continue;
      }
      seen.insert(*pid);
      entries.push_back(status_entry{file, *pid, text.str()});
    }
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.pid < b.pid; });
  return entries;
}

std::string status_document(const std::vector<status_entry>& entries) {
  json sessions = json::array();
  for (const auto& e : entries) sessions.push_back(json::parse(e.json));
  json doc = {{"schema", status_schema_version}, {"generated_unix_ms", unix_ms_now()}, {"sessions", std::move(sessions)}};
  return doc.dump(2) + "\n";
}

}  // namespace mosh2::session
