#pragma once
// The datagram layer's state for one session (protocol §3-§4): sequence numbers,
// in-order detection, timestamps and their echo, RTT, liveness, MTU and the timers
// for port hopping and the server's association timeout. No I/O: the caller passes
// bytes and the current time, and owns sockets and addresses.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "mosh2/crypto/ocb_session.hpp"
#include "mosh2/crypto/session_key.hpp"
#include "mosh2/datagram/packet.hpp"
#include "mosh2/datagram/rtt_estimator.hpp"
#include "mosh2/util/bytes.hpp"
#include "mosh2/util/clock.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::datagram {

/// Address family of the path, which fixes the send MTU.
enum class address_family : std::uint8_t { unknown, ipv4, ipv6 };

inline constexpr std::size_t default_mtu = 500;  ///< initial and EMSGSIZE fallback
inline constexpr std::size_t ipv4_mtu = 1252;    ///< 1280 − 20 IP − 8 UDP
inline constexpr std::size_t ipv6_mtu = 1216;    ///< 1280 − 40 IP − 2×8 ext. − 8 UDP
/// A received timestamp held this long or longer is no longer echoed.
inline constexpr milliseconds timestamp_echo_hold_limit{1000};
/// Subtracted from a stored timestamp that arrived with ECN CE.
inline constexpr milliseconds congestion_penalty{500};
/// The server forgets a client not heard in order for longer than this.
inline constexpr milliseconds server_association_timeout{40'000};
/// The client's minimum time between source ports, and since the last round trip.
inline constexpr milliseconds port_hop_interval{10'000};

/// An authentic datagram's payload as the transport sees it.
struct received {
  received(bytes p, std::uint64_t s, bool order) : payload(std::move(p)), seq(s), in_order(order) {}
  bytes payload;  ///< one fragment
  std::uint64_t seq;  ///< the sender's sequence number
  /// seq was ≥ every earlier one: RTT, echo and liveness were updated, and a server
  /// should now send to this datagram's source address (roaming).
  bool in_order;
};

/// Datagram counters, for logs and tests.
struct stats {
  std::uint64_t sealed = 0;    ///< datagrams built
  std::uint64_t accepted = 0;  ///< authentic datagrams returned by open
  std::uint64_t bytes_sealed = 0;    ///< wire bytes of the datagrams built (UDP payload)
  std::uint64_t bytes_accepted = 0;  ///< wire bytes of the authentic datagrams
  std::uint64_t out_of_order = 0;  ///< of those, the ones with an old sequence number
  std::uint64_t congestion_marks = 0;  ///< in-order datagrams that arrived with ECN CE
  std::array<std::uint64_t, drop_reason_count> dropped{};  ///< by drop_reason

  /// Datagrams dropped for `r`.
  [[nodiscard]] std::uint64_t drops(drop_reason r) const noexcept {
    return dropped[static_cast<std::size_t>(r)];
  }
  /// Datagrams dropped for any reason.
  [[nodiscard]] std::uint64_t total_dropped() const noexcept {
    std::uint64_t n = 0;
    for (auto d : dropped) n += d;
    return n;
  }
};

/// The 16-bit timestamp of `now`: milliseconds mod 65536, with 65535 (the "none"
/// sentinel) sent as 0.
std::uint16_t timestamp16(time_point now) noexcept;

/// One end of a session's datagram flow.
class connection_core {
public:
  /// `now` starts the port-hop timer (the first socket is opened now).
  connection_core(role self, const crypto::session_key& key, time_point now);

  /// Wraps one fragment into a datagram with the next sequence number, our
  /// timestamp and any pending timestamp echo. The caller keeps `fragment` within
  /// fragment_budget() so the datagram fits the MTU. Throws std::runtime_error only at the
  /// cipher's block limit or sequence exhaustion (fatal: the key is spent).
  bytes seal(bytes_view fragment, time_point now);

  /// Authenticates a datagram from the peer. `congestion` is the ECN CE mark of
  /// the IP header. Never throws; drops are counted in counters().
  result<received, drop_reason> open(bytes_view wire, time_point now, bool congestion = false);

  /// Retransmission timeout from the RTT estimate.
  [[nodiscard]] milliseconds rto() const noexcept { return rtt_.rto(); }
  /// Smoothed RTT in ms (1000 before any sample).
  [[nodiscard]] double srtt_ms() const noexcept { return rtt_.srtt_ms(); }
  /// The estimator itself.
  [[nodiscard]] const rtt_estimator& rtt() const noexcept { return rtt_; }

  /// Arrival time of the newest in-order datagram, if any.
  [[nodiscard]] std::optional<time_point> last_heard() const noexcept { return last_heard_; }

  /// Set by the transport on every completed instruction: the send time of the
  /// newest state the peer has acknowledged.
  void set_last_roundtrip_success(time_point t) noexcept { last_roundtrip_success_ = t; }
  /// As last set; nullopt before the first round trip.
  [[nodiscard]] std::optional<time_point> last_roundtrip_success() const noexcept {
    return last_roundtrip_success_;
  }

  /// Client: true when sending now should go out from a fresh socket: ≥10 s since
  /// the last port choice and ≥10 s since the last round-trip success.
  [[nodiscard]] bool should_hop(time_point now) const noexcept;
  /// Client: records that a new socket was opened at `now`.
  void hopped(time_point now) noexcept { last_port_choice_ = now; }

  /// Server: true when nothing in-order has arrived for longer than 40 s, so the
  /// client address should be forgotten. False before the first datagram.
  [[nodiscard]] bool association_expired(time_point now) const noexcept;

  /// Sets the path's address family; the MTU follows unless an EMSGSIZE fallback
  /// already pinned it to 500.
  void set_address_family(address_family f) noexcept { family_ = f; }
  /// The MTU a path states for itself (a framed byte stream has no IP MTU); nothing =
  /// the address family decides, as on UDP. An EMSGSIZE fallback still wins.
  void set_path_mtu(std::optional<std::size_t> mtu) noexcept { path_mtu_ = mtu; }
  /// Records an EMSGSIZE from sendto: the MTU stays 500 from now on.
  void mtu_exceeded() noexcept { mtu_fallback_ = true; }
  /// Largest datagram to send: 500, 1252 (IPv4), 1216 (IPv6), or the path's own.
  [[nodiscard]] std::size_t mtu() const noexcept;
  /// Largest fragment seal() keeps within the MTU (header included): MTU − 28.
  [[nodiscard]] std::size_t fragment_budget() const noexcept { return mtu() - datagram_overhead; }

  /// Which end this is.
  [[nodiscard]] role self() const noexcept { return self_; }
  /// The sequence number the next seal() will use.
  [[nodiscard]] std::uint64_t next_seq() const noexcept { return next_seq_; }
  /// The lowest peer sequence number that still counts as in order.
  [[nodiscard]] std::uint64_t expected_seq() const noexcept { return expected_seq_; }
  /// Counters of sealed, accepted and dropped datagrams.
  [[nodiscard]] const stats& counters() const noexcept { return stats_; }

private:
  struct pending_echo {
    std::uint16_t timestamp;
    time_point arrived;
  };

  std::uint16_t take_timestamp_reply(time_point now) noexcept;

  role self_;
  crypto::ocb_session cipher_;
  std::uint64_t next_seq_ = 0;
  std::uint64_t expected_seq_ = 0;
  rtt_estimator rtt_;
  std::optional<pending_echo> echo_;
  std::optional<time_point> last_heard_;
  std::optional<time_point> last_roundtrip_success_;
  time_point last_port_choice_;
  address_family family_ = address_family::unknown;
  bool mtu_fallback_ = false;
  std::optional<std::size_t> path_mtu_;
  stats stats_;
};

}  // namespace mosh2::datagram
