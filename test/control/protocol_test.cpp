// The control protocol as a pure core: requests are parsed and checked before the
// session sees them, replies carry the version, and nothing malformed reaches the handler.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "mosh2/control/protocol.hpp"

using namespace mosh2::control;
using nlohmann::json;

namespace {

struct fake_session : control_handler {
  std::string status = R"({"schema": 1, "pid": 42})";
  int status_calls = 0;
  std::vector<std::string> shutdowns;
  std::string status_json() override {
    ++status_calls;
    return status;
  }
  void request_shutdown(std::string reason) override { shutdowns.push_back(std::move(reason)); }
  int rotations = 0;
  bool can_rotate = true;
  mosh2::result<rotation, std::string> rotate_key() override {
    if (!can_rotate) return control_handler::rotate_key();
    ++rotations;
    return rotation{"AAAAAAAAAAAAAAAAAAAAAA", 60001};
  }
};

/// A handler that keeps the default rotate_key (as a client's session does).
struct plain_session : control_handler {
  std::string status_json() override { return "{}"; }
  void request_shutdown(std::string) override {}
};

json reply_of(const std::string& line) {
  REQUIRE(line.ends_with("\n"));
  REQUIRE(line.find('\n') == line.size() - 1);  // exactly one line
  return json::parse(line);
}

}  // namespace

