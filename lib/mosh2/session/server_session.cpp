// The server's stages around server_core (protocol §8.4): the UDP socket, the pty
// (one stage reads it, one writes what the core hands out, in order) and the signals
// feed one event pipe; the session stage gives each event to the core and carries out
// what the core asks for. Nothing here decides anything about the protocol.

#include "mosh2/session/server_session.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <variant>

#include <asio/posix/stream_descriptor.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>

#include "mosh2/control/control_socket.hpp"
#include "mosh2/control/reject_log.hpp"
#include "mosh2/session/events.hpp"
#include "mosh2/session/server_core.hpp"
#include "mosh2/status/document.hpp"
#include "mosh2/status/session_status.hpp"
#include "mosh2/status/status_file.hpp"
#include "mosh2/os/udp_socket.hpp"
#include "mosh2/os/utmp_record.hpp"
#include "mosh2/util/io.hpp"

namespace mosh2::session {
namespace {

using namespace asio::experimental::awaitable_operators;
using asio::awaitable;

/// The pty writer finished the operation the core handed out.
struct program_op_done {
  program_op_done() = default;
};

using server_event = std::variant<std::monostate, datagram_in, byte_chunk, caught_signal, tick,
                                  program_op_done>;  // monostate: channels need a default
using event_pipe = io::pipe<server_event>;


int dup_cloexec(int fd) {
  const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw std::system_error(errno, std::generic_category(), "dup of the pty");
  return copy;
}

/// What the program's line discipline turns into signals (the master reports the
/// slave's settings).
tty_signal_chars read_signal_chars(int master) {
  tty_signal_chars c;
  termios t {};
  if (::tcgetattr(master, &t) != 0) return c;
  c.isig = (t.c_lflag & ISIG) != 0;
  c.intr = static_cast<char>(t.c_cc[VINTR]);
  c.quit = static_cast<char>(t.c_cc[VQUIT]);
  c.susp = static_cast<char>(t.c_cc[VSUSP]);
  return c;
}

class server_pipeline : public control::control_handler {
public:
  server_pipeline(asio::io_context& ctx, asio::ip::udp::socket socket, server_config config)
      : verbosity_(config.verbosity),
        core_(core_config(config), steady::now()),
        socket_(std::move(socket)),
        pty_(config.program),
        pty_io_(ctx, dup_cloexec(pty_.master_fd())),
        utmp_(pty_.master_fd(), os::detached_host(::getpid())),
        signals_(ctx, SIGTERM, SIGINT, SIGUSR1),
        timer_(ctx),
        deadline_(timer_),
        events_(ctx, 256),
        to_pty_(ctx, 1),
        control_(ctx, status::status_directories(), ::getpid()),
        rejects_(config.verbosity > 0) {}

  awaitable<void> run() {
    co_await (receive_datagrams<server_event>(socket_, events_) && read_bytes<server_event>(pty_io_, events_) &&
              pty_write_stage() && forward_signals<server_event>(signals_, events_) &&
              forward_deadlines<server_event>(timer_, events_) && session_stage() &&
              control::serve_control(control_.acceptor(), *this));
  }

  int exit_status() const { return exit_status_; }

private:
  static server_core_config core_config(const server_config& c) {
    server_core_config s = c.core;
    s.command = c.program.argv;
    return s;
  }

  /// Carries out the core's pty operations one at a time, in order; a write waits as
  /// long as the program does not read.
  awaitable<void> pty_write_stage() {
    for (;;) {
      auto [ec, op] = co_await to_pty_.async_receive(io::use_nothrow);
      if (ec || !events_.is_open()) co_return;
      if (const auto* w = std::get_if<pty_write>(&op)) {
        auto [wec, n] = co_await asio::async_write(pty_io_, asio::buffer(w->data), io::use_nothrow);
        (void)n;
        if (wec) co_return;  // the program is gone; the read stage reports the end
      } else {
        const auto& r = std::get<pty_resize>(op);
        pty_.resize(r.width, r.height);
      }
      server_event done{program_op_done()};
      auto [sec] = co_await events_.async_send(asio::error_code{}, std::move(done), io::use_nothrow);
      if (sec) co_return;
    }
  }

  awaitable<void> session_stage() {
    for (;;) {
      const auto now = steady::now();
      carry_out(now);
      if (auto status = core_.finished(now)) {
        exit_status_ = *status;
        break;
      }
      if (status_.due(now)) report_status(now);
      deadline_.arm(std::min({core_.next_deadline(now), status_wakeup(status_), rejects_.next_due()}));

      auto [ec, event] = co_await events_.async_receive(io::use_nothrow);
      if (ec) break;
      handle(event);
      drain_queued(events_, events_per_turn, [&](server_event& e) { handle(e); });
    }
    shut_down_stages();
  }

