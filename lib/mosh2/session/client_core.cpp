// The client's session core (protocol §8.5, §10). See client_core.hpp.

#include "mosh2/session/client_core.hpp"

#include "mosh2/session/transport_status.hpp"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <type_traits>

#include <fmt/format.h>

namespace mosh2::session {

namespace {

terminal::terminal_profile local_terminal_profile(const client_core_config& c) {
  return terminal::terminal_profile::from_term(c.term, c.terminfo_underline ? &*c.terminfo_underline : nullptr);
}

}  // namespace

client_core::client_core(client_core_config config, time_point now)
    : config_(std::move(config)),
      transport_(datagram::role::client, config_.key, ssp::user_stream{},
                 terminal_state(config_.width, config_.height), now,
                 ssp::sender_options{ssp::client_send_mindelay, true, config_.random}, config_.server,
                 config_.extensions),
      bar_(config_.escape.quit_hint()),
      display_(local_terminal_profile(config_)),
      local_profile_(local_terminal_profile(config_)),
      predictor_(config_.predict, config_.predict_overwrite),
      started_(now),
      paths_(config_.transport, config_.stream_possible, now, config_.udp_timeout) {
  bar_.server_heard(now);
  bar_.server_acked(now);
  // The server learns our size from the first instruction (protocol §7.6).
  transport_.local().push_resize(config_.width, config_.height);
}

client_actions client_core::handle(const client_event& event, time_point now) {
  client_actions out;
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, incoming_datagram>) {
          datagram(e, now);
        } else if constexpr (std::is_same_v<E, keyboard_input>) {
          keyboard(e.data, now);
          out.news = true;
        } else if constexpr (std::is_same_v<E, keyboard_ended>) {
          begin_shutdown(now, "Exiting...");
          out.news = true;
        } else if constexpr (std::is_same_v<E, window_resized>) {
          resized(e.width, e.height);
          out.news = true;
        } else if constexpr (std::is_same_v<E, signal_received>) {
          begin_shutdown(now, "Signal received, shutting down...");
          out.news = true;
        } else if constexpr (std::is_same_v<E, screen_resumed>) {
          repaint_ = true;
        } else if constexpr (std::is_same_v<E, send_result>) {
          sent(e.err, now);
        } else if constexpr (std::is_same_v<E, stream_datagram>) {
          datagram(e.d, now, true);
        } else if constexpr (std::is_same_v<E, stream_ended>) {
          stream_failed(e.reason, now);
          out.news = true;
        } else if constexpr (std::is_same_v<E, stream_dropped>) {
          ++stream_drops_;
          stream_lossy_ = true;
        } else {
          take_turn(out, now);
        }
      },
      event);
  return out;
}

// The end of a turn: what is due now.
void client_core::take_turn(client_actions& out, time_point now) {
  transport_.next_deadline(now);  // trims what the server acknowledged from the log
  fill_input_window();
  predictor_.set_send_interval(transport_.send_interval());
  // The path first, so that this turn's datagrams are timed and flagged for the one they take.
  paths_.turn(now, ever_heard_);
  out.start_stream = paths_.take_stream_start();
  out.stop_stream = paths_.take_stream_stop();
  if (out.start_stream || out.stop_stream) out.news = true;
  if (out.start_stream) {
    stream_lossy_ = false;
    stream_mark_ = transport_.sent_num();
  }
  if (out.start_stream && paths_.udp_worked())
    path_message(fmt::format("No answer on UDP port {}: trying through ssh.", config_.server.port), now, true);
  follow_path(now);
  out.datagrams = transport_.tick(now);
  check_connecting(now);
  out.to_stream = paths_.on_stream();
  if (out.to_stream && !out.datagrams.empty()) out.also_udp = paths_.probe_now(now);
  if (!out.datagrams.empty()) out.new_socket = transport_.take_port_hop(now);
  out.suspend = std::exchange(suspend_, false);
  // History lines go into the scrollback before the screen that follows them.
  out.screen = take_history();
  out.screen += take_screen(now);
  out.exit = finished(now);
  out.deadline = next_deadline(now);
}

