// The client's stages around client_core (protocol §8.5): the keyboard, the UDP
// sockets (a set that grows when the client hops ports) and the signals feed one
// event pipe; the session stage gives each event to the core and carries out what the
// core asks for: datagrams, screen updates, suspend. It owns the user's terminal
// through a terminal_guard, so every way out restores it.

#include "mosh2/session/client_session.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <list>
#include <variant>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <fmt/format.h>

#include "mosh2/control/control_socket.hpp"
#include "mosh2/session/client_core.hpp"
#include "mosh2/session/events.hpp"
#include "mosh2/session/terminal_mode.hpp"
#include "mosh2/session/session_runner.hpp"
#include "mosh2/os/local_terminal.hpp"
#include "mosh2/status/document.hpp"
#include "mosh2/status/session_status.hpp"
#include "mosh2/status/status_file.hpp"
#include "mosh2/session/terminal_guard.hpp"
#include "mosh2/os/stream_command.hpp"
#include "mosh2/os/udp_socket.hpp"
#include "mosh2/transport/stream_framing.hpp"
#include "mosh2/util/io.hpp"

namespace mosh2::session {
namespace {

using namespace asio::experimental::awaitable_operators;
using asio::awaitable;

inline constexpr auto max_old_socket_age = std::chrono::seconds(60);
inline constexpr std::size_t max_sockets = 10;

/// The byte-stream path with this number ended (a number per start, so that the end of
/// an earlier one is not taken for the end of the one now running).
struct stream_closed {
  explicit stream_closed(unsigned g = 0) : generation(g) {}
  unsigned generation;
};

using client_io_event = std::variant<std::monostate, datagram_in, byte_chunk, caught_signal, tick,
                                     shutdown_request, stream_closed>;  // monostate: channels need a default
using event_pipe = io::pipe<client_io_event>;

/// What happened to the socket set: a socket opened, a receive loop ended (perhaps
/// with an error), or the session asked it to stop.
struct socket_notice {
  enum class kind { opened, ended, stop };
  socket_notice(kind k = kind::stop, std::size_t i = 0, std::exception_ptr f = nullptr) : what(k), id(i), failure(f) {}
  kind what;
  std::size_t id;
  std::exception_ptr failure;
};

/// The client's UDP sockets (protocol §4.5). The newest one sends; older ones keep
/// receiving for a minute after a hop, since the server answers the address it heard
/// last. Each socket has its own receive loop with its own cancellation; run() owns
/// the loops and is one operand of the pipeline's `&&`, so a failing socket ends the
/// session through the same path as every other stage.
class socket_set {
public:
  socket_set(asio::io_context& ctx, asio::ip::udp::endpoint server, event_pipe& events)
      : ctx_(ctx), server_(server), events_(events), notices_(ctx, 64) {}

  /// Opens a fresh socket, which sends from now on.
  void open(time_point now) {
    sockets_.emplace_back(os::open_client_socket(ctx_, server_), now, next_id_++);
    notices_.try_send(asio::error_code{}, socket_notice(socket_notice::kind::opened, sockets_.back().id));
    // Never more than ten: the oldest go first.
    std::size_t open = 0;
    for (auto it = sockets_.rbegin(); it != sockets_.rend(); ++it)
      if (it->socket.is_open() && ++open > max_sockets) close(*it);
  }

  /// Sends from the newest socket; 0 or the errno.
  int send(bytes_view datagram) { return os::send_now(sockets_.back().socket, server_, datagram); }

  /// A datagram arrived on socket `id`: once the newest socket has been answered for a
  /// minute, the older ones go.
  void heard_on(std::size_t id, time_point now) {
    const auto& newest = sockets_.back();
    if (id != newest.id || now - newest.opened < max_old_socket_age) return;
    for (auto& s : sockets_)
      if (s.id != id) close(s);
  }

  asio::ip::udp::endpoint local_endpoint() const {
    asio::error_code ec;
    return sockets_.back().socket.local_endpoint(ec);
  }

  /// Closes every socket and lets run() return once their loops have ended.
  void stop() {
    for (auto& s : sockets_) close(s);
    notices_.try_send(asio::error_code{}, socket_notice(socket_notice::kind::stop));
  }

