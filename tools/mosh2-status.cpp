// mosh2-status: the live mosh2-server and mosh2-client sessions of this user, and its
// relays on this jump host, gathered from their status files and control sockets
// (docs/status.md): tables for people, JSON for scripts, one line for a shell profile,
// and `kill` to end sessions cleanly.

#include <sys/types.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "mosh2/control/control_client.hpp"
#include "mosh2/control/status_dir.hpp"
#include "mosh2/status/document.hpp"
#include "mosh2/status/options.hpp"
#include "mosh2/status/reader.hpp"
#include "mosh2/status/view.hpp"

namespace {

using namespace mosh2;
using namespace mosh2::status;

constexpr const char* usage =
    "Usage: mosh2-status [--json | --brief] [--pid PID] [--dir DIR]... [--keep-stale] [-v]\n"
    "       mosh2-status kill [--dry-run] [--dir DIR]... [-v] PID...\n"
    "       mosh2-status kill --detached-for DURATION [--dry-run] [--dir DIR]... [-v]\n"
    "Lists this user's live mosh2 sessions and relays (tables; --json for the document whose schema is\n"
    "docs/status.schema.json, described in docs/status.md and mosh2-status(1); --brief for one\n"
    "line about detached sessions, nothing when there are none), or ends sessions cleanly.\n"
    "  --json                 print the JSON document\n"
    "  --brief                one line for a shell profile\n"
    "  --pid PID              only the session of process PID\n"
    "  --dir DIR              read DIR instead of the default directories (repeatable)\n"
    "  --keep-stale           leave the files of processes that are gone\n"
    "  -v, --verbose          say on stderr why files and directories were skipped\n"
    "  kill PID...            end these sessions (a connected client exits normally)\n"
    "  --detached-for DURATION  with kill: end the servers whose client has not been heard\n"
    "                         for DURATION (90s, 12h, 7d)\n"
    "  --dry-run              with kill: list the sessions it would end, end nothing\n"
    "  -h, --help             this text\n"
    "  --version              the version\n";

/// How long mosh2-status waits for one session's control socket.
constexpr std::chrono::milliseconds control_timeout{2000};

void say(const std::string& line) { std::fprintf(stderr, "mosh2-status: %s\n", line.c_str()); }

/// Each entry's status fresh from its control socket when it answers (the file can be
/// up to a few seconds old); the file's text otherwise.
void refresh(std::vector<status_entry>& entries, bool verbose) {
  for (auto& e : entries) {
    if (!e.control) {
      if (verbose && !is_relay(e.json))
        say(fmt::format("{}: no control socket; showing its status file", e.path.string()));
      continue;
    }
    auto r = control::call(*e.control, control::status_request{}, control_timeout);
    if (r && r->ok && r->status) {
      auto v = view_of(*r->status, unix_ms_now());
      if (v && v->pid == e.pid) {
        e.json = *r->status;
        continue;
      }
    }
    if (verbose)
      say(fmt::format("{}: {}; showing its status file", e.control->string(),
                      !r ? r.error() : !r->ok ? r->error : "status for another process"));
  }
}

/// What `read` (view_of or relay_view_of) makes of each entry that is one.
template <class Read> auto views_of(const std::vector<status_entry>& entries, Read read) {
  std::vector<typename decltype(read(std::string(), 0))::value_type> views;
  const auto now = unix_ms_now();
  for (const auto& e : entries)
    if (auto v = read(e.json, now)) views.push_back(*v);
  return views;
}
std::vector<session_view> views_of(const std::vector<status_entry>& entries) { return views_of(entries, view_of); }

/// Asks each of `targets` to end; false if any could not be asked.
bool end_sessions(const std::vector<status_entry>& targets) {
  bool all = true;
  for (const auto& e : targets) {
    if (!e.control) {
      say(is_relay(e.json) ? fmt::format("{} is a relay; end it with kill {}", e.pid, e.pid)
                           : fmt::format("session {} has no control socket; end it with kill {}", e.pid, e.pid));
      all = false;
      continue;
    }
    auto r = control::call(*e.control, control::shutdown_request("mosh2-status kill"), control_timeout);
    if (!r || !r->ok) {
      say(fmt::format("session {}: {}", e.pid, !r ? r.error() : r->error));
      all = false;
      continue;
    }
    std::printf("mosh2-status: session %d is shutting down\n", static_cast<int>(e.pid));
  }
  return all;
}

int run_kill(const status_options& opts, std::vector<status_entry>& entries) {
  std::vector<status_entry> targets;
  bool all_found = true;
  if (opts.detached_for) {
    refresh(entries, opts.verbose);
    const auto now = unix_ms_now();
    for (const auto& e : entries)
      if (auto v = view_of(e.json, now); v && detached_for_at_least(*v, *opts.detached_for)) targets.push_back(e);
  } else {
    for (pid_t pid : opts.kill_pids) {
      auto it = std::find_if(entries.begin(), entries.end(), [&](const status_entry& e) { return e.pid == pid; });
      if (it == entries.end()) {
        say(fmt::format("no live mosh2 session with pid {}", pid));
        all_found = false;
      } else {
        targets.push_back(*it);
      }
    }
  }
  if (opts.dry_run) {
    for (const auto& e : targets) std::printf("mosh2-status: would end session %d\n", static_cast<int>(e.pid));
    return all_found ? 0 : 1;
  }
  const bool ended = end_sessions(targets);
  return all_found && ended ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse_status_options(std::vector<std::string_view>(argv + 1, argv + argc));
  if (!parsed) {
    std::fprintf(stderr, "mosh2-status: %s (see mosh2-status --help)\n", parsed.error().c_str());
    return 2;
  }
  status_options opts = std::move(*parsed);
  if (opts.help) {
    std::fputs(usage, stdout);
    return 0;
  }
  if (opts.version) {
    std::printf("mosh2-status (mosh2 %s)\n", MOSH2_VERSION);
    return 0;
  }
  read_options how;
  how.prune_stale = !opts.keep_stale;
  how.explicit_dirs = !opts.dirs.empty();
  if (opts.dirs.empty()) opts.dirs = control::status_directories();
  if (opts.dirs.empty() && opts.verbose) say("status files are off (MOSH2_STATUS_DIR is empty)");

  std::vector<read_problem> problems;
  auto entries = read_status_files(opts.dirs, how, problems);
  std::size_t unread_dirs = 0;
  for (const auto& p : problems) {
    if (p.always || opts.verbose) say(p.text);
    if (p.directory) ++unread_dirs;
  }
  // Every directory the user named was refused: nothing was listed, and that is an error.
  const bool nothing_readable = how.explicit_dirs && unread_dirs == opts.dirs.size();
  if (opts.kill) return nothing_readable ? 1 : run_kill(opts, entries);

  if (opts.pid) std::erase_if(entries, [&](const status_entry& e) { return e.pid != *opts.pid; });
  refresh(entries, opts.verbose);
  if (opts.json) {
    std::fputs(status_document(entries).c_str(), stdout);
  } else if (opts.brief) {
    std::fputs(brief_line(views_of(entries)).c_str(), stdout);
  } else {
    const auto sessions = views_of(entries);
    const auto relays = views_of(entries, relay_view_of);
    if (!sessions.empty()) std::fputs(status_table(sessions).c_str(), stdout);
    else if (!opts.pid && !nothing_readable) std::puts("No live mosh2 sessions.");
    if (!relays.empty()) std::printf("\n%s", relay_table(relays).c_str());
  }
  if (opts.pid && entries.empty()) {
    say(fmt::format("no live mosh2 session with pid {}", *opts.pid));
    return 1;
  }
  return nothing_readable ? 1 : 0;
}
