// Choosing and handing over a session for `mosh2-server attach`; see attach.hpp.

#include "mosh2/session/attach.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "mosh2/control/control_client.hpp"
#include "mosh2/status/document.hpp"
#include "mosh2/status/reader.hpp"

namespace mosh2::session {

using status::read_options;
using status::read_problem;
using status::read_status_files;
using status::unix_ms_now;
using status::view_of;
namespace {

std::optional<pid_t> as_pid(const std::string& s) {
  long n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || end != s.data() + s.size() || n <= 0 || n > 0x3fffffff) return std::nullopt;
  return static_cast<pid_t>(n);
}

std::string idle_text(const std::optional<std::int64_t>& ms) {
  if (!ms) return "-";
  const std::int64_t s = *ms / 1000;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m", s / 60);
  if (s < 86400) return fmt::format("{}h{}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{}h", s / 86400, s % 86400 / 3600);
}

std::string label(const session_view& v) { return v.name.empty() ? std::to_string(v.pid) : v.name; }

}  // namespace

std::vector<attach_candidate> find_servers(const std::vector<std::filesystem::path>& dirs) {
  read_options how;
  how.prune_stale = false;
  std::vector<read_problem> problems;
  std::vector<attach_candidate> out;
  for (auto& e : read_status_files(dirs, how, problems)) {
    std::string json = e.json;
    if (e.control) {
      auto r = control::call(*e.control, control::status_request{}, attach_control_timeout);
      if (r && r->ok && r->status) json = *r->status;
    }
    auto v = view_of(json, unix_ms_now());
    if (!v || v->pid != e.pid || v->role != "server" || v->state == "shutting-down") continue;
    out.push_back({*v, e.control});
  }
  return out;
}

result<std::size_t, attach_refusal> choose_session(const std::vector<attach_candidate>& servers,
                                                   const std::optional<std::string>& which) {
  if (which) {
    const auto pid = as_pid(*which);
    for (std::size_t i = 0; i < servers.size(); ++i)
      if ((pid && servers[i].view.pid == *pid) || (!pid && servers[i].view.name == *which)) return i;
    return failure{
        attach_refusal{fmt::format("no live mosh2 session of yours with {} {}", pid ? "id" : "name", *which), 1}};
  }
  std::vector<std::size_t> detached;
  for (std::size_t i = 0; i < servers.size(); ++i)
    if (servers[i].view.state == "detached") detached.push_back(i);
  if (detached.size() == 1) return detached.front();
  if (detached.empty()) {
    const auto live = servers.size();
    if (live == 0) return failure{attach_refusal{"no mosh2 session of yours is running here", 1}};
    return failure{attach_refusal{
        fmt::format("no detached mosh2 session here ({} running; name one: mosh2-server attach ID|NAME)", live), 1}};
  }
  std::vector<attach_candidate> listed;
  for (auto i : detached) listed.push_back(servers[i]);
  return failure{attach_refusal{
      fmt::format("{} detached sessions; name one (mosh2-server attach ID|NAME):\n{}", detached.size(),
                  session_list(listed)),
      2}};
}

std::string session_list(const std::vector<attach_candidate>& servers) {
  std::string out = fmt::format("{:>7}  {:<12}  {:<15}  {:>6}  {}\n", "ID", "NAME", "STATE", "IDLE", "COMMAND");
  for (const auto& s : servers)
    out += fmt::format("{:>7}  {:<12}  {:<15}  {:>6}  {}\n", s.view.pid, s.view.name.empty() ? "-" : s.view.name,
                       s.view.state, idle_text(s.view.since_keystroke_ms ? s.view.since_keystroke_ms
                                                                         : s.view.since_contact_ms),
                       s.view.command);
  return out;
}

std::optional<pid_t> name_taken(const std::vector<attach_candidate>& servers, const std::string& name) {
  for (const auto& s : servers)
    if (!name.empty() && s.view.name == name) return s.view.pid;
  return std::nullopt;
}

std::string detached_labels(const std::vector<attach_candidate>& servers) {
  std::string out;
  for (const auto& s : servers)
    if (s.view.state == "detached") {
      // Appends, not `a + b`: GCC 12 at -O3 warns a false -Wrestrict (bug 105329).
      if (!out.empty()) out += ',';
      out += label(s.view);
    }
  return out;
}

result<attach_result, std::string> attach_to(const attach_candidate& server) {
  if (!server.control)
    return failure{fmt::format("session {} has no control socket, so it cannot be attached", server.view.pid)};
  auto r = control::call(*server.control, control::rotate_key_request{}, attach_control_timeout);
  if (!r) return failure{r.error()};
  if (!r->ok) return failure{fmt::format("session {}: {}", server.view.pid, r->error)};
  if (!r->key) return failure{fmt::format("session {} sent no key", server.view.pid)};
  return attach_result{r->port, *r->key};
}

}  // namespace mosh2::session
