#pragma once
// One end of an SSP session (protocol §0, §7): a sender for the local object and a
// receiver for the peer's object over one flow of instructions. Every instruction
// carries the local state's diff and the acknowledgement of the peer's newest state.

#include <optional>
#include <utility>

#include "mosh2/ssp/receiver.hpp"
#include "mosh2/ssp/sender.hpp"
#include "mosh2/ssp/state.hpp"
#include "mosh2/transport/instruction.hpp"
#include "mosh2/util/clock.hpp"

namespace mosh2::ssp {

/// A sender of `Local` paired with a receiver of `Remote`. The client is
/// `endpoint<user_stream, terminal state>`, the server the other way round.
template <synchronizable_state Local, synchronizable_state Remote> class endpoint {
public:
  /// Both initial states must match the peer's (§7.6).
  endpoint(Local local, Remote remote, time_point now, sender_options options = {})
      : options_(options), sender_(std::move(local), now, std::move(options)), receiver_(std::move(remote), now) {}

  /// Starts SSP over from the initial states (both numbered 0), as a new peer that
  /// knows nothing expects, while the local object keeps its live contents: the first
  /// diff is then from `initial` to all of it. Used when the link is rekeyed.
  void restart(Local initial, Remote remote_initial, time_point now) {
    Local live = std::move(sender_.current_state());
    const bool reliable = sender_.reliable_path();
    sender_ = sender<Local>(std::move(initial), now, options_);
    sender_.current_state() = std::move(live);
    sender_.set_reliable_path(reliable);
    receiver_ = receiver<Remote>(std::move(remote_initial), now);
    last_roundtrip_success_.reset();
  }

  /// Feeds one complete, decoded instruction from the peer: the ack goes to the
  /// sender (§7.4), the state to the receiver (§7.5), and a new newest state back to
  /// the sender so it acknowledges it.
  receive_outcome receive(const transport::instruction& inst, time_point now) {
    if (inst.protocol_version == transport::protocol_version)
      last_roundtrip_success_ = sender_.process_ack(inst.ack_num);
    const receive_outcome outcome = receiver_.receive(inst, now);
    if (outcome == receive_outcome::newest)
      sender_.remote_state_received(inst.new_num, now, !inst.diff.empty());
    return outcome;
  }

  /// Takes only the acknowledgement in `inst` (§7.4), not its state: this end is not
  /// ready for more of the peer's object, which the peer's sender will offer again.
  /// The peer still counts as heard.
  void receive_ack(const transport::instruction& inst, time_point now) {
    if (inst.protocol_version != transport::protocol_version) return;
    last_roundtrip_success_ = sender_.process_ack(inst.ack_num);
    sender_.peer_heard(now);
  }

  /// The instruction due at `now`, if any (see sender::tick).
  std::optional<transport::instruction> tick(time_point now, bool along = false) { return sender_.tick(now, along); }
  /// When tick() next has something to do (see sender::next_deadline).
  time_point next_deadline(time_point now) { return sender_.next_deadline(now); }

  /// The send time of the newest local state the peer acknowledged, as of the last
  /// instruction received: the datagram layer's "last round-trip success" (§4.4).
  std::optional<time_point> last_roundtrip_success() const { return last_roundtrip_success_; }

  /// The sending half: the local object, RTT inputs, shutdown.
  sender<Local>& outgoing() { return sender_; }
  /// See outgoing().
  const sender<Local>& outgoing() const { return sender_; }
  /// The receiving half: the peer's newest state and the drop counters.
  receiver<Remote>& incoming() { return receiver_; }
  /// See incoming().
  const receiver<Remote>& incoming() const { return receiver_; }

private:
  sender_options options_;
  sender<Local> sender_;
  receiver<Remote> receiver_;
  std::optional<time_point> last_roundtrip_success_;
};

}  // namespace mosh2::ssp
