#pragma once
// The Asio shim for stages (never include this from a core header): version
// differences between Asio 1.22 (Debian 12) and later releases, the nothrow
// completion token, and the typed pipes between stages.

#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/experimental/channel.hpp>
#if ASIO_VERSION >= 102400
namespace mosh2::io { using asio::as_tuple; }
#else
#include <asio/experimental/as_tuple.hpp>
namespace mosh2::io { using asio::experimental::as_tuple; }
#endif

#include <system_error>

namespace mosh2::io {

/// Completion token that returns (error_code, value...) instead of throwing.
inline constexpr auto use_nothrow = as_tuple(asio::use_awaitable);

/// A typed pipe between two stages. Payload types get a constructor (GCC 12 bug,
/// see docs/architecture.md) and notification pipes carry an empty struct.
template <class T> using pipe = asio::experimental::channel<void(asio::error_code, T)>;

/// True for the error codes that mean "stop cleanly" rather than "something broke".
inline bool is_shutdown(const asio::error_code& ec) {
  return ec == asio::error::operation_aborted ||
         ec == asio::experimental::error::channel_cancelled ||
         ec == asio::experimental::error::channel_closed;
}

}  // namespace mosh2::io
