#pragma once
// Which path the client's datagrams take: UDP, or the framed byte stream through ssh
// (docs/protocol.md, "Paths"). Pure: the client core asks it at each turn and tells it
// what was heard where; the client's stages start and stop the stream.
//
// --transport=udp: UDP only. tcp: the stream from the start (UDP still probed, so the
// session moves to UDP when it works). auto: UDP, and the stream once udp_timeout has
// passed without a word. While on the stream, a turn's datagrams are also sent over
// UDP now and then (1 s, doubling to 30 s): the first answer over UDP (the client core
// takes an acknowledgement of a state sent since the move for one) moves the
// session back, and since every datagram also went through the stream nothing typed is
// lost on a UDP path that is still blocked.
//
// UDP that worked (a round trip) and then had none for udp_lost_after (auto and tcp)
// moves the session to the stream as well. UDP is kept going meanwhile: every datagram also goes
// over UDP until the stream carries one, and a stream that fails before it carried
// anything (ssh cannot connect yet, after a laptop's wake) moves the session back onto
// UDP and is tried again later, with backoff. Such a session never ends because of its
// stream: UDP worked once, and it may again.
#include <chrono>
#include <cstdint>
#include <optional>
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "mosh2/util/clock.hpp"

namespace mosh2::session {

enum class transport_mode { udp, tcp, automatic };

/// "udp", "tcp" or "auto"; nothing for another word.
std::optional<transport_mode> parse_transport_mode(const std::string& word);

/// The first probe over UDP after moving to the stream, and the longest gap between probes.
inline constexpr auto first_probe_after = std::chrono::seconds(1);
inline constexpr auto longest_probe_gap = std::chrono::seconds(30);
/// How often a stream that ended is started again before the client gives up.
inline constexpr int stream_restarts = 3;
/// UDP that answered before and is silent this long has broken (a captive portal, a
/// firewalled network after a roam): the server's heartbeats come every 3 s, so this is
/// six of them in a row, longer than a burst of loss or a short outage, and longer than
/// a roam takes to heal (the client's own heartbeat, or a port hop after 10 s of silence,
/// tells the server where it is now).
inline constexpr auto udp_lost_after = std::chrono::seconds(20);
/// A stream that failed before carrying anything, while UDP had worked, is tried again
/// after this, doubling up to the longest gap.
inline constexpr auto first_stream_retry = std::chrono::seconds(5);
inline constexpr auto longest_stream_retry = std::chrono::seconds(60);
/// The client takes a turn at least every 3 s (its heartbeat); a gap longer than this
/// between two is time the client was not running, which does not count as UDP's silence.
inline constexpr auto longest_turn_gap = std::chrono::seconds(10);

/// Changes of path kept for the status file: the newest ones. A UDP that stays blocked
/// while the stream keeps failing adds two a minute for as long as the session lasts.
inline constexpr std::size_t kept_switches = 64;

/// One change of path, for the status file.
struct path_switch {
  time_point at;
  std::string to;   ///< "udp" or "stream"
  /// "udp-timeout", "transport-tcp", "udp-lost", "stream-retry", "udp-answered", "stream-ended"
  std::string why;
};

class path_choice {
public:
  /// `stream_possible`: the launcher gave a way to start the stream (over ssh).
  path_choice(transport_mode mode, bool stream_possible, time_point start, std::chrono::seconds udp_timeout)
      : mode_(stream_possible ? mode : transport_mode::udp), start_(start), udp_timeout_(udp_timeout) {}

  /// What the stages must do now: start the stream (true once per start).
  bool take_stream_start() { return std::exchange(start_stream_, false); }
  /// Stop the stream (after the move back to UDP).
  bool take_stream_stop() { return std::exchange(stop_stream_, false); }

  /// At each turn: moves to the stream when its time has come.
  void turn(time_point now, bool ever_heard) {
    // A turn comes every few seconds while the client runs; a longer gap is time it did
    // not run (stopped, Ctrl-Z, a clock that counts a sleep), in which UDP could not answer.
    if (last_turn_ && now - *last_turn_ > longest_turn_gap && last_udp_) *last_udp_ += now - *last_turn_;
    last_turn_ = now;
    if (on_stream_ || failed_) return;
    if (mode_ == transport_mode::tcp && switch_count_ == 0) move_to_stream(now, "transport-tcp");
    else if (mode_ == transport_mode::udp) return;
    else if (retry_at_ != never) {
      if (now >= retry_at_) move_to_stream(now, "stream-retry");
    } else if (last_udp_) {
      if (now - *last_udp_ >= udp_lost_after) move_to_stream(now, "udp-lost");
    } else if (mode_ == transport_mode::automatic && !ever_heard && !ever_on_stream_ && now - start_ >= udp_timeout_) {
      move_to_stream(now, "udp-timeout");
    }
  }

