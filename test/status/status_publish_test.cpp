// Where and how a session publishes itself: the status file and the control socket
// make one directory choice and follow it together, files are only ever seen whole,
// and a session's files survive a wall-clock step.

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <asio/steady_timer.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../support/temp_dir.hpp"
#include "../support/run_coro.hpp"
#include "mosh2/control/control_client.hpp"
#include "mosh2/control/control_socket.hpp"
#include "mosh2/control/status_dir.hpp"
#include "mosh2/status/document.hpp"
#include "mosh2/status/process_start.hpp"
#include "mosh2/status/reader.hpp"
#include "mosh2/status/status_file.hpp"
#include "mosh2/util/io.hpp"

namespace fs = std::filesystem;
using namespace mosh2;
using namespace mosh2::status;
using namespace asio::experimental::awaitable_operators;
using nlohmann::json;

using mosh2::test::temp_dir;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct fake_session : control::control_handler {
  std::string status_json() override { return R"({"pid": 7})"; }
  void request_shutdown(std::string) override {}
};

}  // namespace

TEST_CASE("the status file and the control socket choose the same directory") {
  temp_dir t;
  const fs::path first = t.path / "first";
  const fs::path second = t.path / "second";
  REQUIRE_FALSE(control::check_private_directory(first, true));
  // Something that is not a socket holds the socket's name in the first directory: a
  // file there could be written, but the pair must not be split.
  std::ofstream(first / "4242.sock") << "planted";
  asio::io_context ctx;
  control::control_endpoint socket(ctx, {first, second}, 4242);
  status_file file({first, second}, 4242);
  REQUIRE(file.write("{}\n"));
  REQUIRE(socket.path());
  REQUIRE(file.path());
  CHECK(socket.path()->parent_path() == second);
  CHECK(file.path()->parent_path() == second);
  CHECK_FALSE(fs::exists(first / "4242.json"));
  // The same when the status file's name is the one taken.
  REQUIRE(::mkfifo((first / "4243.json").c_str(), 0600) == 0);
  control::control_endpoint socket2(ctx, {first, second}, 4243);
  status_file file2({first, second}, 4243);
  REQUIRE(file2.write("{}\n"));
  REQUIRE(socket2.path());
  CHECK(socket2.path()->parent_path() == second);
  CHECK(file2.path()->parent_path() == second);
}

TEST_CASE("when the directory goes, the socket follows the status file to the next one") {
  temp_dir t;
  // As $XDG_RUNTIME_DIR/mosh2: its parent is what logind removes.
  const fs::path runtime_parent = t.path / "run-user";
  const fs::path runtime = runtime_parent / "mosh2";
  fs::create_directory(runtime_parent);
  const fs::path fallback = t.path / "fallback";
  fake_session session;
  std::string reply;
  test::run_coro([&](asio::io_context& ctx) -> asio::awaitable<void> {
    control::control_endpoint socket(ctx, {runtime, fallback}, 777);
    status_file file({runtime, fallback}, 777);
    REQUIRE(file.write("{\"n\": 1}\n"));
    REQUIRE(socket.path());
    CHECK(*socket.path() == runtime / "777.sock");
    // logind at logout: the whole runtime directory goes.
    fs::remove_all(runtime_parent);
    REQUIRE(file.write("{\"n\": 2}\n"));
    CHECK(*file.path() == fallback / "777.json");
    asio::steady_timer poll(ctx);
    auto wait_then_ask = [&]() -> asio::awaitable<void> {
      for (int i = 0; i < 800 && !fs::exists(fallback / "777.sock"); ++i) {
        poll.expires_after(std::chrono::milliseconds(10));
        co_await poll.async_wait(asio::use_awaitable);
      }
      std::thread client([&] {
        auto r = control::call(fallback / "777.sock", control::status_request{}, std::chrono::milliseconds(3000));
        reply = r && r->status ? *r->status : (r ? r->error : r.error());
      });
      for (int i = 0; i < 300 && reply.empty(); ++i) {
        poll.expires_after(std::chrono::milliseconds(10));
        co_await poll.async_wait(asio::use_awaitable);
      }
      client.join();
      CHECK(socket.path() == fallback / "777.sock");
      socket.close();
    };
    co_await (control::serve_control(socket.acceptor(), session) && wait_then_ask());
  }, std::chrono::seconds(10));
  REQUIRE_FALSE(reply.empty());
  CHECK(json::parse(reply)["pid"] == 7);
  CHECK_FALSE(fs::exists(fallback / "777.sock"));  // closing removed it
}

TEST_CASE("the control socket is close-on-exec") {
  temp_dir t;
  asio::io_context ctx;
  control::control_endpoint socket(ctx, {t.path}, 31337);
  REQUIRE(socket.path());
  const int flags = ::fcntl(socket.acceptor().native_handle(), F_GETFD);
  REQUIRE(flags >= 0);
  CHECK((flags & FD_CLOEXEC) != 0);
}

