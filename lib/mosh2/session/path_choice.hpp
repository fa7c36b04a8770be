#pragma once
// Which path the client's datagrams take: UDP, or the framed byte stream through ssh
// (docs/protocol.md, "Paths"). Pure: the client core asks it at each turn and tells it
// what was heard where; the client's stages start and stop the stream.
//
// --transport=udp: UDP only. tcp: the stream from the start (UDP still probed, so the
// session moves to UDP when it works). auto: UDP, and the stream once udp_timeout has
// passed without a word. While on the stream, a turn's datagrams are also sent over
// UDP now and then (1 s, doubling to 30 s): the first answer heard over UDP moves the
// session back, and since every datagram also went through the stream nothing typed is
// lost on a UDP path that is still blocked.

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

/// One change of path, for the status file.
struct path_switch {
  time_point at;
  std::string to;   ///< "udp" or "stream"
  std::string why;  ///< "udp-timeout", "transport-tcp", "udp-answered", "stream-ended"
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
    if (on_stream_ || failed_) return;
    if (mode_ == transport_mode::tcp && switches_.empty()) move_to_stream(now, "transport-tcp");
    else if (mode_ == transport_mode::automatic && !ever_heard && !ever_on_stream_ && now - start_ >= udp_timeout_)
      move_to_stream(now, "udp-timeout");
  }

  bool on_stream() const { return on_stream_; }
  /// Whether this turn's datagrams also go over UDP (a probe); call once per sending turn.
  bool probe_now(time_point now) {
    if (!on_stream_ || now < next_probe_) return false;
    next_probe_ = now + probe_gap_;
    probe_gap_ = std::min<steady::duration>(probe_gap_ * 2, longest_probe_gap);
    ++probes_;
    return true;
  }

  /// A datagram from the server arrived over UDP: UDP works (again).
  void heard_udp(time_point now) {
    if (!on_stream_) return;
    on_stream_ = false;
    stop_stream_ = true;
    switches_.push_back({now, "udp", "udp-answered"});
  }

  /// A datagram from the server arrived over the stream: it works, so a later end of it
  /// gets its restarts afresh.
  void heard_stream() { restarts_ = 0; }

  /// The stream ended (ssh exited, the connection broke). Returns false when it cannot
  /// be started again: the session has no path left but UDP, which did not answer.
  bool stream_ended(time_point now) {
    if (!on_stream_) return true;
    if (restarts_ >= stream_restarts) {
      on_stream_ = false;
      failed_ = true;
      switches_.push_back({now, "udp", "stream-ended"});
      return false;
    }
    ++restarts_;
    start_stream_ = true;
    return true;
  }

  /// When turn() next has something to do.
  time_point next_deadline() const {
    if (on_stream_) return next_probe_;
    if (mode_ == transport_mode::automatic && !ever_on_stream_ && !failed_) return start_ + udp_timeout_;
    return never;
  }

  const std::vector<path_switch>& switches() const { return switches_; }
  std::uint64_t probes() const { return probes_; }
  int restarts() const { return restarts_; }
  transport_mode mode() const { return mode_; }

private:
  void move_to_stream(time_point now, const char* why) {
    on_stream_ = ever_on_stream_ = true;
    start_stream_ = true;
    next_probe_ = now + first_probe_after;
    probe_gap_ = first_probe_after * 2;
    switches_.push_back({now, "stream", why});
  }

  transport_mode mode_;
  time_point start_;
  std::chrono::seconds udp_timeout_;
  bool on_stream_ = false;
  bool ever_on_stream_ = false;
  bool failed_ = false;
  bool start_stream_ = false;
  bool stop_stream_ = false;
  time_point next_probe_ = never;
  steady::duration probe_gap_ = first_probe_after;
  std::uint64_t probes_ = 0;
  int restarts_ = 0;
  std::vector<path_switch> switches_;
};

inline std::optional<transport_mode> parse_transport_mode(const std::string& word) {
  if (word == "udp") return transport_mode::udp;
  if (word == "tcp") return transport_mode::tcp;
  if (word == "auto") return transport_mode::automatic;
  return std::nullopt;
}

}  // namespace mosh2::session