void client_core::keyboard(bytes_view data, time_point now) {
  if (transport_.shutting_down()) return;
  last_keystroke_ = now;
  // Predictions are made against what the user sees now, before the escape key
  // swallows anything (§8.5 step 4); a paste resets them instead.
  predictor_.set_local_frame_sent(transport_.sent_num());
  predictor_.new_user_input(data, drawn_ ? *drawn_ : server_screen(), now);
  for (char c : data) {
    auto r = config_.escape.feed(c);
    if (r.show_help) bar_.set_message(config_.escape.help_text(), now, true, overlay::message_lifetime, false);
    if (r.hide_help) bar_.clear_message();
    queue_keys(r.send);
    if (r.act == escape_key::action::quit) {
      begin_shutdown(now, "Exiting on user request...");
      return;
    }
    if (r.act == escape_key::action::suspend) suspend_ = true;
    if (c == '\x0c') repaint_ = true;
  }
  fill_input_window();
}

void client_core::queue_keys(bytes_view keys) {
  if (keys.empty()) return;
  if (waiting_bytes_ > 0 && mode_.any_signal_char(keys)) urgent_ = true;
  if (waiting_.empty() || !std::holds_alternative<bytes>(waiting_.back())) waiting_.emplace_back(bytes{});
  std::get<bytes>(waiting_.back()).append(keys);
  waiting_bytes_ += keys.size();
}

// Moves what fits of the waiting input into the keystroke log: the log holds only
// what the server has not acknowledged, so its size is what is in flight.
void client_core::fill_input_window() {
  auto& log = transport_.local();
  const std::size_t window = urgent_ ? client_urgent_window : client_input_window;
  while (!waiting_.empty() && log.size() < window) {
    if (auto* r = std::get_if<transport::resize>(&waiting_.front())) {
      log.push_resize(r->width, r->height);
      waiting_.pop_front();
      continue;
    }
    auto& keys = std::get<bytes>(waiting_.front());
    const std::size_t n = std::min(keys.size(), window - log.size());
    log.push_bytes(bytes_view(keys).substr(0, n));
    waiting_bytes_ -= n;
    if (n == keys.size()) waiting_.pop_front();
    else keys.erase(0, n);
  }
  if (waiting_.empty()) urgent_ = false;
}

void client_core::datagram(const incoming_datagram& d, time_point now, bool via_stream) {
  if (displaced_) return;
  const auto roundtrip_before = transport_.last_roundtrip_success();
  const auto acked_before = transport_.ssp().outgoing().acked_num();
  auto out = transport_.receive(d.wire, config_.server, now, d.truncated, d.congestion);
  if (out.displaced) {
    // Nobody is left to say goodbye to: the server serves another client now.
    displaced_ = true;
    return;
  }
  if (out.authentic) {
    const bool was_on_stream = paths_.on_stream(), stream_was_heard = paths_.stream_heard();
    const bool retrying = paths_.stream_retry_at() != never;
    if (via_stream) {
      paths_.heard_stream();
      if (!stream_was_heard && paths_.udp_worked())
        path_message("UDP is blocked: the session runs through ssh.", now, false);
    } else {
      if (transport_.last_roundtrip_success() != roundtrip_before) paths_.udp_round_trip(now);
      // Back to UDP only on an acknowledgement over UDP of a state sent since the move:
      // the server's datagrams to our old address before it follows the stream prove
      // nothing about the way to it (UDP may be blocked toward the server only).
      const auto acked = transport_.ssp().outgoing().acked_num();
      if (acked > acked_before && acked > stream_mark_) paths_.heard_udp(now);
      if ((was_on_stream || retrying) && path_message_) {
        bar_.clear_message();
        path_message_ = false;
      }
    }
    follow_path(now);
  }
  if (auto rt = transport_.last_roundtrip_success()) bar_.server_acked(*rt);
  if (out.instruction != ssp::receive_outcome::newest) return;
  if (!ever_heard_) bar_.clear_message();
  ever_heard_ = true;
  bar_.server_heard(now);
}

