// The server's side of the session (protocol §8.4): the UDP socket, the pty (one stage
// reads it, one writes what the core hands out, in order) and the signals feed the
// session runner's event pipe; each event goes to server_core and what it asks for is
// carried out here. Nothing here decides anything about the protocol.

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
#include <asio/write.hpp>
#include <fmt/format.h>

#include "mosh2/control/control_socket.hpp"
#include "mosh2/control/reject_log.hpp"
#include "mosh2/session/events.hpp"
#include "mosh2/session/key_rotation.hpp"
#include "mosh2/session/terminal_mode.hpp"
#include "mosh2/session/server_core.hpp"
#include "mosh2/session/session_runner.hpp"
#include "mosh2/status/session_status.hpp"
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

using server_io_event = std::variant<std::monostate, datagram_in, byte_chunk, caught_signal, tick, program_op_done,
                                     shutdown_request, key_rotation>;  // monostate: channels need a default
using event_pipe = io::pipe<server_io_event>;


int dup_cloexec(int fd) {
  const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw std::system_error(errno, std::generic_category(), "dup of the pty");
  return copy;
}

/// What the program's line discipline turns into signals (the master reports the
/// slave's settings).
program_tty read_program_tty(int master) {
  program_tty p;
  auto& c = p.chars;
  termios t {};
  if (::tcgetattr(master, &t) != 0) return p;
  c.isig = (t.c_lflag & ISIG) != 0;
  c.intr = static_cast<char>(t.c_cc[VINTR]);
  c.quit = static_cast<char>(t.c_cc[VQUIT]);
  c.susp = static_cast<char>(t.c_cc[VSUSP]);
  p.canonical = (t.c_lflag & ICANON) != 0;
  p.echo = (t.c_lflag & ECHO) != 0;
  return p;
}

/// The server's side of the session runner: the UDP socket, the pty (one stage reads
/// it, one writes what the core hands out, in order), utmp, the signals and the reject
/// log, around server_core.
class server_program {
public:
  using event = server_io_event;

  server_program(asio::io_context& ctx, asio::ip::udp::socket socket, server_config config)
      : verbosity_(config.verbosity),
        core_(core_config(config), steady::now()),
        socket_(std::move(socket)),
        pty_(config.program),
        pty_io_(ctx, dup_cloexec(pty_.master_fd())),
        utmp_(pty_.master_fd(), os::detached_host(::getpid())),
        signals_(ctx, SIGTERM, SIGINT, SIGUSR1),
        to_pty_(ctx, 1),
        rejects_(config.verbosity > 0),
        end_datagram_(std::move(config.end_datagram)) {}

  awaitable<void> stages(event_pipe& events) {
    events_ = &events;
    co_await (receive_datagrams<event>(socket_, events) && read_bytes<event>(pty_io_, events) &&
              pty_write_stage() && forward_signals<event>(signals_, events));
  }

  bool handle(event& e, time_point now) {
    return std::visit([&](auto& x) { return on(x, now); }, e);
  }

  turn_outcome turn(time_point now) {
    // Once a turn, not per byte: one ioctl, and only for a client that reads the modes.
    if (core_.wants_program_mode()) (void)core_.handle(read_program_tty(pty_.master_fd()), now);
    auto a = core_.handle(session::turn{}, now);
    for (auto& d : a.datagrams) {
      if (!peer_endpoint_) break;
      if (const int err = os::send_now(socket_, *peer_endpoint_, d)) carry_out(core_.handle(send_result{err}, now));
    }
    if (a.start_program) pty_.start();  // the program runs once someone can see it
    if (a.utmp)
      utmp_.set_host(a.utmp->client_ip ? os::attached_host(*a.utmp->client_ip, ::getpid()) : os::detached_host(::getpid()));
    if (a.next_op) to_pty_.try_send(asio::error_code{}, std::move(*a.next_op));
    carry_out(a);
    rejects_.tick(now);
    if (!core_.peer()) peer_endpoint_.reset();
    return turn_outcome{a.exit, a.deadline};
  }

  status::session_status status(time_point now) const {
    auto s = core_.status(now);
    s.pid = ::getpid();
    asio::error_code ec;
    const auto local = socket_.local_endpoint(ec);
    s.local_address = local.address().to_string();
    s.local_port = local.port();
    return s;
  }

  void log(const std::string& line) const {
    if (verbosity_ > 0) std::fprintf(stderr, "%s\n", line.c_str());
  }
  time_point next_due() const { return rejects_.next_due(); }
  int session_scope() const { return 0; }  // nothing to hold: the server has no terminal

