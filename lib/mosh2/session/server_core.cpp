// The server's session core (protocol §8.4). See server_core.hpp.

#include "mosh2/session/server_core.hpp"

#include "mosh2/session/transport_status.hpp"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <type_traits>
#include <variant>

#include <fmt/format.h>

#include "mosh2/terminal/framebuffer.hpp"
#include "mosh2/terminal/limits.hpp"

namespace mosh2::session {
namespace {

bool is_signal_char(const tty_signal_chars& c, char b) {
  return c.isig && (b == c.intr || b == c.quit || b == c.susp);
}

int signal_for(const tty_signal_chars& c, char b) {
  if (b == c.intr) return SIGINT;
  if (b == c.quit) return SIGQUIT;
  return SIGTSTP;
}

}  // namespace

server_core::server_core(server_core_config config, time_point now)
    : config_(std::move(config)),
      transport_(datagram::role::server, config_.key,
                 terminal_state(config_.width, config_.height,
                                terminal::emulator_options::server(config_.history_lines)),
                 ssp::user_stream{}, now, ssp::sender_options{ssp::server_send_mindelay, false, config_.random},
                 std::nullopt,
                 config_.history_lines ? config_.extensions
                                       : without_extension(config_.extensions, extension::history)),
      to_program_(config_.program_input_cap),
      started_(now) {}

server_actions server_core::handle(const server_event& event, time_point now) {
  server_actions out;
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, incoming_datagram>) {
          out.datagram = datagram(e, now);
          const auto& o = out.datagram;
          out.news = !o.authentic || o.roamed || o.held_back || o.negotiated || last_keystroke_ == now;
          return;
        } else if constexpr (std::is_same_v<E, program_output>) {
          on_program_output(e.data, now);
        } else if constexpr (std::is_same_v<E, program_ended>) {
          begin_shutdown(now, "the session's program exited");
        } else if constexpr (std::is_same_v<E, program_op_finished>) {
          to_program_.done();
        } else if constexpr (std::is_same_v<E, program_tty>) {
          signal_chars_ = e.chars;
          program_mode_ = terminal_mode{e.canonical, e.echo, e.chars.isig, e.chars.intr, e.chars.quit, e.chars.susp, false};
          return;
        } else if constexpr (std::is_same_v<E, signal_received>) {
          signal(e.signo, now);
        } else if constexpr (std::is_same_v<E, shutdown_requested>) {
          begin_shutdown(now, e.why);
        } else if constexpr (std::is_same_v<E, send_result>) {
          send_failed(e.err, now);
          return;
        } else if constexpr (std::is_same_v<E, rekey_requested>) {
          rekey(e.key, now);
        } else {
          take_turn(out, now);
          return;
        }
        out.news = true;
      },
      event);
  out.program_signals = std::exchange(program_signals_, {});
  out.log = std::exchange(log_, {});
  return out;
}

// The end of a turn: what is due now, in the order the stage carries it out.
void server_core::take_turn(server_actions& out, time_point now) {
  auto& local = transport_.local();
  if (const auto ack = echo_.update(now); ack != local.echo_ack()) local.set_echo_ack(ack);
  if (transport_.expire_peer(now)) {
    log("Server now detached from client.");
    out.news = true;  // the client is forgotten: news for readers of the file
  }
  check_timeouts(now);
  report_program_mode(now);
  local.set_extended_styles(transport_.extensions().agreed(extension::extended_styles));
  transport_.next_deadline(now);  // trims what the client acknowledged from the history log
  feed_history();
  out.datagrams = transport_.tick(now);
  if (!out.datagrams.empty()) send_error_logged_ = false;
  out.start_program = std::exchange(start_program_, false);
  out.utmp = std::exchange(utmp_change_, std::nullopt);
  out.next_op = next_program_op();
  out.exit = finished(now);
  out.deadline = next_deadline(now);
}

// The history goes to a client that agreed to it, from where that client is; a client
// that is new since the stream last opened (an attach) starts with the newest lines.
void server_core::feed_history() {
  auto* log = transport_.stream_out(extension::history);
  auto* h = transport_.local().emulator().history();
  if (!log || !h) {
    history_open_ = false;
    return;
  }
  if (!history_open_ || history_rekeys_ != transport_.rekeys()) history_.restart(*h, history_reattach_lines);
  history_open_ = true;
  history_rekeys_ = transport_.rekeys();
  history_.pump(*h, *log);
  // What went out is the client's now: a reflow re-wraps only lines not sent yet.
  h->settle(history_.next());
}