void client_core::resized(int width, int height) {
  if (transport_.shutting_down()) return;
  config_.width = width;
  config_.height = height;
  // Behind the typing that came before it, like every other event of the log.
  if (waiting_.empty()) transport_.local().push_resize(width, height);
  else waiting_.emplace_back(transport::resize{width, height});
  predictor_.reset();
  repaint_ = true;
}

void client_core::sent(int err, time_point now) {
  if (err == 0 || err == EAGAIN || err == EWOULDBLOCK) {
    bar_.network_ok(now);
    return;
  }
  if (err == EMSGSIZE) transport_.send_too_big();
  bar_.set_network_error(fmt::format("sendto: {}", std::strerror(err)), now);
}

// SSP's timing for the path the datagrams take now: on the stream nothing is sent twice
// (unless the stream's queue dropped some), and the server is told so (reliable_path).
void client_core::follow_path(time_point) {
  // Only on a change: the path's other traits (and a test's own) are left as they are.
  const bool reliable = paths_.on_stream() && !stream_lossy_;
  if (reliable == stream_reliable_) return;
  stream_reliable_ = reliable;
  auto p = transport_.path();
  p.reliable = reliable;
  transport_.set_path(p);
}

void client_core::stream_failed(const std::string& reason, time_point now) {
  last_stream_failure_ = reason;
  if (paths_.stream_ended(now)) {
    follow_path(now);
    const auto retry = paths_.stream_retry_at();
    if (retry != never)
      // One row: the reason is long, and the bar only needs to say the session is fine.
      path_message(fmt::format("The ssh stream failed; on UDP, next try in {}.",
                               overlay::human_duration(std::chrono::duration_cast<milliseconds>(retry - now), true)),
                   now, true);
    return;
  }
  path_failure_ = fmt::format("mosh2: {}, and UDP port {} on {} does not answer", reason, config_.server.port,
                              config_.server.ip);
  begin_shutdown(now, "The ssh stream ended.");
}

void client_core::path_message(std::string text, time_point now, bool permanent) {
  if (transport_.shutting_down()) return;
  bar_.set_message(std::move(text), now, permanent);
  path_message_ = true;
}

void client_core::check_connecting(time_point now) {
  if (ever_heard_) return;
  // A longer --udp-timeout still gets its advice read before the client gives up.
  const steady::duration give_up = std::max<steady::duration>(connect_give_up_after, config_.udp_timeout + std::chrono::seconds(10));
  if (now - started_ >= give_up + (paths_.on_stream() ? stream_give_up_after : steady::duration{})) {
    begin_shutdown(now, "Timed out waiting for server...");
  } else if (now - started_ >= config_.udp_timeout && !transport_.shutting_down()) {
    advising_ = true;
    bar_.set_message(paths_.on_stream()
                         ? fmt::format("No answer on UDP port {}: trying through ssh. See below.", config_.server.port)
                         : fmt::format("No answer on UDP port {}: see below.", config_.server.port),
                     now, true);
  } else if (now - started_ >= connecting_notice_after && !transport_.shutting_down()) {
    bar_.set_message(fmt::format("Nothing received from server on UDP port {}.", config_.server.port), now, true);
  }
}

void client_core::begin_shutdown(time_point now, const std::string& why) {
  if (transport_.shutting_down()) return;
  bar_.set_message(why, now, true);
  transport_.start_shutdown(now);
}

std::optional<int> client_core::finished(time_point now) {
  if (displaced_) return 1;
  return transport_.shutdown_result(now);
}

