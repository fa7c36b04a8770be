#include "mosh2/os/stream_relay.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "mosh2/os/local_terminal.hpp"
#include "mosh2/transport/stream_framing.hpp"

namespace mosh2::os {

std::string stream_relay_target(const std::optional<std::string>& address,
                                const std::optional<std::string>& ssh_connection) {
  if (address) return *address;
  if (ssh_connection) {
    std::istringstream words(*ssh_connection);
    std::string client_ip, client_port, server_ip;
    if (words >> client_ip >> client_port >> server_ip) return server_ip;
  }
  return "127.0.0.1";
}

result<int, std::string> run_stream_relay(int in, int out, const std::string& address, std::uint16_t port) {
  sockaddr_storage to{};
  socklen_t to_len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&to);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&to);
  if (::inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    to_len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    to_len = sizeof(sockaddr_in6);
  } else {
    return failure{fmt::format("stream-relay: \"{}\" is not a numeric IP address", address)};
  }
  const int sock = ::socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return failure{fmt::format("stream-relay: cannot open a UDP socket: {}", std::strerror(errno))};
  // Connected: only the session's port is heard, whatever else reaches this socket.
  if (::connect(sock, reinterpret_cast<sockaddr*>(&to), to_len) != 0) {
    const int e = errno;
    ::close(sock);
    return failure{fmt::format("stream-relay: cannot reach {} port {}: {}", address, port, std::strerror(e))};
  }
  transport::deframer frames;
  std::vector<char> buf(transport::max_frame_size + 1);
  for (;;) {
    pollfd fds[2] = {{in, POLLIN, 0}, {sock, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::read(in, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(sock);
        return 0;  // ssh closed the stream: the client went back to UDP, or away
      }
      for (const auto& d : frames.feed(bytes_view(buf.data(), static_cast<std::size_t>(n))))
        (void)::send(sock, d.data(), d.size(), 0);  // as on any UDP path, a refused send is a loss
    }
    if (fds[1].revents & POLLIN) {
      const ssize_t n = ::recv(sock, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n > 0 && !write_all(out, transport::frame(bytes_view(buf.data(), static_cast<std::size_t>(n))))) {
        ::close(sock);
        return 0;  // the stream's reader is gone
      }
    }
  }
  const int e = errno;
  ::close(sock);
  return failure{fmt::format("stream-relay: {}", std::strerror(e))};
}

}  // namespace mosh2::os
