// The framed byte-stream path for real: a server core and a client core joined by a
// socketpair, through the stream path's stages (receive_framed, send_framed), with a
// frame split across writes and a hostile oversize length prefix in the middle.

#include <doctest/doctest.h>

#include <sys/socket.h>

#include <string>
#include <variant>

#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include "../support/run_coro.hpp"
#include "mosh2/session/client_core.hpp"
#include "mosh2/session/events.hpp"
#include "mosh2/session/server_core.hpp"
#include "session_sim.hpp"

using namespace mosh2;
using namespace mosh2::session;
using namespace asio::experimental::awaitable_operators;

namespace {

using event = std::variant<std::monostate, datagram_in>;

}  // namespace

TEST_SUITE("session") {

TEST_CASE("a session runs over a framed byte stream: split frames arrive, an oversize frame is refused and counted") {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  const asio::ip::udp::endpoint label(asio::ip::make_address("127.0.0.1"), 9);
  const path_traits stream_path{stream_path_mtu, true};

  server_core_config sc(session::test::test_key());
  sc.random = session::test::fixed_chaff;
  client_core_config cc(session::test::test_key());
  cc.server = {"127.0.0.1", 9, false};
  cc.term = "xterm-256color";
  cc.random = session::test::fixed_chaff;
  server_core server(sc, steady::now());
  client_core client(cc, steady::now());
  server.transport().set_path(stream_path);
  client.transport().set_path(stream_path);
  transport::deframer server_frames, client_frames;
  std::string program_input;
  bool injected = false, split_sent = false;

  mosh2::test::run_coro(
      [&](asio::io_context& ctx) -> asio::awaitable<void> {
        asio::posix::stream_descriptor server_end(ctx, fds[0]), client_end(ctx, fds[1]);
        io::pipe<event> to_server(ctx, 256), to_client(ctx, 256);
        io::pipe<bytes> server_out(ctx, 256);

        // The client's side writes its own frames, so that the test can put a split frame
        // and a hostile prefix between them without interleaving two writers.
        auto drive = [&]() -> asio::awaitable<void> {
          asio::steady_timer timer(ctx);
          for (int turn = 0; turn < 3000; ++turn) {
            const auto now = steady::now();
            to_server.try_receive([&](asio::error_code, event e) {
              if (auto* d = std::get_if<datagram_in>(&e))
                (void)server.handle(incoming_datagram{d->d.payload, to_peer(d->d.from)}, now);
            });
            while (to_client.try_receive([&](asio::error_code, event e) {
              if (auto* d = std::get_if<datagram_in>(&e)) (void)client.handle(incoming_datagram{d->d.payload, {}}, now);
            })) {
            }
            for (int op = 0; op < 100; ++op) {
              auto a = server.handle(session::turn{}, now);
              for (auto& d : a.datagrams) server_out.try_send(asio::error_code{}, std::move(d));
              if (!a.next_op) break;
              if (auto* w = std::get_if<pty_write>(&*a.next_op)) {
                program_input += w->data;
                (void)server.handle(program_output{w->data}, now);
              }
              (void)server.handle(program_op_finished{}, now);
            }
            for (auto& d : client.handle(session::turn{}, now).datagrams) {
              const bytes f = transport::frame(d);
              if (!split_sent && f.size() > 8) {
                // One frame in two writes, apart: the reader must wait for the rest.
                split_sent = true;
                co_await asio::async_write(client_end, asio::buffer(f.data(), 5), asio::use_awaitable);
                timer.expires_after(std::chrono::milliseconds(20));
                co_await timer.async_wait(asio::use_awaitable);
                co_await asio::async_write(client_end, asio::buffer(f.data() + 5, f.size() - 5), asio::use_awaitable);
              } else {
                co_await asio::async_write(client_end, asio::buffer(f), asio::use_awaitable);
              }
            }

            if (program_input == "hello" && !injected) {
              injected = true;
              bytes hostile;
              const std::uint32_t huge = transport::max_frame_size * 4;
              for (int shift = 24; shift >= 0; shift -= 8) hostile.push_back(static_cast<char>((huge >> shift) & 0xff));
              hostile += std::string(huge, '\x55');
              co_await asio::async_write(client_end, asio::buffer(hostile), asio::use_awaitable);
              (void)client.handle(keyboard_input{"world"}, now);
            }
            if (program_input == "helloworld" && session::test::row_text(client.server_screen(), 0) == "helloworld") break;
            if (turn == 2) (void)client.handle(keyboard_input{"hello"}, now);
            timer.expires_after(std::chrono::milliseconds(5));
            co_await timer.async_wait(asio::use_awaitable);
          }
          to_server.close();
          to_client.close();
          server_out.close();
          asio::error_code ignored;
          server_end.cancel(ignored);
          client_end.cancel(ignored);
        };
        co_await (receive_framed<event>(server_end, server_frames, label, to_server) &&
                  receive_framed<event>(client_end, client_frames, label, to_client) &&
                  send_framed(server_end, server_out) && drive());
      },
      std::chrono::seconds(30));

  CHECK(program_input == "helloworld");
  CHECK(session::test::row_text(client.server_screen(), 0) == "helloworld");
  CHECK(split_sent);
  CHECK(server_frames.stats().oversize == 1);
  CHECK(server_frames.stats().bytes_skipped == transport::max_frame_size * 4);
  CHECK(server_frames.stats().frames >= 2);
  // A reliable path: SSP sent nothing twice.
  CHECK(server.transport().ssp().outgoing().stats().retransmissions == 0);
  CHECK(client.transport().ssp().outgoing().stats().retransmissions == 0);
}
}
