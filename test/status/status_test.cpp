// The status dump: JSON fields and their meaning, the atomic file and its one
// directory choice, the reader that mosh2-status uses, and its views.

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../support/dead_pid.hpp"
#include "../support/temp_dir.hpp"
#include "mosh2/control/status_dir.hpp"
#include "mosh2/session/link_core.hpp"
#include "mosh2/status/document.hpp"
#include "mosh2/status/process_start.hpp"
#include "mosh2/status/reader.hpp"
#include "mosh2/status/session_status.hpp"
#include "mosh2/status/status_file.hpp"
#include "mosh2/status/view.hpp"

namespace fs = std::filesystem;
using namespace mosh2;
using namespace mosh2::status;
using mosh2::control::check_private_directory;
using mosh2::session::link_core;
using nlohmann::json;

using mosh2::test::dead_pid;
using mosh2::test::temp_dir;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}


session_status sample_status(time_point now) {
  session_status s;
  s.role = "server";
  s.pid = 4242;
  s.local_address = "127.0.0.1";
  s.local_port = 60001;
  s.peer_address = "::1";
  s.peer_port = 40000;
  s.started = now - std::chrono::seconds(10);
  s.last_contact = now - std::chrono::milliseconds(1500);
  s.srtt_ms = 12.5;
  s.rto_ms = 50;
  s.rtt_measured = true;
  s.width = 100;
  s.height = 30;
  s.state_sent = 7;
  s.state_acked = 5;
  s.state_received = 9;
  s.datagrams.sealed = 11;
  s.datagrams.accepted = 12;
  s.datagrams.out_of_order = 3;
  s.datagrams.dropped[static_cast<std::size_t>(datagram::drop_reason::bad_tag)] = 4;
  s.datagrams.dropped[static_cast<std::size_t>(datagram::drop_reason::too_short)] = 2;
  s.link.truncated = 1;
  s.link.fragment = 6;
  return s;
}

}  // namespace

TEST_CASE("status JSON carries the documented fields with their meaning") {
  const auto now = steady::now();
  const auto before = std::chrono::duration_cast<milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  const json j = json::parse(to_json(sample_status(now), now));
  CHECK(j["schema"] == status_schema_version);
  CHECK(j["role"] == "server");
  CHECK(j["pid"] == 4242);
  CHECK(j["local"]["address"] == "127.0.0.1");
  CHECK(j["local"]["port"] == 60001);
  CHECK(j["peer"]["address"] == "::1");
  CHECK(j["peer"]["port"] == 40000);
  const auto updated = j["updated_unix_ms"].get<std::int64_t>();
  CHECK(updated >= before);
  CHECK(updated - j["started_unix_ms"].get<std::int64_t>() == 10'000);
  CHECK(updated - j["last_contact_unix_ms"].get<std::int64_t>() == 1500);
  CHECK(j["last_roundtrip_unix_ms"].is_null());
  CHECK(j["rtt"]["measured"] == true);
  CHECK(j["rtt"]["srtt_ms"] == 12.5);
  CHECK(j["rtt"]["rto_ms"] == 50);
  CHECK(j["terminal"]["width"] == 100);
  CHECK(j["terminal"]["height"] == 30);
  CHECK(j["state"]["sent"] == 7);
  CHECK(j["state"]["acked"] == 5);
  CHECK(j["state"]["received"] == 9);
  CHECK(j["shutting_down"] == false);
  const auto& d = j["datagrams"];
  CHECK(d["sent"] == 11);
  CHECK(d["received"] == 12);
  CHECK(d["out_of_order"] == 3);
  CHECK(d["dropped"]["bad_tag"] == 4);
  CHECK(d["dropped"]["too_short"] == 2);
  CHECK(d["dropped"]["oversize"] == 1);  // the kernel's truncation counts as oversize
  CHECK(d["dropped"]["undecodable"] == 6);
  CHECK(d["dropped"]["wrong_direction"] == 0);
  CHECK(d["dropped"]["total"] == 4 + 2 + 1 + 6);
}

TEST_CASE("status JSON: no peer and no contact are null, never made up") {
  const auto now = steady::now();
  session_status s;
  s.role = "client";
  s.started = now;
  const json j = json::parse(to_json(s, now));
  CHECK(j["peer"].is_null());
  CHECK(j["last_contact_unix_ms"].is_null());
  CHECK(j["rtt"]["measured"] == false);
}

TEST_CASE("a link's counters reach the status") {
  const auto now = steady::now();
  link_core link(datagram::role::server, crypto::session_key::generate(), now);
  const bytes garbage(40, '\x01');
  CHECK_FALSE(link.receive(garbage, now, false, false));
  CHECK_FALSE(link.receive(garbage, now, true, false));
  session_status s;
  fill_link_status(s, link);
  CHECK(s.datagrams.drops(datagram::drop_reason::bad_tag) == 1);
  CHECK(s.link.truncated == 1);
  CHECK_FALSE(s.last_contact);
}

TEST_CASE("status_file writes whole files, moves on when a directory fails, and cleans up") {
  temp_dir t;
  const fs::path broken = t.path / "not-a-dir";
  std::ofstream(broken) << "x";
  const fs::path good = t.path / "status";
  fs::path written;
  {
    status_file f({broken, good}, 1234);
    CHECK(f.write("{\"a\": 1}\n"));
    REQUIRE(f.path());
    written = *f.path();
    CHECK(written == good / "1234.json");
    CHECK(slurp(written) == "{\"a\": 1}\n");
    CHECK(f.write("{\"a\": 2}\n"));
    CHECK(slurp(written) == "{\"a\": 2}\n");
    CHECK((fs::status(good).permissions() & fs::perms::all) == fs::perms::owner_all);
    CHECK((fs::status(written).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));
    // No temporaries are left behind.
    int files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(good)) ++files;
    CHECK(files == 1);
  }
  CHECK_FALSE(fs::exists(written));
}