datagram_outcome server_core::datagram(const incoming_datagram& d, time_point now) {
  const auto& from = d.from;
  auto out = transport_.receive(d.wire, from, now, d.truncated, d.congestion,
                                [&](const transport::instruction& inst) { return accept_state(inst); });
  if (out.roamed) log(fmt::format("Server now attached to client at {}:{}", from.ip, from.port));
  if (out.roamed && last_attached_ && !attached_from_) attached_from_ = from.ip;
  if (out.held_back) ++held_back_;
  if (out.instruction != ssp::receive_outcome::newest) return out;

  last_client_state_ = now;
  if (!utmp_attached_) {
    utmp_change_ = utmp_change{from.ip};
    utmp_attached_ = true;
  }
  if (!ever_heard_) {
    ever_heard_ = true;
    start_program_ = true;  // the program runs once someone can see it
  }
  take_user_events(now);
  return out;
}

// While the program is not reading and its queue is full, a new client state is held
// back: SSP on the client keeps it and resends. Its signal characters cannot wait,
// though: they go to the program at once (TIOCSIG), as a terminal's line discipline
// would deliver them, and are not written again when the state is finally taken in.
bool server_core::accept_state(const transport::instruction& inst) {
  if (!to_program_.full() || inst.new_num <= transport_.remote_num() || inst.new_num == transport::shutdown_num)
    return true;
  if (!signal_chars_.isig || transport_.shutting_down()) return false;

  const auto& held = transport_.remote_states();
  auto base = std::find_if(held.begin(), held.end(), [&](const auto& e) { return e.num == inst.old_num; });
  if (base == held.end()) return false;
  auto message = transport::decode_user_message(inst.diff);
  if (!message) return false;
  // The diff appends to `base`; what the newest state already holds was taken in.
  const auto& newest = transport_.remote();
  std::size_t skip = newest.size() - std::min(newest.size(), base->state.size());
  std::size_t seen = 0;
  for (const auto& i : message->instructions) {
    const auto* k = std::get_if<transport::keystroke>(&i);
    if (!k) {
      if (skip) --skip;
      continue;
    }
    for (char b : k->keys) {
      if (skip) {
        --skip;
        continue;
      }
      if (!is_signal_char(signal_chars_, b)) continue;
      if (++seen > signalled_chars_) program_signals_.push_back(program_signal{signal_for(signal_chars_, b)});
    }
  }
  signalled_chars_ = std::max(signalled_chars_, seen);
  return false;
}

void server_core::take_user_events(time_point now) {
  if (transport_.shutting_down()) return;
  auto events = transport_.consume_remote(
      [](const ssp::user_stream& newest, const ssp::user_stream& consumed) { return newest.events_since(consumed); });
  if (events.empty()) return;
  apply_user_events(events);
  // A window size is no keystroke: every client sends one when it connects.
  if (std::any_of(events.begin(), events.end(), [](const auto& e) { return std::holds_alternative<ssp::user_byte>(e); }))
    last_keystroke_ = now;
  echo_.record(transport_.remote_num(), now);
}

void server_core::apply_user_events(const std::vector<ssp::user_event>& events) {
  std::string keys;
  for (const auto& e : events) {
    if (const auto* b = std::get_if<ssp::user_byte>(&e)) {
      // A signal character behind input the program has not read goes ahead of it.
      if (is_signal_char(signal_chars_, b->value)) {
        if (signalled_chars_ > 0) {
          --signalled_chars_;
          continue;
        }
        if (!to_program_.idle()) {
          flush_keys(keys);
          program_signals_.push_back(program_signal{signal_for(signal_chars_, b->value)});
          continue;
        }
      }
      keys.push_back(b->value);
      continue;
    }
    flush_keys(keys);
    const auto& r = std::get<transport::resize>(e);
    if (r.width < 1 || r.height < 1) continue;
    const auto [width, height] = terminal::clamp_screen_size(r.width, r.height);
    to_program_.push_resize(width, height);  // consecutive sizes: the last one wins
  }
  flush_keys(keys);
}

void server_core::flush_keys(std::string& keys) {
  if (keys.empty()) return;
  to_program_.push_bytes(transport_.local().emulator().translate_input(keys));
  keys.clear();
}

std::optional<program_op> server_core::next_program_op() {
  auto op = to_program_.next();
  // The screen takes the new size when the program does, not before its earlier input.
  if (op)
    if (const auto* r = std::get_if<pty_resize>(&*op)) transport_.local().emulator().resize(r->width, r->height);
  return op;
}

void server_core::report_program_mode(time_point now) {
  if (mode_recheck_ && now >= *mode_recheck_) mode_recheck_.reset();
  auto* out = transport_.stream_out(extension::terminal_mode);
  if (!out) {
    mode_reporter_.reset();  // a new stream (after a rekey) starts with the whole mode
    return;
  }
  if (!program_mode_) return;
  auto m = *program_mode_;
  m.alternate_screen = transport_.local().emulator().alternate_screen();
  mode_reporter_.report(m, *out);
}

