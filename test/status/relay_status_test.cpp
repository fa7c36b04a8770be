// A relay's status file: its document, how mosh2-status reads it back (beside the
// sessions, never as one), and the reader's clean-up of a dead relay's file.

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../support/dead_pid.hpp"
#include "../support/temp_dir.hpp"
#include "mosh2/status/document.hpp"
#include "mosh2/status/reader.hpp"
#include "mosh2/status/relay_status.hpp"
#include "mosh2/status/status_file.hpp"
#include "mosh2/status/view.hpp"

namespace fs = std::filesystem;
using namespace mosh2;
using namespace mosh2::status;
using mosh2::test::dead_pid;
using mosh2::test::temp_dir;
using nlohmann::json;

namespace {

relay_status sample_relay(time_point now) {
  relay_status r;
  r.pid = ::getpid();
  r.started = now - std::chrono::seconds(30);
  r.bind_address = "10.1.0.2";
  r.bind_port = 60004;
  r.next_address = "10.2.0.3";
  r.next_port = 60001;
  r.idle_timeout = std::chrono::seconds(120);
  r.ends_with_session = true;
  r.last_answer = now - std::chrono::seconds(2);
  relay_status::source client;
  client.address = "10.1.0.1";
  client.port = 41000;
  client.proven = true;
  client.up = {5, 500};
  client.down = {7, 900};
  client.last_seen = now - std::chrono::seconds(1);
  relay_status::source stranger;
  stranger.address = "::1";
  stranger.port = 9;
  stranger.up = {1, 40};
  stranger.last_seen = now - std::chrono::seconds(20);
  r.sources = {client, stranger};
  r.up = {9, 700};
  r.down = {7, 900};
  r.sources_evicted = 2;
  r.sends_refused = 1;
  return r;
}


}  // namespace

TEST_SUITE("status") {

TEST_CASE("a relay's document names its kind, addresses, sources, totals and drops") {
  const auto now = steady::now();
  const json j = json::parse(to_json(sample_relay(now), now));
  CHECK(j["schema"] == status_schema_version);
  CHECK(j["kind"] == "relay");
  CHECK(j["pid"] == ::getpid());
  CHECK(j["process_start_ticks"].is_number_unsigned());  // what the reader compares
  CHECK(j["bind"] == json{{"address", "10.1.0.2"}, {"port", 60004}});
  CHECK(j["next_hop"] == json{{"address", "10.2.0.3"}, {"port", 60001}});
  CHECK(j["idle_timeout_s"] == 120);
  CHECK(j["ends_with_session"] == true);
  REQUIRE(j["sources"].size() == 2);
  CHECK(j["sources"][0]["address"] == "10.1.0.1");
  CHECK(j["sources"][0]["port"] == 41000);
  CHECK(j["sources"][0]["proven"] == true);
  CHECK(j["sources"][0]["up"] == json{{"datagrams", 5}, {"bytes", 500}});
  CHECK(j["sources"][0]["down"] == json{{"datagrams", 7}, {"bytes", 900}});
  CHECK(j["sources"][1]["proven"] == false);
  CHECK(j["updated_unix_ms"].get<std::int64_t>() - j["sources"][0]["last_seen_unix_ms"].get<std::int64_t>() == 1000);
  CHECK(j["totals"]["up"]["datagrams"] == 9);
  CHECK(j["totals"]["down"]["bytes"] == 900);
  CHECK(j["dropped"] == json{{"sources_evicted", 2}, {"sends_refused", 1}, {"unsocketed", 0}});
  relay_status quiet;
  CHECK(json::parse(to_json(quiet, now))["last_answer_unix_ms"].is_null());
}

TEST_CASE("mosh2-status lists a relay beside the sessions, never as one") {
  const auto now = steady::now();
  const std::string text = to_json(sample_relay(now), now);
  CHECK(is_relay(text));
  CHECK_FALSE(is_relay(R"({"pid": 5, "role": "server"})"));
  CHECK_FALSE(view_of(text, unix_ms_now()));  // not a session: no table row, no kill --detached-for, no attach
  const auto v = relay_view_of(text, unix_ms_now());
  REQUIRE(v);
  CHECK(v->pid == ::getpid());
  CHECK(v->bind == "10.1.0.2:60004");
  CHECK(v->next_hop == "10.2.0.3:60001");
  CHECK(v->sources == 2);
  CHECK(v->proven == 1);
  CHECK(v->datagrams_up == 9);
  CHECK(v->bytes_down == 900);
  CHECK(v->dropped == 3);
  CHECK(v->ends_with_session);
  REQUIRE(v->since_answer_ms);
  CHECK(*v->since_answer_ms >= 2000);
  CHECK_FALSE(relay_view_of(R"({"pid": 5, "role": "server"})", 0));
  const std::string table = relay_table({*v});
  CHECK(table.find("NEXT HOP") != std::string::npos);
  CHECK(table.find("10.2.0.3:60001") != std::string::npos);
  CHECK(table.find("1/2") != std::string::npos);
  CHECK(table.find("with session") != std::string::npos);

  std::vector<status_entry> entries{{"a", 1, R"({"pid": 1, "role": "server"})", std::nullopt},
                                    {"b", ::getpid(), text, std::nullopt}};
  const json doc = json::parse(status_document(entries));
  REQUIRE(doc["sessions"].size() == 1);
  REQUIRE(doc["relays"].size() == 1);
  CHECK(doc["relays"][0]["next_hop"]["address"] == "10.2.0.3");
  CHECK(json::parse(status_document({}))["relays"].empty());
}

TEST_CASE("a relay's file is written whole by the reporter, read back, and removed with it") {
  temp_dir t;
  fs::permissions(t.path, fs::perms::owner_all);
  const auto now = steady::now();
  const fs::path file = t.path / fmt::format("{}.json", ::getpid());
  {
    status_reporter r({t.path});
    CHECK_FALSE(r.publish(sample_relay(now), now));
    std::vector<read_problem> problems;
    const auto entries = read_status_files({t.path}, read_options{}, problems);
    REQUIRE(entries.size() == 1);
    CHECK(is_relay(entries[0].json));
  }
  CHECK_FALSE(fs::exists(file));
}

TEST_CASE("a dead relay's file is removed like a dead session's") {
  temp_dir t;
  fs::permissions(t.path, fs::perms::owner_all);
  const pid_t gone = dead_pid();
  auto r = sample_relay(steady::now());
  r.pid = gone;
  const fs::path file = t.path / fmt::format("{}.json", gone);
  std::ofstream(file) << to_json(r, steady::now());
  std::vector<read_problem> problems;
  CHECK(read_status_files({t.path}, read_options{.prune_stale = false}, problems).empty());
  CHECK(fs::exists(file));  // --keep-stale
  CHECK(read_status_files({t.path}, read_options{}, problems).empty());
  CHECK_FALSE(fs::exists(file));
}

}  // TEST_SUITE