TEST_CASE("status directories that others could tamper with are refused") {
  temp_dir t;
  CHECK_FALSE(check_private_directory(t.path / "fresh", true));
  const fs::path open_dir = t.path / "open";
  fs::create_directory(open_dir);
  fs::permissions(open_dir, fs::perms::owner_all | fs::perms::group_write | fs::perms::others_write);
  CHECK(check_private_directory(open_dir, true));
  const fs::path link = t.path / "link";
  fs::create_directory_symlink(t.path / "fresh", link);
  CHECK(check_private_directory(link, true));
  status_file f({open_dir, link}, 99);
  CHECK_FALSE(f.write("{}"));
  CHECK_FALSE(f.last_error().empty());
}

TEST_CASE("MOSH2_STATUS_DIR chooses the directory, and empty turns status files off") {
  const char* saved = std::getenv("MOSH2_STATUS_DIR");
  const std::string restore = saved ? saved : "";
  ::setenv("MOSH2_STATUS_DIR", "/some/where", 1);
  CHECK(status_directories() == std::vector<fs::path>{"/some/where"});
  ::setenv("MOSH2_STATUS_DIR", "", 1);
  CHECK(status_directories().empty());
  ::unsetenv("MOSH2_STATUS_DIR");
  const auto dirs = status_directories();
  REQUIRE_FALSE(dirs.empty());
  CHECK(dirs.back().string().starts_with("/tmp/mosh2-"));
  if (saved) ::setenv("MOSH2_STATUS_DIR", restore.c_str(), 1);
}

TEST_CASE("the reporter writes at most once per interval, and only after a change") {
  temp_dir t;
  status_reporter r({t.path});
  const auto t0 = steady::now();
  CHECK(r.due(t0));
  session_status s;
  s.role = "server";
  s.started = t0;
  CHECK_FALSE(r.publish(s, t0));
  CHECK_FALSE(r.due(t0 + std::chrono::seconds(5)));  // nothing happened
  CHECK(r.next_deadline() == never);
  r.touch();
  CHECK_FALSE(r.due(t0 + std::chrono::milliseconds(500)));
  CHECK(r.next_deadline() == t0 + status_interval);
  CHECK(r.due(t0 + status_interval));
}

