// The datagram layer's per-session state machine.

#include "mosh2/datagram/connection_core.hpp"

#include <stdexcept>

namespace mosh2::datagram {
namespace {

role peer_of(role self) noexcept { return self == role::client ? role::server : role::client; }

}  // namespace

std::uint16_t timestamp16(time_point now) noexcept {
  const auto ts = static_cast<std::uint16_t>(to_millis(now) & 0xffff);
  return ts == no_timestamp ? 0 : ts;
}

connection_core::connection_core(role self, const crypto::session_key& key, time_point now)
    : self_(self), cipher_(key), last_port_choice_(now) {}

std::uint16_t connection_core::take_timestamp_reply(time_point now) noexcept {
  if (!echo_) return no_timestamp;
  const pending_echo echo = *echo_;
  // Each received timestamp is echoed once; an expired one is gone for good.
  echo_.reset();
  if (now < echo.arrived) return no_timestamp;  // a clock that went backwards
  const auto held = std::chrono::duration_cast<milliseconds>(now - echo.arrived);
  if (held >= timestamp_echo_hold_limit) return no_timestamp;
  // Adding the hold time makes the peer's sample measure the network, not us.
  return static_cast<std::uint16_t>(echo.timestamp + static_cast<std::uint16_t>(held.count()));
}

bytes connection_core::seal(bytes_view fragment, time_point now) {
  if (next_seq_ > seq_mask) throw std::runtime_error("Datagram sequence number exhausted.");
  const std::uint64_t number = next_seq_ | direction_bit_of(self_);
  bytes wire = encode(cipher_, number, timestamp16(now), take_timestamp_reply(now), fragment);
  ++next_seq_;  // only after a successful seal, so a refused one burns no number
  ++stats_.sealed;
  stats_.bytes_sealed += wire.size();
  return wire;
}

result<received, drop_reason> connection_core::open(bytes_view wire, time_point now,
                                                     bool congestion) {
  auto d = decode(cipher_, wire, peer_of(self_));
  if (!d) {
    ++stats_.dropped[static_cast<std::size_t>(d.error())];
    return failure{d.error()};
  }
  ++stats_.accepted;
  stats_.bytes_accepted += wire.size();
  const std::uint64_t seq = d->seq();
  if (seq < expected_seq_) {
    // Replays and reordered datagrams still reach the transport (it is idempotent),
    // but must not move timing, liveness or the peer address.
    ++stats_.out_of_order;
    return received(std::move(d->payload), seq, false);
  }
  expected_seq_ = seq + 1;  // seq ≤ 2^63 − 1, so this cannot wrap
  last_heard_ = now;

  if (d->timestamp != no_timestamp) {
    std::uint16_t ts = d->timestamp;
    if (congestion) {
      // A lower echoed timestamp makes the peer measure a longer RTT and slow down.
      ts = static_cast<std::uint16_t>(ts - static_cast<std::uint16_t>(congestion_penalty.count()));
      ++stats_.congestion_marks;
    }
    echo_ = pending_echo{ts, now};
  }
  if (d->timestamp_reply != no_timestamp) {
    const auto r = static_cast<std::uint16_t>(timestamp16(now) - d->timestamp_reply);
    rtt_.add_sample(static_cast<double>(r));
  }
  return received(std::move(d->payload), seq, true);
}

bool connection_core::should_hop(time_point now) const noexcept {
  if (now - last_port_choice_ < port_hop_interval) return false;
  return !last_roundtrip_success_ || now - *last_roundtrip_success_ >= port_hop_interval;
}

bool connection_core::association_expired(time_point now) const noexcept {
  return last_heard_ && now - *last_heard_ > server_association_timeout;
}

std::size_t connection_core::mtu() const noexcept {
  if (mtu_fallback_) return default_mtu;
  if (path_mtu_) return *path_mtu_;
  switch (family_) {
    case address_family::ipv4: return ipv4_mtu;
    case address_family::ipv6: return ipv6_mtu;
    case address_family::unknown: break;
  }
  return default_mtu;
}

}  // namespace mosh2::datagram
