// The server pipeline (protocol §8.4): receive, pty and signal stages feed one event
// pipe; the session stage owns SSP, the emulator and the echo ack, and decides when
// everything ends.

#include "mosh2/session/server_session.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <variant>

#include <asio/posix/stream_descriptor.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>

#include "mosh2/control/control_socket.hpp"  // control socket wiring (issue 12)
#include "mosh2/control/reject_log.hpp"
#include "mosh2/session/echo_ack.hpp"
#include "mosh2/session/link_core.hpp"
#include "mosh2/session/receive_stage.hpp"
#include "mosh2/session/events.hpp"
#include "mosh2/session/status_report.hpp"
#include "mosh2/session/terminal_state.hpp"
#include "mosh2/session/utmp_record.hpp"
#include "mosh2/session/udp_socket.hpp"
#include "mosh2/ssp/endpoint.hpp"
#include "mosh2/ssp/user_stream.hpp"
#include "mosh2/util/io.hpp"

namespace mosh2::session {
namespace {

using namespace asio::experimental::awaitable_operators;
using asio::awaitable;

inline constexpr auto no_client_limit = std::chrono::seconds(60);
/// Without a client state for this long, utmp shows the session as detached again.
inline constexpr auto utmp_detach_after = std::chrono::seconds(30);

using server_event = std::variant<std::monostate, peer_instruction, byte_chunk, caught_signal, tick>;  // monostate: channels need a default
using event_pipe = io::pipe<server_event>;

class server_pipeline : public control::control_handler {  // control socket wiring (issue 12)
public:
  server_pipeline(asio::io_context& ctx, asio::ip::udp::socket socket, server_config config)
      : ctx_(ctx),
        config_(std::move(config)),
        socket_(std::move(socket)),
        link_(datagram::role::server, config_.key, steady::now()),
        ssp_(terminal_state(config_.width, config_.height), ssp::user_stream{}, steady::now(),
             ssp::sender_options{ssp::server_send_mindelay, false, {}}),
        pty_(config_.program),
        pty_io_(ctx, ::dup(pty_.master_fd())),
        utmp_(pty_.master_fd(), detached_host(::getpid())),
        signals_(ctx, SIGTERM, SIGINT, SIGUSR1),
        deadline_(ctx),
        events_(ctx, 256),
        to_pty_(ctx, 256),
        started_(steady::now()) {
    link_.datagram().set_address_family(socket_.local_endpoint().address().is_v4()
                                            ? datagram::address_family::ipv4
                                            : datagram::address_family::ipv6);
  }

  awaitable<void> run() {
    co_await (receive_stage() && pty_read_stage() && pty_write_stage() &&
              forward_signals<server_event>(signals_, events_) &&
              forward_deadlines<server_event>(deadline_, events_) && session_stage() &&
              control::serve_control(control_.acceptor(), *this));  // control socket wiring (issue 12)
  }

  int exit_status() const { return exit_status_; }

private:
  void log(const std::string& line) {
    if (config_.verbosity > 0) std::fprintf(stderr, "%s\n", line.c_str());
  }

  // -- stages that feed the event pipe -------------------------------------------------

  awaitable<void> receive_stage() {
    auto follow_roaming = [this](const received_datagram& d, const link_core::arrival& a) {
      if (!a.in_order || (peer_ && *peer_ == d.from)) return;
      // Roaming: replies go to the newest authentic source (protocol §4.3).
      peer_ = d.from;
      link_.datagram().set_address_family(d.from.address().is_v4() ? datagram::address_family::ipv4
                                                                     : datagram::address_family::ipv6);
      log(fmt::format("Server now attached to client at {}:{}", d.from.address().to_string(), d.from.port()));
    };
    // control socket wiring (issue 12): rejected datagrams go to the reject log.
    auto reject = [this](const received_datagram& d) {
      rejects_.record(d.from.address().to_string(), d.from.port(), drop_names_.newest(link_), steady::now());
    };
    co_await receive_datagrams<server_event>(socket_, link_, events_, follow_roaming, reject);
  }

  awaitable<void> pty_read_stage() {
    std::string buf(16384, '\0');
    while (events_.is_open()) {  // see forward_signals: no new wait after the end
      auto [ec, n] = co_await pty_io_.async_read_some(asio::buffer(buf), io::use_nothrow);
      // EIO after the last writer closes is the pty's end of file.
      const bool eof = static_cast<bool>(ec);
      server_event e{byte_chunk(buf.substr(0, n), eof)};
      auto [sec] = co_await events_.async_send(asio::error_code{}, std::move(e), io::use_nothrow);
      if (sec || eof) co_return;
    }
  }

  awaitable<void> pty_write_stage() {
    for (;;) {
      auto [ec, data] = co_await to_pty_.async_receive(io::use_nothrow);
      if (ec || !events_.is_open()) co_return;
      auto [wec, n] = co_await asio::async_write(pty_io_, asio::buffer(data), io::use_nothrow);
      (void)n;
      if (wec) co_return;  // the program is gone; the read stage reports the end
    }
  }



