// Long runs of two endpoints through the simulated network: with 30 % loss, jitter
// that reorders, and duplication, both objects converge and every list stays bounded.

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "mosh2/ssp/endpoint.hpp"
#include "mosh2/ssp/user_stream.hpp"
#include "sim_network.hpp"
#include "ssp_test_support.hpp"

using namespace mosh2;
using namespace mosh2::ssp;
using namespace mosh2::ssp::test;

namespace {

// The largest list and log sizes seen during a run.
struct high_water {
  std::size_t sent = 0, received = 0, unacked_events = 0;
};

// The client's object in a run: how the user types into it and how the server reads it.
struct string_log_input {
  using state = string_log;
  using history = std::string;
  template <class Gen> static void type(state& s, history& typed, Gen& gen) {
    for (auto n = std::uniform_int_distribution<int>(1, 4)(gen); n > 0; --n) {
      const char ch = static_cast<char>('a' + std::uniform_int_distribution<int>(0, 25)(gen));
      typed += ch;
      s.text += ch;
    }
  }
  static void consume(receiver<state>& r, history& got) {
    got += r.consume_new([](const string_log& newest, const string_log& seen) {
      return newest.text.substr(std::min(seen.text.size(), newest.text.size()));
    });
  }
  static std::size_t size(const state& s) { return s.text.size(); }
};

struct user_stream_input {
  using state = user_stream;
  using history = std::vector<user_event>;
  template <class Gen> static void type(state& s, history& typed, Gen& gen) {
    if (std::uniform_int_distribution<int>(0, 9)(gen) == 0) {  // now and then a resize
      const auto w = std::uniform_int_distribution<std::int32_t>(20, 300)(gen);
      const auto h = std::uniform_int_distribution<std::int32_t>(5, 100)(gen);
      s.push_resize(w, h);
      typed.emplace_back(transport::resize{w, h});
      return;
    }
    for (auto n = std::uniform_int_distribution<int>(1, 4)(gen); n > 0; --n) {
      const char ch = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(gen));
      s.push_byte(ch);
      typed.emplace_back(user_byte{ch});
    }
  }
  static void consume(receiver<state>& r, history& got) {
    auto events = take_new_events(r);
    got.insert(got.end(), events.begin(), events.end());
  }
  static std::size_t size(const state& s) { return s.size(); }
};

// Four simulated minutes of typing and screen updates through 30 % loss each way,
// 20-150 ms of jitter (which reorders) and 5 % duplication, then a quiet minute.
template <class Input> void converge(std::uint64_t seed) {
  using client_endpoint = endpoint<typename Input::state, last_value>;
  using server_endpoint = endpoint<last_value, typename Input::state>;
  client_endpoint c(typename Input::state{}, last_value{}, at(0),
                    client_options(static_cast<std::uint32_t>(seed)));
  server_endpoint s(last_value{}, typename Input::state{}, at(0),
                    server_options(static_cast<std::uint32_t>(seed + 100)));
  c.outgoing().set_rtt(180.0, milliseconds(400));  // as if measured; the server keeps the defaults
  const link_model lossy{0.3, 20, 150, 0.05};
  sim_session sim(c, s, lossy, lossy, seed);

  typename Input::history typed, consumed;
  sim.on_server_receive = [&](std::int64_t, receive_outcome o) {
    if (o == receive_outcome::newest) Input::consume(s.incoming(), consumed);
  };
  high_water hw;
  sim.after_step = [&](std::int64_t) {
    hw.sent = std::max({hw.sent, c.outgoing().sent_states().size(), s.outgoing().sent_states().size()});
    hw.received = std::max({hw.received, c.incoming().received_states().size(),
                            s.incoming().received_states().size()});
    hw.unacked_events = std::max(hw.unacked_events, Input::size(c.outgoing().current_state()));
  };

  std::mt19937_64 gen(seed);
  auto between = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(gen);
  };
  std::int64_t next_key = between(20, 1500), next_output = between(30, 2500);
  int outputs = 0;
  const std::int64_t typing_ends = 240'000, run_ends = 300'000;
  for (int guard = 0; guard < 100'000; ++guard) {
    const std::int64_t t = std::min(next_key, next_output);
    if (t >= typing_ends) break;
    sim.advance_to(t);
    if (t == next_key) {
      Input::type(c.outgoing().current_state(), typed, gen);
      next_key = t + between(20, 1500);
    }
    if (t == next_output) {
      s.outgoing().current_state().value = "screen " + std::to_string(++outputs);
      next_output = t + between(30, 2500);
    }
  }
  sim.advance_to(run_ends);

  INFO("seed " << seed << ": " << sim.log().size() << " instructions, max sent list "
                  << hw.sent << ", max received list " << hw.received << ", max unacked "
                  << hw.unacked_events << " events, drops c/s " << c.incoming().stats().dropped()
                  << "/" << s.incoming().stats().dropped());
  CHECK(consumed == typed);
  CHECK(typed.size() > 200);
  CHECK(c.incoming().newest_state() == s.outgoing().current_state());
  CHECK(outputs > 50);
  // Everything is acknowledged: the acknowledged state equals the live one.
  CHECK(c.outgoing().sent_states().front().state == c.outgoing().current_state());
  CHECK(s.outgoing().sent_states().front().state == s.outgoing().current_state());
  CHECK(Input::size(c.outgoing().current_state()) == 0);  // trimmed of the acked prefix

  CHECK(hw.sent <= 32);
  CHECK(hw.received < 100);
  CHECK(hw.unacked_events < 200);
  CHECK(sim.stalls() == 0);
  // The network did what it was told to.
  CHECK(sim.c2s().lost() > 0);
  CHECK(sim.s2c().duplicated() > 0);
  CHECK(s.incoming().stats().duplicate > 0);
  CHECK(c.incoming().stats().duplicate > 0);
  CHECK(sim.c2s().reordered() > 0);
  CHECK(sim.s2c().reordered() > 0);
  CHECK(c.incoming().stats().bad_diff + s.incoming().stats().bad_diff == 0);
}

}  // namespace

TEST_SUITE("ssp") {

TEST_CASE("a string log and a value converge through 30 % loss, reordering and duplication") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    converge<string_log_input>(seed);
  }
}

TEST_CASE("the keystroke log and a value converge through 30 % loss, reordering and duplication") {
  for (std::uint64_t seed : {11u, 12u, 13u}) {
    CAPTURE(seed);
    converge<user_stream_input>(seed);
  }
}

}  // TEST_SUITE