void server_core::on_program_output(bytes_view data, time_point now) {
  if (data.empty() || transport_.shutting_down()) return;
  if (wants_program_mode() && !mode_recheck_) mode_recheck_ = now + terminal_mode_recheck;
  auto& emu = transport_.local().emulator();
  emu.write(data);
  if (auto replies = emu.take_replies(); !replies.empty()) to_program_.push_bytes(replies);
}

void server_core::signal(int signo, time_point now) {
  if (signo == SIGUSR1) {
    const bool idle_long_enough =
        !config_.signal_timeout || !ever_heard_ || now - last_client_state_ >= *config_.signal_timeout;
    if (!idle_long_enough) return;
  }
  begin_shutdown(now, fmt::format("signal {}", signo));
}

void server_core::rekey(const crypto::session_key& key, time_point now) {
  transport_.rekey(key, now);
  // Echo acks count the old client's keystroke states; the new client's start at 0.
  echo_ = echo_ack_tracker{};
  signalled_chars_ = 0;
  ++attaches_;
  last_attached_ = now;
  attached_from_.reset();
  mode_reporter_.reset();
  log("Session key rotated: the old key is no longer accepted.");
}

void server_core::send_failed(int err, time_point) {
  if (err == EMSGSIZE) {
    transport_.send_too_big();
    return;
  }
  if (err == EAGAIN || err == EWOULDBLOCK || send_error_logged_) return;
  // Transient while roaming (ENETUNREACH and friends): SSP retransmits; say it once.
  send_error_logged_ = true;
  log(fmt::format("sendto: {}", std::strerror(err)));
}

void server_core::check_timeouts(time_point now) {
  if (utmp_attached_ && now - last_client_state_ >= utmp_detach_after) {
    utmp_change_ = utmp_change{};
    utmp_attached_ = false;
  }
  if (!ever_heard_ && now - started_ >= config_.first_contact_limit) {
    log(fmt::format("No connection within {} seconds.", config_.first_contact_limit.count()));
    quit_now_ = true;
  }
  if (!ever_heard_) return;
  if (config_.network_timeout && now - last_client_state_ >= *config_.network_timeout)
    begin_shutdown(now, fmt::format("Network idle for {} seconds.", config_.network_timeout->count()));
  if (config_.idle_timeout && now - last_client_state_ >= *config_.idle_timeout)
    begin_shutdown(now, fmt::format("Client not heard for {} seconds (--idle-timeout).", config_.idle_timeout->count()));
}

void server_core::begin_shutdown(time_point now, const std::string& why) {
  if (transport_.shutting_down() || quit_now_) return;
  log("Shutting down: " + why);
  // Without a client there is nobody to say goodbye to.
  if (!transport_.peer()) {
    quit_now_ = true;
    return;
  }
  transport_.start_shutdown(now);
}

std::optional<int> server_core::finished(time_point now) {
  if (quit_now_) return 0;
  return transport_.shutdown_result(now);
}

time_point server_core::next_deadline(time_point now) {
  time_point t = std::min(transport_.next_deadline(now), echo_.next_deadline());
  if (mode_recheck_) t = std::min(t, *mode_recheck_);
  if (!ever_heard_) t = std::min(t, started_ + config_.first_contact_limit);
  if (ever_heard_ && config_.network_timeout) t = std::min(t, last_client_state_ + *config_.network_timeout);
  if (ever_heard_ && config_.idle_timeout) t = std::min(t, last_client_state_ + *config_.idle_timeout);
  if (utmp_attached_) t = std::min(t, last_client_state_ + utmp_detach_after);
  if (transport_.peer()) t = std::min(t, transport_.peer_expiry());
  return std::max(t, now);
}

status::session_status server_core::status(time_point now) const {
  status::session_status s;
  s.role = "server";
  if (const auto& p = transport_.peer()) {
    s.peer_address = p->ip;
    s.peer_port = p->port;
  }
  s.started = started_;
  fill_transport_status(s, transport_);
  s.width = screen().width();
  s.height = screen().height();
  s.session_state = status::session_state_name(ever_heard_, s.shutting_down, now - last_client_state_);
  s.last_keystroke = last_keystroke_;
  s.command = config_.command;
  s.name = config_.name;
  s.attaches = attaches_;
  s.last_attached = last_attached_;
  s.attached_from = attached_from_;
  s.program_input = {.queued_bytes = to_program_.queued_bytes(), .cap_bytes = to_program_.cap(),
                     .held_back_instructions = held_back_};
  return s;
}

}  // namespace mosh2::session
