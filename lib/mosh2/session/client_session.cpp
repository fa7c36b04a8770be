// The client pipeline (protocol §8.5): socket, keyboard and signal stages feed one
// event pipe; the session stage owns SSP and the display, and restores the terminal
// on every way out.

#include "mosh2/session/client_session.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <list>
#include <variant>

#include <asio/posix/stream_descriptor.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <fmt/format.h>

#include "mosh2/control/control_socket.hpp"  // control socket wiring (issue 12)
#include "mosh2/overlay/notification_bar.hpp"
#include "mosh2/session/link_core.hpp"
#include "mosh2/session/receive_stage.hpp"
#include "mosh2/session/events.hpp"
#include "mosh2/session/status_report.hpp"
#include "mosh2/session/local_terminal.hpp"
#include "mosh2/session/terminal_state.hpp"
#include "mosh2/session/udp_socket.hpp"
#include "mosh2/ssp/endpoint.hpp"
#include "mosh2/ssp/user_stream.hpp"
#include "mosh2/terminal/display.hpp"
#include "mosh2/util/io.hpp"

namespace mosh2::session {
namespace {

using namespace asio::experimental::awaitable_operators;
using asio::awaitable;

inline constexpr auto connecting_notice_after = 250ms;
inline constexpr auto connect_give_up_after = std::chrono::seconds(15);
inline constexpr auto max_old_socket_age = std::chrono::seconds(60);
inline constexpr std::size_t max_sockets = 10;

using client_event = std::variant<std::monostate, peer_instruction, byte_chunk, caught_signal, tick>;  // monostate: channels need a default

/// One UDP socket of the client; it is replaced when the client hops ports.
struct client_socket {
  client_socket(asio::ip::udp::socket s, time_point t) : socket(std::move(s)), opened(t) {}
  asio::ip::udp::socket socket;
  time_point opened;
  bool reader_done = false;
};

class client_pipeline : public control::control_handler {  // control socket wiring (issue 12)
public:
  client_pipeline(asio::io_context& ctx, client_config config, asio::ip::udp::endpoint server,
                  window_size size)
      : ctx_(ctx),
        config_(std::move(config)),
        server_(server),
        link_(datagram::role::client, config_.key, steady::now()),
        ssp_(ssp::user_stream{}, terminal_state(size.width, size.height), steady::now(),
             ssp::sender_options{ssp::client_send_mindelay, true, {}}),
        stdin_(ctx, ::dup(STDIN_FILENO)),
        signals_(ctx, SIGWINCH, SIGTERM, SIGINT),
        deadline_(ctx),
        events_(ctx, 256),
        bar_(config_.escape.quit_hint()),
        display_(terminal::terminal_profile::from_term(config_.term)),
        predictor_(config_.predict, config_.predict_overwrite),
        started_(steady::now()),
        size_(size) {
    link_.datagram().set_address_family(server_.address().is_v4() ? datagram::address_family::ipv4
                                                                   : datagram::address_family::ipv6);
    for (int s : {SIGHUP, SIGPIPE, SIGCONT}) signals_.add(s);
    bar_.server_heard(started_);
    bar_.server_acked(started_);
    // The server learns our size from the first instruction (protocol §7.6).
    ssp_.outgoing().current_state().push_resize(size.width, size.height);
  }

  awaitable<void> run() {
    open_socket(steady::now());
    co_await (keyboard_stage() && forward_signals<client_event>(signals_, events_) &&
              forward_deadlines<client_event>(deadline_, events_) && session_stage() &&
              control::serve_control(control_.acceptor(), *this));  // control socket wiring (issue 12)
  }

  int exit_status() const { return clean_exit_ ? 0 : 1; }
  bool ever_heard() const { return ever_heard_; }

private:
  // -- stages ---------------------------------------------------------------------------

