#pragma once
// UDP sockets as Mosh uses them (protocol §1.7, §4.5): the server's port search and
// bind address (numeric, interface name, or $SSH_CONNECTION), no DF bit, ECT(0), and
// a receive that reports truncation and ECN congestion marks.

#include <optional>
#include <string>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/ip/v6_only.hpp>

#include "mosh2/os/options.hpp"
#include "mosh2/util/bytes.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::os {

/// Resolves `-i`: a numeric IPv4/IPv6 address, or the name of a local interface
/// (e.g. tailscale0), which yields that interface's first address (IPv4 preferred).
std::optional<asio::ip::address> resolve_bind_address(const std::string& text);

/// True when `text` names a network interface of this machine (with or without an address).
bool is_interface_name(const std::string& text);

/// The local address from the 3rd field of $SSH_CONNECTION (a leading ::ffff: removed).
std::optional<asio::ip::address> ssh_connection_address();

/// Binds the server's socket: the first free port of `ports` in ascending order on
/// `address`; if that fails, on the wildcard (dual-stack). Throws std::runtime_error
/// with a one-line message and the kernel's reason when nothing binds; `note` receives
/// a one-line warning, with the reason, when it had to fall back to the wildcard.
asio::ip::udp::socket bind_server_socket(asio::io_context& ctx,
                                         const std::optional<asio::ip::address>& address,
                                         port_range ports, std::string& note);

/// A socket for the client towards `peer`, on a fresh ephemeral port.
asio::ip::udp::socket open_client_socket(asio::io_context& ctx, const asio::ip::udp::endpoint& peer);

/// Sets no-DF, ECT(0) and TOS reception on a socket (best effort, per family).
void apply_mosh_socket_options(asio::ip::udp::socket& s);

/// One datagram read with recvmsg: payload, sender, and whether it was truncated
/// (larger than the 2048-byte receive buffer) or carried an ECN congestion mark.
struct received_datagram {
  bytes payload;
  asio::ip::udp::endpoint from;
  bool truncated = false;
  bool congestion = false;
};

/// Non-blocking read of one datagram; nothing when the socket has none queued.
std::optional<received_datagram> receive_now(asio::ip::udp::socket& s);

/// Non-blocking send; returns 0 or the errno (EMSGSIZE lowers the MTU upstream).
int send_now(asio::ip::udp::socket& s, const asio::ip::udp::endpoint& to, bytes_view data);

}  // namespace mosh2::os