  void shut_down() {
    // The relays between here and the client end with the session. The newest peer is
    // kept for this even after the core forgot a silent client: its relay may still run.
    // Three copies: one lost would leave the relays to their idle timeout, and a relay
    // that already ended makes the later ones an ICMP error nobody reads.
    if (end_datagram_ && newest_peer_)
      for (int copy = 0; copy < 3; ++copy) (void)os::send_now(socket_, *newest_peer_, *end_datagram_);
    to_pty_.close();
    asio::error_code ignored;
    socket_.cancel(ignored);
    pty_io_.cancel(ignored);
    signals_.cancel(ignored);
    pty_.hang_up();
  }

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
      if (ec || !events_->is_open()) co_return;
      if (const auto* w = std::get_if<pty_write>(&op)) {
        auto [wec, n] = co_await asio::async_write(pty_io_, asio::buffer(w->data), io::use_nothrow);
        (void)n;
        if (wec) co_return;  // the program is gone; the read stage reports the end
      } else {
        const auto& r = std::get<pty_resize>(op);
        pty_.resize(r.width, r.height);
      }
      event done{program_op_done()};
      auto [sec] = co_await events_->async_send(asio::error_code{}, std::move(done), io::use_nothrow);
      if (sec) co_return;
    }
  }

  bool on(datagram_in& e, time_point now) {
    // Signal characters can only be recognised with the line discipline's settings.
    if (!core_.program_queue().idle()) (void)core_.handle(read_program_tty(pty_.master_fd()), now);
    const auto from = to_peer(e.d.from);
    auto a = core_.handle(incoming_datagram{e.d.payload, from, e.d.truncated, e.d.congestion}, now);
    // What fails authentication goes to the reject log (syslog; fail2ban reads it); a
    // client that still holds a rotated key is no attacker.
    if (!a.datagram.authentic && !a.datagram.old_key)
      rejects_.record(from.ip, drop_names_.newest(core_.transport().link()), now);
    if (core_.peer() && *core_.peer() == from) peer_endpoint_ = newest_peer_ = e.d.from;
    // The notice to a displaced client goes back where its datagram came from.
    for (const auto& d : a.datagram.reply) (void)os::send_now(socket_, e.d.from, d);
    carry_out(a);
    return a.news;
  }
  bool on(byte_chunk& e, time_point now) {
    carry_out(core_.handle(program_output{e.data}, now));
    if (!e.eof) return true;
    if (e.error) log(fmt::format("Reading the pty: {}", e.error.message()));
    carry_out(core_.handle(program_ended{}, now));
    return true;
  }
  bool on(caught_signal& e, time_point now) { return carry_out(core_.handle(signal_received{e.signo}, now)); }
  bool on(program_op_done&, time_point now) { return carry_out(core_.handle(program_op_finished{}, now)); }
  bool on(shutdown_request& e, time_point now) {
    return carry_out(core_.handle(shutdown_requested{"control socket: " + e.reason}, now));
  }
  bool on(key_rotation& e, time_point now) {
    auto a = core_.handle(rekey_requested{e.key}, now);
    peer_endpoint_.reset();
    return carry_out(a);
  }
  bool on(tick&, time_point) { return false; }
  bool on(std::monostate&, time_point) { return false; }

  /// What every event may ask for at once: signals ahead of queued input, log lines.
  bool carry_out(const server_actions& a) {
    for (auto s : a.program_signals) ::ioctl(pty_.master_fd(), TIOCSIG, s.signo);
    for (const auto& line : a.log) log(line);
    return a.news;
  }

  int verbosity_;
  server_core core_;
  asio::ip::udp::socket socket_;
  std::optional<asio::ip::udp::endpoint> peer_endpoint_;
  std::optional<asio::ip::udp::endpoint> newest_peer_;  ///< not forgotten: where the end datagram goes
  os::pty_process pty_;
  asio::posix::stream_descriptor pty_io_;
  os::utmp_record utmp_;
  asio::signal_set signals_;
  io::pipe<program_op> to_pty_;
  event_pipe* events_ = nullptr;
  control::reject_logger rejects_;
  status::drop_namer drop_names_;
  std::optional<std::string> end_datagram_;
};

}  // namespace

int run_server_session(asio::io_context& ctx, asio::ip::udp::socket socket, server_config config) {
  server_program program(ctx, std::move(socket), std::move(config));
  return run_session(ctx, program);
}

}  // namespace mosh2::session