  awaitable<void> run() {
    bool stopping = false;
    std::exception_ptr failure;
    while (!stopping || running_ > 0) {
      auto [ec, n] = co_await notices_.async_receive(io::use_nothrow);
      if (ec) break;
      switch (n.what) {
        case socket_notice::kind::opened:
          if (!stopping) spawn(n.id);
          break;
        case socket_notice::kind::ended:
          --running_;
          std::erase_if(sockets_, [&](const entry& s) { return s.id == n.id && !s.socket.is_open(); });
          if (n.failure && !failure) {
            failure = n.failure;
            stop();
          }
          break;
        case socket_notice::kind::stop:
          stopping = true;
          break;
      }
    }
    if (failure) std::rethrow_exception(failure);
  }

private:
  struct entry {
    entry(asio::ip::udp::socket s, time_point t, std::size_t i) : socket(std::move(s)), opened(t), id(i) {}
    asio::ip::udp::socket socket;
    time_point opened;
    std::size_t id;
    asio::cancellation_signal cancel;
  };

  void spawn(std::size_t id) {
    auto it = std::find_if(sockets_.begin(), sockets_.end(), [&](const entry& s) { return s.id == id; });
    if (it == sockets_.end() || !it->socket.is_open()) return;
    ++running_;
    entry& s = *it;
    asio::co_spawn(ctx_, [this, &s]() { return receive_datagrams<client_io_event>(s.socket, events_, s.id); },
                   asio::bind_cancellation_slot(s.cancel.slot(), [this, id](std::exception_ptr e) {
                     notices_.try_send(asio::error_code{}, socket_notice(socket_notice::kind::ended, id, e));
                   }));
  }

  void close(entry& s) {
    if (!s.socket.is_open()) return;
    s.cancel.emit(asio::cancellation_type::terminal);
    asio::error_code ignored;
    s.socket.close(ignored);
  }

  asio::io_context& ctx_;
  asio::ip::udp::endpoint server_;
  event_pipe& events_;
  io::pipe<socket_notice> notices_;
  std::list<entry> sockets_;  // stable addresses: each loop holds its entry
  std::size_t next_id_ = 0;
  std::size_t running_ = 0;
};

/// A descriptor of the keyboard that is ours alone. Asio makes its descriptors
/// non-blocking, and a dup() shares that flag with the shell's terminal, which then
/// fails reads with EAGAIN after we exit; a fresh open of the same file does not.
int own_keyboard_descriptor() {
  const int fd = ::open("/proc/self/fd/0", O_RDONLY | O_NOCTTY | O_CLOEXEC);
  if (fd >= 0) return fd;
  return ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);  // a socket cannot be reopened
}

/// The client's side of the session runner: the keyboard, the UDP sockets, the
/// signals and the user's terminal, around client_core. The terminal is held through a
/// terminal_guard for as long as the loop runs, so every way out restores it.
class client_program {
public:
  using event = client_io_event;

  client_program(asio::io_context& ctx, client_config config, asio::ip::udp::endpoint server, os::window_size size)
      : core_(core_config(config, server, size), steady::now()),
        stdin_(ctx, own_keyboard_descriptor()),
        signals_(ctx, SIGWINCH, SIGTERM, SIGINT),
        ctx_(ctx),
        server_(server),
        stream_command_(config.stream_command) {
    for (int s : {SIGHUP, SIGPIPE, SIGCONT}) signals_.add(s);
  }

  awaitable<void> stages(event_pipe& events) {
    events_ = &events;
    sockets_.emplace(ctx_, server_, events);
    sockets_->open(steady::now());
    co_await (read_bytes<event>(stdin_, events) && sockets_->run() && forward_signals<event>(signals_, events));
  }

  bool handle(event& e, time_point now) {
    return std::visit([&](auto& x) { return on(x, now); }, e);
  }

