#pragma once
// The stages both programs run around their session core, and the events they carry
// to it. A stage moves bytes between one source and the session's event pipe and
// knows nothing of the protocol. Every payload has a constructor: GCC 12 miscompiles
// brace-initialised aggregate temporaries inside co_await expressions.

#include <string>
#include <system_error>
#include <utility>

#include <asio/ip/udp.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include "mosh2/status/status_file.hpp"
#include "mosh2/session/transport_core.hpp"
#include "mosh2/os/udp_socket.hpp"
#include "mosh2/transport/stream_framing.hpp"
#include "mosh2/util/bytes.hpp"
#include "mosh2/util/clock.hpp"
#include "mosh2/util/io.hpp"

namespace mosh2::session {

/// One datagram as the socket delivered it, not yet authenticated.
struct datagram_in {
  explicit datagram_in(os::received_datagram d, std::size_t socket = 0) : d(std::move(d)), socket(socket) {}
  os::received_datagram d;
  std::size_t socket;  ///< which of the client's sockets it came on
};

/// A chunk read from a local byte source (the pty, or the keyboard). `eof` ends the
/// source; `error` says why when it was not a plain end of file.
struct byte_chunk {
  explicit byte_chunk(bytes d, bool end = false, std::error_code why = {})
      : data(std::move(d)), eof(end), error(why) {}
  bytes data;
  bool eof;
  std::error_code error;
};

/// The session's deadline passed (SSP timers, echo ack, notification bar).
struct tick {
  tick() = default;
};

/// Someone asked the session to end (the control socket's kill).
struct shutdown_request {
  explicit shutdown_request(std::string why) : reason(std::move(why)) {}
  std::string reason;
};

/// A signal the session must react to.
struct caught_signal {
  explicit caught_signal(int s) : signo(s) {}
  int signo;
};

/// The address a datagram came from, as the cores see it.
inline peer_address to_peer(const asio::ip::udp::endpoint& e) {
  return peer_address{e.address().to_string(), e.port(), e.address().is_v6()};
}

/// Datagrams read per wake-up before other stages get a turn.
inline constexpr int receive_burst = 64;

/// Reads `socket` into `events` as `Event{datagram_in}` until the socket or the pipe is
/// closed. A full pipe makes it wait (the kernel's buffer then absorbs or drops, as
/// the network would). Any error but a shutdown is thrown: a deaf socket must end the
/// session loudly, not leave it waiting.
template <class Event, class Pipe>
asio::awaitable<void> receive_datagrams(asio::ip::udp::socket& socket, Pipe& events, std::size_t socket_id = 0) {
  while (events.is_open()) {
    auto [ec] = co_await socket.async_wait(asio::ip::udp::socket::wait_read, io::use_nothrow);
    if (io::is_shutdown(ec) || !socket.is_open()) co_return;
    if (ec) throw std::system_error(ec, "waiting for UDP datagrams");
    for (int n = 0; n < receive_burst; ++n) {
      auto d = os::receive_now(socket);
      if (!d) break;
      Event e{datagram_in(std::move(*d), socket_id)};
      auto [sec] = co_await events.async_send(asio::error_code{}, std::move(e), io::use_nothrow);
      if (sec) co_return;
    }
  }
}

/// The stream path's receive stage: reads a framed byte stream (a pipe, ssh's stdio, a
/// TCP socket) and puts each datagram in it on `events` as `Event{datagram_in}`, as if
/// it had come from `label`. Refused frames are counted by `frames`. Returns at the
/// stream's end or when the pipe closes; any other error is thrown, like a socket's.
template <class Event, class Pipe, class Stream>
asio::awaitable<void> receive_framed(Stream& stream, transport::deframer& frames, asio::ip::udp::endpoint label,
                                     Pipe& events) {
  std::string buf(16384, '\0');
  while (events.is_open()) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(buf), io::use_nothrow);
    if (io::is_shutdown(ec) || ec == asio::error::eof) co_return;
    if (ec) throw std::system_error(ec, "reading the stream path");
    for (auto& d : frames.feed(bytes_view(buf.data(), n))) {
      Event e{datagram_in(os::received_datagram{std::move(d), label, false, false})};
      auto [sec] = co_await events.async_send(asio::error_code{}, std::move(e), io::use_nothrow);
      if (sec) co_return;
    }
  }
}

