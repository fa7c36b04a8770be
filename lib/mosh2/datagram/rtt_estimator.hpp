#pragma once
// Smoothed round-trip time and retransmission timeout (protocol §4.2, RFC 6298 style
// in floating point).

#include <algorithm>
#include <chrono>
#include <cmath>

#include "mosh2/util/clock.hpp"

namespace mosh2::datagram {

/// SRTT/RTTVAR from timestamp-echo samples, and the RTO derived from them.
class rtt_estimator {
public:
  static constexpr double initial_srtt_ms = 1000.0;   ///< before any sample
  static constexpr double initial_rttvar_ms = 500.0;  ///< before any sample
  /// Samples this large or larger are discarded (stale echoes, clock wrap).
  static constexpr double sample_limit_ms = 5000.0;
  static constexpr milliseconds min_rto = milliseconds(50);
  static constexpr milliseconds max_rto = milliseconds(1000);

  /// Folds in one sample `r_ms`; returns false (and changes nothing) if it is
  /// discarded for being ≥ 5000 ms or negative.
  bool add_sample(double r_ms) noexcept {
    if (!(r_ms >= 0.0) || r_ms >= sample_limit_ms) return false;
    if (!has_sample_) {
      srtt_ = r_ms;
      rttvar_ = r_ms / 2;
      has_sample_ = true;
    } else {
      // RFC 6298 §2.3: RTTVAR uses the old SRTT, so update it first.
      rttvar_ = 0.75 * rttvar_ + 0.25 * std::fabs(srtt_ - r_ms);
      srtt_ = 0.875 * srtt_ + 0.125 * r_ms;
    }
    return true;
  }

  /// Smoothed RTT in milliseconds (1000 before any sample).
  [[nodiscard]] double srtt_ms() const noexcept { return srtt_; }
  /// RTT variation in milliseconds (500 before any sample).
  [[nodiscard]] double rttvar_ms() const noexcept { return rttvar_; }
  /// True once a sample has been accepted.
  [[nodiscard]] bool has_sample() const noexcept { return has_sample_; }

  /// ceil(SRTT + 4·RTTVAR) clamped to [50, 1000] ms.
  [[nodiscard]] milliseconds rto() const noexcept {
    const double raw = std::ceil(srtt_ + 4 * rttvar_);
    const double clamped = std::clamp(raw, static_cast<double>(min_rto.count()),
                                      static_cast<double>(max_rto.count()));
    return milliseconds(static_cast<milliseconds::rep>(clamped));
  }

private:
  double srtt_ = initial_srtt_ms;
  double rttvar_ = initial_rttvar_ms;
  bool has_sample_ = false;
};

}  // namespace mosh2::datagram
