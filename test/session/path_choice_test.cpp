// Which path the client's datagrams take (path_choice): when it moves to the stream,
// how it probes UDP, when it moves back, and when a stream that keeps ending is given up.

#include <doctest/doctest.h>

#include "mosh2/session/path_choice.hpp"

using namespace mosh2;
using namespace mosh2::session;
using namespace std::chrono_literals;

namespace {
/// Turns every second from `from` up to `to`, then one at `to`, as a running client takes them.
void turns(path_choice& p, time_point from, time_point to) {
  for (auto t = from; t < to; t += 1s) p.turn(t, true);
  p.turn(to, true);
}
}  // namespace

TEST_SUITE("session") {
TEST_CASE("auto moves to the stream once udp_timeout passes without a word, and only then") {
  const time_point t0{};
  path_choice p(transport_mode::automatic, true, t0, std::chrono::seconds(5));
  p.turn(t0 + 4900ms, false);
  CHECK_FALSE(p.on_stream());
  CHECK_FALSE(p.take_stream_start());
  CHECK(p.next_deadline() == t0 + std::chrono::seconds(5));
  p.turn(t0 + 5s, false);
  CHECK(p.on_stream());
  CHECK(p.take_stream_start());
  CHECK_FALSE(p.take_stream_start());  // once
  REQUIRE(p.switches().size() == 1);
  CHECK(p.switches()[0].why == "udp-timeout");
  // A session that heard the server in time never moves.
  path_choice heard(transport_mode::automatic, true, t0, std::chrono::seconds(5));
  heard.turn(t0 + 60s, true);
  CHECK_FALSE(heard.on_stream());
}

TEST_CASE("udp stays on UDP, and so does auto when no stream can be started") {
  const time_point t0{};
  path_choice udp(transport_mode::udp, true, t0, std::chrono::seconds(5));
  path_choice no_stream(transport_mode::automatic, false, t0, std::chrono::seconds(5));
  udp.turn(t0 + 60s, false);
  no_stream.turn(t0 + 60s, false);
  CHECK_FALSE(udp.on_stream());
  CHECK_FALSE(no_stream.on_stream());
  CHECK(udp.next_deadline() == never);
}

TEST_CASE("tcp starts on the stream at once") {
  const time_point t0{};
  path_choice p(transport_mode::tcp, true, t0, std::chrono::seconds(5));
  p.turn(t0, false);
  CHECK(p.on_stream());
  CHECK(p.take_stream_start());
  CHECK(p.switches().at(0).why == "transport-tcp");
}

TEST_CASE("on the stream UDP is probed after 1 s, then with doubling gaps up to 30 s") {
  const time_point t0{};
  path_choice p(transport_mode::tcp, true, t0, std::chrono::seconds(5));
  p.turn(t0, false);
  CHECK_FALSE(p.probe_now(t0 + 999ms));
  std::vector<long> gaps;
  time_point last = t0;
  for (time_point t = t0; t < t0 + 200s; t += 100ms)
    if (p.probe_now(t)) {
      gaps.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(t - last).count());
      last = t;
    }
  REQUIRE(gaps.size() >= 7);
  CHECK(gaps[0] == 1000);
  CHECK(gaps[1] == 2000);
  CHECK(gaps[2] == 4000);
  CHECK(gaps[3] == 8000);
  CHECK(gaps[4] == 16000);
  CHECK(gaps[5] == 30000);
  CHECK(gaps[6] == 30000);
  CHECK(p.probes() == gaps.size());
}

TEST_CASE("an answer over UDP moves the session back and stops the stream") {
  const time_point t0{};
  path_choice p(transport_mode::automatic, true, t0, std::chrono::seconds(5));
  p.turn(t0 + 5s, false);
  (void)p.take_stream_start();
  p.heard_udp(t0 + 9s);
  CHECK_FALSE(p.on_stream());
  CHECK(p.take_stream_stop());
  REQUIRE(p.switches().size() == 2);
  CHECK(p.switches()[1].to == "udp");
  CHECK(p.switches()[1].why == "udp-answered");
  CHECK_FALSE(p.probe_now(t0 + 100s));
  for (auto t = t0 + 9s; t < t0 + 100s; t += 3s) {  // and stays there while UDP answers
    p.udp_round_trip(t);
    p.turn(t + 1s, true);
    CHECK_FALSE(p.on_stream());
  }
}

TEST_CASE("UDP that worked and then stays silent for udp_lost_after moves to the stream; shorter silences do not") {
  const time_point t0{};
  path_choice p(transport_mode::automatic, true, t0, std::chrono::seconds(5));
  p.udp_round_trip(t0 + 1s);
  // Bursts of loss and short outages: up to 19.9 s without a word, then a word.
  time_point last = t0 + 1s;
  for (int i = 0; i < 10; ++i) {
    turns(p, last, last + 19899ms);
    CHECK_FALSE(p.on_stream());
    last += 19900ms;
    p.udp_round_trip(last);
  }
  CHECK(p.next_deadline() == last + udp_lost_after);
  turns(p, last, last + udp_lost_after - 1ms);
  CHECK_FALSE(p.on_stream());
  p.turn(last + udp_lost_after, true);
  CHECK(p.on_stream());
  CHECK(p.take_stream_start());
  REQUIRE(p.switches().size() == 1);
  CHECK(p.switches()[0].why == "udp-lost");
  // UDP keeps going: every turn's datagrams also go over UDP until the stream carries one.
  CHECK(p.probe_now(t0 + 300s));
  CHECK(p.probe_now(t0 + 300s));
  CHECK(p.probes() == 0);
  p.heard_stream();
  CHECK(p.probe_now(t0 + 301s));  // from then on, probes with backoff
  CHECK_FALSE(p.probe_now(t0 + 301s));
  // --transport=udp never moves.
  path_choice udp(transport_mode::udp, true, t0, std::chrono::seconds(5));
  udp.udp_round_trip(t0 + 1s);
  udp.turn(t0 + 100s, true);
  CHECK_FALSE(udp.on_stream());
}

