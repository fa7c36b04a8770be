#pragma once
// What both programs carry on their event pipes, and the stage that turns POSIX
// signals into such events. Every payload has a constructor: GCC 12 miscompiles
// brace-initialised aggregate temporaries inside co_await expressions.

#include <utility>

#include "mosh2/transport/instruction.hpp"
#include "mosh2/util/bytes.hpp"

#include <asio/signal_set.hpp>

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

/// A signal the session must react to.
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