TEST_CASE("the reporter names a failing directory once") {
  temp_dir t;
  const fs::path file = t.path / "file";
  std::ofstream(file) << "x";
  status_reporter r({file});
  session_status s;
  const auto now = steady::now();
  CHECK(r.publish(s, now));
  r.touch();
  CHECK_FALSE(r.publish(s, now + std::chrono::seconds(2)));
}

/// A status file's text for process `pid` that passes every check of the reader.
std::string live_file(pid_t pid, const std::string& extra = "") {
  return fmt::format(R"({{"pid": {}, "started_unix_ms": {}{}}})", pid, unix_ms_now(), extra);
}

/// The problems' texts, one per line, for failure messages and searches.
std::string texts(const std::vector<read_problem>& problems) {
  std::string out;
  for (const auto& p : problems) out += p.text + (p.always ? " [always]\n" : "\n");
  return out;
}

TEST_CASE("read_status_files keeps live sessions, prunes dead ones, reports junk") {
  temp_dir t;
  const fs::path a = t.path / "a";
  const fs::path b = t.path / "b";
  fs::create_directory(a);
  fs::create_directory(b);
  fs::permissions(a, fs::perms::owner_all);
  fs::permissions(b, fs::perms::owner_all);
  const pid_t me = ::getpid();
  const pid_t gone = dead_pid();
  std::ofstream(a / fmt::format("{}.json", me)) << live_file(me, R"(, "from": "a")");
  std::ofstream(b / fmt::format("{}.json", me)) << live_file(me, R"(, "from": "b")");
  std::ofstream(a / fmt::format("{}.json", gone)) << live_file(gone);
  std::ofstream(b / fmt::format("{}.json", ::getppid())) << "{ not json";
  std::ofstream(b / "notes.txt") << "ignored";
  std::ofstream(b / ".7.json.tmp") << "ignored";

  std::vector<read_problem> problems;
  auto entries = read_status_files({a, b, t.path / "missing"}, read_options{}, problems);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].pid == me);
  CHECK(json::parse(entries[0].json)["from"] == "a");  // the first directory wins
  CHECK_FALSE(entries[0].control);
  INFO(texts(problems));
  CHECK(problems.size() == 2);  // the dead process (removed) and the junk; a missing default dir is normal
  CHECK(texts(problems).find("not a status file") != std::string::npos);
  CHECK_FALSE(fs::exists(a / fmt::format("{}.json", gone)));

  const json doc = json::parse(status_document(entries));
  CHECK(doc["schema"] == status_schema_version);
  REQUIRE(doc["sessions"].size() == 1);
  CHECK(doc["sessions"][0]["from"] == "a");
}

TEST_CASE("the reader neither hangs on nor lists planted files, and says why") {
  temp_dir t;
  const fs::path d = t.path / "status";
  REQUIRE_FALSE(check_private_directory(d, true));
  const pid_t me = ::getpid();
  const pid_t parent = ::getppid();
  // A FIFO would block a plain open; a symlink to /dev/zero would never end.
  REQUIRE(::mkfifo((d / fmt::format("{}.json", me)).c_str(), 0600) == 0);
  fs::create_symlink("/dev/zero", d / fmt::format("{}.json", parent));
  // A forged file: another live process's name, this process's content.
  std::ofstream(d / "1.json") << live_file(me);
  std::vector<read_problem> problems;
  auto entries = read_status_files({d}, read_options{}, problems);  // returns: nothing blocked it
  CHECK(entries.empty());
  const auto all = texts(problems);
  INFO(all);
  CHECK(all.find(fmt::format("{}.json: skipped, not a regular file", me)) != std::string::npos);
  CHECK(all.find(fmt::format("{}.json: skipped, a symlink", parent)) != std::string::npos);
  CHECK(all.find("1.json: skipped, its pid does not match its name") != std::string::npos);
  for (const auto& p : problems) CHECK_FALSE(p.always);  // said with -v
}

