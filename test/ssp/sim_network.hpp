#pragma once
// A deterministic simulated network for the ssp tests: two endpoints joined by two
// one-way links that lose, delay, reorder and duplicate instructions (seeded PRNG),
// driven by a fake millisecond clock that jumps from deadline to deadline, as a stage
// sleeping on next_deadline() would.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

#include "ssp_test_support.hpp"

namespace mosh2::ssp::test {

/// How one direction of the network treats an instruction.
struct link_model {
  double loss = 0.0;            ///< probability that a copy is lost
  std::int64_t min_delay = 10;  ///< one-way delay range in ms; a range reorders
  std::int64_t max_delay = 10;
  double duplicate = 0.0;       ///< probability that a second copy is sent
};

/// One direction: a priority queue of instructions in flight.
class sim_link {
public:
  sim_link(link_model model, std::uint64_t seed) : model_(model), gen_(seed) {}

  /// Puts `inst` on the wire at `now`; it may be lost or duplicated.
  void send(const transport::instruction& inst, std::int64_t now) {
    ++sent_;
    const int copies = chance(model_.duplicate) ? 2 : 1;
    if (copies == 2) ++duplicated_;
    for (int i = 0; i < copies; ++i) {
      if (chance(model_.loss)) {
        ++lost_;
        continue;
      }
      std::uniform_int_distribution<std::int64_t> delay(model_.min_delay, model_.max_delay);
      queue_.push_back({now + delay(gen_), order_++, inst});
    }
  }

  /// When the next copy arrives, if any is in flight.
  std::optional<std::int64_t> next_due() const {
    if (queue_.empty()) return std::nullopt;
    return std::min_element(queue_.begin(), queue_.end(), earlier)->due;
  }

  /// The copies due at or before `now`, in arrival order.
  std::vector<transport::instruction> take_due(std::int64_t now) {
    std::vector<in_flight> due;
    auto split = std::partition(queue_.begin(), queue_.end(),
                                [&](const in_flight& p) { return p.due > now; });
    due.assign(std::make_move_iterator(split), std::make_move_iterator(queue_.end()));
    queue_.erase(split, queue_.end());
    std::sort(due.begin(), due.end(), earlier);
    std::vector<transport::instruction> out;
    for (auto& p : due) {
      if (delivered_any_ && p.order < newest_delivered_) ++reordered_;
      if (!delivered_any_ || p.order > newest_delivered_) newest_delivered_ = p.order;
      delivered_any_ = true;
      out.push_back(std::move(p.inst));
    }
    return out;
  }

  /// Drops everything in flight (a blackout).
  void clear() { queue_.clear(); }
  /// Sets a new model from now on.
  void set_model(link_model model) { model_ = model; }

  std::uint64_t sent() const { return sent_; }              ///< instructions handed to send()
  std::uint64_t lost() const { return lost_; }              ///< copies lost
  std::uint64_t duplicated() const { return duplicated_; }  ///< instructions sent twice
  std::uint64_t reordered() const { return reordered_; }    ///< copies overtaken by a later one
  std::size_t in_flight_count() const { return queue_.size(); }  ///< copies on the wire

private:
  struct in_flight {
    std::int64_t due;
    std::uint64_t order;  // ties keep send order, so runs are reproducible
    transport::instruction inst;
  };
  static bool earlier(const in_flight& a, const in_flight& b) {
    return a.due != b.due ? a.due < b.due : a.order < b.order;
  }
  bool chance(double p) { return std::uniform_real_distribution<double>(0.0, 1.0)(gen_) < p; }

  link_model model_;
  std::mt19937_64 gen_;
  std::vector<in_flight> queue_;
  std::uint64_t order_ = 0;
  std::uint64_t sent_ = 0, lost_ = 0, duplicated_ = 0, reordered_ = 0;
  std::uint64_t newest_delivered_ = 0;
  bool delivered_any_ = false;
};

/// One instruction as it left an endpoint.
struct logged {
  std::int64_t ms;
  bool from_client;
  transport::instruction inst;
};

/// Two endpoints and the links between them, on one fake clock. The server learns
/// the client's address from the first instruction that reaches it.
template <class Client, class Server> class sim_session {
public:
  sim_session(Client& client, Server& server, link_model c2s, link_model s2c, std::uint64_t seed)
      : client_(client), server_(server), c2s_(c2s, seed * 2 + 1), s2c_(s2c, seed * 2 + 2) {}

  /// Runs every delivery and every tick due in [now, end], then ticks both sides at
  /// `end` (so a change the test makes next is noticed at `end`).
  void advance_to(std::int64_t end) {
    for (int guard = 0;; ++guard) {
      if (guard > 1'000'000) throw std::runtime_error("simulation does not advance");
      step(now_);
      std::int64_t next = std::min({deadline(client_), deadline(server_),
                                    c2s_.next_due().value_or(never_ms),
                                    s2c_.next_due().value_or(never_ms)});
      if (next <= now_) {  // tick() left a deadline in the past: it made no progress
        ++stalls_;
        next = now_ + 1;
      }
      if (next > end) break;
      now_ = next;
    }
    now_ = end;
    step(now_);
  }

  /// How often a side's deadline was still due right after it ticked (should be 0).
  std::uint64_t stalls() const { return stalls_; }
  /// The fake clock, in ms.
  std::int64_t now() const { return now_; }
  /// Every instruction sent so far.
  const std::vector<logged>& log() const { return log_; }
  /// Client-to-server link.
  sim_link& c2s() { return c2s_; }
  /// Server-to-client link.
  sim_link& s2c() { return s2c_; }
  /// Called for every instruction the server receives, after receive().
  std::function<void(std::int64_t, receive_outcome)> on_server_receive;
  /// Called for every instruction the client receives, after receive().
  std::function<void(std::int64_t, receive_outcome)> on_client_receive;
  /// Called after every step, to check invariants.
  std::function<void(std::int64_t)> after_step;

private:
  static constexpr std::int64_t never_ms = std::numeric_limits<std::int64_t>::max();

  template <class E> std::int64_t deadline(E& e) {
    const time_point d = e.next_deadline(at(now_));
    if (d >= never) return never_ms;
    return std::chrono::ceil<milliseconds>(d - at(0)).count();
  }

  void step(std::int64_t t) {
    for (auto& inst : c2s_.take_due(t)) {
      server_.outgoing().set_peer_known(true);
      auto outcome = server_.receive(inst, at(t));
      if (on_server_receive) on_server_receive(t, outcome);
    }
    for (auto& inst : s2c_.take_due(t)) {
      auto outcome = client_.receive(inst, at(t));
      if (on_client_receive) on_client_receive(t, outcome);
    }
    if (auto inst = client_.tick(at(t))) {
      log_.push_back({t, true, *inst});
      c2s_.send(*inst, t);
    }
    if (auto inst = server_.tick(at(t))) {
      log_.push_back({t, false, *inst});
      s2c_.send(*inst, t);
    }
    if (after_step) after_step(t);
  }

  Client& client_;
  Server& server_;
  sim_link c2s_, s2c_;
  std::int64_t now_ = 0;
  std::uint64_t stalls_ = 0;
  std::vector<logged> log_;
};

}  // namespace mosh2::ssp::test
