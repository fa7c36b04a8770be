#pragma once
// The one session loop both programs run (docs/architecture.md): the event pipe, the
// deadline timer, the status file, the control socket and the orderly shutdown, around
// a `Program` that owns the role's core and its OS side. The loop hands each queued
// event to the program, then asks for a turn (the core's `turn` event), and sleeps on
// the pipe until the next event or the deadline the turn named.
//
// A Program provides:
//   using event = std::variant<std::monostate, ..., tick, shutdown_request>;
//   asio::awaitable<void> stages(io::pipe<event>&);  // its input stages, one && expression
//   bool handle(event&, time_point);                  // true: news for the status file
//   turn_outcome turn(time_point);                    // the core's turn, carried out
//   status::session_status status(time_point) const;          // the core's view plus pid, address
//   void log(const std::string&);                     // the verbose log (may ignore it)
//   time_point next_due() const;                      // its own deadline (or never)
//   auto session_scope();                             // held while the loop runs (RAII)
//   void shut_down();                                 // cancels its stages

#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "mosh2/control/control_socket.hpp"
#include "mosh2/session/events.hpp"
#include "mosh2/session/key_rotation.hpp"
#include "mosh2/status/document.hpp"
#include "mosh2/status/session_status.hpp"
#include "mosh2/status/status_file.hpp"
#include "mosh2/util/io.hpp"

namespace mosh2::session {

/// What a program's turn left for the loop.
struct turn_outcome {
  std::optional<int> exit;      ///< the session is over with this status
  time_point deadline = never;  ///< when the core wants its next turn by itself
};

template <class Program> class session_runner final : public control::control_handler {
public:
  using event = typename Program::event;

  session_runner(asio::io_context& ctx, Program& program)
      : program_(program), timer_(ctx), deadline_(timer_), events_(ctx, 256),
        control_(ctx, status::status_directories(), ::getpid()) {}

  /// Runs the session until it ends; every stage returns normally on the way out.
  asio::awaitable<void> run() {
    using namespace asio::experimental::awaitable_operators;
    co_await (program_.stages(events_) && forward_deadlines<event>(timer_, events_) && loop() &&
              control::serve_control(control_.acceptor(), *this));
  }

  /// The session's exit status, once run() returned.
  int exit_status() const { return exit_status_; }

private:
  asio::awaitable<void> loop() {
    // Whatever ends the loop (the end, an exception, a cancellation after another stage
    // failed), the scope is left first: the client's terminal is given back there.
    {
      [[maybe_unused]] auto scope = program_.session_scope();
      for (;;) {
        const auto now = steady::now();
        const turn_outcome t = program_.turn(now);
        if (t.exit) {
          exit_status_ = *t.exit;
          break;
        }
        if (status_.due(now)) report_status(now);
        deadline_.arm(std::min({t.deadline, status_wakeup(status_), program_.next_due()}));

        auto [ec, e] = co_await events_.async_receive(io::use_nothrow);
        if (ec) break;
        handle(e);
        drain_queued(events_, events_per_turn, [&](event& queued) { handle(queued); });
      }
    }
    shut_down();
  }

  void handle(event& e) {
    if (program_.handle(e, steady::now())) status_.touch();
    else status_.touch_idle();
  }

  void report_status(time_point now) {
    if (auto problem = status_.publish(program_.status(now), now)) program_.log("Status file not written: " + *problem);
  }

  // -- the control socket (mosh2-status) ---------------------------------------------------

  std::string status_json() override {
    const auto now = steady::now();
    return status::to_json(program_.status(now), now);
  }
  /// `mosh2-status kill`: through the pipe, so that it takes the path a signal takes.
  void request_shutdown(std::string reason) override {
    event e{shutdown_request(std::move(reason))};
    events_.try_send(asio::error_code{}, std::move(e));
  }

  /// `mosh2-server attach`: the key goes through the pipe, ahead of every datagram read
  /// after this, and back only to the asker. A program without key_rotation events (the
  /// client) keeps the default refusal.
  result<rotation, std::string> rotate_key() override {
    if constexpr (std::is_constructible_v<event, key_rotation>) {
      auto key = crypto::session_key::generate();
      rotation r{key.to_string(), program_.status(steady::now()).local_port};
      event e{key_rotation(std::move(key))};
      if (!events_.try_send(asio::error_code{}, std::move(e)))
        return failure{std::string("the session is too busy to hand over; try again")};
      return r;
    } else {
      return control::control_handler::rotate_key();
    }
  }

  void shut_down() {
    events_.close();
    timer_.cancel();
    control_.close();
    program_.shut_down();
  }

  Program& program_;
  asio::steady_timer timer_;
  session_deadline deadline_;
  io::pipe<event> events_;
  status::status_reporter status_;
  control::control_endpoint control_;
  int exit_status_ = 1;
};

/// Runs `program`'s session on `ctx` until it ends; rethrows what ended it abnormally.
template <class Program> int run_session(asio::io_context& ctx, Program& program) {
  session_runner<Program> runner(ctx, program);
  std::exception_ptr failure;
  asio::co_spawn(ctx, [&]() { return runner.run(); }, [&](std::exception_ptr e) { failure = e; });
  ctx.run();
  if (failure) std::rethrow_exception(failure);
  return runner.exit_status();
}

}  // namespace mosh2::session
