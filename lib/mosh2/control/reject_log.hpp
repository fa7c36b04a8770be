#pragma once
// The log an admin can act on: datagrams a server rejected (bad tag, wrong direction,
// malformed), by source address, once a source has been rejected persistently, then at
// most one line per address per minute with a count. The line format is stable, for
// fail2ban (docs/fail2ban/):
//
//   mosh2-server[PID]: rejected N datagrams from ADDR (REASON[, REASON...])
//
// Sources are counted by address alone: UDP source ports are free for anyone to pick, so
// counting them apart would let one forger look like many sources, and one real client
// that moved to a new port look like a new stranger. reject_limiter is the pure core
// (the time is passed in); reject_logger sends its lines to syslog and, with -v, to stderr.

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mosh2/util/clock.hpp"

namespace mosh2::control {

/// When a source is logged and how much the table holds.
///
/// A source's datagrams can be forged, so one burst must never produce a line: an
/// address is logged only once it has been rejected at least `min_rejects` times and its
/// first and latest rejections are `min_span` apart (a forger, or a stale client of the
/// user's, has to keep at it for that long). After that, one line per `interval` at most.
/// An address with no rejection for `forget_after` starts over.
struct reject_policy {
  std::chrono::seconds interval{60};        ///< at most one line per address per interval
  std::uint64_t min_rejects = 10;           ///< rejections before a first line...
  std::chrono::seconds min_span{60};        ///< ...spread over at least this long
  std::chrono::seconds forget_after{600};   ///< a quiet address starts over
  /// Addresses remembered at once: spoofed source addresses must not grow memory
  /// without bound. A new address beyond this evicts the least recently rejected one.
  std::size_t max_sources = 4096;
};

/// Decides which reject lines are due; the lines carry no "mosh2-server[PID]: " prefix.
/// Every call costs O(1) table steps, except flush() and the lines it writes.
class reject_limiter {
public:
  explicit reject_limiter(reject_policy policy = {}) : policy_(policy) {}

  /// Counts one rejected datagram from `address` for `reason`. Returns the lines due at
  /// `now`: this address's line when it has just become persistent or has had none for
  /// an interval, and the held-back counts of other addresses that are due.
  std::vector<std::string> record(std::string_view address, std::string_view reason, time_point now);
  /// Held-back counts of logged addresses whose interval has passed by `now`.
  std::vector<std::string> due(time_point now);
  /// Every count of a logged address still held back, whatever the time (the session is
  /// ending). Addresses that never became persistent stay unlogged.
  std::vector<std::string> flush();
  /// When due() next may have something to say, or `never`.
  time_point next_due() const;
  /// Addresses currently remembered.
  std::size_t sources() const { return index_.size(); }
  /// Table and queue entries visited so far (lookups, evictions, due-queue operations):
  /// lets a test check that the cost per datagram does not grow with the table.
  std::uint64_t steps() const { return steps_; }

private:
  struct source {
    std::string address;
    time_point first{};      ///< first rejection of the current streak
    time_point last{};       ///< latest rejection
    time_point last_line{};  ///< when this address was last logged
    std::uint64_t streak = 0;   ///< rejections since `first`
    std::uint64_t pending = 0;  ///< rejections not yet in a line
    std::vector<std::string> reasons;  ///< of the pending count, first seen first
    bool reported = false;   ///< persistent: its counts are logged
  };
  using entry = std::list<source>::iterator;

  static std::string line(const source& s);
  void emit(source& s, time_point now, std::vector<std::string>& out);
  void evict_oldest();
  void schedule(time_point when, const std::string& address);

  reject_policy policy_;
  std::list<source> lru_;  ///< most recently rejected first
  std::unordered_map<std::string, entry> index_;
  /// (due time, address), a min-heap; entries of evicted or already logged addresses
  /// are skipped when they come up.
  std::vector<std::pair<time_point, std::string>> queue_;
  source overflow_;  ///< held-back counts of logged addresses that were evicted
  std::uint64_t steps_ = 0;
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
  void record(std::string_view address, std::string_view reason, time_point now);
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