TEST_SUITE("control") {

TEST_CASE("a status request returns the session's status object") {
  fake_session s;
  const json r = reply_of(respond(R"({"control": 1, "request": "status"})", s));
  CHECK(r["control"] == 1);
  CHECK(r["ok"] == true);
  CHECK(r["status"]["pid"] == 42);
  CHECK(s.shutdowns.empty());
}

TEST_CASE("a shutdown request reaches the session with its reason, bounded in length") {
  fake_session s;
  CHECK(reply_of(respond(R"({"control": 1, "request": "shutdown", "reason": "mosh2-status kill"})", s))["ok"] == true);
  CHECK(reply_of(respond(R"({"control": 1, "request": "shutdown"})", s))["ok"] == true);
  const std::string long_reason(1000, 'x');
  (void)respond(json{{"control", 1}, {"request", "shutdown"}, {"reason", long_reason}}.dump(), s);
  REQUIRE(s.shutdowns.size() == 3);
  CHECK(s.shutdowns[0] == "mosh2-status kill");
  CHECK(s.shutdowns[1] == "control request");
  CHECK(s.shutdowns[2].size() == 200);
  CHECK(s.status_calls == 0);
}

TEST_CASE("a rotate_key request returns the new key and port; a session that cannot rotate says so") {
  fake_session s;
  CHECK(format_request(rotate_key_request{}) == "{\"control\":1,\"request\":\"rotate_key\"}\n");
  REQUIRE(parse_request(R"({"control": 1, "request": "rotate_key"})"));
  const std::string line = respond(R"({"control": 1, "request": "rotate_key"})", s);
  const json r = reply_of(line);
  CHECK(r["ok"] == true);
  CHECK(r["key"] == "AAAAAAAAAAAAAAAAAAAAAA");
  CHECK(r["port"] == 60001);
  CHECK(s.rotations == 1);
  CHECK(s.status_calls == 0);
  auto parsed = parse_reply(line.substr(0, line.size() - 1));
  REQUIRE(parsed);
  REQUIRE(parsed->key);
  CHECK(*parsed->key == "AAAAAAAAAAAAAAAAAAAAAA");
  CHECK(parsed->port == 60001);

  plain_session client;
  const json refused = reply_of(respond(R"({"control": 1, "request": "rotate_key"})", client));
  CHECK(refused["ok"] == false);
  CHECK(refused.find("key") == refused.end());
  s.can_rotate = false;
  CHECK(reply_of(respond(R"({"control": 1, "request": "rotate_key"})", s))["ok"] == false);
  CHECK(s.rotations == 1);
}

TEST_CASE("a reply with a malformed key or port is not believed") {
  for (const char* bad : {R"({"control": 1, "ok": true, "key": 5, "port": 60001})",
                          R"({"control": 1, "ok": true, "key": "k"})",
                          R"({"control": 1, "ok": true, "key": "k", "port": 0})",
                          R"({"control": 1, "ok": true, "key": "k", "port": 70000})",
                          R"({"control": 1, "ok": true, "key": "k", "port": "1"})"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_reply(bad));
  }
}

TEST_CASE("malformed requests get an error reply and never reach the session") {
  fake_session s;
  for (const char* bad : {"", "{", "null", "[]", "\"status\"", R"({"request": "status"})",
                          R"({"control": "1", "request": "status"})", R"({"control": 2, "request": "status"})",
                          R"({"control": 1})", R"({"control": 1, "request": 7})",
                          R"({"control": 1, "request": "reboot"})",
                          R"({"control": 1, "request": "shutdown", "reason": 5})",
                          R"({"control": 1, "request": "status"} junk)"}) {
    CAPTURE(bad);
    const json r = reply_of(respond(bad, s));
    CHECK(r["control"] == 1);
    CHECK(r["ok"] == false);
    CHECK_FALSE(r["error"].get<std::string>().empty());
  }
  CHECK(s.shutdowns.empty());
  CHECK(s.status_calls == 0);
  CHECK(reply_of(respond(R"({"control": 2, "request": "status"})", s))["error"] ==
        "control version 2 is not supported (this session speaks 1)");
}

TEST_CASE("a status that is not an object is an error, not a broken reply") {
  fake_session s;
  s.status = "not json";
  CHECK(reply_of(respond(R"({"control": 1, "request": "status"})", s))["ok"] == false);
}

TEST_CASE("the request buffer stops at the first newline and refuses oversize requests") {
  request_buffer b;
  CHECK(b.feed(R"({"control": 1, )") == request_buffer::state::incomplete);
  CHECK(b.feed("\"request\": \"status\"}\nignored") == request_buffer::state::complete);
  CHECK(b.line() == R"({"control": 1, "request": "status"})");
  CHECK(b.feed("more") == request_buffer::state::complete);

  request_buffer big;
  const std::string chunk(1000, ' ');
  for (int i = 0; i < 4; ++i) CHECK(big.feed(chunk) == request_buffer::state::incomplete);
  CHECK(big.feed(chunk) == request_buffer::state::oversize);
  CHECK(big.line().empty());  // nothing kept
  CHECK(big.feed("\n") == request_buffer::state::oversize);
  CHECK(reply_of(oversize_reply())["ok"] == false);

  request_buffer eof;
  CHECK(eof.end_of_input() == request_buffer::state::incomplete);  // nothing sent at all
  eof.feed(R"({"control": 1, "request": "status"})");
  CHECK(eof.end_of_input() == request_buffer::state::complete);
}

TEST_CASE("requests and replies round-trip through their formatters and parsers") {
  fake_session s;
  const auto status_line = format_request(status_request{});
  CHECK(status_line.ends_with("\n"));
  auto parsed = parse_request(status_line.substr(0, status_line.size() - 1));
  REQUIRE(parsed);
  CHECK(std::holds_alternative<status_request>(*parsed));
  const auto kill_line = format_request(shutdown_request("why"));
  auto kill = parse_request(kill_line.substr(0, kill_line.size() - 1));
  REQUIRE(kill);
  CHECK(std::get<shutdown_request>(*kill).reason == "why");

  auto ok = parse_reply(respond(R"({"control": 1, "request": "status"})", s));
  REQUIRE(ok);
  CHECK(ok->ok);
  REQUIRE(ok->status);
  CHECK(json::parse(*ok->status)["pid"] == 42);
  auto refused = parse_reply(refused_reply());
  REQUIRE(refused);
  CHECK_FALSE(refused->ok);
  CHECK(refused->error.find("permission denied") == 0);
  CHECK_FALSE(parse_reply("{}"));
  CHECK_FALSE(parse_reply(R"({"control": 1, "ok": true, "status": 3})"));
}

}
