#pragma once
// The status file's JSON text (docs/status.md, docs/status.schema.json). nlohmann/json
// stays in document.cpp: it is a heavy header and the sessions only need a string.

#include <cstdint>
#include <string>

#include "mosh2/status/relay_status.hpp"
#include "mosh2/status/session_status.hpp"
#include "mosh2/util/clock.hpp"

namespace mosh2::status {

/// Wall-clock now in Unix milliseconds.
std::int64_t unix_ms_now();

/// The file's JSON text. `now` anchors the steady times to the wall clock. It also
/// names process `s.pid`'s start in clock ticks since boot (process_start_ticks in
/// reader.hpp), which readers use to tell the session's process from a later one with
/// the same pid whatever the wall clock did.
std::string to_json(const session_status& s, time_point now);

/// A relay's file (`"kind": "relay"`), with the same anchors and process start.
std::string to_json(const relay_status& r, time_point now);

}  // namespace mosh2::status
