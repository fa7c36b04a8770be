#pragma once
// The log an admin can act on: datagrams a server rejected (bad tag, wrong direction,
// malformed), by source address, at most one line per source per minute with a count.
// The line format is stable, for fail2ban (docs/fail2ban/):
//
//   mosh2-server[PID]: rejected N datagrams from ADDR:PORT (REASON[, REASON...])
//
// ADDR is bracketed when it is IPv6 ([::1]:5000). reject_limiter is the pure core (the
// time is passed in); reject_logger sends its lines to syslog and, with -v, to stderr.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mosh2/util/clock.hpp"

namespace mosh2::control {

/// One line per source per interval; everything in between is counted.
inline constexpr std::chrono::seconds reject_log_interval{60};
/// Sources remembered at once: spoofed source addresses must not grow memory without
/// bound. Beyond this, rejections are counted together as "other sources".
inline constexpr std::size_t reject_log_max_sources = 4096;

/// Decides which reject lines are due; the lines carry no "mosh2-server[PID]: " prefix.
class reject_limiter {
public:
  explicit reject_limiter(std::chrono::seconds interval = reject_log_interval,
                          std::size_t max_sources = reject_log_max_sources)
      : interval_(interval), max_sources_(max_sources) {}

  /// Counts one rejected datagram from `address`:`port` for `reason`. Returns the lines
  /// due at `now`: this source's line when it has had none for an interval (its first
  /// rejection is logged at once), and the summaries of other sources that are due.
  std::vector<std::string> record(std::string_view address, std::uint16_t port, std::string_view reason,
                                  time_point now);
  /// Summaries of counts held back whose interval has passed by `now`.
  std::vector<std::string> due(time_point now);
  /// Every count held back, whatever the time (the session is ending).
  std::vector<std::string> flush();
  /// When due() next has something to say, or `never`.
  time_point next_due() const { return next_due_; }
  /// Sources currently remembered.
  std::size_t sources() const { return sources_.size(); }

private:
  struct source {
    std::string shown;  ///< ADDR:PORT as the line writes it
    time_point last_line{};
    std::uint64_t pending = 0;
    std::vector<std::string> reasons;  ///< of the pending count, first seen first
  };
  static std::string line(const source& s);
  void emit(source& s, time_point now, std::vector<std::string>& out);
  void make_room(time_point now);

  std::chrono::seconds interval_;
  std::size_t max_sources_;
  std::map<std::string, source> sources_;
  source overflow_;
  time_point next_due_ = never;
};

/// Where a server's reject lines go: syslog (facility daemon, ident "mosh2-server",
/// with the pid) always, and stderr too when `to_stderr` (-v), in the same format.
class reject_logger {
public:
  explicit reject_logger(bool to_stderr);
  ~reject_logger();  ///< writes the counts still held back
  reject_logger(const reject_logger&) = delete;
  reject_logger& operator=(const reject_logger&) = delete;

  /// One rejected datagram.
  void record(std::string_view address, std::uint16_t port, std::string_view reason, time_point now);
  /// Writes the summaries due at `now`. A session that wakes at next_due() writes a
  /// quiet source's count on time; without that, it waits for the next rejection or
  /// the end of the session.
  void tick(time_point now) { write(limiter_.due(now)); }
  /// When tick() next has something to write, or `never`.
  time_point next_due() const { return limiter_.next_due(); }

private:
  void write(const std::vector<std::string>& lines);
  reject_limiter limiter_;
  bool to_stderr_;
};

}  // namespace mosh2::control