  turn_outcome turn(time_point now) {
    auto a = core_.handle(session::turn{}, now);
    if (a.stop_stream) stop_stream();
    if (a.start_stream) start_stream();
    if (a.new_socket) sockets_->open(now);
    int err = 0;
    for (auto& d : a.datagrams) {
      if (a.to_stream && stream_) {
        // A full stream drops, as UDP would; the core then times SSP for a lossy path.
        if (!stream_out_->try_send(asio::error_code{}, d)) (void)core_.handle(stream_dropped{}, now);
        if (!a.also_udp) continue;
      }
      if (const int e = sockets_->send(d); e && !err && !a.to_stream) err = e;
    }
    if (!a.datagrams.empty()) (void)core_.handle(send_result{err}, now);
    if (a.suspend) suspend();
    if (!a.screen.empty()) os::write_all(STDOUT_FILENO, a.screen);
    return turn_outcome{a.exit, a.deadline};
  }

  status::session_status status(time_point now) const {
    auto s = core_.status(now);
    s.pid = ::getpid();
    const auto local = sockets_->local_endpoint();
    s.local_address = local.address().to_string();
    s.local_port = local.port();
    return s;
  }

  void log(const std::string&) const {}  // the client has no log: a status file that cannot be written is missing
  time_point next_due() const { return never; }

  /// Holds the user's terminal while the loop runs.
  auto session_scope() {
    terminal_.emplace(STDIN_FILENO, STDOUT_FILENO, core_.open_screen(), core_.close_screen());
    struct scope {
      std::optional<terminal_guard>& held;
      ~scope() { held.reset(); }
    };
    return scope{terminal_};
  }

  void shut_down() {
    stop_stream();
    asio::error_code ignored;
    stdin_.cancel(ignored);
    signals_.cancel(ignored);
    sockets_->stop();
  }

  bool ever_heard() const { return core_.ever_heard(); }
  bool displaced() const { return core_.displaced(); }
  std::optional<std::string> udp_advice() const { return core_.udp_advice(); }
  const std::string& path_failure() const { return core_.path_failure(); }

private:
  static client_core_config core_config(const client_config& c, const asio::ip::udp::endpoint& server,
                                        os::window_size size) {
    client_core_config s = c.core;
    s.server = to_peer(server);
    s.stream_possible = !c.stream_command.empty();
    s.width = size.width;
    s.height = size.height;
    return s;
  }

  // Datagrams and timer ticks move counters (the file catches up on its own); the rest
  // is news.
  bool on(datagram_in& e, time_point now) {
    if (e.d.from == stream_label) {
      (void)core_.handle(stream_datagram{incoming_datagram{e.d.payload, {}, e.d.truncated, e.d.congestion}}, now);
      return false;
    }
    (void)core_.handle(incoming_datagram{e.d.payload, {}, e.d.truncated, e.d.congestion}, now);
    sockets_->heard_on(e.socket, now);
    return false;
  }
  bool on(byte_chunk& e, time_point now) {
    (void)core_.handle(keyboard_input{e.data}, now);
    if (e.eof) (void)core_.handle(keyboard_ended{}, now);
    return true;
  }
  bool on(caught_signal& e, time_point now) {
    switch (e.signo) {
      case SIGWINCH:
        if (auto s = os::query_window_size(STDIN_FILENO)) (void)core_.handle(window_resized{s->width, s->height}, now);
        break;
      case SIGCONT:  // resumed by someone else after a stop we did not make
        terminal_->release();
        terminal_->resume();
        (void)core_.handle(screen_resumed{}, now);
        break;
      case SIGPIPE:
        break;
      default:
        (void)core_.handle(signal_received{e.signo}, now);
    }
    return true;
  }
  /// `mosh2-status kill`: the path SIGTERM takes (a clean goodbye to the server).
  bool on(shutdown_request&, time_point now) {
    (void)core_.handle(signal_received{SIGTERM}, now);
    return true;
  }
  bool on(stream_closed& e, time_point now) {
    if (e.generation != generation_ || !stream_) return false;
    const int status = stop_stream(5);  // its stream closed: ssh is ending by itself
    (void)core_.handle(stream_ended{os::stream_end_reason(status, "mosh2-server")}, now);
    return true;
  }
  bool on(tick&, time_point) { return false; }
  bool on(std::monostate&, time_point) { return true; }

