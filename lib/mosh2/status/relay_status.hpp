#pragma once
// A relay's status file (docs/status.md, "A relay"): what `mosh2-server relay` on a jump
// host forwards, for whom, and what it refused. Pure: the relay fills it, to_json
// (document.hpp) writes it, relay_view_of (view.hpp) reads it back.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mosh2/util/clock.hpp"

namespace mosh2::status {

/// What a relay's status file says about itself in `kind`; session files have no `kind`.
inline constexpr const char* relay_kind = "relay";

/// Datagrams and their bytes, one direction.
struct traffic {
  std::uint64_t datagrams = 0;
  std::uint64_t bytes = 0;
  void add(std::uint64_t n) {
    ++datagrams;
    bytes += n;
  }
};

struct relay_status {
  int pid = 0;
  time_point started{};
  std::string bind_address;
  unsigned bind_port = 0;
  std::string next_address;
  unsigned next_port = 0;
  std::chrono::seconds idle_timeout{0};
  bool ends_with_session = false;  ///< it holds the session's end token
  std::optional<time_point> last_answer;  ///< newest datagram from the next hop

  struct source {
    std::string address;  ///< the client's (or the previous relay's) address as the relay saw it
    unsigned port = 0;
    bool proven = false;   ///< the next hop answered it: datagrams go back to it
    traffic up, down;      ///< up: toward the next hop; down: back to this source
    time_point last_seen{};
  };
  std::vector<source> sources;  ///< the sources it forwards for now
  traffic up, down;             ///< everything since the start, sources gone included

  std::uint64_t sources_evicted = 0;  ///< sources given up for a new one (the table is full)
  std::uint64_t sends_refused = 0;    ///< datagrams the system would not send (counted in neither direction)
  std::uint64_t unsocketed = 0;       ///< datagrams of a source whose socket to the next hop could not be opened
};

}  // namespace mosh2::status
