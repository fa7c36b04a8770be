#pragma once
// What both programs carry on their event pipes, and the stage that turns POSIX
// signals into such events. Every payload has a constructor: GCC 12 miscompiles
// brace-initialised aggregate temporaries inside co_await expressions.

#include <utility>

#include "mosh2/transport/instruction.hpp"
#include "mosh2/util/bytes.hpp"
#include "mosh2/util/clock.hpp"

#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include "mosh2/util/io.hpp"

namespace mosh2::session {

/// A complete instruction from the peer, decoded by the link.
struct peer_instruction {
  explicit peer_instruction(transport::instruction i) : inst(std::move(i)) {}
  transport::instruction inst;
};

/// A chunk read from a local byte source (the pty, or the keyboard); `eof` ends it.
struct byte_chunk {
  explicit byte_chunk(bytes d, bool end = false) : data(std::move(d)), eof(end) {}
  bytes data;
  bool eof;
};

/// The session's deadline passed (SSP timers, echo ack, notification bar).
struct tick {
  tick() = default;
};

/// A signal the session must react to.
struct caught_signal {
  explicit caught_signal(int s) : signo(s) {}
  int signo;
};

/// Forwards every signal of `signals` into `events` as an `Event{caught_signal}`;
/// returns when the set is cancelled or the pipe is closed. Every stage checks the pipe
/// before it starts waiting: the session cancels what is pending when it ends, and a
/// stage whose completion was already queued then must not start a new wait.
template <class Event, class Pipe>
asio::awaitable<void> forward_signals(asio::signal_set& signals, Pipe& events) {
  // The session may have ended (and cancelled the set) while the event just sent was
  // being handled; a wait started after that would never end.
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
/// The session re-arms `timer` (expires_at) on every turn; a wait cancelled by that
/// just starts again. Returns once the pipe is closed.
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

}  // namespace mosh2::session
