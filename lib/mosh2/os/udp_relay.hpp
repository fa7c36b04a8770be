#pragma once
// `mosh2-server relay`: a UDP forwarder on a jump host. It has no key and never opens a
// datagram: each source the client sends from gets its own upstream socket to the next
// hop (like a NAT), so the server, which answers only authentic datagrams and follows
// the newest authentic source (§4.3), decides which source is the client. A reply on a
// source's upstream socket is the proof that the source sent a sealed datagram: only
// then are datagrams from the next hop sent back to it. Roams are new sources; sources
// are bounded (the oldest unproven one goes first), and so is the relay's life (it ends
// with the session, on its end datagram, or once the next hop has been silent for its
// idle timeout). It publishes what it forwards in a status file beside the sessions'.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mosh2/os/relay_end.hpp"
#include "mosh2/status/relay_status.hpp"
#include "mosh2/util/clock.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::os {

/// The most sources a relay forwards for at once.
inline constexpr std::size_t relay_max_sources = 8;

/// Which sources the relay forwards for, and what it forwarded for each. Pure: addresses
/// are opaque strings, `slot`s are indices the I/O loop maps to its upstream sockets.
class relay_sources {
public:
  struct entry {
    std::string source;   ///< the client's address:port as the relay saw it
    time_point last_seen;
    bool proven = false;  ///< the next hop answered on this source's socket
    status::traffic up, down;
  };

  explicit relay_sources(std::size_t max = relay_max_sources) : max_(max) {}

  /// A datagram of `bytes` from `source`: the slot to forward it through, and whether
  /// that slot is new (its upstream socket must be opened; a reused slot's old socket
  /// closed first).
  struct placement {
    std::size_t slot;
    bool fresh;
  };
  placement from_client(const std::string& source, time_point now, std::size_t bytes = 0) {
    up_.add(bytes);
    for (std::size_t i = 0; i < entries_.size(); ++i)
      if (entries_[i] && entries_[i]->source == source) {
        entries_[i]->last_seen = now;
        entries_[i]->up.add(bytes);
        return {i, false};
      }
    std::size_t slot = entries_.size();
    for (std::size_t i = 0; i < entries_.size(); ++i)
      if (!entries_[i]) slot = i;
    if (slot == entries_.size() && entries_.size() >= max_) {
      slot = victim();
      ++evicted_;
    }
    if (slot == entries_.size()) entries_.emplace_back();
    entries_[slot] = entry{source, now, false, {}, {}};
    entries_[slot]->up.add(bytes);
    return {slot, true};
  }

  /// The next hop sent a datagram of `bytes` on `slot`'s socket: where it goes (the
  /// source, now proven).
  std::optional<std::string> from_next_hop(std::size_t slot, time_point now, std::size_t bytes = 0) {
    if (slot >= entries_.size() || !entries_[slot]) return std::nullopt;
    auto& e = *entries_[slot];
    e.proven = true;
    e.last_seen = now;
    e.down.add(bytes);
    down_.add(bytes);
    last_answer_ = now;
    answered_ = true;
    return e.source;
  }

  /// When the next hop was last heard (nothing: never).
  std::optional<time_point> last_answer() const {
    return answered_ ? std::optional<time_point>(last_answer_) : std::nullopt;
  }
  /// Whether `slot` holds a source the next hop answered.
  bool proven(std::size_t slot) const { return slot < entries_.size() && entries_[slot] && entries_[slot]->proven; }
  std::size_t size() const {
    std::size_t n = 0;
    for (const auto& e : entries_) n += e.has_value();
    return n;
  }
  const std::vector<std::optional<entry>>& entries() const { return entries_; }

  /// The sources, the totals and the evictions, for the status file.
  void fill(status::relay_status& s) const;

private:
  /// The slot to give up for a new source: the oldest unproven one, else the oldest.
  std::size_t victim() const {
    std::optional<std::size_t> unproven, any;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      const auto& e = *entries_[i];
      if (!e.proven && (!unproven || e.last_seen < entries_[*unproven]->last_seen)) unproven = i;
      if (!any || e.last_seen < entries_[*any]->last_seen) any = i;
    }
    return unproven ? *unproven : *any;
  }

  std::size_t max_;
  std::vector<std::optional<entry>> entries_;
  status::traffic up_, down_;
  std::uint64_t evicted_ = 0;
  time_point last_answer_{};  // with a flag: GCC 12 misreads an optional time_point here
  bool answered_ = false;
};

/// Whether a forwarded datagram is news for the status file (rewritten within
/// status_interval, waking up for it if need be) or only moves counters (caught up within
/// status_idle_interval, on a wake-up the relay has anyway). A relay cannot read what it
/// forwards, so it goes by pace: an idle session sends one heartbeat each way every 3 s,
/// and a sender retransmits at most every RTO (at most 1 s), so a datagram less than
/// `busy_gap` after the previous one the same way is traffic. A relay under an idle
/// session then rewrites its file twice a minute, one with no session never.
class relay_pace {
public:
  static constexpr auto busy_gap = std::chrono::milliseconds(500);
  /// `up`: toward the next hop.
  bool busy(bool up, time_point now) {
    auto& last = up ? last_up_ : last_down_;
    const bool b = last && now - *last < busy_gap;
    last = now;
    return b;
  }

private:
  std::optional<time_point> last_up_, last_down_;
};

/// "10.0.0.1:5000" or "[::1]:5000" as address and port; the text and 0 when it is
/// neither.
std::pair<std::string, unsigned> split_endpoint(const std::string& text);

struct relay_config {
  std::string bind_address;  ///< numeric; where the client sends
  std::uint16_t port_low = 60001, port_high = 60999;
  std::string next_address;  ///< numeric; the server (or the next relay)
  std::uint16_t next_port = 0;
  /// The next hop silent this long: the relay ends. The server sends heartbeats every 3 s
  /// for as long as its session lasts, client or no client, so silence means it ended.
  std::chrono::seconds idle_timeout{120};
  /// The session's end token (relay_end.hpp): its end datagram from the next hop is
  /// passed to the sources and ends the relay. Unset: only the idle timeout ends it.
  std::optional<relay_end_token> end_token;
  /// Where the status file goes (control::status_directories; empty: no file).
  std::vector<std::filesystem::path> status_dirs;
};

/// Binds the relay's port; returns the socket and the port, or a one-line reason.
struct relay_socket {
  int fd = -1;
  std::uint16_t port = 0;
};
result<relay_socket, std::string> bind_relay(const relay_config& c);

/// The end token from the first line of `fd` (the launcher writes it to ssh's standard
/// input), waiting at most `within`; a one-line reason when it does not come or is not one.
result<relay_end_token, std::string> read_end_token(int fd, std::chrono::milliseconds within);

/// Forwards until the next hop sends the end datagram, has been silent for the idle
/// timeout, or SIGTERM, SIGINT or SIGHUP arrives (0), or something fails (the reason).
/// Keeps its status file meanwhile and removes it on the way out. Closes the socket.
result<int, std::string> run_relay(const relay_config& c, relay_socket s);

}  // namespace mosh2::os