TEST_CASE("the reader refuses oversize files and files whose pid was reused") {
  temp_dir t;
  const fs::path d = t.path / "status";
  REQUIRE_FALSE(check_private_directory(d, true));
  const pid_t me = ::getpid();
  const pid_t parent = ::getppid();
  std::ofstream(d / fmt::format("{}.json", me)) << live_file(me, ", \"pad\": \"" + std::string(70000, 'x') + "\"");
  // The session started a day before this process did: the pid now belongs to another program.
  std::ofstream(d / fmt::format("{}.json", parent))
      << fmt::format(R"({{"pid": {}, "started_unix_ms": {}}})", parent, unix_ms_now() - 86'400'000);
  std::vector<read_problem> problems;
  CHECK(read_status_files({d}, read_options{}, problems).empty());
  const auto all = texts(problems);
  INFO(all);
  CHECK(all.find(fmt::format("{}.json: skipped, larger than 65536 bytes", me)) != std::string::npos);
  CHECK(all.find(fmt::format("process {} is not the session's (pid reused); removed", parent)) != std::string::npos);
  CHECK_FALSE(fs::exists(d / fmt::format("{}.json", parent)));
  // The check itself: this process started moments ago.
  const auto mine = process_start_unix_ms(me);
  REQUIRE(mine);
  CHECK(std::abs(*mine - unix_ms_now()) < 600'000);
}

TEST_CASE("the reader skips unsafe directories and says so, and a missing named one") {
  temp_dir t;
  const fs::path open_dir = t.path / "open";
  fs::create_directory(open_dir);
  fs::permissions(open_dir, fs::perms::owner_all | fs::perms::others_all);
  std::ofstream(open_dir / fmt::format("{}.json", ::getpid())) << live_file(::getpid());
  fs::create_directory_symlink(open_dir, t.path / "link");
  std::vector<read_problem> problems;
  read_options named;
  named.explicit_dirs = true;
  CHECK(read_status_files({open_dir, t.path / "link", t.path / "nonexistent"}, named, problems).empty());
  REQUIRE(problems.size() == 3);
  for (const auto& p : problems) CHECK(p.always);
  CHECK(problems[0].text == fmt::format("{} is writable by others; not reading it", open_dir.string()));
  CHECK(problems[1].text == fmt::format("{} is a symlink; not reading it", (t.path / "link").string()));
  CHECK(problems[2].text ==
        fmt::format("cannot use {}: No such file or directory; not reading it", (t.path / "nonexistent").string()));
  for (const auto& p : problems) CHECK(p.directory);
  problems.clear();
  CHECK(read_status_files({t.path / "nonexistent"}, read_options{}, problems).empty());
  CHECK(problems.empty());  // a default directory that is not there yet holds no sessions
}

TEST_CASE("status JSON carries the session-management fields") {
  const auto now = steady::now();
  auto s = sample_status(now);
  s.last_keystroke = now - std::chrono::milliseconds(4200);
  s.bytes_sent = 1000;
  s.bytes_received = 2000;
  s.command = {"/bin/sh", "-c", "top"};
  const json j = json::parse(to_json(s, now));
  CHECK(j["session_state"] == "connected");
  CHECK(j["seconds_since_contact"] == 1);
  CHECK(j["seconds_since_keystroke"] == 4);
  CHECK(j["updated_unix_ms"].get<std::int64_t>() - j["last_keystroke_unix_ms"].get<std::int64_t>() == 4200);
  CHECK(j["bytes"]["sent"] == 1000);
  CHECK(j["bytes"]["received"] == 2000);
  CHECK(j["command"] == json::array({"/bin/sh", "-c", "top"}));
  CHECK(j["prediction"].is_null());
  s.role = "client";
  s.prediction_mode = "adaptive";
  s.predictions_shown = 5;
  s.predictions_confirmed = 4;
  s.predictions_wrong = 1;
  const json c = json::parse(to_json(s, now));
  CHECK(c["prediction"] == json{{"mode", "adaptive"}, {"shown", 5}, {"confirmed", 4}, {"wrong", 1}});
  s.session_state = "shutting-down";  // what the session says wins
  CHECK(json::parse(to_json(s, now))["session_state"] == "shutting-down");
}

TEST_CASE("the session state follows the last contact, with detached after 7 s") {
  const auto now = steady::now();
  session_status s;
  CHECK(derive_session_state(s, now) == "never-connected");
  s.last_contact = now - std::chrono::seconds(7);
  CHECK(derive_session_state(s, now) == "connected");
  s.last_contact = now - std::chrono::milliseconds(7001);
  CHECK(derive_session_state(s, now) == "detached");
  s.shutting_down = true;
  CHECK(derive_session_state(s, now) == "shutting-down");
}

TEST_CASE("views, the table, the brief line and --detached-for read the document's fields") {
  const std::int64_t now = 1'800'000'000'000;
  const auto session = [&](int pid, const char* role, const char* state, std::optional<std::int64_t> heard_ago) {
    json j = {{"pid", pid}, {"role", role}, {"session_state", state},
              {"peer", {{"address", "::1"}, {"port", 5000}}},
              {"bytes", {{"sent", 20000}, {"received", 300}}}, {"command", {"/bin/sh"}}};
    j["last_contact_unix_ms"] = heard_ago ? json(now - *heard_ago) : json(nullptr);
    return view_of(j.dump(), now).value();
  };
  const auto connected = session(10, "server", "connected", 1000);
  const auto stale_file = session(11, "server", "connected", 9000);  // the file was not rewritten since
  const auto detached = session(12, "server", "detached", 30'000);
  const auto never = session(13, "server", "never-connected", std::nullopt);
  const auto client = session(14, "client", "detached", 60'000);
  CHECK(stale_file.state == "detached");
  CHECK(connected.peer == "[::1]:5000");
  CHECK(connected.since_contact_ms == 1000);
  std::vector<session_view> all{connected, stale_file, detached, never, client};
  CHECK(brief_line(all) == "2 detached mosh2 sessions (pids 11, 12); mosh2-status for details\n");
  CHECK(brief_line({detached}) == "1 detached mosh2 session (pid 12); mosh2-status for details\n");
  CHECK(brief_line({connected, never}).empty());
  const auto at_least = [&](std::chrono::milliseconds d) {
    std::vector<pid_t> pids;
    for (const auto& v : all)
      if (detached_for_at_least(v, d)) pids.push_back(v.pid);
    return pids;
  };
  CHECK(at_least(std::chrono::seconds(8)) == std::vector<pid_t>{11, 12});
  CHECK(at_least(std::chrono::seconds(10)) == std::vector<pid_t>{12});
  CHECK(at_least(std::chrono::seconds(31)).empty());
  const auto table = status_table(all);
  CHECK(table.starts_with("    PID  ROLE    STATE            NAME"));
  CHECK(table.find("     12  server  detached         -             [::1]:5000                  30s        -      19K      "
                   "300         0  /bin/sh") != std::string::npos);
  CHECK_FALSE(view_of("[1, 2]", now));
}

TEST_CASE("the drop namer names each drop the link counted, in the document's words") {
  const auto now = steady::now();
  link_core link(datagram::role::server, crypto::session_key::generate(), now);
  drop_namer names;
  (void)link.receive(bytes(40, '\x01'), now, false, false);
  CHECK(names.newest(link) == "bad_tag");
  (void)link.receive(bytes(3, '\x01'), now, false, false);
  CHECK(names.newest(link) == "too_short");
  (void)link.receive(bytes(40, '\x01'), now, true, false);
  CHECK(names.newest(link) == "oversize");
  bytes reflected(40, '\x01');
  reflected[0] = '\x80';
  (void)link.receive(reflected, now, false, false);
  CHECK(names.newest(link) == "wrong_direction");
}