  void handle(server_event& event) {
    const auto now = steady::now();
    std::visit([&](auto& e) { handle(e, now); }, event);
    // Datagrams decide for themselves; a timer tick (a heartbeat going out) moves only
    // counters; everything else is news for the status file.
    if (std::holds_alternative<tick>(event)) status_.touch_idle();
    else if (!std::holds_alternative<datagram_in>(event)) status_.touch();
  }

  void handle(datagram_in& e, time_point now) {
    // Signal characters can only be recognised with the line discipline's settings.
    if (!core_.program_queue().idle()) core_.set_signal_chars(read_signal_chars(pty_.master_fd()));
    const auto from = to_peer(e.d.from);
    const auto outcome = core_.datagram(e.d.payload, from, now, e.d.truncated, e.d.congestion);
    // What fails authentication goes to the reject log (syslog; fail2ban reads it).
    if (!outcome.authentic) rejects_.record(from.ip, from.port, drop_names_.newest(core_.transport().link()), now);
    const bool news = !outcome.authentic || outcome.roamed || outcome.held_back || core_.last_keystroke() == now;
    if (news) status_.touch();
    else status_.touch_idle();
    if (core_.peer() && *core_.peer() == from) peer_endpoint_ = e.d.from;
  }
  void handle(byte_chunk& e, time_point now) {
    core_.program_output(e.data, now);
    if (!e.eof) return;
    if (e.error) log(fmt::format("Reading the pty: {}", e.error.message()));
    core_.program_ended(now);
  }
  void handle(caught_signal& e, time_point now) { core_.signal(e.signo, now); }
  void handle(program_op_done&, time_point now) { core_.program_op_done(now); }
  void handle(tick&, time_point) {}
  void handle(std::monostate&, time_point) {}

  /// Everything the core asked for since the last turn.
  void carry_out(time_point now) {
    for (auto& d : core_.take_datagrams(now)) {
      if (!peer_endpoint_) break;
      if (const int err = os::send_now(socket_, *peer_endpoint_, d)) core_.send_failed(err, now);
    }
    if (core_.take_start_program()) pty_.start();  // the program runs once someone can see it
    for (auto s : core_.take_program_signals()) ::ioctl(pty_.master_fd(), TIOCSIG, s.signo);
    if (auto change = core_.take_utmp_change())
      utmp_.set_host(change->client_ip ? os::attached_host(*change->client_ip, ::getpid()) : os::detached_host(::getpid()));
    if (auto op = core_.next_program_op()) to_pty_.try_send(asio::error_code{}, std::move(*op));
    for (auto& line : core_.take_log()) log(line);
    rejects_.tick(now);
    if (!core_.peer() && peer_endpoint_) {
      peer_endpoint_.reset();
      status_.touch();  // the client is forgotten: news for readers of the file
    }
  }

  status::session_status status_now(time_point now) const {
    auto s = core_.status(now);
    s.pid = ::getpid();
    asio::error_code ec;
    const auto local = socket_.local_endpoint(ec);
    s.local_address = local.address().to_string();
    s.local_port = local.port();
    return s;
  }

  void report_status(time_point now) {
    if (auto problem = status_.publish(status_now(now), now)) log("Status file not written: " + *problem);
  }

  // -- the control socket (mosh2-status) ---------------------------------------------------

  std::string status_json() override {
    const auto now = steady::now();
    return status::to_json(status_now(now), now);
  }
  /// `mosh2-status kill`: the path SIGTERM takes, so a connected client sees the
  /// normal shutdown.
  void request_shutdown(std::string reason) override {
    core_.shutdown_request("control socket: " + reason, steady::now());
    events_.try_send(asio::error_code{}, server_event{tick{}});
  }

  void log(const std::string& line) {
    if (verbosity_ > 0) std::fprintf(stderr, "%s\n", line.c_str());
  }

  void shut_down_stages() {
    events_.close();
    timer_.cancel();
    to_pty_.close();
    asio::error_code ignored;
    socket_.cancel(ignored);
    pty_io_.cancel(ignored);
    signals_.cancel(ignored);
    control_.close();
    pty_.hang_up();
  }

  int verbosity_;
  server_core core_;
  asio::ip::udp::socket socket_;
  std::optional<asio::ip::udp::endpoint> peer_endpoint_;
  os::pty_process pty_;
  asio::posix::stream_descriptor pty_io_;
  os::utmp_record utmp_;
  asio::signal_set signals_;
  asio::steady_timer timer_;
  session_deadline deadline_;
  event_pipe events_;
  io::pipe<program_op> to_pty_;
  status::status_reporter status_;
  control::control_endpoint control_;
  control::reject_logger rejects_;
  status::drop_namer drop_names_;
  int exit_status_ = 0;
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