  // -- the session ----------------------------------------------------------------------

  awaitable<void> session_stage() {
    for (;;) {
      auto now = steady::now();
      sync_sender(now);
      if (auto inst = ssp_.tick(now)) send(*inst, now);
      if (should_exit(now)) break;
      if (status_.due(now)) report_status(now);

      deadline_.expires_at(next_wakeup(now));
      auto [ec, event] = co_await events_.async_receive(io::use_nothrow);
      if (ec) break;
      now = steady::now();
      std::visit([&](auto& e) { handle(e, now); }, event);
      status_.touch();
      check_timeouts(now);
    }
    shut_down_stages();
  }

  time_point next_wakeup(time_point now) {
    time_point t = std::min({ssp_.next_deadline(now), echo_.next_deadline(), status_.next_deadline()});
    if (!ever_heard_ || ssp_.outgoing().shutdown_in_progress()) t = std::min(t, now + std::chrono::seconds(5));
    if (!ever_heard_) t = std::min(t, started_ + no_client_limit);
    if (config_.network_timeout && ever_heard_) t = std::min(t, last_client_state_ + *config_.network_timeout);
    if (utmp_attached_) t = std::min(t, last_client_state_ + utmp_detach_after);
    if (auto heard = link_.datagram().last_heard(); config_.idle_timeout && heard)  // --idle-timeout (issue 12)
      t = std::min(t, *heard + *config_.idle_timeout);
    t = std::min(t, rejects_.next_due());  // reject log summaries (issue 12)
    return std::max(t, now);
  }

  void sync_sender(time_point now) {
    auto& out = ssp_.outgoing();
    const auto ack = echo_.update(now);
    if (ack != out.current_state().echo_ack()) out.current_state().set_echo_ack(ack);
    out.set_rtt(link_.datagram().srtt_ms(), link_.datagram().rto());
    if (peer_ && link_.datagram().association_expired(now)) {
      log("Server now detached from client.");
      peer_.reset();
    }
    out.set_peer_known(peer_.has_value());
  }

  void report_status(time_point now) {
    if (auto problem = status_.publish(status_now(), now)) log("Status file not written: " + *problem);
  }

  // -- control socket wiring (issue 12) --------------------------------------------------
  session_status status_now() {
    asio::error_code ec;
    auto s = make_status("server", socket_.local_endpoint(ec), peer_, started_, link_, ssp_);
    s.width = ssp_.outgoing().current_state().fb().width();
    s.height = ssp_.outgoing().current_state().fb().height();
    s.command = config_.program.argv;
    s.last_keystroke = last_keystroke_;
    return s;
  }
  std::string status_json() override { return to_json(status_now(), steady::now()); }
  void request_shutdown(std::string reason) override {  // the path SIGTERM takes
    log("Control socket: " + reason);
    server_event e{caught_signal(SIGTERM)};
    events_.try_send(asio::error_code{}, std::move(e));
  }

  void send(const transport::instruction& inst, time_point now) {
    if (!peer_) return;
    for (auto& d : link_.datagrams_for(inst, now)) {
      const int err = send_now(socket_, *peer_, d);
      if (err == EMSGSIZE) link_.datagram().mtu_exceeded();
    }
  }

  void handle(peer_instruction& e, time_point now) {
    const auto before = ssp_.incoming().newest_num();
    ssp_.receive(e.inst, now);
    if (auto rt = ssp_.last_roundtrip_success()) link_.datagram().set_last_roundtrip_success(*rt);
    if (ssp_.incoming().newest_num() == before) return;

    last_client_state_ = now;
    if (peer_ && !utmp_attached_) {
      utmp_.set_host(attached_host(peer_->address().to_string(), ::getpid()));
      utmp_attached_ = true;
    }
    if (!ever_heard_) {
      ever_heard_ = true;
      pty_.start();  // the program runs once someone can see it
    }
    if (ssp_.outgoing().shutdown_in_progress()) return;
    auto events = ssp::take_new_events(ssp_.incoming());
    if (events.empty()) return;
    apply_user_events(events);
    if (std::any_of(events.begin(), events.end(), [](const auto& ev) { return std::holds_alternative<ssp::user_byte>(ev); }))
      last_keystroke_ = now;  // control socket wiring (issue 12)
    echo_.record(ssp_.incoming().newest_num(), now);
  }

  void apply_user_events(const std::vector<ssp::user_event>& events) {
    auto& emu = ssp_.outgoing().current_state().emulator();
    std::string keys;
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (auto* b = std::get_if<ssp::user_byte>(&events[i])) {
        keys.push_back(b->value);
        continue;
      }
      // Only the last of consecutive resizes counts (protocol §8.4).
      if (i + 1 < events.size() && std::holds_alternative<transport::resize>(events[i + 1])) continue;
      flush_keys(keys);
      const auto& r = std::get<transport::resize>(events[i]);
      if (r.width < 1 || r.height < 1 || r.width > 4096 || r.height > 4096) continue;
      emu.resize(r.width, r.height);
      pty_.resize(r.width, r.height);
    }
    flush_keys(keys);
  }

