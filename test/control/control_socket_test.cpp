// The control socket on a real Unix socket in a temp directory: a session's stage
// serving mosh2-status's client, and clients that misbehave.

#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <filesystem>
#include <thread>

#include <asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "../support/temp_dir.hpp"
#include "../support/run_coro.hpp"
#include "mosh2/control/control_client.hpp"
#include "mosh2/control/control_socket.hpp"
#include "mosh2/control/status_dir.hpp"
#include "mosh2/util/io.hpp"

namespace fs = std::filesystem;
using namespace mosh2;
using namespace mosh2::control;
using namespace asio::experimental::awaitable_operators;

using mosh2::test::temp_dir;

namespace {

struct fake_session : control_handler {
  std::vector<std::string> shutdowns;
  std::string status_json() override { return R"({"pid": 7})"; }
  void request_shutdown(std::string reason) override { shutdowns.push_back(std::move(reason)); }
  mosh2::result<rotation, std::string> rotate_key() override { return rotation{"BBBBBBBBBBBBBBBBBBBBBB", 60123}; }
};

/// A raw client on its own thread: connects, sends `text` (maybe nothing), reads the
/// reply until EOF or 3 s.
std::string raw_exchange(const fs::path& path, const std::string& text, bool send_anything = true) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  if (send_anything) (void)::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
  std::string in;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return in;
}

}  // namespace

TEST_SUITE("control") {

TEST_CASE("the private-directory rule refuses symlinks, strangers' and open directories") {
  temp_dir t;
  CHECK_FALSE(check_private_directory(t.path / "fresh", true));
  CHECK((fs::status(t.path / "fresh").permissions() & fs::perms::all) == fs::perms::owner_all);
  auto missing = check_private_directory(t.path / "missing", false);
  REQUIRE(missing);
  CHECK(missing->find("No such file or directory") != std::string::npos);
  fs::create_directory_symlink(t.path / "fresh", t.path / "link");
  CHECK(*check_private_directory(t.path / "link", false) == (t.path / "link").string() + " is a symlink");
  fs::create_directory(t.path / "open");
  fs::permissions(t.path / "open", fs::perms::owner_all | fs::perms::others_write);
  CHECK(check_private_directory(t.path / "open", false)->ends_with("is writable by others"));
}

TEST_CASE("a session's control socket is 0600, serves status, rotate_key and shutdown, and goes away") {
  temp_dir t;
  fake_session session;
  fs::path where;
  test::run_coro([&](asio::io_context& ctx) -> asio::awaitable<void> {
    control_endpoint control(ctx, {t.path / "no" / "such", t.path / "status"}, 4321);
    REQUIRE(control.path());
    where = *control.path();
    CHECK(where == t.path / "status" / "4321.sock");
    CHECK((fs::symlink_status(where).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));
    std::string status_reply, kill_reply, rotate_reply;
    std::thread client([&] {
      auto s = call(where, status_request{}, std::chrono::milliseconds(3000));
      status_reply = s ? *s->status : s.error();
      auto r = call(where, rotate_key_request{}, std::chrono::milliseconds(3000));
      rotate_reply = r ? (r->key ? *r->key + " " + std::to_string(r->port) : "no key") : r.error();
      auto k = call(where, shutdown_request("test"), std::chrono::milliseconds(3000));
      kill_reply = k ? (k->ok ? "ok" : k->error) : k.error();
    });
    asio::steady_timer poll(ctx);
    auto stop_when_done = [&]() -> asio::awaitable<void> {
      for (int i = 0; i < 300 && session.shutdowns.empty(); ++i) {
        poll.expires_after(std::chrono::milliseconds(10));
        co_await poll.async_wait(asio::use_awaitable);
      }
      poll.expires_after(std::chrono::milliseconds(100));  // the reply is on its way
      co_await poll.async_wait(asio::use_awaitable);
      control.close();
    };
    co_await (serve_control(control.acceptor(), session) && stop_when_done());
    client.join();
    CHECK(nlohmann::json::parse(status_reply)["pid"] == 7);
    CHECK(kill_reply == "ok");
    CHECK(rotate_reply == "BBBBBBBBBBBBBBBBBBBBBB 60123");
  }, std::chrono::seconds(10));
  REQUIRE(session.shutdowns.size() == 1);
  CHECK(session.shutdowns[0] == "test");
  CHECK_FALSE(fs::exists(where));
}

TEST_CASE("a silent client costs one connection limit; oversize and junk get error replies") {
  temp_dir t;
  fake_session session;
  test::run_coro([&](asio::io_context& ctx) -> asio::awaitable<void> {
    control_endpoint control(ctx, {t.path}, 99);
    REQUIRE(control.path());
    const fs::path where = *control.path();
    std::string silent, oversize, junk, after;
    std::chrono::steady_clock::duration waited{};
    std::thread clients([&] {
      const auto start = std::chrono::steady_clock::now();
      silent = raw_exchange(where, "", false);
      waited = std::chrono::steady_clock::now() - start;
      oversize = raw_exchange(where, std::string(10000, 'x'));
      junk = raw_exchange(where, "{\"control\": 1, \"request\": [}\n");
      auto s = call(where, status_request{}, std::chrono::milliseconds(3000));
      after = s && s->status ? *s->status : "failed";
    });
    asio::steady_timer poll(ctx);
    auto stop_when_done = [&]() -> asio::awaitable<void> {
      for (int i = 0; i < 500 && after.empty(); ++i) {
        poll.expires_after(std::chrono::milliseconds(10));
        co_await poll.async_wait(asio::use_awaitable);
      }
      control.close();
    };
    co_await (serve_control(control.acceptor(), session) && stop_when_done());
    clients.join();
    CHECK(silent.empty());  // dropped without a reply
    CHECK(waited >= std::chrono::milliseconds(900));
    CHECK(nlohmann::json::parse(oversize)["error"] == "request longer than 4096 bytes");
    CHECK(nlohmann::json::parse(junk)["ok"] == false);
    CHECK(nlohmann::json::parse(after)["pid"] == 7);
  }, std::chrono::seconds(15));
  CHECK(session.shutdowns.empty());
}

TEST_CASE("a stale socket of a dead process is replaced; a file that is not a socket is left alone") {
  temp_dir t;
  asio::io_context ctx;
  {
    control_endpoint first(ctx, {t.path}, 555);
    REQUIRE(first.path());
    // Simulate a crash: the path stays, the listener goes.
    first.acceptor().close();
  }
  {
    // (the destructor removed it; plant a stale socket by hand)
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, (t.path / "556.sock").c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    ::close(fd);
  }
  control_endpoint second(ctx, {t.path}, 556);
  CHECK(second.path());
  CHECK(second.problem().empty());
  std::ofstream(t.path / "557.sock") << "not a socket";
  control_endpoint third(ctx, {t.path}, 557);
  CHECK_FALSE(third.path());
  CHECK(third.problem().ends_with("exists and is not a socket"));
  CHECK(fs::exists(t.path / "557.sock"));
  auto r = call(t.path / "557.sock", status_request{}, std::chrono::milliseconds(500));
  REQUIRE_FALSE(r);
  CHECK(r.error().ends_with("is not a socket"));
}

}
