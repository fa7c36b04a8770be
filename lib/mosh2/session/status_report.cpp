// The status dump (docs/status.md). nlohmann/json stays in this file alone: it is a
// heavy header and the sessions only need a string.

#include "mosh2/session/status_report.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>  // renameat2
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

#include "mosh2/control/control_socket.hpp"
#include "mosh2/control/private_dir.hpp"

namespace mosh2::session {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

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

json optional_age(const std::optional<time_point>& t, time_point now) {
  if (!t) return json(nullptr);
  return json(std::chrono::duration_cast<milliseconds>(now - *t).count() / 1000);
}

/// The file's text if it is a regular file of ours of at most the size limit; opened
/// so that a symlink (to /dev/zero, say) or a FIFO can neither be followed nor block.
std::optional<std::string> read_small_file(const fs::path& file, std::string& why) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
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

// Puts `temporary` in place of `target`. An existing target is swapped out with
// RENAME_EXCHANGE and then unlinked rather than renamed over: ext4 (auto_da_alloc)
// starts writeback of a file renamed over another and the process sleeps on it, one
// wake-up per rewrite that an idle session would pay twice a minute
// (bench/idle_wakeups.py). Readers still see the old file or the new one, never
// neither; a status file need not survive a crash, so nothing is lost by not flushing.
bool put_in_place(const fs::path& temporary, const fs::path& target) {
  if (::renameat2(AT_FDCWD, temporary.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    ::unlink(temporary.c_str());
    return true;
  }
  // The first write (no target yet), or a filesystem without exchange.
  return ::rename(temporary.c_str(), target.c_str()) == 0;
}

}  // namespace

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string derive_session_state(const session_status& s, time_point now) {
  if (s.shutting_down) return "shutting-down";
  if (!s.last_contact) return "never-connected";
  if (now - *s.last_contact > detached_after) return "detached";
  return "connected";
}

std::string_view drop_namer::newest(const link_core& link) {
  const auto& c = link.datagram().counters();
  const auto& l = link.drops();
  std::string_view name = "undecodable";
  using datagram::drop_reason;
  static constexpr std::pair<drop_reason, std::string_view> names[] = {
      {drop_reason::too_short, "too_short"},         {drop_reason::oversize, "oversize"},
      {drop_reason::wrong_direction, "wrong_direction"}, {drop_reason::bad_tag, "bad_tag"},
      {drop_reason::short_plaintext, "short_plaintext"}};
  for (const auto& [reason, n] : names)
    if (c.drops(reason) != seen_.drops(reason)) name = n;
  if (l.truncated != seen_link_.truncated) name = "oversize";  // as the status document counts it
  seen_ = c;
  seen_link_ = l;
  return name;
}

void fill_link_status(session_status& s, const link_core& link) {
  const auto& d = link.datagram();
  s.last_contact = d.last_heard();
  s.last_roundtrip = d.last_roundtrip_success();
  s.srtt_ms = d.srtt_ms();
  s.rto_ms = static_cast<long>(d.rto().count());
  s.rtt_measured = d.rtt().has_sample();
  s.datagrams = d.counters();
  s.bytes_sent = d.counters().bytes_sealed;
  s.bytes_received = d.counters().bytes_accepted;
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
      {"session_state", s.session_state.empty() ? derive_session_state(s, now) : s.session_state},
      {"seconds_since_contact", optional_age(s.last_contact, now)},
      {"last_keystroke_unix_ms", optional_time(s.last_keystroke, now, now_unix)},
      {"seconds_since_keystroke", optional_age(s.last_keystroke, now)},
      {"bytes", {{"sent", s.bytes_sent}, {"received", s.bytes_received}}},
      {"command", s.command},
      {"prediction", s.prediction_mode ? json{{"mode", *s.prediction_mode},
                                              {"shown", s.predictions_shown},
                                              {"confirmed", s.predictions_confirmed},
                                              {"wrong", s.predictions_wrong}}
                                       : json(nullptr)},
      {"program_input", s.program_input ? json{{"queued_bytes", s.program_input->queued_bytes},
                                               {"cap_bytes", s.program_input->cap_bytes},
                                               {"held_back_instructions", s.program_input->held_back_instructions}}
                                        : json(nullptr)},
      {"datagrams",
       {{"sent", c.sealed},
        {"received", c.accepted},
        {"out_of_order", c.out_of_order},
        {"congestion_marks", c.congestion_marks},
        {"dropped", std::move(dropped)}}},
  };
  if (s.transport_path) {
    json switches = json::array();
    for (const auto& w : s.transport_path->switches)
      switches.push_back({{"unix_ms", to_unix_ms(w.at, now, now_unix)}, {"to", w.to}, {"why", w.why}});
    doc["transport"] = {{"mode", s.transport_path->mode}, {"in_use", s.transport_path->in_use},
                        {"udp_probes", s.transport_path->probes}, {"switches", std::move(switches)}};
  }
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
  // /tmp is shared: a directory someone else made (or a symlink) must not receive our files.
  return control::check_private_directory(dir, true);
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
    if (done != text.size() || !put_in_place(temporary, target)) {
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
  idle_dirty_ = false;
  last_ = now;
  next_ = now + status_interval;
  if (file_.write(to_json(s, now)) || warned_) return std::nullopt;
  warned_ = true;
  return file_.last_error();
}

std::optional<std::int64_t> process_start_unix_ms(pid_t pid) {
  std::ifstream stat_file(fmt::format("/proc/{}/stat", pid));
  std::string stat_line;
  if (!std::getline(stat_file, stat_line)) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const auto close = stat_line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat_line.substr(close + 1));
  std::string field;
  unsigned long long start_ticks = 0;
  for (int i = 3; i <= 22 && fields >> field; ++i)
    if (i == 22) start_ticks = std::strtoull(field.c_str(), nullptr, 10);
  if (start_ticks == 0) return std::nullopt;
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
  return boot_unix * 1000 + static_cast<std::int64_t>(start_ticks * 1000 / static_cast<unsigned long long>(ticks_per_second));
}