  void flush_keys(std::string& keys) {
    if (keys.empty()) return;
    auto translated = ssp_.outgoing().current_state().emulator().translate_input(keys);
    to_pty_.try_send(asio::error_code{}, std::move(translated));
    keys.clear();
  }

  void handle(byte_chunk& e, time_point now) {
    if (!e.data.empty() && !ssp_.outgoing().shutdown_in_progress()) {
      auto& emu = ssp_.outgoing().current_state().emulator();
      emu.write(e.data);
      if (auto replies = emu.take_replies(); !replies.empty()) to_pty_.try_send(asio::error_code{}, std::move(replies));
    }
    if (e.eof) begin_shutdown(now, "the session's program exited");
  }

  void handle(std::monostate&, time_point) {}
  void handle(tick&, time_point) {}  // the loop recomputes everything each turn

  void handle(caught_signal& e, time_point now) {
    if (e.signo == SIGUSR1) {
      const bool idle_long_enough =
          !config_.signal_timeout || !ever_heard_ || now - last_client_state_ >= *config_.signal_timeout;
      if (!idle_long_enough) return;
    }
    begin_shutdown(now, fmt::format("signal {}", e.signo));
  }

  void check_timeouts(time_point now) {
    rejects_.tick(now);  // reject log summaries (issue 12)
    if (utmp_attached_ && now - last_client_state_ >= utmp_detach_after) {
      utmp_.set_host(detached_host(::getpid()));
      utmp_attached_ = false;
    }
    if (!ever_heard_ && now - started_ >= no_client_limit) {
      log("No connection within 60 seconds.");
      quit_now_ = true;
    }
    if (config_.network_timeout && ever_heard_ && now - last_client_state_ >= *config_.network_timeout)
      begin_shutdown(now, fmt::format("Network idle for {} seconds.", config_.network_timeout->count()));
    if (auto heard = link_.datagram().last_heard(); config_.idle_timeout && heard && now - *heard >= *config_.idle_timeout)
      begin_shutdown(now, fmt::format("Client not heard for {} seconds (--idle-timeout).",  // issue 12
                                      config_.idle_timeout->count()));
  }

  void begin_shutdown(time_point now, const std::string& why) {
    if (ssp_.outgoing().shutdown_in_progress()) return;
    log("Shutting down: " + why);
    // Without a client there is nobody to say goodbye to.
    if (!peer_) {
      quit_now_ = true;
      return;
    }
    ssp_.outgoing().start_shutdown(now);
  }

  bool should_exit(time_point now) {
    const auto& out = ssp_.outgoing();
    if (quit_now_) return true;
    if (out.counterparty_shutdown_ack_sent()) return true;
    if (out.shutdown_in_progress() && (out.shutdown_acknowledged() || out.shutdown_ack_timed_out(now))) {
      if (!out.shutdown_acknowledged()) exit_status_ = 1;
      return true;
    }
    return false;
  }

  void shut_down_stages() {
    events_.close();
    deadline_.cancel();
    to_pty_.close();
    asio::error_code ignored;
    socket_.cancel(ignored);
    pty_io_.cancel(ignored);
    signals_.cancel(ignored);
    control_.close();  // control socket wiring (issue 12)
    pty_.hang_up();
  }

  asio::io_context& ctx_;
  server_config config_;
  asio::ip::udp::socket socket_;
  link_core link_;
  ssp::endpoint<terminal_state, ssp::user_stream> ssp_;
  pty_process pty_;
  asio::posix::stream_descriptor pty_io_;
  utmp_record utmp_;
  bool utmp_attached_ = false;
  asio::signal_set signals_;
  asio::steady_timer deadline_;
  event_pipe events_;
  io::pipe<std::string> to_pty_;
  echo_ack_tracker echo_;
  std::optional<asio::ip::udp::endpoint> peer_;
  status_reporter status_;
  time_point started_;
  time_point last_client_state_{};
  bool ever_heard_ = false;
  bool quit_now_ = false;
  int exit_status_ = 0;
  // control socket wiring (issue 12)
  control::control_endpoint control_{ctx_, status_directories(), ::getpid()};
  control::reject_logger rejects_{config_.verbosity > 0};
  drop_namer drop_names_;
  std::optional<time_point> last_keystroke_;
};

}  // namespace

int run_server_session(asio::io_context& ctx, asio::ip::udp::socket socket, server_config config) {
  server_pipeline pipeline(ctx, std::move(socket), std::move(config));
  std::exception_ptr failure;
  asio::co_spawn(ctx, [&]() { return pipeline.run(); }, [&](std::exception_ptr e) { failure = e; });
  ctx.run();
  if (failure) std::rethrow_exception(failure);
  return pipeline.exit_status();
}

}  // namespace mosh2::session
