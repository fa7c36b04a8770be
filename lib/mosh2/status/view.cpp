// mosh2-status's views of the documents; see view.hpp.

#include "mosh2/status/view.hpp"

#include <algorithm>
#include <initializer_list>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mosh2/status/document.hpp"
#include "mosh2/status/relay_status.hpp"
#include "mosh2/status/session_status.hpp"

namespace mosh2::status {

using json = nlohmann::ordered_json;

namespace {

bool is_relay_object(const json& j) {
  const auto k = j.find("kind");
  return k != j.end() && k->is_string() && *k == relay_kind;
}

std::optional<std::int64_t> get_int(const json& o, const char* key) {
  const auto it = o.find(key);
  if (it == o.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

std::string get_string(const json& o, const char* key) {
  const auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/// `o[path...]` as a counter; 0 when it is missing or not a count.
std::uint64_t counter_at(const json& o, std::initializer_list<const char*> path) {
  const json* at = &o;
  for (const char* key : path) {
    if (!at->is_object()) return 0;
    const auto it = at->find(key);
    if (it == at->end()) return 0;
    at = &*it;
  }
  return at->is_number_integer() && at->get<std::int64_t>() > 0 ? at->get<std::uint64_t>() : 0;
}

/// `{"address", "port"}` as ADDR:PORT ([ADDR]:PORT for IPv6); "-" when it is not one.
std::string endpoint_text(const json& o, const char* key) {
  const auto p = o.find(key);
  if (p == o.end() || !p->is_object()) return "-";
  const std::string a = get_string(*p, "address");
  const auto port = get_int(*p, "port").value_or(0);
  return a.find(':') != std::string::npos ? fmt::format("[{}]:{}", a, port) : fmt::format("{}:{}", a, port);
}

}  // namespace

std::string status_document(const std::vector<status_entry>& entries) {
  json sessions = json::array(), relays = json::array();
  for (const auto& e : entries) {
    json j = json::parse(e.json);
    (is_relay_object(j) ? relays : sessions).push_back(std::move(j));
  }
  json doc = {{"schema", status_schema_version},
              {"generated_unix_ms", unix_ms_now()},
              {"sessions", std::move(sessions)},
              {"relays", std::move(relays)}};
  return doc.dump(2) + "\n";
}

bool is_relay(const std::string& file_json) {
  const json j = json::parse(file_json, nullptr, false);
  return j.is_object() && is_relay_object(j);
}

std::optional<relay_view> relay_view_of(const std::string& relay_json, std::int64_t now_unix_ms) {
  const json j = json::parse(relay_json, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !is_relay_object(j)) return std::nullopt;
  const auto pid = get_int(j, "pid");
  if (!pid) return std::nullopt;
  relay_view v;
  v.pid = static_cast<pid_t>(*pid);
  v.bind = endpoint_text(j, "bind");
  v.next_hop = endpoint_text(j, "next_hop");
  if (const auto s = j.find("sources"); s != j.end() && s->is_array())
    for (const auto& source : *s) {
      ++v.sources;
      if (const auto p = source.find("proven"); p != source.end() && p->is_boolean() && p->get<bool>()) ++v.proven;
    }
  v.datagrams_up = counter_at(j, {"totals", "up", "datagrams"});
  v.bytes_up = counter_at(j, {"totals", "up", "bytes"});
  v.datagrams_down = counter_at(j, {"totals", "down", "datagrams"});
  v.bytes_down = counter_at(j, {"totals", "down", "bytes"});
  v.dropped = counter_at(j, {"dropped", "sources_evicted"}) + counter_at(j, {"dropped", "sends_refused"}) +
              counter_at(j, {"dropped", "unsocketed"});
  if (const auto t = get_int(j, "last_answer_unix_ms")) v.since_answer_ms = std::max<std::int64_t>(0, now_unix_ms - *t);
  if (const auto e = j.find("ends_with_session"); e != j.end() && e->is_boolean()) v.ends_with_session = e->get<bool>();
  v.idle_timeout_s = get_int(j, "idle_timeout_s").value_or(0);
  return v;
}

std::optional<session_view> view_of(const std::string& session_json, std::int64_t now_unix_ms) {
  const json j = json::parse(session_json, nullptr, false);
  if (j.is_discarded() || !j.is_object() || is_relay_object(j)) return std::nullopt;
  const auto counter = [&](const char* group, const char* key) { return counter_at(j, {group, key}); };
  session_view v;
  const auto pid = get_int(j, "pid");
  if (!pid) return std::nullopt;
  v.pid = static_cast<pid_t>(*pid);
  v.role = get_string(j, "role");
  v.state = get_string(j, "session_state");
  if (v.state.empty()) v.state = "unknown";
  v.peer = endpoint_text(j, "peer");
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

std::string relay_table(const std::vector<relay_view>& relays) {
  std::string out = fmt::format("{:>7}  {:<22}  {:<22}  {:>7}  {:>7}  {:>7}  {:>7}  {:>7}  {:>7}  {}\n", "PID",
                                "RELAY", "NEXT HOP", "SOURCES", "HEARD", "UP", "DOWN", "DROPPED", "IDLE", "ENDS");
  for (const auto& r : relays)
    out += fmt::format("{:>7}  {:<22}  {:<22}  {:>7}  {:>7}  {:>7}  {:>7}  {:>7}  {:>7}  {}\n", r.pid, r.bind,
                       r.next_hop, fmt::format("{}/{}", r.proven, r.sources), age_text(r.since_answer_ms),
                       size_text(r.bytes_up), size_text(r.bytes_down), r.dropped,
                       age_text(r.idle_timeout_s * 1000), r.ends_with_session ? "with session" : "idle timeout");
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
