// The status dump: JSON fields and their meaning, the atomic file, the private
// directory checks, and the reader that mosh2-status uses.

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mosh2/session/status_report.hpp"

namespace fs = std::filesystem;
using namespace mosh2;
using namespace mosh2::session;
using nlohmann::json;

namespace {

/// A fresh private directory, removed afterwards.
struct temp_dir {
  temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "mosh2-status-test-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, ec);
    fs::remove_all(path, ec);
  }
  fs::path path;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A pid that certainly belongs to no process: a child that has been reaped.
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
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
  CHECK_FALSE(prepare_status_directory(t.path / "fresh"));
  const fs::path open_dir = t.path / "open";
  fs::create_directory(open_dir);
  fs::permissions(open_dir, fs::perms::owner_all | fs::perms::group_write | fs::perms::others_write);
  CHECK(prepare_status_directory(open_dir));
  const fs::path link = t.path / "link";
  fs::create_directory_symlink(t.path / "fresh", link);
  CHECK(prepare_status_directory(link));
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

TEST_CASE("read_status_files keeps live sessions, prunes dead ones, reports junk") {
  temp_dir t;
  const fs::path a = t.path / "a";
  const fs::path b = t.path / "b";
  fs::create_directory(a);
  fs::create_directory(b);
  const pid_t me = ::getpid();
  const pid_t gone = dead_pid();
  std::ofstream(a / fmt::format("{}.json", me)) << R"({"role": "server", "from": "a"})";
  std::ofstream(b / fmt::format("{}.json", me)) << R"({"role": "server", "from": "b"})";
  std::ofstream(a / fmt::format("{}.json", gone)) << R"({"role": "client"})";
  std::ofstream(b / fmt::format("{}.json", ::getppid())) << "{ not json";
  std::ofstream(b / "notes.txt") << "ignored";
  std::ofstream(b / ".7.json.tmp") << "ignored";

  std::vector<std::string> problems;
  auto entries = read_status_files({a, b, t.path / "missing"}, true, problems);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].pid == me);
  CHECK(json::parse(entries[0].json)["from"] == "a");  // the first directory wins
  CHECK(problems.size() == 1);
  CHECK_FALSE(fs::exists(a / fmt::format("{}.json", gone)));

  const json doc = json::parse(status_document(entries));
  CHECK(doc["schema"] == status_schema_version);
  REQUIRE(doc["sessions"].size() == 1);
  CHECK(doc["sessions"][0]["from"] == "a");
}