  void open_socket(time_point now) {
    sockets_.emplace_back(open_client_socket(ctx_, server_), now);
    client_socket& s = sockets_.back();
    asio::co_spawn(ctx_, [this, &s]() { return receive_stage(s); },
                   [this](std::exception_ptr e) { if (e && !failure_) failure_ = e; });
    // Never more than ten sockets: the oldest go first.
    std::size_t open = 0;
    for (auto it = sockets_.rbegin(); it != sockets_.rend(); ++it)
      if (it->socket.is_open() && ++open > max_sockets) it->socket.close();
    // A closed socket's entry can go once its reader has stopped using it.
    std::erase_if(sockets_, [](const client_socket& c) { return !c.socket.is_open() && c.reader_done; });
  }

  awaitable<void> receive_stage(client_socket& s) {
    co_await receive_datagrams<client_event>(s.socket, link_, events_,
                                             [this, &s](const received_datagram&, const link_core::arrival&) {
                                               retire_old_sockets(s);
                                             });
    s.reader_done = true;
  }

  /// After a receive on the newest socket, sockets older than a minute are closed.
  void retire_old_sockets(const client_socket& received_on) {
    if (&received_on != &sockets_.back()) return;
    if (steady::now() - received_on.opened < max_old_socket_age) return;
    for (auto& s : sockets_)
      if (&s != &received_on && s.socket.is_open()) s.socket.close();
  }

  awaitable<void> keyboard_stage() {
    std::string buf(16384, '\0');
    while (events_.is_open()) {  // see forward_signals: no new wait after the end
      auto [ec, n] = co_await stdin_.async_read_some(asio::buffer(buf), io::use_nothrow);
      if (ec && io::is_shutdown(ec)) co_return;
      client_event e{byte_chunk(buf.substr(0, n), static_cast<bool>(ec))};
      auto [sec] = co_await events_.async_send(asio::error_code{}, std::move(e), io::use_nothrow);
      if (sec || ec) co_return;
    }
  }



  awaitable<void> session_stage() {
    raw_mode raw(STDIN_FILENO);
    write_all(STDOUT_FILENO, display_.open(config_.term_init));
    for (;;) {
      auto now = steady::now();
      sync_sender(now);
      if (auto inst = ssp_.tick(now)) send(*inst, now);
      if (should_exit(now)) break;
      draw(now);
      if (status_.due(now)) report_status(now);

      deadline_.expires_at(next_wakeup(now));
      auto [ec, event] = co_await events_.async_receive(io::use_nothrow);
      if (ec) break;
      now = steady::now();
      std::visit([&](auto& e) { handle(e, now, raw); }, event);
      status_.touch();
      check_connecting(now);
      if (failure_) break;
    }
    // Give the terminal back exactly as we found it.
    write_all(STDOUT_FILENO, display_.close(config_.term_init));
    raw.restore();
    shut_down_stages();
  }

  time_point next_wakeup(time_point now) {
    time_point t = std::min({ssp_.next_deadline(now), bar_.next_change(now), status_.next_deadline(),
                             predictor_.next_deadline(now)});
    if (!ever_heard_) t = std::min(t, now + 250ms);
    return std::max(t, now);
  }

  void sync_sender(time_point now) {
    auto& out = ssp_.outgoing();
    out.set_rtt(link_.datagram().srtt_ms(), link_.datagram().rto());
    predictor_.set_send_interval(out.send_interval());
    (void)now;
  }

  void report_status(time_point now) {
    // The client has no log; a status file that cannot be written is simply missing.
    (void)status_.publish(status_now(), now);
  }

  // -- control socket wiring (issue 12) --------------------------------------------------
  session_status status_now() {
    asio::error_code ec;
    auto s = make_status("client", sockets_.back().socket.local_endpoint(ec), server_, started_, link_, ssp_);
    s.width = size_.width;
    s.height = size_.height;
    s.last_keystroke = last_keystroke_;
    static constexpr const char* modes[] = {"adaptive", "always", "never", "experimental"};
    s.prediction_mode = modes[static_cast<int>(config_.predict)];
    return s;
  }
  std::string status_json() override { return to_json(status_now(), steady::now()); }
  void request_shutdown(std::string) override {  // the path SIGTERM takes
    client_event e{caught_signal(SIGTERM)};
    events_.try_send(asio::error_code{}, std::move(e));
  }