/// The stream path's send stage: writes each datagram `out` carries as one frame, in
/// order, one write at a time (a slow stream backs up into `out`, not into the core).
template <class Stream> asio::awaitable<void> send_framed(Stream& stream, io::pipe<bytes>& out) {
  for (;;) {
    auto [ec, d] = co_await out.async_receive(io::use_nothrow);
    if (ec) co_return;
    const bytes framed = transport::frame(d);
    auto [wec, n] = co_await asio::async_write(stream, asio::buffer(framed), io::use_nothrow);
    (void)n;
    if (io::is_shutdown(wec)) co_return;
    if (wec) throw std::system_error(wec, "writing the stream path");
  }
}

/// Reads a byte source (pty master, stdin) into `events` as `Event{byte_chunk}`; the
/// last chunk has eof set. EIO is a pty's end of file (its program exited).
template <class Event, class Pipe>
asio::awaitable<void> read_bytes(asio::posix::stream_descriptor& source, Pipe& events) {
  std::string buf(16384, '\0');
  while (events.is_open()) {  // see forward_signals: no new wait after the end
    auto [ec, n] = co_await source.async_read_some(asio::buffer(buf), io::use_nothrow);
    if (io::is_shutdown(ec)) co_return;
    const bool plain_end = ec == asio::error::eof || ec == std::errc::io_error;
    Event e{byte_chunk(buf.substr(0, n), static_cast<bool>(ec), plain_end ? std::error_code{} : ec)};
    auto [sec] = co_await events.async_send(asio::error_code{}, std::move(e), io::use_nothrow);
    if (sec || ec) co_return;
  }
}

/// Forwards every signal of `signals` into `events` as an `Event{caught_signal}`;
/// returns when the set is cancelled or the pipe is closed. Every stage checks the pipe
/// before it starts waiting: the session cancels what is pending when it ends, and a
/// stage whose completion was already queued then must not start a new wait.
template <class Event, class Pipe>
asio::awaitable<void> forward_signals(asio::signal_set& signals, Pipe& events) {
  while (events.is_open()) {
    auto [ec, signo] = co_await signals.async_wait(io::use_nothrow);
    if (ec) co_return;
    Event e{caught_signal(signo)};
    auto [sec] = co_await events.async_send(asio::error_code{}, std::move(e), io::use_nothrow);
    if (sec) co_return;
  }
}

/// Turns the session's deadline into `Event{tick}` on its pipe, so the session waits
/// on the pipe alone. Racing a pipe receive against a timer with `||` can lose an event
/// that was already dequeued when both complete in the same turn; this cannot.
/// The session re-arms `timer` through session_deadline; a wait cancelled by that just
/// starts again. Returns once the pipe is closed.
template <class Event, class Pipe>
asio::awaitable<void> forward_deadlines(asio::steady_timer& timer, Pipe& events) {
  while (events.is_open()) {
    auto [ec] = co_await timer.async_wait(io::use_nothrow);
    if (!events.is_open()) co_return;
    if (ec) continue;
    // One tick per deadline: until the session re-arms it, the timer waits for nothing.
    timer.expires_at(never);
    // A full pipe means the session has work queued and will re-arm the timer anyway.
    events.try_send(asio::error_code{}, Event{tick{}});
  }
}

/// The session's one timer, re-armed only when the deadline moves: every re-arm is a
/// system call and a wake-up of forward_deadlines, and an idle session's deadline
/// mostly stays put (measured: idle wake-ups per minute, tools/bench).
class session_deadline {
public:
  explicit session_deadline(asio::steady_timer& timer) : timer_(timer) {}
  void arm(time_point t) {
    if (t == armed_ && timer_.expiry() == t) return;
    armed_ = t;
    timer_.expires_at(t);
  }

private:
  asio::steady_timer& timer_;
  time_point armed_ = never;
};

/// Events handled per turn of a session's loop before its core ticks.
inline constexpr std::size_t events_per_turn = 64;
/// How late an idle session may rewrite its status file (see status_wakeup).
inline constexpr auto status_quiet_slack = std::chrono::seconds(5);

/// When the status file needs a wake-up of its own. It is rewritten on the wake-ups the
/// session has anyway; its own deadline comes only after a quiet spell, so an idle
/// session wakes no more often than its heartbeat (stock Mosh's rate).
inline time_point status_wakeup(const status::status_reporter& status) {
  const auto t = status.next_deadline();
  return t == never ? never : t + status_quiet_slack;
}

/// Drains what is already queued on `events` (at most `limit` more) into `handle`, so
/// that a burst costs one turn of the session's loop rather than one per event.
template <class Pipe, class Handle> void drain_queued(Pipe& events, std::size_t limit, Handle&& handle) {
  for (std::size_t i = 0; i < limit; ++i) {
    const bool got = events.try_receive([&](asio::error_code ec, auto event) {
      if (!ec) handle(event);
    });
    if (!got) return;
  }
}

}  // namespace mosh2::session
