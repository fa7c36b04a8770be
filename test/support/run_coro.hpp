#pragma once
// Runs a coroutine test body on its own io_context, raced against a deadline, and
// rethrows whatever it threw, so both failures and hangs reach doctest.

#include <chrono>
#include <stdexcept>

#include "mosh2/util/io.hpp"

namespace mosh2::test {

template <class Body>
void run_coro(Body body, std::chrono::steady_clock::duration limit = std::chrono::seconds(5)) {
  using namespace asio::experimental::awaitable_operators;
  asio::io_context ctx;
  bool timed_out = false;
  auto guarded = [&]() -> asio::awaitable<void> {
    asio::steady_timer t(ctx, limit);
    auto r = co_await (body(ctx) || t.async_wait(asio::use_awaitable));
    if (r.index() == 1) timed_out = true;
  };
  std::exception_ptr failure;
  asio::co_spawn(ctx, guarded, [&](std::exception_ptr e) { failure = e; });
  ctx.run();
  if (failure) std::rethrow_exception(failure);
  if (timed_out) throw std::runtime_error("coroutine test exceeded its time limit");
}

}  // namespace mosh2::test