  void send(const transport::instruction& inst, time_point now) {
    if (link_.datagram().should_hop(now)) {
      open_socket(now);
      link_.datagram().hopped(now);
    }
    auto& s = sockets_.back().socket;
    bool ok = true;
    for (auto& d : link_.datagrams_for(inst, now)) {
      const int err = send_now(s, server_, d);
      if (err == EMSGSIZE) link_.datagram().mtu_exceeded();
      if (err != 0 && err != EAGAIN) {
        bar_.set_network_error(fmt::format("sendto: {}", std::strerror(err)), now);
        ok = false;
      }
    }
    if (ok) bar_.network_ok(now);
  }

  void handle(peer_instruction& e, time_point now, raw_mode&) {
    const auto before = ssp_.incoming().newest_num();
    ssp_.receive(e.inst, now);
    if (auto rt = ssp_.last_roundtrip_success()) {
      link_.datagram().set_last_roundtrip_success(*rt);
      bar_.server_acked(*rt);
    }
    if (ssp_.incoming().newest_num() != before) {
      if (!ever_heard_) bar_.clear_message();
      ever_heard_ = true;
      bar_.server_heard(now);
    }
  }

  void handle(byte_chunk& e, time_point now, raw_mode& raw) {
    auto& out = ssp_.outgoing();
    if (e.eof) {
      begin_shutdown(now, "Exiting...");
      return;
    }
    if (out.shutdown_in_progress()) return;
    last_keystroke_ = now;  // control socket wiring (issue 12)
    // Predictions are made against what the user sees now, before the escape key
    // swallows anything (§8.5 step 4); a paste resets them instead.
    predictor_.set_local_frame_sent(out.sent_num());
    predictor_.new_user_input(e.data, drawn_ ? *drawn_ : ssp_.incoming().newest_state().fb(), now);
    for (char c : e.data) {
      auto r = config_.escape.feed(c);
      if (r.show_help) bar_.set_message(config_.escape.help_text(), now, true, overlay::message_lifetime, false);
      if (r.hide_help) bar_.clear_message();
      if (!r.send.empty()) out.current_state().push_bytes(r.send);
      if (r.act == escape_key::action::quit) {
        begin_shutdown(now, "Exiting on user request...");
        return;
      }
      if (r.act == escape_key::action::suspend) suspend(raw);
      if (c == '\x0c') repaint_ = true;
    }
  }

  void handle(std::monostate&, time_point, raw_mode&) {}
  void handle(tick&, time_point, raw_mode&) {}  // the loop recomputes everything each turn

  void handle(caught_signal& e, time_point now, raw_mode& raw) {
    switch (e.signo) {
      case SIGWINCH:
        if (auto s = query_window_size(STDIN_FILENO); s && !ssp_.outgoing().shutdown_in_progress()) {
          size_ = *s;
          ssp_.outgoing().current_state().push_resize(s->width, s->height);
          predictor_.reset();
          repaint_ = true;
        }
        break;
      case SIGCONT:
        raw.enter();
        write_all(STDOUT_FILENO, display_.open(config_.term_init));
        repaint_ = true;
        break;
      default:
        begin_shutdown(now, "Signal received, shutting down...");
    }
  }

  void suspend(raw_mode& raw) {
    write_all(STDOUT_FILENO, display_.close(config_.term_init));
    write_all(STDOUT_FILENO, "\n\x1b[37;44m[mosh is suspended.]\x1b[m\n");
    raw.restore();
    ::kill(0, SIGSTOP);
    raw.enter();
    write_all(STDOUT_FILENO, display_.open(config_.term_init));
    repaint_ = true;
  }

  void begin_shutdown(time_point now, const std::string& why) {
    if (ssp_.outgoing().shutdown_in_progress()) return;
    bar_.set_message(why, now, true);
    ssp_.outgoing().start_shutdown(now);
  }

  void check_connecting(time_point now) {
    if (ever_heard_) return;
    if (now - started_ >= connect_give_up_after) {
      begin_shutdown(now, "Timed out waiting for server...");
    } else if (now - started_ >= connecting_notice_after && !ssp_.outgoing().shutdown_in_progress()) {
      bar_.set_message(fmt::format("Nothing received from server on UDP port {}.", server_.port()), now, true);
    }
  }