std::vector<status_entry> read_status_files(const std::vector<fs::path>& dirs, const read_options& options,
                                            std::vector<read_problem>& problems) {
  std::vector<status_entry> entries;
  std::set<pid_t> seen;
  const auto prune = [&](const fs::path& dir, pid_t pid) {
    if (!options.prune_stale) return;
    std::error_code ec;
    fs::remove(dir / fmt::format("{}.json", pid), ec);
    const auto sock = control::control_socket_path(dir, pid);
    struct stat st {};
    if (::lstat(sock.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) fs::remove(sock, ec);
  };
  for (const auto& dir : dirs) {
    if (auto bad = control::check_private_directory(dir, false)) {
      // A default directory that does not exist simply holds no sessions.
      struct stat st {};
      const bool missing = ::lstat(dir.c_str(), &st) != 0 && errno == ENOENT;
      if (!missing || options.explicit_dirs)
        problems.push_back({fmt::format("{}; not reading it", *bad), true, true});
      continue;
    }
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) {
      problems.push_back({fmt::format("cannot read {}: {}", dir.string(), ec.message()), true, true});
      continue;
    }
    std::vector<fs::path> files;
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      if (ec) break;
      files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      const std::string name = file.filename().string();
      if (name.ends_with(".sock")) {
        // A socket whose process is gone (its status file may already be gone too).
        const auto pid = pid_of_file_name(name.substr(0, name.size() - 5) + ".json");
        if (pid && !process_exists(*pid)) prune(dir, *pid);
        continue;
      }
      const auto pid = pid_of_file_name(name);
      if (!pid || seen.contains(*pid)) continue;
      if (!process_exists(*pid)) {
        problems.push_back({fmt::format("{}: process {} is gone{}", file.string(), *pid,
                                        options.prune_stale ? "; removed" : ""), false});
        prune(dir, *pid);
        continue;
      }
      std::string why;
      const auto text = read_small_file(file, why);
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
      const auto started = parsed.find("started_unix_ms");
      const auto process_start = process_start_unix_ms(*pid);
      if (started == parsed.end() || !started->is_number_integer() || !process_start ||
          *process_start > started->get<std::int64_t>() + pid_reuse_margin.count()) {
        problems.push_back({fmt::format("{}: process {} is not the session's (pid reused){}", file.string(), *pid,
                                        options.prune_stale ? "; removed" : ""), false});
        prune(dir, *pid);
        continue;
      }
      seen.insert(*pid);
      status_entry e{file, *pid, *text, std::nullopt};
      const auto sock = control::control_socket_path(dir, *pid);
      struct stat st {};
      if (::lstat(sock.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) e.control = sock;
      entries.push_back(std::move(e));
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

std::optional<session_view> view_of(const std::string& session_json, std::int64_t now_unix_ms) {
  const json j = json::parse(session_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  const auto get_int = [&](const json& o, const char* key) -> std::optional<std::int64_t> {
    const auto it = o.find(key);
    if (it == o.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<std::int64_t>();
  };
  const auto get_string = [&](const json& o, const char* key) -> std::string {
    const auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const auto counter = [&](const char* group, const char* key) -> std::uint64_t {
    const auto g = j.find(group);
    if (g == j.end() || !g->is_object()) return 0;
    const auto v = get_int(*g, key);
    return v && *v > 0 ? static_cast<std::uint64_t>(*v) : 0;
  };
  session_view v;
  const auto pid = get_int(j, "pid");
  if (!pid) return std::nullopt;
  v.pid = static_cast<pid_t>(*pid);
  v.role = get_string(j, "role");
  v.state = get_string(j, "session_state");
  if (v.state.empty()) v.state = "unknown";
  v.peer = "-";
  if (const auto p = j.find("peer"); p != j.end() && p->is_object()) {
    const std::string a = get_string(*p, "address");
    const auto port = get_int(*p, "port").value_or(0);
    v.peer = a.find(':') != std::string::npos ? fmt::format("[{}]:{}", a, port) : fmt::format("{}:{}", a, port);
  }
  if (const auto t = get_int(j, "last_contact_unix_ms")) v.since_contact_ms = std::max<std::int64_t>(0, now_unix_ms - *t);
  if (const auto t = get_int(j, "last_keystroke_unix_ms"))
    v.since_keystroke_ms = std::max<std::int64_t>(0, now_unix_ms - *t);
  // A file that was not rewritten lately may still say "connected": the times decide.
  if (v.state == "connected" && v.since_contact_ms &&
      *v.since_contact_ms > std::chrono::duration_cast<milliseconds>(detached_after).count())
    v.state = "detached";
  v.bytes_sent = counter("bytes", "sent");
  v.bytes_received = counter("bytes", "received");
  v.datagrams_sent = counter("datagrams", "sent");
  v.datagrams_received = counter("datagrams", "received");
  v.command = "-";
  if (const auto c = j.find("command"); c != j.end() && c->is_array() && !c->empty()) {
    v.command.clear();
    for (const auto& word : *c)
      if (word.is_string()) v.command += (v.command.empty() ? "" : " ") + word.get<std::string>();
  }
  return v;
}

namespace {

std::string age_text(const std::optional<std::int64_t>& ms) {
  if (!ms) return "-";
  const std::int64_t s = *ms / 1000;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{}h", s / 86400, s % 86400 / 3600);
}

std::string size_text(std::uint64_t bytes) {
  if (bytes < 10 * 1024) return fmt::format("{}", bytes);
  if (bytes < 10 * 1024 * 1024) return fmt::format("{}K", bytes / 1024);
  return fmt::format("{}M", bytes / (1024 * 1024));
}

}  // namespace

std::string status_table(const std::vector<session_view>& sessions) {
  std::string out = fmt::format("{:>7}  {:<6}  {:<15}  {:<22}  {:>7}  {:>7}  {:>7}  {:>7}  {}\n", "PID", "ROLE", "STATE",
                                "PEER", "HEARD", "TYPED", "SENT", "RECV", "COMMAND");
  for (const auto& s : sessions)
    out += fmt::format("{:>7}  {:<6}  {:<15}  {:<22}  {:>7}  {:>7}  {:>7}  {:>7}  {}\n", s.pid, s.role, s.state, s.peer,
                       age_text(s.since_contact_ms), age_text(s.since_keystroke_ms), size_text(s.bytes_sent),
                       size_text(s.bytes_received), s.command);
  return out;
}

std::string brief_line(const std::vector<session_view>& sessions) {
  std::string pids;
  int n = 0;
  for (const auto& s : sessions) {
    if (s.role != "server" || s.state != "detached") continue;
    pids += fmt::format("{}{}", n++ ? ", " : "", s.pid);
  }
  if (n == 0) return {};
  return fmt::format("{} detached mosh2 session{} (pid{} {}); mosh2-status for details\n", n, n == 1 ? "" : "s",
                     n == 1 ? "" : "s", pids);
}

bool detached_for_at_least(const session_view& s, std::chrono::milliseconds d) {
  return s.role == "server" && s.state == "detached" && s.since_contact_ms && *s.since_contact_ms >= d.count();
}

}  // namespace mosh2::session
