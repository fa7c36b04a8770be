#pragma once
// The stage both programs use to turn POSIX signals into events on their pipe.

#include <utility>

#include <asio/signal_set.hpp>

#include "mosh2/util/io.hpp"

namespace mosh2::session {

/// A signal the session must react to. Has a constructor: it travels through a pipe.
struct caught_signal {
  explicit caught_signal(int s) : signo(s) {}
  int signo;
};

/// Forwards every signal of `signals` into `events` as an `Event{caught_signal}`;
/// returns when the set is cancelled or the pipe is closed.
template <class Event, class Pipe>
asio::awaitable<void> forward_signals(asio::signal_set& signals, Pipe& events) {
  for (;;) {
    auto [ec, signo] = co_await signals.async_wait(io::use_nothrow);
    if (ec) co_return;
    Event e{caught_signal(signo)};
    auto [sec] = co_await events.async_send(asio::error_code{}, std::move(e), io::use_nothrow);
    if (sec) co_return;
  }
}

}  // namespace mosh2::session