  bool should_exit(time_point now) {
    const auto& out = ssp_.outgoing();
    if (out.counterparty_shutdown_ack_sent()) {
      clean_exit_ = true;
      return true;
    }
    if (out.shutdown_in_progress()) {
      if (out.shutdown_acknowledged()) {
        clean_exit_ = true;
        return true;
      }
      if (out.shutdown_ack_timed_out(now)) return true;
    }
    return false;
  }

  /// The server's newest screen with our overlays (§10: predictions, then the title
  /// prefix and the notification bar), drawn as a diff from what the terminal shows now.
  void draw(time_point now) {
    const terminal_state& server = ssp_.incoming().newest_state();
    terminal::framebuffer frame = server.fb();
    predictor_.set_echo_ack(server.echo_ack());
    predictor_.cull(frame, now);
    predictor_.apply(frame);
    if (config_.title_prefix && frame.title_initialized()) {
      const bool same = frame.icon_name() == frame.title();
      frame.set_title(U"[mosh] " + frame.title());
      if (same) frame.set_icon_name(frame.title());
    }
    bar_.apply(frame, now);
    const bool full = repaint_ || !drawn_;
    const terminal::framebuffer blank(frame.width(), frame.height());
    std::string out = display_.new_frame(!full, full ? blank : *drawn_, frame);
    if (!out.empty()) write_all(STDOUT_FILENO, out);
    drawn_ = std::move(frame);
    repaint_ = false;
  }

  void shut_down_stages() {
    events_.close();
    deadline_.cancel();
    asio::error_code ignored;
    stdin_.cancel(ignored);
    signals_.cancel(ignored);
    control_.close();  // control socket wiring (issue 12)
    for (auto& s : sockets_) s.socket.close(ignored);
  }

  asio::io_context& ctx_;
  client_config config_;
  asio::ip::udp::endpoint server_;
  link_core link_;
  ssp::endpoint<ssp::user_stream, terminal_state> ssp_;
  std::list<client_socket> sockets_;
  asio::posix::stream_descriptor stdin_;
  asio::signal_set signals_;
  asio::steady_timer deadline_;
  io::pipe<client_event> events_;
  overlay::notification_bar bar_;
  terminal::display display_;
  overlay::prediction_engine predictor_;
  std::optional<terminal::framebuffer> drawn_;
  status_reporter status_;
  time_point started_;
  window_size size_;
  bool repaint_ = true;
  bool ever_heard_ = false;
  bool clean_exit_ = false;
  // control socket wiring (issue 12)
  control::control_endpoint control_{ctx_, status_directories(), ::getpid()};
  std::optional<time_point> last_keystroke_;

public:
  std::exception_ptr failure_;
};

}  // namespace

int run_client_session(asio::io_context& ctx, client_config config) {
  asio::error_code ec;
  auto address = asio::ip::make_address(config.host, ec);
  if (ec) throw std::runtime_error(fmt::format("{} is not a numeric IP address", config.host));
  const asio::ip::udp::endpoint server(address, config.port);
  const auto size = query_window_size(STDIN_FILENO).value_or(window_size{80, 24});

  client_pipeline pipeline(ctx, std::move(config), server, size);
  std::exception_ptr failure;
  asio::co_spawn(ctx, [&]() { return pipeline.run(); }, [&](std::exception_ptr e) { failure = e; });
  ctx.run();
  if (failure) std::rethrow_exception(failure);
  if (pipeline.failure_) std::rethrow_exception(pipeline.failure_);
  std::fputs("\n[mosh is exiting.]\n", stdout);
  if (!pipeline.ever_heard())
    std::fprintf(stderr,
                 "mosh did not make a successful connection to %s:%u.\n"
                 "Please verify that UDP port %u is not firewalled and can reach the server.\n\n"
                 "(By default, mosh uses a UDP port between 60000 and 61000. The -p option\n"
                 "selects a specific UDP port number.)\n",
                 server.address().to_string().c_str(), server.port(), server.port());
  else if (pipeline.exit_status() != 0)
    std::fputs("\nmosh did not shut down cleanly. Please note that the\n"
               "mosh-server process may still be running on the server.\n",
               stderr);
  return pipeline.exit_status();
}

}  // namespace mosh2::session
