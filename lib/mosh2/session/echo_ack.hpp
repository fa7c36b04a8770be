#pragma once
// The server's echo acknowledgement (protocol §8.3): which client state's keystrokes
// were handed to the program at least 50 ms ago, so the client can judge its local
// echo predictions against the screen it receives.

#include <cstdint>
#include <deque>

#include "mosh2/util/clock.hpp"

namespace mosh2::session {

inline constexpr auto echo_timeout = 50ms;

class echo_ack_tracker {
public:
  /// Client state `num`, which carried at least one event, was applied at `now`.
  void record(std::uint64_t num, time_point now) { records_.push_back({num, now}); }

  /// The newest recorded state at least 50 ms old; older records are forgotten,
  /// that one is kept. Returns the current echo ack (0 before any).
  std::uint64_t update(time_point now) {
    while (records_.size() > 1 && records_[1].at + echo_timeout <= now) records_.pop_front();
    if (!records_.empty() && records_.front().at + echo_timeout <= now) ack_ = std::max(ack_, records_.front().num);
    return ack_;
  }

  /// When update() will next change its answer.
  time_point next_deadline() const {
    for (const auto& r : records_)
      if (r.num > ack_) return r.at + echo_timeout;
    return never;
  }

private:
  struct record_t {
    std::uint64_t num;
    time_point at;
  };
  std::deque<record_t> records_;
  std::uint64_t ack_ = 0;
};

}  // namespace mosh2::session