TEST_CASE("time the client did not run (stopped, suspended) is not UDP's silence") {
  const time_point t0{};
  path_choice p(transport_mode::automatic, true, t0, std::chrono::seconds(5));
  p.udp_round_trip(t0 + 1s);
  turns(p, t0 + 1s, t0 + 10s);
  p.turn(t0 + 310s, true);  // resumed after 5 min
  CHECK_FALSE(p.on_stream());
  turns(p, t0 + 310s, t0 + 320s);
  CHECK_FALSE(p.on_stream());
  // Still no round trip once it runs again: 20 s of running time in all, then the stream.
  turns(p, t0 + 320s, t0 + 321s);
  CHECK(p.on_stream());
  CHECK(p.switches().at(0).why == "udp-lost");
}

TEST_CASE("after UDP worked, a stream that cannot start leaves the session on UDP and is tried again with backoff") {
  const time_point t0{};
  path_choice p(transport_mode::automatic, true, t0, std::chrono::seconds(5));
  p.udp_round_trip(t0 + 1s);
  time_point t = t0 + 1s + udp_lost_after;
  p.turn(t, true);
  REQUIRE(p.take_stream_start());
  std::vector<long> gaps;
  for (int attempt = 0; attempt < 8; ++attempt) {
    CHECK(p.stream_ended(t));  // never the end of the session
    CHECK_FALSE(p.on_stream());
    CHECK_FALSE(p.take_stream_start());  // no restart at once: it never carried anything
    const auto retry = p.stream_retry_at();
    REQUIRE(retry != never);
    gaps.push_back(std::chrono::duration_cast<std::chrono::seconds>(retry - t).count());
    CHECK(p.next_deadline() == retry);
    turns(p, t, retry - 1ms);
    CHECK_FALSE(p.on_stream());
    t = retry;
    p.turn(t, true);
    CHECK(p.on_stream());
    CHECK(p.take_stream_start());
    CHECK(p.switches().back().why == "stream-retry");
  }
  CHECK(gaps == std::vector<long>{5, 10, 20, 40, 60, 60, 60, 60});
  // A stream that carried datagrams and then ended is started again at once.
  p.heard_stream();
  CHECK(p.stream_ended(t + 1s));
  CHECK(p.on_stream());
  CHECK(p.take_stream_start());
  // UDP answering ends the retries and resets their backoff.
  CHECK(p.stream_ended(t + 2s));
  CHECK(p.stream_retry_at() == t + 2s + first_stream_retry);
  p.udp_round_trip(t + 3s);
  CHECK(p.stream_retry_at() == never);
  turns(p, t + 3s, t + 3s + udp_lost_after);
  REQUIRE(p.on_stream());
  CHECK(p.switches().back().why == "udp-lost");
  CHECK(p.stream_ended(t + 30s));
  CHECK(p.stream_retry_at() == t + 30s + first_stream_retry);
}

TEST_CASE("a UDP that stays blocked while the stream keeps failing keeps only the newest changes of path") {
  const time_point t0{};
  path_choice p(transport_mode::automatic, true, t0, std::chrono::seconds(5));
  p.udp_round_trip(t0 + 1s);
  time_point t = t0 + 1s + udp_lost_after;
  p.turn(t, true);
  REQUIRE(p.on_stream());
  // A day of failed tries, one a minute once the backoff is at its longest.
  for (int attempt = 0; attempt < 1440; ++attempt) {
    REQUIRE(p.stream_ended(t));
    t = p.stream_retry_at();
    p.turn(t, true);
    REQUIRE(p.on_stream());
  }
  CHECK(p.switch_count() == 1 + 2 * 1440);
  REQUIRE(p.switches().size() == kept_switches);
  CHECK(p.switches().back().why == "stream-retry");
  CHECK(p.switches().back().at == t);
  CHECK(p.switches().front().at < p.switches().back().at);
}

TEST_CASE("a stream that ends is started again, three times in a row at most") {
  const time_point t0{};
  path_choice p(transport_mode::tcp, true, t0, std::chrono::seconds(5));
  p.turn(t0, false);
  (void)p.take_stream_start();
  for (int i = 0; i < stream_restarts; ++i) {
    CHECK(p.stream_ended(t0 + 1s));
    CHECK(p.take_stream_start());
  }
  p.heard_stream();  // a stream that worked earns its restarts again
  for (int i = 0; i < stream_restarts; ++i) CHECK(p.stream_ended(t0 + 2s));
  CHECK_FALSE(p.stream_ended(t0 + 3s));
  CHECK_FALSE(p.on_stream());
  CHECK(p.switches().back().why == "stream-ended");
}

TEST_CASE("--transport words") {
  CHECK(parse_transport_mode("udp") == transport_mode::udp);
  CHECK(parse_transport_mode("tcp") == transport_mode::tcp);
  CHECK(parse_transport_mode("auto") == transport_mode::automatic);
  CHECK_FALSE(parse_transport_mode("quic"));
}
}
