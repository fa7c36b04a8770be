#pragma once
// The SSP receiver (protocol §7.5): holds the peer's numbered states, rebuilds each new
// one from the state its diff is relative to, and tells which one is the newest. A
// core: no I/O, time comes in as an argument; bad instructions are dropped and counted.

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <type_traits>
#include <utility>

#include "mosh2/ssp/constants.hpp"
#include "mosh2/ssp/state.hpp"
#include "mosh2/transport/instruction.hpp"
#include "mosh2/util/clock.hpp"

namespace mosh2::ssp {

/// The memory the held states of a sized_state may take together (their approx_bytes()
/// summed). 1024 states of the largest screen would take gigabytes; 64 MiB holds about
/// 30 of them, far more than a session ever needs as bases.
inline constexpr std::size_t received_states_byte_budget = std::size_t{64} * 1024 * 1024;

/// A state that can tell how much memory it holds (an upper bound).
template <class S>
concept sized_state = requires(const S& s) {
  { s.approx_bytes() } -> std::convertible_to<std::size_t>;
};

/// What receive() did with an instruction.
enum class receive_outcome {
  newest,        ///< a new newest state: acknowledge it
  out_of_order,  ///< a state older than the newest: kept as a base, not acknowledged
  bad_version,   ///< protocol_version is not 2: dropped, its ack ignored
  duplicate,     ///< a state already held: dropped
  unknown_base,  ///< old_num is not held (never received, or thrown away): dropped
  quenched,      ///< more than 1024 states held and the 15 s quench runs: dropped
  bad_diff,      ///< the diff did not apply: dropped
};

/// True for the outcomes that stored a state.
inline bool accepted(receive_outcome o) {
  return o == receive_outcome::newest || o == receive_outcome::out_of_order;
}

/// How many instructions ended in each outcome.
struct receiver_stats {
  std::uint64_t newest = 0;        ///< see receive_outcome
  std::uint64_t out_of_order = 0;  ///< see receive_outcome
  std::uint64_t bad_version = 0;   ///< see receive_outcome
  std::uint64_t duplicate = 0;     ///< see receive_outcome
  std::uint64_t unknown_base = 0;  ///< see receive_outcome
  std::uint64_t quenched = 0;      ///< see receive_outcome
  std::uint64_t bad_diff = 0;      ///< see receive_outcome
  /// Held states dropped (oldest first, never the newest) to stay within the byte budget.
  std::uint64_t over_budget = 0;
  /// Instructions dropped for any reason.
  std::uint64_t dropped() const {
    return bad_version + duplicate + unknown_base + quenched + bad_diff;
  }
};

/// A peer state the receiver holds.
template <class State> struct received_state {
  time_point arrived;  ///< arrival time (creation time for state 0)
  std::uint64_t num;   ///< the peer's state number
  State state;         ///< the rebuilt object
  std::size_t bytes = 0;  ///< state.approx_bytes() when State has it, else 0
};

/// The receiving half of SSP for the peer's object. It does not touch the local
/// sender: the caller (see endpoint) feeds ack_num to the sender and reports a
/// `newest` outcome to it.
template <synchronizable_state State> class receiver {
public:
  /// `initial` is state 0, which the peer's sender starts from as well (§7.6).
  receiver(State initial, time_point now) : consumed_(initial) {
    const std::size_t size = bytes_of(initial);
    received_.push_back(received_state<State>{now, 0, std::move(initial), size});
    held_bytes_ = size;
  }

  /// Protocol §7.5 steps 1 and 3-9 for one complete instruction (step 2, the ack, is
  /// the sender's business).
  receive_outcome receive(const transport::instruction& inst, time_point now) {
    if (inst.protocol_version != transport::protocol_version)
      return count(receive_outcome::bad_version);
    if (find(inst.new_num) != received_.end()) return count(receive_outcome::duplicate);
    auto reference = find(inst.old_num);
    if (reference == received_.end()) return count(receive_outcome::unknown_base);

    // Copy before the throwaway: a peer may name a throwaway beyond its own base.
    State next = reference->state;
    throw_away_below(inst.throwaway_num);

    if (received_.size() > received_states_cap) {
      if (quench_until_ && now < *quench_until_) return count(receive_outcome::quenched);
      quench_until_ = now + receiver_quench;
    }

    if (!inst.diff.empty() && !next.apply_diff(inst.diff)) return count(receive_outcome::bad_diff);

    auto later = std::find_if(received_.begin(), received_.end(),
                              [&](const auto& e) { return e.num > inst.new_num; });
    const bool newest = later == received_.end();
    const std::size_t size = bytes_of(next);
    received_.insert(later, received_state<State>{now, inst.new_num, std::move(next), size});
    held_bytes_ += size;
    keep_within_budget();
    return count(newest ? receive_outcome::newest : receive_outcome::out_of_order);
  }

  /// The newest state held: what the consumer displays or acts on.
  const State& newest_state() const { return received_.back().state; }
  /// Its number; the consumer compares it with the last one it saw to notice a change.
  std::uint64_t newest_num() const { return received_.back().num; }
  /// When the newest state arrived.
  time_point newest_arrival() const { return received_.back().arrived; }

  /// Protocol §7.5 consumer API for append-only states (the keystroke log): calls
  /// `extract(newest, last_consumed)` and returns its result, then trims the oldest
  /// held state's content from every held state, so that logs do not grow without
  /// bound, and remembers the newest as consumed. The first call compares with state 0.
  template <class F>
    requires std::is_invocable_v<F&, const State&, const State&>
  auto consume_new(F&& extract) {
    auto result = extract(std::as_const(received_.back().state), std::as_const(consumed_));
    const State& oldest = received_.front().state;
    for (auto it = received_.rbegin(); it != received_.rend(); ++it) it->state.subtract(oldest);
    consumed_ = received_.back().state;
    return result;
  }

  /// All held states, sorted by number.
  const std::deque<received_state<State>>& received_states() const { return received_; }
  /// How many instructions ended in each outcome.
  const receiver_stats& stats() const { return stats_; }
  /// The memory the held states take, by their approx_bytes() (0 without it).
  std::size_t held_bytes() const { return held_bytes_; }
  /// Sets the byte budget (received_states_byte_budget by default); for tests.
  void set_byte_budget(std::size_t budget) { byte_budget_ = budget; }

private:
  using iterator = typename std::deque<received_state<State>>::iterator;

  iterator find(std::uint64_t num) {
    return std::find_if(received_.begin(), received_.end(),
                        [&](const auto& e) { return e.num == num; });
  }

  // The sender will never diff from these again; the newest always stays.
  void throw_away_below(std::uint64_t throwaway_num) {
    while (received_.size() > 1 && received_.front().num < throwaway_num) pop_oldest();
  }

  // Over the byte budget, the oldest states go first and the newest always stays. That
  // is safe: the newest is what we acknowledge, so the peer's sender soon diffs from it
  // (or a newer one); until our ack reaches it, a diff from a dropped state is refused
  // as unknown_base and the sender, hearing no ack, resends from the acknowledged state.
  void keep_within_budget() {
    while (held_bytes_ > byte_budget_ && received_.size() > 1) {
      pop_oldest();
      ++stats_.over_budget;
    }
  }

  void pop_oldest() {
    held_bytes_ -= received_.front().bytes;
    received_.pop_front();
  }

  static std::size_t bytes_of(const State& s) {
    if constexpr (sized_state<State>) return static_cast<std::size_t>(s.approx_bytes());
    else return 0;
  }

  receive_outcome count(receive_outcome o) {
    switch (o) {
      case receive_outcome::newest: ++stats_.newest; break;
      case receive_outcome::out_of_order: ++stats_.out_of_order; break;
      case receive_outcome::bad_version: ++stats_.bad_version; break;
      case receive_outcome::duplicate: ++stats_.duplicate; break;
      case receive_outcome::unknown_base: ++stats_.unknown_base; break;
      case receive_outcome::quenched: ++stats_.quenched; break;
      case receive_outcome::bad_diff: ++stats_.bad_diff; break;
    }
    return o;
  }

  std::deque<received_state<State>> received_;  // sorted by num, never empty
  State consumed_;
  std::optional<time_point> quench_until_;
  receiver_stats stats_;
  std::size_t held_bytes_ = 0;
  std::size_t byte_budget_ = received_states_byte_budget;
};

}  // namespace mosh2::ssp