TEST_CASE("a directory swapped for a symlink after it was opened gets nothing through it") {
  temp_dir t;
  const fs::path dir = t.path / "status";
  const fs::path elsewhere = t.path / "elsewhere";
  REQUIRE_FALSE(control::check_private_directory(dir, true));
  REQUIRE_FALSE(control::check_private_directory(elsewhere, true));
  auto opened = control::private_directory::open(dir, false);
  REQUIRE(opened);
  CHECK(opened->still_at_path());
  // Between the check and the use, the path becomes a symlink to another directory.
  fs::rename(dir, t.path / "moved");
  fs::create_directory_symlink(elsewhere, dir);
  CHECK_FALSE(opened->still_at_path());
  const int fd = ::openat(opened->fd(), "probe", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  ::close(fd);
  CHECK(fs::exists(t.path / "moved" / "probe"));
  CHECK(fs::is_empty(elsewhere));
  // A status file that had chosen `dir` chooses again, refuses the symlink, and writes
  // nothing into the other directory.
  fs::remove(dir);
  fs::rename(t.path / "moved", dir);
  status_file file({dir}, 99);
  REQUIRE(file.write("{}\n"));
  fs::rename(dir, t.path / "moved");
  fs::create_directory_symlink(elsewhere, dir);
  CHECK_FALSE(file.write("{}\n"));
  CHECK(file.last_error() == dir.string() + " is a symlink");
  CHECK(fs::is_empty(elsewhere));
  // And the reader does not read through it.
  std::vector<read_problem> problems;
  CHECK(read_status_files({dir}, read_options{}, problems).empty());
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].text == dir.string() + " is a symlink; not reading it");
}

TEST_CASE("a reader polling during 10,000 rewrites never sees an empty or invalid file") {
  temp_dir t;
  status_file file({t.path}, 4321);
  REQUIRE(file.write(R"({"n": 0, "pad": ")" + std::string(3000, 'x') + "\"}\n"));
  const fs::path path = *file.path();
  std::atomic<bool> done{false};
  int reads = 0;
  int bad = 0;
  std::string first_bad;
  std::thread reader([&] {
    // Bounded: at most 10 million reads, and it stops when the writer is done.
    for (int i = 0; i < 10'000'000 && !done.load(); ++i) {
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        ++bad;
        if (first_bad.empty()) first_bad = "missing";
        continue;
      }
      std::string text;
      char buf[8192];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
      ::close(fd);
      ++reads;
      const auto j = json::parse(text, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        ++bad;
        if (first_bad.empty()) first_bad = text.empty() ? "empty" : text.substr(0, 80);
      }
    }
  });
  bool all_written = true;
  for (int n = 1; n <= 10'000; ++n)
    all_written = file.write(fmt::format(R"({{"n": {}, "pad": "{}"}})", n, std::string(1000 + n % 3000, 'y')) + "\n") &&
                  all_written;
  done = true;
  reader.join();
  CHECK(all_written);
  INFO("first bad read: " << first_bad);
  CHECK(bad == 0);
  CHECK(reads > 0);
  CHECK(json::parse(slurp(path))["n"] == 10'000);
}

TEST_CASE("a wall-clock step does not make a live session's files look like a reused pid") {
  temp_dir t;
  const pid_t me = ::getpid();
  const auto ticks = process_start_ticks(me);
  REQUIRE(ticks);
  // Written before the clock was stepped a day forward and not rewritten since: by the
  // wall clock this process now started a day after its session did.
  std::ofstream(t.path / fmt::format("{}.json", me))
      << fmt::format(R"({{"pid": {}, "started_unix_ms": {}, "process_start_ticks": {}}})", me,
                     unix_ms_now() - 86'400'000, *ticks);
  std::vector<read_problem> problems;
  const auto entries = read_status_files({t.path}, read_options{}, problems);
  INFO((problems.empty() ? std::string() : problems[0].text));
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].pid == me);
  CHECK(fs::exists(t.path / fmt::format("{}.json", me)));
  // A pid now held by another process (a different start) is still refused and pruned.
  const pid_t parent = ::getppid();
  const auto parent_ticks = process_start_ticks(parent);
  REQUIRE(parent_ticks);
  std::ofstream(t.path / fmt::format("{}.json", parent))
      << fmt::format(R"({{"pid": {}, "started_unix_ms": {}, "process_start_ticks": {}}})", parent, unix_ms_now(),
                     *parent_ticks + 1);
  problems.clear();
  CHECK(read_status_files({t.path}, read_options{}, problems).size() == 1);
  CHECK_FALSE(fs::exists(t.path / fmt::format("{}.json", parent)));
}

TEST_CASE("the document names the writer's start in ticks since boot, as /proc does") {
  session_status s;
  s.pid = ::getpid();
  const auto now = steady::now();
  s.started = now;
  const json j = json::parse(to_json(s, now));
  REQUIRE(j["process_start_ticks"].is_number_unsigned());
  CHECK(j["process_start_ticks"].get<std::uint64_t>() == process_start_ticks(::getpid()).value());
  s.pid = 0;  // no process to name
  CHECK(json::parse(to_json(s, now))["process_start_ticks"].is_null());
}

TEST_CASE("start ticks come from field 22, after the last parenthesis of the name") {
  const std::string fields = " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 19 20";
  CHECK(start_ticks_of_stat_line("123 (sh)" + fields) == 987654u);
  CHECK(start_ticks_of_stat_line("123 (a) b (c))" + fields) == 987654u);
  CHECK_FALSE(start_ticks_of_stat_line("123 sh S 1 2"));
  CHECK_FALSE(start_ticks_of_stat_line("123 (sh) S 1 2 3"));
  CHECK_FALSE(start_ticks_of_stat_line("123 (sh) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 x9 19"));
}
