// Notification bar texts and drawing (protocol §10.7).

#include "mosh2/overlay/notification_bar.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace mosh2::overlay {

std::string human_duration(milliseconds d, bool terse) {
  const auto total = std::max<long long>(0, std::chrono::duration_cast<std::chrono::seconds>(d).count());
  if (total < 60) {
    if (terse) return fmt::format("{} s", total);
    return fmt::format("{} second{}", total, total == 1 ? "" : "s");
  }
  if (total < 3600) return fmt::format("{}:{:02}", total / 60, total % 60);
  return fmt::format("{}:{:02}:{:02}", total / 3600, (total / 60) % 60, total % 60);
}

void notification_bar::set_message(std::string text, time_point now, bool permanent,
                                   milliseconds lifetime, bool show_escape_hint) {
  message_ = message{std::move(text), now + lifetime, permanent, show_escape_hint, false};
}

void notification_bar::set_network_error(std::string text, time_point now) {
  message_ = message{std::move(text), now + network_error_lifetime, false, true, true};
}

void notification_bar::network_ok(time_point now) {
  if (message_ && message_->network_error) message_->expires = std::min(message_->expires, now + message_lifetime);
}

std::optional<std::string> notification_bar::text(time_point now) const {
  const bool server_late = now - last_word_ > server_late_after;
  const bool reply_late = now - last_acked_ > reply_late_after;
  const bool late = server_late || reply_late;
  const bool have_message = message_ && (message_->permanent || now < message_->expires);
  if (!have_message && !late) return std::nullopt;

  const auto since = std::chrono::duration_cast<milliseconds>(now - (server_late ? last_word_ : last_acked_));
  const char* what = server_late ? "contact" : "reply";
  const bool hint = !escape_hint_.empty() && (!have_message || message_->show_escape_hint);
  const std::string suffix = hint ? " " + escape_hint_ : std::string();

  if (!have_message)
    return fmt::format("mosh: Last {} {} ago.{}", what, human_duration(since, false), suffix);
  if (!late) return fmt::format("mosh: {}{}", message_->text, suffix);
  return fmt::format("mosh: {} ({} without {}.){}", message_->text, human_duration(since, true), what, suffix);
}

void notification_bar::apply(terminal::framebuffer& fb, time_point now) const {
  const auto t = text(now);
  if (!t || fb.height() < 1) return;
  terminal::renditions plain;
  plain.fg = terminal::color::indexed(7);
  plain.bg = terminal::color::indexed(4);
  terminal::renditions bold = plain;
  bold.set(terminal::renditions::bold, true);

  auto& row = fb.mutable_row(0);
  row.wrap = false;
  for (auto& c : row.cells) c.reset(plain);
  // One cell per code point: the bar's texts are ASCII apart from rare message text.
  std::size_t col = 0;
  for (std::size_t i = 0; i < t->size() && col < row.cells.size();) {
    std::size_t len = 1;
    const auto lead = static_cast<unsigned char>((*t)[i]);
    if (lead >= 0xf0) len = 4;
    else if (lead >= 0xe0) len = 3;
    else if (lead >= 0xc0) len = 2;
    len = std::min(len, t->size() - i);
    auto& c = row.cells[col++];
    c.reset(bold);
    c.set_text(std::string_view(*t).substr(i, len));
    i += len;
  }
  if (fb.ds().cursor_row == 0) fb.ds().cursor_visible = false;
}

time_point notification_bar::next_change(time_point now) const {
  time_point next = std::min(last_word_ + server_late_after, last_acked_ + reply_late_after);
  if (next <= now) {
    // Late: the count of seconds ticks; past a minute once every 3 s is enough.
    const bool long_gap = now - std::min(last_word_, last_acked_) > std::chrono::minutes(1);
    next = now + (long_gap ? 3000ms : 1000ms);
  }
  if (message_ && !message_->permanent && message_->expires > now) next = std::min(next, message_->expires);
  return next;
}

}  // namespace mosh2::overlay
