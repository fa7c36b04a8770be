#pragma once
// The control protocol (docs/status.md, "Control socket"): one request per connection,
// one line of JSON each way. Pure: parsing, validation and replies, no sockets, so
// that malformed and oversize requests are tested without a session.
//
//   request  {"control": 1, "request": "status"}
//            {"control": 1, "request": "shutdown", "reason": "..."}   (reason optional)
//            {"control": 1, "request": "rotate_key"}
//   reply    {"control": 1, "ok": true, "status": {...}}   (status: the status file's object)
//            {"control": 1, "ok": true}
//            {"control": 1, "ok": true, "key": "<22 chars>", "port": N}   (rotate_key only)
//            {"control": 1, "ok": false, "error": "..."}

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "mosh2/util/result.hpp"

namespace mosh2::control {

/// The protocol version, in every request and reply as "control".
inline constexpr int control_version = 1;
/// A request longer than this (newline included) is refused unread: the session never
/// buffers more for a client than it can afford to throw away.
inline constexpr std::size_t max_request_bytes = 4096;
/// A reply longer than this is not believed by `call` (a status document is ~2 KiB).
inline constexpr std::size_t max_reply_bytes = 64 * 1024;

/// What a session offers its control socket. Implemented by the session; called
/// between two of its own turns, never concurrently.
struct control_handler {
  virtual ~control_handler() = default;
  /// The session's status as the status file would hold it now (a JSON object).
  virtual std::string status_json() = 0;
  /// Ends the session the way SIGTERM does; `reason` is for the session's log.
  virtual void request_shutdown(std::string reason) = 0;
  /// Hands the session to whoever learns the new key (mosh2-server attach): the
  /// session generates it, takes it on as its own before the next datagram it reads,
  /// and returns it here only, for the one asking over this socket. A process that
  /// cannot (a client) says why.
  struct rotation {
    std::string key;  ///< printable (22 characters)
    unsigned port = 0;  ///< the UDP port the session listens on
  };
  virtual result<rotation, std::string> rotate_key() {
    return failure{std::string("this process cannot hand over its session")};
  }
};

struct status_request {};
struct shutdown_request {
  explicit shutdown_request(std::string r) : reason(std::move(r)) {}
  std::string reason;
};
struct rotate_key_request {};
using request = std::variant<status_request, shutdown_request, rotate_key_request>;

/// Parses one request line (without its newline); the error is for the reply.
result<request, std::string> parse_request(std::string_view line);

/// The request's line, newline included.
std::string format_request(const request& r);

/// Accumulates a request's bytes as they arrive, up to the first newline.
class request_buffer {
public:
  enum class state { incomplete, complete, oversize };
  /// Adds `data`; bytes after the first newline are ignored.
  state feed(std::string_view data);
  /// The peer closed its side: a non-empty line without a newline counts as complete.
  state end_of_input();
  /// The line without its newline once complete (or everything fed, at end of input).
  const std::string& line() const { return line_; }
  state current() const { return state_; }

private:
  std::string line_;
  state state_ = state::incomplete;
};

/// The reply line (newline included) for one request line: the request is parsed and
/// passed to `handler`; anything malformed gets an error reply and touches nothing.
std::string respond(std::string_view request_line, control_handler& handler);
/// The reply for a request that was too long to read.
std::string oversize_reply();
/// The reply for a peer that is not this user (SO_PEERCRED).
std::string refused_reply();

/// A reply as `call` returns it.
struct reply {
  bool ok = false;
  std::string error;               ///< set when !ok
  std::optional<std::string> status;  ///< the status object's JSON text, when asked for
  std::optional<std::string> key;     ///< the new key, for rotate_key
  unsigned port = 0;                  ///< with `key`: the session's UDP port
};

/// Parses a reply line; malformed replies are errors.
result<reply, std::string> parse_reply(std::string_view line);

}  // namespace mosh2::control
