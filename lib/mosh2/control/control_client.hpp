#pragma once
// The reader's side of the control socket, for mosh2-status: blocking, bounded in time,
// no Asio.

#include <chrono>
#include <filesystem>
#include <string>

#include "mosh2/control/protocol.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::control {

/// Sends `r` to the session listening at `path` and returns its reply. The path must
/// be a socket owned by this user; connecting, sending and reading together take at
/// most about `timeout`. Errors are one line.
result<reply, std::string> call(const std::filesystem::path& path, const request& r,
                                std::chrono::milliseconds timeout);

}  // namespace mosh2::control
