#pragma once
// The SSP sender (protocol §7.2-§7.4, §7.7): keeps the states it sent, guesses what
// the peer holds, decides when the next instruction is due and builds it. A core:
// no I/O, time comes in as an argument.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <utility>

#include "mosh2/datagram/rtt_estimator.hpp"
#include "mosh2/ssp/constants.hpp"
#include "mosh2/ssp/state.hpp"
#include "mosh2/transport/instruction.hpp"
#include "mosh2/util/bytes.hpp"
#include "mosh2/util/clock.hpp"
#include "mosh2/util/random.hpp"

namespace mosh2::ssp {

/// Returns `n` random bytes; injectable so that tests see deterministic chaff.
using random_source = std::function<bytes(std::size_t)>;

/// What differs between the two ends of a session.
struct sender_options {
  /// Collection time after the first change: `server_send_mindelay` or `client_send_mindelay`.
  milliseconds send_mindelay = client_send_mindelay;
  /// The client always has a target; the server has none until the first datagram.
  bool peer_known = true;
  /// Chaff bytes; empty means the kernel CSPRNG.
  random_source random{};
  /// Send an empty instruction every ack_interval when idle. The main objects must (the
  /// peer's liveness and RTT ride on them); a further stream need not, because the
  /// main object's heartbeats already say the peer is there.
  bool heartbeats = true;
};

/// A state the sender has numbered: the initial state (num 0) or one it sent.
template <class State> struct sent_state {
  time_point sent;    ///< when it was last (re)sent, or the creation time for num 0
  std::uint64_t num;  ///< its state number (2^64-1 once shutting down)
  State state;        ///< the object as sent, trimmed of the acknowledged prefix
};

/// What the sender has done, for logs and tests.
struct sender_stats {
  std::uint64_t instructions = 0;     ///< instructions returned by tick()
  std::uint64_t empty_acks = 0;       ///< of which empty-diff acks and heartbeats
  std::uint64_t retransmissions = 0;  ///< of which non-empty resends of the last number
  std::uint64_t prospective_resends = 0;  ///< diffs taken from the acknowledged state instead
  std::uint64_t culled = 0;           ///< entries dropped by the 32-entry cap
  std::uint64_t reliable_entered = 0;  ///< times the path became reliable (set_reliable_path)
  std::uint64_t path_resyncs = 0;      ///< sends from the acknowledged state on entering it
  /// Resends of the last number while the path was reliable, the resync aside: none
  /// should ever happen (nothing is retransmitted into a stream).
  std::uint64_t reliable_retransmissions = 0;
  /// Resyncs because a reliable path broke its promise (see reliable_stall_after).
  std::uint64_t stall_resyncs = 0;
};

/// On a reliable path, a state still unacknowledged this long while the peer keeps
/// talking means the path lost it after all (a relay's socket buffer overflowed, a
/// stream was cut and restarted unnoticed): the sender resyncs, at most this often.
/// A working stream acknowledges within its round trip, far below this.
inline constexpr milliseconds reliable_stall_after{15000};

/// The sending half of SSP for one object (protocol §7.3). Call next_deadline() to
/// learn when to wake up and tick() when woken (or whenever the object changed); tick()
/// returns the instruction to fragment and send, if one is due.
template <synchronizable_state State> class sender {
public:
  /// `initial` is state 0, which the peer's receiver must start from as well (§7.6).
  sender(State initial, time_point now, sender_options options = {})
      : current_(initial),
        mindelay_(options.send_mindelay),
        peer_known_(options.peer_known),
        random_(options.random ? std::move(options.random) : random_source(&random_bytes)),
        heartbeats_(options.heartbeats),
        next_ack_time_(options.heartbeats ? now : never) {  // so that the first contact is answered at once
    sent_.push_back(sent_state<State>{now, 0, std::move(initial)});
  }

  /// The live object.
  const State& current_state() const { return current_; }
  /// The live object, to change in place. Must not change once shutdown has started.
  State& current_state() { return current_; }

  /// The smoothed RTT and the retransmission timeout, as the datagram layer computes
  /// them (protocol §4.2); before any sample they are 1000 ms and 1000 ms.
  void set_rtt(double srtt_ms, milliseconds rto) {
    srtt_ms_ = srtt_ms;
    rto_ = rto;
  }
  /// Whether the datagram layer has an address to send to (§4.4); without one nothing is sent.
  void set_peer_known(bool known) { peer_known_ = known; }
  /// See set_peer_known().
  bool peer_known() const { return peer_known_; }
  /// On a reliable path (a byte stream) nothing sent is lost: every state sent counts
  /// as received at once and nothing is retransmitted into the stream. What was sent
  /// before, on a lossy path, may be lost though: the first send after entering the
  /// reliable path is a diff from the acknowledged state (a resync), so everything the
  /// peer has not acknowledged goes into the stream once. Leaving it needs nothing: the
  /// lossy timing guesses from the acknowledgements again, and resends what they lack.
  void set_reliable_path(bool reliable) {
    if (reliable && !reliable_) {
      resync_ = true;
      ++stats_.reliable_entered;
    }
    if (!reliable) resync_ = false;
    reliable_ = reliable;
  }
  /// See set_reliable_path().
  bool reliable_path() const { return reliable_; }
  /// clamp(ceil(SRTT / 2), 20, 250) ms: about two frames per round trip.
  milliseconds send_interval() const {
    auto half = static_cast<milliseconds::rep>(std::ceil(srtt_ms_ / 2.0));
    return std::clamp(milliseconds(half), send_interval_min, send_interval_max);
  }
  /// The retransmission timeout in use.
  milliseconds rto() const { return rto_; }

  /// Protocol §7.4: the peer holds our state `ack_num`, so every older entry can go
  /// (if that state was culled the ack says nothing). Returns the send time of the
  /// newest acknowledged state, which the datagram layer records as the last
  /// round-trip success (§4.4).
  time_point process_ack(std::uint64_t ack_num) {
    auto held = std::find_if(sent_.begin(), sent_.end(),
                             [&](const auto& e) { return e.num == ack_num; });
    if (held != sent_.end()) {
      while (sent_.front().num < ack_num) sent_.pop_front();
    }
    assumed_ = 0;
    return sent_.front().sent;
  }

  /// The receiver took the peer's state `num` in order (§7.5 step 9): acknowledge it
  /// from now on, count the peer as heard, and ack within 100 ms if it carried data.
  void remote_state_received(std::uint64_t num, time_point now, bool had_data) {
    ack_num_ = num;
    last_heard_ = now;
    if (had_data) pending_data_ack_ = true;
  }

  /// The peer is alive although none of its states was taken in (see
  /// endpoint::receive_ack): keep retransmitting to it.
  void peer_heard(time_point now) { last_heard_ = now; }
  /// Acknowledge within 100 ms although no new state came: a stream without heartbeats
  /// whose ack was lost hears its state again, and would otherwise never answer.
  void ack_soon() { pending_data_ack_ = true; }

  /// When tick() next has something to do; `never` while there is no peer address.
  time_point next_deadline(time_point now) {
    calculate_timers(now);
    if (!peer_known_) return never;
    return std::min(next_ack_time_, next_send_time_);
  }

  /// Protocol §7.3 "tick": the instruction due at `now`, if any. `along`: another
  /// object's instruction goes out now, so a change waiting for its timer goes with it
  /// (a further stream then never lags the main state it describes).
  std::optional<transport::instruction> tick(time_point now, bool along = false) {
    calculate_timers(now);
    if (!peer_known_) return std::nullopt;
    if (now < next_ack_time_ && now < next_send_time_ && !(along && mindelay_clock_)) return std::nullopt;

    std::size_t base = assumed_;
    bytes diff = current_.diff_from(sent_[base].state);
    // On a reliable path the peer holds what was sent: a diff from an older state would
    // send part of it again.
    if (base != 0 && !reliable_) {
      // Prospective resend: a diff from the acknowledged state survives the loss of
      // every unacknowledged instruction, so prefer it when it costs little more.
      bytes resend = current_.diff_from(sent_.front().state);
      if (resend.size() <= diff.size() ||
          (resend.size() < resend_limit && resend.size() - diff.size() < resend_slack)) {
        base = 0;
        assumed_ = 0;
        diff = std::move(resend);
        ++stats_.prospective_resends;
      }
    }

    std::optional<transport::instruction> out;
    if (diff.empty()) {
      if (now >= next_ack_time_) out = send_empty_ack(now, base);
      if (now >= next_send_time_) next_send_time_ = never;
      mindelay_clock_.reset();
    } else if (now >= next_send_time_ || now >= next_ack_time_ || along) {
      out = send_diff(now, base, std::move(diff));
      mindelay_clock_.reset();
    }
    return out;
  }

  /// Protocol §7.7: from now on every instruction carries new_num 2^64-1, paced at the
  /// send interval. Calling it again changes nothing.
  void start_shutdown(time_point now) {
    if (shutdown_in_progress_) return;
    shutdown_in_progress_ = true;
    shutdown_start_ = now;
  }
  /// Whether start_shutdown() was called.
  bool shutdown_in_progress() const { return shutdown_in_progress_; }
  /// The peer acknowledged our shutdown state: exit cleanly.
  bool shutdown_acknowledged() const { return sent_.front().num == transport::shutdown_num; }
  /// 16 shutdown instructions or 10 s without an acknowledgement: give up.
  bool shutdown_ack_timed_out(time_point now) const {
    if (!shutdown_in_progress_) return false;
    return shutdown_tries_ >= shutdown_retries || now - shutdown_start_ >= active_retry_timeout;
  }
  /// We sent an acknowledgement of the peer's shutdown: the responder may exit now.
  bool counterparty_shutdown_ack_sent() const { return counterparty_shutdown_ack_sent_; }
  /// The peer asked to shut down (its newest state is 2^64-1).
  bool counterparty_shutdown() const { return ack_num_ == transport::shutdown_num; }
  /// How many instructions with new_num 2^64-1 went out.
  unsigned shutdown_tries() const { return shutdown_tries_; }

  /// Front = newest state the peer acknowledged, back = last state sent.
  const std::deque<sent_state<State>>& sent_states() const { return sent_; }
  /// Number of the last state sent (or 0 before the first send).
  std::uint64_t sent_num() const { return sent_.back().num; }
  /// Number of the newest state the peer acknowledged.
  std::uint64_t acked_num() const { return sent_.front().num; }
  /// Number of the newest peer state received in order (what we acknowledge).
  std::uint64_t ack_num() const { return ack_num_; }
  /// Arrival time of the newest peer state, if any arrived.
  std::optional<time_point> last_heard() const { return last_heard_; }
  /// What the sender has done so far.
  const sender_stats& stats() const { return stats_; }

private:
  // Protocol §7.3 "timer calculation"; every branch sets next_send_time_.
  void calculate_timers(time_point now) {
    update_assumed_receiver_state(now);
    rationalize_states();

    if (pending_data_ack_ && next_ack_time_ > now + ack_delay) next_ack_time_ = now + ack_delay;

    const auto& last = sent_.back();
    const bool heard = last_heard_ && now - *last_heard_ < active_retry_timeout;
    if (!(current_ == last.state)) {
      if (!mindelay_clock_) mindelay_clock_ = now;
      next_send_time_ = std::max(*mindelay_clock_ + mindelay_, last.sent + send_interval());
    } else if (!(current_ == sent_[assumed_].state) && heard) {
      next_send_time_ = last.sent + send_interval();
      if (mindelay_clock_) next_send_time_ = std::max(next_send_time_, *mindelay_clock_ + mindelay_);
    } else if (!(current_ == sent_.front().state) && heard && !reliable_) {
      next_send_time_ = last.sent + rto_ + ack_delay;
    } else {
      next_send_time_ = never;
    }

    // Shutting down, or acknowledging the peer's shutdown: do not wait for a heartbeat.
    if (shutdown_in_progress_ || ack_num_ == transport::shutdown_num)
      next_ack_time_ = last.sent + send_interval();
  }

  // Give the peer the benefit of the doubt for states sent less than RTO + ACK_DELAY
  // ago, walking from the acknowledged front entry through the later ones and stopping
  // at the first one sent earlier than that. The front entry's own age does not count:
  // after a pause it is always old, and counting it made every new state after a pause
  // go out again each send interval until its ack came back (5-6 copies of a frame on
  // loopback, where the stock peer sends one; bench/server_compare.py measures it).
  void update_assumed_receiver_state(time_point now) {
    // Nothing left to resync once the peer acknowledged everything.
    if (sent_.size() == 1) resync_ = false;
    // Only when the peer lacks content: a further stream's bare acknowledgements wait
    // for the peer's next frame, which may be long in coming.
    if (reliable_ && !resync_ && sent_.size() > 1 && last_heard_ && now - *last_heard_ < active_retry_timeout &&
        now - sent_[1].sent >= reliable_stall_after && now - last_stall_resync_ >= reliable_stall_after &&
        !(current_ == sent_.front().state)) {
      resync_ = true;
      last_stall_resync_ = now;
      ++stats_.stall_resyncs;
    }
    if (reliable_) {
      assumed_ = resync_ ? 0 : sent_.size() - 1;
      return;
    }
    assumed_ = 0;
    for (std::size_t i = 1; i < sent_.size(); ++i) {
      if (now - sent_[i].sent < rto_ + ack_delay) assumed_ = i;
      else break;
    }
  }

  // Trim the acknowledged content from everything held (a keystroke log forgets its
  // acknowledged prefix). The front entry goes last because it is the reference.
  void rationalize_states() {
    const State& known = sent_.front().state;
    current_.subtract(known);
    for (auto it = sent_.rbegin(); it != sent_.rend(); ++it) it->state.subtract(known);
  }

  transport::instruction send_empty_ack(time_point now, std::size_t base) {
    const std::uint64_t old_num = sent_[base].num;
    const std::uint64_t new_num =
        shutdown_in_progress_ ? transport::shutdown_num : sent_.back().num + 1;
    add_sent_state(now, new_num);
    if (base == 0) resync_ = false;  // nothing of what the peer lacks is in the object any more
    next_ack_time_ = heartbeats_ ? now + ack_interval : never;
    next_send_time_ = never;
    ++stats_.empty_acks;
    return make_instruction(old_num, new_num, bytes{});
  }

  transport::instruction send_diff(time_point now, std::size_t base, bytes diff) {
    const std::uint64_t old_num = sent_[base].num;  // before add_sent_state() may cull it
    auto& last = sent_.back();
    std::uint64_t new_num = current_ == last.state ? last.num : last.num + 1;
    if (shutdown_in_progress_) new_num = transport::shutdown_num;
    if (base == 0 && resync_) {
      resync_ = false;
      ++stats_.path_resyncs;
    } else if (new_num == last.num && reliable_) {
      ++stats_.reliable_retransmissions;
    }
    if (new_num == last.num) {
      last.sent = now;
      ++stats_.retransmissions;
    } else {
      add_sent_state(now, new_num);
    }
    assumed_ = sent_.size() - 1;
    next_ack_time_ = heartbeats_ ? now + ack_interval : never;
    next_send_time_ = never;
    return make_instruction(old_num, new_num, std::move(diff));
  }

  void add_sent_state(time_point now, std::uint64_t num) {
    sent_.push_back(sent_state<State>{now, num, current_});
    if (sent_.size() > sent_states_cap) {
      sent_.erase(sent_.end() - static_cast<std::ptrdiff_t>(sent_states_cull_position));
      ++stats_.culled;
    }
  }

  transport::instruction make_instruction(std::uint64_t old_num, std::uint64_t new_num,
                                          bytes diff) {
    transport::instruction inst;
    inst.protocol_version = transport::protocol_version;
    inst.old_num = old_num;
    inst.new_num = new_num;
    inst.ack_num = ack_num_;
    inst.throwaway_num = sent_.front().num;
    inst.diff = std::move(diff);
    inst.chaff = make_chaff();
    if (new_num == transport::shutdown_num) ++shutdown_tries_;
    if (ack_num_ == transport::shutdown_num) counterparty_shutdown_ack_sent_ = true;
    pending_data_ack_ = false;
    ++stats_.instructions;
    return inst;
  }

  // Length r mod 17 for a random byte r, then that many random bytes.
  bytes make_chaff() {
    bytes r = random_(1);
    const std::size_t length = r.empty() ? 0 : static_cast<unsigned char>(r[0]) % (max_chaff + 1);
    bytes chaff = random_(length);
    chaff.resize(length, '\0');  // an injected source that returns short still gives `length`
    return chaff;
  }

  State current_;
  std::deque<sent_state<State>> sent_;
  std::size_t assumed_ = 0;  // index into sent_; recomputed by every calculate_timers()
  milliseconds mindelay_;
  bool peer_known_;
  random_source random_;
  bool heartbeats_;
  bool reliable_ = false;
  bool resync_ = false;  ///< entered the reliable path: the next send is from the acknowledged state
  time_point last_stall_resync_{};

  // What the datagram layer reports before its first sample, until set_rtt().
  double srtt_ms_ = datagram::rtt_estimator::initial_srtt_ms;
  milliseconds rto_ = datagram::rtt_estimator::max_rto;

  std::uint64_t ack_num_ = 0;
  bool pending_data_ack_ = false;
  std::optional<time_point> last_heard_;

  time_point next_ack_time_;
  time_point next_send_time_ = never;
  std::optional<time_point> mindelay_clock_;

  bool shutdown_in_progress_ = false;
  time_point shutdown_start_{};
  unsigned shutdown_tries_ = 0;
  bool counterparty_shutdown_ack_sent_ = false;

  sender_stats stats_;
};

}  // namespace mosh2::ssp
