#pragma once
// The client's notification bar (protocol §10.7): a blue line over the top row that
// says how long ago the server was last heard from, or a message such as the
// escape-key help. Pure: it reads times passed in and draws into a framebuffer copy.

#include <optional>
#include <string>

#include "mosh2/terminal/framebuffer.hpp"
#include "mosh2/util/clock.hpp"

namespace mosh2::overlay {

inline constexpr auto server_late_after = 6500ms;
inline constexpr auto reply_late_after = 10000ms;
inline constexpr auto message_lifetime = 1000ms;
inline constexpr auto network_error_lifetime = 3100ms;

class notification_bar {
public:
  /// `escape_hint` is the "[To quit: Ctrl-^ .]" suffix; empty when the escape key is off.
  explicit notification_bar(std::string escape_hint = "[To quit: Ctrl-^ .]")
      : escape_hint_(std::move(escape_hint)) {}

  /// The newest server state arrived at `t`.
  void server_heard(time_point t) { last_word_ = t; }
  /// The server acknowledged a client state that was sent at `t`.
  void server_acked(time_point t) { last_acked_ = t; }

  /// Shows `text` until `now + lifetime`, or until replaced when `permanent`.
  void set_message(std::string text, time_point now, bool permanent = false,
                   milliseconds lifetime = message_lifetime, bool show_escape_hint = true);
  /// A network error: shown for 3.1 s; shortened to 1 s by the next successful send.
  void set_network_error(std::string text, time_point now);
  void network_ok(time_point now);
  void clear_message() { message_.reset(); }

  /// The text of the bar at `now`, or nothing when it should not be drawn.
  std::optional<std::string> text(time_point now) const;
  /// Draws the bar (if any) over row 0 of `fb`.
  void apply(terminal::framebuffer& fb, time_point now) const;
  /// When the bar's contents next change by themselves (a message expires, a count ticks).
  time_point next_change(time_point now) const;

private:
  struct message {
    std::string text;
    time_point expires;
    bool permanent;
    bool show_escape_hint;
    bool network_error;
  };
  std::string escape_hint_;
  std::optional<message> message_;
  time_point last_word_{};
  time_point last_acked_{};
};

/// "N seconds" / "M:SS" / "H:MM:SS" as the bar writes durations; `terse` gives "N s".
std::string human_duration(milliseconds d, bool terse);

}  // namespace mosh2::overlay