  /// Starts the stream command and its two stages; a failure to start is the stream's end.
  void start_stream() {
    stop_stream();
    ++generation_;
    auto child = os::start_stream_command(stream_command_);
    if (!child) {
      (void)core_.handle(stream_ended{child.error()}, steady::now());
      return;
    }
    stream_pid_ = child->pid;
    stream_.emplace(ctx_, child->fd);
    stream_out_.emplace(ctx_, 256);
    frames_ = transport::deframer{};
    const unsigned g = generation_;
    asio::co_spawn(ctx_, [this]() { return receive_framed<event>(*stream_, frames_, stream_label, *events_); },
                   [this, g](std::exception_ptr) { events_->try_send(asio::error_code{}, event{stream_closed(g)}); });
    asio::co_spawn(ctx_, [this]() { return send_framed(*stream_, *stream_out_); }, [](std::exception_ptr) {});
  }

  /// Ends the stream's stages (they return once their descriptor and pipe are closed) and its command.
  int stop_stream(int grace_tenths = 0) {
    if (!stream_) return 0;
    asio::error_code ignored;
    stream_->close(ignored);
    stream_out_->close();
    const int status = os::stop_stream_command(stream_pid_, grace_tenths);
    stream_pid_ = -1;
    retired_streams_.push_back(std::move(*stream_));  // the stages may still hold them until they return
    retired_pipes_.push_back(std::move(*stream_out_));
    stream_.reset();
    stream_out_.reset();
    return status;
  }

  void suspend() {
    terminal_->release();
    os::write_all(STDOUT_FILENO, "\n\x1b[37;44m[mosh is suspended.]\x1b[m\n");
    ::kill(0, SIGSTOP);
    terminal_->resume();
    (void)core_.handle(screen_resumed{}, steady::now());
  }

  client_core core_;
  asio::posix::stream_descriptor stdin_;
  asio::signal_set signals_;
  asio::io_context& ctx_;
  asio::ip::udp::endpoint server_;
  std::optional<socket_set> sockets_;  // made with the runner's pipe, in stages()
  std::optional<terminal_guard> terminal_;
  // The byte-stream path: the command's socket, what goes into it, and the frames out of it.
  inline static const asio::ip::udp::endpoint stream_label{};  // no UDP datagram comes from 0.0.0.0:0
  std::vector<std::string> stream_command_;
  event_pipe* events_ = nullptr;
  std::optional<asio::posix::stream_descriptor> stream_;
  std::optional<io::pipe<bytes>> stream_out_;
  std::list<asio::posix::stream_descriptor> retired_streams_;
  std::list<io::pipe<bytes>> retired_pipes_;
  transport::deframer frames_;
  pid_t stream_pid_ = -1;
  unsigned generation_ = 0;
};

}  // namespace

int run_client_session(asio::io_context& ctx, client_config config) {
  asio::error_code ec;
  auto address = asio::ip::make_address(config.host, ec);
  if (ec) throw std::runtime_error(fmt::format("{} is not a numeric IP address", config.host));
  const asio::ip::udp::endpoint server(address, config.port);
  const auto size = os::query_window_size(STDIN_FILENO).value_or(os::window_size{80, 24});

  client_program program(ctx, std::move(config), server, size);
  const int status = run_session(ctx, program);
  std::fputs("\n[mosh is exiting.]\n", stdout);
  if (!program.path_failure().empty()) {
    std::fprintf(stderr, "%s\n", program.path_failure().c_str());
  } else if (const auto advice = program.udp_advice()) {
    const auto width = os::query_window_size(STDERR_FILENO).value_or(os::window_size{80, 24}).width;
    for (const auto& line : wrap_words(*advice, static_cast<std::size_t>(std::max(20, width))))
      std::fprintf(stderr, "%s\n", line.c_str());
  }
  else if (!program.ever_heard())
    std::fprintf(stderr,
                 "mosh did not make a successful connection to %s:%u.\n"
                 "Please verify that UDP port %u is not firewalled and can reach the server.\n\n"
                 "(By default, mosh uses a UDP port between 60000 and 61000. The -p option\n"
                 "selects a specific UDP port number.)\n",
                 server.address().to_string().c_str(), server.port(), server.port());
  else if (program.displaced())
    std::fprintf(stderr, "\nmosh2-client: %s\n", attached_elsewhere_message);
  else if (status != 0)
    std::fputs("\nmosh did not shut down cleanly. Please note that the\n"
               "mosh-server process may still be running on the server.\n",
               stderr);
  return status;
}

}  // namespace mosh2::session