  bool on_stream() const { return on_stream_; }
  /// Whether this turn's datagrams also go over UDP; call once per sending turn. Now and
  /// then (a probe), or every time while UDP had worked and the stream carried nothing yet.
  bool probe_now(time_point now) {
    if (!on_stream_) return false;
    if (last_udp_ && !stream_heard_) return true;
    if (now < next_probe_) return false;
    next_probe_ = now + probe_gap_;
    probe_gap_ = std::min<steady::duration>(probe_gap_ * 2, longest_probe_gap);
    ++probes_;
    return true;
  }

  /// A datagram from the server arrived over UDP: UDP works (again), at least toward us.
  void heard_udp(time_point now) {
    if (!on_stream_) return;
    on_stream_ = false;
    stop_stream_ = true;
    record({now, "udp", "udp-answered"});
    // Back on UDP the round trips start again; until then, count this as one.
    udp_round_trip(now);
  }

  /// A datagram over UDP acknowledged a newer state of ours: UDP works both ways. Only
  /// these count for udp_lost_after: a server that hears nothing from us still sends its
  /// heartbeats for 40 s (§4.3), so hearing it proves nothing about the way to it.
  void udp_round_trip(time_point now) {
    last_udp_ = now;
    retry_at_ = never;
    retry_gap_ = first_stream_retry;
  }

  /// A datagram from the server arrived over the stream: it works, so a later end of it
  /// gets its restarts afresh.
  void heard_stream() {
    restarts_ = 0;
    stream_heard_ = true;
    retry_gap_ = first_stream_retry;
  }

  /// The stream ended (ssh exited, the connection broke). Returns false when it cannot
  /// be started again: the session has no path left but UDP, which never answered.
  bool stream_ended(time_point now) {
    if (!on_stream_) return true;
    // A stream that carried datagrams is started again at once; one that never did, while
    // UDP had worked, waits for its retry on UDP.
    if (restarts_ < stream_restarts && (!last_udp_ || stream_heard_)) {
      ++restarts_;
      stream_heard_ = false;
      start_stream_ = true;
      return true;
    }
    on_stream_ = false;
    record({now, "udp", "stream-ended"});
    if (!last_udp_) {
      failed_ = true;
      return false;
    }
    retry_at_ = now + retry_gap_;
    retry_gap_ = std::min<steady::duration>(retry_gap_ * 2, longest_stream_retry);
    restarts_ = 0;
    return true;
  }

  /// When turn() next has something to do.
  time_point next_deadline() const {
    if (on_stream_) return next_probe_;
    if (failed_ || mode_ == transport_mode::udp) return never;
    if (retry_at_ != never) return retry_at_;
    if (last_udp_) return *last_udp_ + udp_lost_after;
    if (mode_ == transport_mode::automatic && !ever_on_stream_) return start_ + udp_timeout_;
    return never;
  }

  /// When a failed stream is tried again (never: none is waiting).
  time_point stream_retry_at() const { return retry_at_; }
  /// Whether the stream has carried a datagram since its latest start.
  bool stream_heard() const { return stream_heard_; }
  /// Whether a round trip over UDP ever worked.
  bool udp_worked() const { return last_udp_.has_value(); }

  /// The newest kept_switches changes of path, oldest first.
  const std::vector<path_switch>& switches() const { return switches_; }
  /// Changes of path since the start, the ones no longer kept included.
  std::uint64_t switch_count() const { return switch_count_; }
  std::uint64_t probes() const { return probes_; }
  int restarts() const { return restarts_; }
  transport_mode mode() const { return mode_; }

private:
  void record(path_switch w) {
    if (switches_.size() >= kept_switches) switches_.erase(switches_.begin());
    switches_.push_back(std::move(w));
    ++switch_count_;
  }

  void move_to_stream(time_point now, const char* why) {
    on_stream_ = ever_on_stream_ = true;
    stream_heard_ = false;
    retry_at_ = never;
    start_stream_ = true;
    next_probe_ = now + first_probe_after;
    probe_gap_ = first_probe_after * 2;
    record({now, "stream", why});
  }

  transport_mode mode_;
  time_point start_;
  std::chrono::seconds udp_timeout_;
  bool on_stream_ = false;
  bool ever_on_stream_ = false;
  bool failed_ = false;
  bool start_stream_ = false;
  bool stop_stream_ = false;
  bool stream_heard_ = false;  ///< the stream carried a datagram since its latest start
  std::optional<time_point> last_udp_;  ///< the newest round trip over UDP (udp_round_trip), less stopped time
  std::optional<time_point> last_turn_;
  time_point retry_at_ = never;
  steady::duration retry_gap_ = first_stream_retry;
  time_point next_probe_ = never;
  steady::duration probe_gap_ = first_probe_after;
  std::uint64_t probes_ = 0;
  int restarts_ = 0;
  std::vector<path_switch> switches_;
  std::uint64_t switch_count_ = 0;
};

inline std::optional<transport_mode> parse_transport_mode(const std::string& word) {
  if (word == "udp") return transport_mode::udp;
  if (word == "tcp") return transport_mode::tcp;
  if (word == "auto") return transport_mode::automatic;
  return std::nullopt;
}

}  // namespace mosh2::session
