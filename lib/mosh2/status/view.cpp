// mosh2-status's views of the documents; see view.hpp.

#include "mosh2/status/view.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mosh2/status/document.hpp"
#include "mosh2/status/session_status.hpp"

namespace mosh2::status {

using json = nlohmann::ordered_json;

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
  v.name = get_string(j, "name");
  v.attaches = counter("attach", "count");
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
  std::string out = fmt::format("{:>7}  {:<6}  {:<15}  {:<12}  {:<22}  {:>7}  {:>7}  {:>7}  {:>7}  {:>8}  {}\n", "PID",
                                "ROLE", "STATE", "NAME", "PEER", "HEARD", "TYPED", "SENT", "RECV", "ATTACHES", "COMMAND");
  for (const auto& s : sessions)
    out += fmt::format("{:>7}  {:<6}  {:<15}  {:<12}  {:<22}  {:>7}  {:>7}  {:>7}  {:>7}  {:>8}  {}\n", s.pid, s.role,
                       s.state, s.name.empty() ? "-" : s.name, s.peer, age_text(s.since_contact_ms),
                       age_text(s.since_keystroke_ms), size_text(s.bytes_sent), size_text(s.bytes_received),
                       s.attaches, s.command);
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

}  // namespace mosh2::status