/// The server's newest screen with our overlays (§10: predictions, then the title
/// prefix and the notification bar), drawn as a diff from what the terminal shows now.
std::string client_core::take_screen(time_point now) {
  const terminal_state& server = transport_.remote();
  terminal::framebuffer frame = server.fb();
  if (mode_.take(transport_.take_stream_items(extension::terminal_mode))) predictor_.set_echo_state(mode_.echo(), mode_.key());
  predictor_.set_echo_ack(server.echo_ack());
  // Acknowledgements bring new states too; only a new picture counts as a change.
  if (!last_server_frame_ || !(frame == *last_server_frame_)) {
    predictor_.screen_changed(now);
    last_server_frame_ = frame;
  }
  predictor_.cull(frame, now);
  predictor_.apply(frame);
  if (config_.title_prefix && frame.title_initialized()) {
    const bool same = frame.icon_name() == frame.title();
    frame.set_title(U"[mosh] " + frame.title());
    if (same) frame.set_icon_name(frame.title());
  }
  bar_.apply(frame, now);
  if (const auto advice = udp_advice()) draw_paragraph(frame, 2, *advice);
  const bool full = repaint_ || !drawn_;
  std::string out;
  // A full repaint starts with a full-screen erase, which some terminals (tmux) move
  // into their scrollback: with the history there, the screen is blanked first.
  if (full && history_screen_) out = history_writer::blank_screen();
  if (full) out += display_.new_frame(false, terminal::framebuffer(frame.width(), frame.height()), frame);
  else if (!(frame == *drawn_)) out = display_.new_frame(true, *drawn_, frame);
  drawn_ = std::move(frame);
  repaint_ = false;
  return out;
}

std::string client_core::take_history() {
  std::string out;
  if (!history_screen_ && transport_.stream_open(extension::history)) {
    // The alternate screen has no scrollback: the session moves to the main screen.
    history_screen_ = true;
    local_profile_.scroll_off_top = false;
    display_ = terminal::display(local_profile_);
    if (config_.term_init && !local_profile_.rmcup.empty()) out = local_profile_.rmcup;
    repaint_ = true;
  }
  auto items = transport_.take_stream_items(extension::history);
  if (items.items.empty()) return out;
  auto lines = history_.take(items, local_profile_, config_.width, config_.height);
  if (!lines.empty()) repaint_ = true;  // the screen was blanked to make room
  return out + lines;
}

time_point client_core::next_deadline(time_point now) {
  time_point t = std::min({transport_.next_deadline(now), bar_.next_change(now), predictor_.next_deadline(now)});
  if (!ever_heard_) t = std::min(t, now + connecting_notice_after);
  t = std::min(t, paths_.next_deadline());
  return std::max(t, now);
}

std::optional<std::string> client_core::udp_advice() const {
  if (!advising_ || ever_heard_) return std::nullopt;
  return udp_silence_paragraph({config_.server.ip, config_.server.port, config_.ssh_host, config_.udp_timeout});
}

status::session_status client_core::status(time_point now) const {
  status::session_status s;
  s.role = "client";
  s.peer_address = config_.server.ip;
  s.peer_port = config_.server.port;
  s.started = started_;
  fill_transport_status(s, transport_);
  s.width = config_.width;
  s.height = config_.height;
  const auto heard = transport_.last_heard();
  s.session_state = status::session_state_name(ever_heard_, s.shutting_down, heard ? now - *heard : steady::duration::max());
  s.last_keystroke = last_keystroke_;
  s.prediction_mode = std::string(overlay::to_string(config_.predict));
  s.predictions_shown = predictor_.stats().made;
  s.predictions_confirmed = predictor_.stats().confirmed;
  s.predictions_wrong = predictor_.stats().wrong;
  status::session_status::transport_status path;
  path.mode = paths_.mode() == transport_mode::udp ? "udp" : paths_.mode() == transport_mode::tcp ? "tcp" : "auto";
  path.in_use = paths_.on_stream() ? "stream" : "udp";
  path.probes = paths_.probes();
  path.stream_retry = paths_.stream_retry_at() == never ? std::nullopt : std::optional<time_point>(paths_.stream_retry_at());
  path.stream_drops = stream_drops_;
  if (!last_stream_failure_.empty()) path.stream_failure = last_stream_failure_;
  for (const auto& w : paths_.switches()) path.switches.push_back({w.at, w.to, w.why});
  s.transport_path = std::move(path);
  return s;
}

}  // namespace mosh2::session
