#pragma once
// What `mosh2-status` shows and selects: the document for scripts, the table for
// people, the line for a shell profile, and which sessions `kill --detached-for` ends.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mosh2/status/reader.hpp"

namespace mosh2::status {

/// The document `mosh2-status --json` prints: {"schema", "generated_unix_ms", "sessions":
/// [...], "relays": [...]}; a file whose `kind` is "relay" goes to `relays`.
std::string status_document(const std::vector<status_entry>& entries);

/// A session as mosh2-status's table and selections see it, read from its JSON.
struct session_view {
  pid_t pid = 0;
  std::string role;
  std::string state;  ///< session_state
  std::string peer;   ///< ADDR:PORT or "-"
  std::optional<std::int64_t> since_contact_ms;    ///< at `now_unix_ms`
  std::optional<std::int64_t> since_keystroke_ms;  ///< at `now_unix_ms`
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t datagrams_sent = 0;
  std::uint64_t datagrams_received = 0;
  std::string command;  ///< argv joined with spaces ("-" for a client)
  std::string name;     ///< the session's name, empty when it has none
  std::uint64_t attaches = 0;
};

/// Reads the fields of one session object; nothing when it is not one (a relay's file
/// is not).
std::optional<session_view> view_of(const std::string& session_json, std::int64_t now_unix_ms);

/// A relay as mosh2-status's table sees it, read from its JSON.
struct relay_view {
  pid_t pid = 0;
  std::string bind;      ///< ADDR:PORT it listens on
  std::string next_hop;  ///< ADDR:PORT it forwards to
  std::size_t sources = 0, proven = 0;
  std::uint64_t datagrams_up = 0, bytes_up = 0, datagrams_down = 0, bytes_down = 0;
  std::uint64_t dropped = 0;  ///< evictions, refused sends and datagrams with no socket to send on
  std::optional<std::int64_t> since_answer_ms;  ///< since the next hop was last heard, at `now_unix_ms`
  bool ends_with_session = false;
  std::int64_t idle_timeout_s = 0;
};

/// True when `file_json` is a relay's file (`"kind": "relay"`).
bool is_relay(const std::string& file_json);
/// Reads one relay object; nothing when it is not one.
std::optional<relay_view> relay_view_of(const std::string& relay_json, std::int64_t now_unix_ms);
/// The relays' table: one header line and one line per relay.
std::string relay_table(const std::vector<relay_view>& relays);

/// The table for people: one header line and one line per session.
std::string status_table(const std::vector<session_view>& sessions);

/// One line for a shell profile about the detached sessions, e.g. "2 detached mosh2
/// sessions (pids 123, 456); mosh2-status for details"; empty when there are none.
std::string brief_line(const std::vector<session_view>& sessions);

/// Whether `kill --detached-for D` ends this session: a server whose state is
/// "detached" and whose client has not been heard for at least D.
bool detached_for_at_least(const session_view& s, std::chrono::milliseconds d);

}  // namespace mosh2::status
