// The client's copy of the server's screen (terminal_state) against a malicious or
// broken server (issue 10): every HostMessage costs a bounded amount of work, counted
// by the emulator's work counter rather than timed; the largest allowed screen fits in
// one instruction; the receiver's memory for such screens is bounded in bytes.

#include <doctest/doctest.h>

#include <pty.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "mosh2/os/local_terminal.hpp"
#include "mosh2/session/client_core.hpp"
#include "mosh2/session/link_core.hpp"
#include "mosh2/session/terminal_state.hpp"
#include "mosh2/ssp/receiver.hpp"
#include "mosh2/terminal/limits.hpp"
#include "mosh2/transport/compressor.hpp"
#include "mosh2/transport/instruction.hpp"
#include "mosh2/transport/messages.hpp"

using namespace mosh2;
using namespace mosh2::terminal;
using session::terminal_state;

namespace {

constexpr screen_size widest = clamp_screen_size(max_screen_side, max_screen_side);

bytes host_message_of(std::vector<transport::host_instruction> insts) {
  transport::host_message m;
  m.instructions = std::move(insts);
  return transport::encode(m);
}

// Applies `diff` and returns the work it cost the emulator, refused or not (a refused
// message is undone, work counter included, so the emulator's counter cannot tell).
std::uint64_t apply_work(terminal_state& s, const bytes& diff, bool& accepted) {
  accepted = s.apply_diff(diff);
  return s.last_apply_work();
}

// The most a refused message may have cost: its budget, plus the one step (a print of
// a REP, a row copy, a resize of the largest screen) that crossed it.
std::uint64_t refused_ceiling(std::size_t bytes) {
  return host_message_work_budget(bytes) + 2 * static_cast<std::uint64_t>(max_screen_cells) +
         2 * max_screen_side;
}

// The costliest screen to repaint: every cell a different true-colour rendition (all
// attributes on, then all off, so each SGR is as long as it gets), a 4-byte character
// and 28 bytes of combining marks (the 32-byte cell cap), and a soft wrap on every row;
// plus a full title and icon name of 4-byte characters and a long clipboard.
std::string worst_screen(int width, int height) {
  std::string s;
  s += "\x1b]1;";
  for (int i = 0; i < 300; ++i) s += "\xF0\x9F\x98\x80";
  s += "\a\x1b]2;";
  for (int i = 0; i < 300; ++i) s += "\xF0\x9F\x98\x81";
  s += "\a\x1b]52;c;";
  for (int i = 0; i < 16000 / 4; ++i) s += "QUJD";
  s += "\a\x1b[H";
  std::string marks;
  for (int i = 0; i < 14; ++i) marks += "\xCC\x80";  // U+0300, 2 bytes each
  for (int cell = 0; cell < width * height; ++cell) {
    const int v = 200 + cell % 56;
    const std::string rgb = std::to_string(v) + ";" + std::to_string(255 - v % 7) + ";" +
                            std::to_string(250 + cell % 6);
    if (cell % 2 == 0)
      s += "\x1b[0;1;3;4;5;7;8;38;2;" + rgb + ";48;2;" + rgb + "m";
    else
      s += "\x1b[0;38;2;" + rgb + ";48;2;" + rgb + "m";
    s += "\xF0\x9D\x90\x80" + marks;  // U+1D400, one column
  }
  return s;
}

}  // namespace

TEST_SUITE("session") {

TEST_CASE("of 10,000 alternating huge and small resizes in one host message only the last applies") {
  terminal_state client(80, 24);
  std::vector<transport::host_instruction> insts;
  for (int i = 0; i < 10'000; ++i)
    insts.emplace_back(i % 2 == 0 ? transport::resize{max_screen_side, max_screen_side}
                                  : transport::resize{3 + i % 5, 2});
  insts.emplace_back(transport::resize{100, 30});
  bool accepted = false;
  const auto work = apply_work(client, host_message_of(std::move(insts)), accepted);
  CHECK(accepted);
  CHECK(client.fb().width() == 100);
  CHECK(client.fb().height() == 30);
  // One resize of an 80 x 24 screen to 100 x 30: its 24 rows copied once, 6 new ones.
  CHECK(work <= 100 * 24 + 100 + 64);
}

TEST_CASE("resizes interleaved with output cost no more than the host message's budget") {
  terminal_state client(80, 24);
  const terminal_state before = client;
  std::vector<transport::host_instruction> insts;
  for (int i = 0; i < 10'000; ++i) {
    insts.emplace_back(i % 2 == 0 ? transport::resize{max_screen_side, max_screen_side}
                                  : transport::resize{1, 1});
    insts.emplace_back(transport::host_bytes{"x"});
  }
  const bytes diff = host_message_of(std::move(insts));
  bool accepted = true;
  const auto work = apply_work(client, diff, accepted);
  CHECK(work <= refused_ceiling(diff.size()));
  // Within the budget it ends at the last size; past it, it is refused as a whole and
  // the screen is the one before the message.
  if (accepted) CHECK(client.fb().width() == 1);
  else CHECK(client == before);
}

TEST_CASE("a flood of REP on the largest screen is cut off at the budget and refused") {
  terminal_state client(widest.width, widest.height);
  client.emulator().write("\x1b[5;5H");
  const terminal_state before = client;
  std::string flood = "x";
  for (int i = 0; i < 20'000; ++i) flood += "\x1b[65535b";
  const bytes diff = host_message_of({transport::host_bytes{flood}});
  bool accepted = true;
  const auto work = apply_work(client, diff, accepted);
  CHECK(work <= refused_ceiling(diff.size()));
  CHECK_FALSE(accepted);
  CHECK(client == before);
  CHECK(client.fb().ds().cursor_row == 4);
}

TEST_CASE("a REP flood costs what a repaint of its screen may, however far it decompresses") {
  // 6 KB of zlib buys megabytes of REP; the work allowed must not grow with them.
  const std::uint64_t step = 2 * static_cast<std::uint64_t>(max_screen_cells) + 2 * max_screen_side;
  const std::uint64_t ceiling = session::host_message_work_limit(~std::uint64_t{0}, 80 * 24, 24) + step;
  for (const int reps : {1'000, 50'000, 400'000}) {
    terminal_state client(80, 24);
    std::string flood = "x";
    for (int i = 0; i < reps; ++i) flood += "\x1b[65535b";
    const bytes diff = host_message_of({transport::host_bytes{flood}});
    bool accepted = true;
    const auto work = apply_work(client, diff, accepted);
    MESSAGE(diff.size() << " bytes of REP: " << work << " work, ceiling " << ceiling);
    CHECK(work <= ceiling);
    CHECK_FALSE(accepted);
  }
}

TEST_CASE("an OSC string still being received counts toward the state's memory") {
  terminal_state client(80, 24);
  const std::size_t before = client.approx_bytes();
  const bytes diff = host_message_of({transport::host_bytes{"\x1b]2;" + std::string(16'000, 't')}});
  REQUIRE(client.apply_diff(diff));
  CHECK(client.approx_bytes() >= before + 16'000 * sizeof(char32_t));
}

TEST_CASE("the client discards any reply its emulator would owe") {
  const std::string queries = "\x1b[6n\x1b[c\x1b[5n\x1b[>c";
  // The emulator on its own answers CPR, DA, DSR and secondary DA...
  terminal::emulator bare(80, 24);
  bare.write(queries);
  REQUIRE_FALSE(bare.take_replies().empty());
  // ...the client's copy of the server's screen never does...
  const bytes asking = host_message_of({transport::host_bytes{queries}});
  terminal_state state(80, 24);
  REQUIRE(state.apply_diff(asking));
  CHECK(state.emulator().take_replies().empty());

  // ...and the whole client sends nothing typed back to a server that asks, in a real
  // sealed datagram, while it runs for ten seconds of its own clock.
  const crypto::session_key key(crypto::session_key::raw_type{});
  time_point now = time_point{} + std::chrono::hours(1);
  session::client_core_config config(key);
  config.server = session::peer_address{"127.0.0.1", 60001, false};
  config.random = [](std::size_t n) { return bytes(n, 'c'); };
  session::client_core client(config, now);
  session::link_core server_link(datagram::role::server, key, now);
  transport::instruction inst;
  inst.old_num = 0;
  inst.new_num = 1;
  inst.diff = asking;
  for (const bytes& wire : server_link.datagrams_for(inst, now))
    (void)client.handle(session::incoming_datagram{wire, {}}, now);
  REQUIRE(client.transport().ssp().incoming().newest_num() == 1);
  std::size_t instructions = 0, typed = 0;
  const time_point end = now + std::chrono::seconds(10);
  for (int turn = 0; turn < 10'000 && now < end; ++turn) {
    auto actions = client.handle(session::turn{}, now);
    for (const bytes& wire : actions.datagrams) {
      auto arrival = server_link.receive(wire, now, false, false);
      if (!arrival || !arrival->instruction) continue;
      ++instructions;
      if (arrival->instruction->diff.empty()) continue;
      auto message = transport::decode_user_message(arrival->instruction->diff);
      REQUIRE(message);
      for (const auto& i : message->instructions)
        if (const auto* k = std::get_if<transport::keystroke>(&i)) typed += k->keys.size();
    }
    now = std::max(now + std::chrono::milliseconds(1), actions.deadline);
  }
  CHECK(instructions > 0);  // it did talk: its window size, acks, heartbeats
  CHECK(typed == 0);
}

TEST_CASE("line feeds, DECALN and erases in bulk on the tallest screen stay within the budget") {
  const auto tallest = clamp_screen_size(max_screen_cells / max_screen_side, max_screen_side);
  terminal_state client(tallest.width, tallest.height);
  for (const std::string unit : {"\n", "\x1b#8", "\x1b[L", "\x1b[41m\x1b[2J\x1b[42m\x1b[2J"}) {
    std::string flood = "\x1b[" + std::to_string(tallest.height) + "H";
    for (int i = 0; i < 200'000; ++i) flood += unit;
    const bytes diff = host_message_of({transport::host_bytes{flood}});
    bool accepted = false;
    CHECK(apply_work(client, diff, accepted) <= refused_ceiling(diff.size()));
  }
}

TEST_CASE("a diff that touches every row of the largest screen is accepted and rebuilds it exactly") {
  for (const screen_size size : {widest, clamp_screen_size(214, 214),
                                 clamp_screen_size(11, max_screen_side)}) {
    terminal_state server(size.width, size.height), client(size.width, size.height);
    server.emulator().write(worst_screen(size.width, size.height));
    const bytes diff = server.diff_from(client);
    bool accepted = false;
    const auto work = apply_work(client, diff, accepted);
    CHECK(accepted);
    CHECK(client == server);
    CHECK(work <= host_message_work_budget(diff.size()));
  }
}

TEST_CASE("a full repaint of the largest allowed screen fits in one instruction") {
  // Every shape at the cell cap: the widest, a square and the tallest; and a repaint
  // after a size change (which clears the screen first) as well as from a blank screen.
  for (const screen_size size : {widest, clamp_screen_size(214, 214),
                                 clamp_screen_size(11, max_screen_side)}) {
    terminal_state server(size.width, size.height);
    server.emulator().write(worst_screen(size.width, size.height));
    for (const terminal_state& from : {terminal_state(size.width, size.height), terminal_state(1, 1)}) {
      transport::instruction inst;
      inst.old_num = 0xFFFF'FFFF'FFFF'FFFEull;
      inst.new_num = 0xFFFF'FFFF'FFFF'FFFFull;
      inst.ack_num = 0xFFFF'FFFF'FFFF'FFFEull;
      inst.throwaway_num = 0xFFFF'FFFF'FFFF'FFFEull;
      inst.diff = server.diff_from(from);
      inst.chaff = bytes(16, 'c');
      const auto size_on_wire = transport::encode(inst).size();
      MESSAGE(size.width << " x " << size.height << ": " << size_on_wire << " bytes, "
                         << static_cast<double>(size_on_wire) / (size.width * size.height)
                         << " a cell");
      CHECK(size_on_wire <= transport::max_decompressed_size);
    }
  }
}

TEST_CASE("held screens stay within the receiver's byte budget") {
  // A server that sends a new full screen of the largest size in every instruction
  // and never lets the client throw one away.
  terminal_state initial(80, 24);
  ssp::receiver<terminal_state> r(initial, time_point{});
  terminal_state server(widest.width, widest.height);
  const std::size_t one_screen = server.approx_bytes();
  CHECK(one_screen >= std::size_t(widest.width) * std::size_t(widest.height) * sizeof(cell));
  terminal_state previous = initial;
  for (std::uint64_t n = 1; n <= 200; ++n) {
    server.emulator().write("\x1b#8\x1b[H" + std::to_string(n));
    transport::instruction inst;
    inst.protocol_version = transport::protocol_version;
    inst.old_num = n - 1;
    inst.new_num = n;
    inst.diff = server.diff_from(previous);
    previous = server;
    REQUIRE(r.receive(inst, time_point{} + std::chrono::milliseconds(n)) == ssp::receive_outcome::newest);
    CHECK(r.held_bytes() <= ssp::received_states_byte_budget);
  }
  CHECK(r.newest_state() == server);
  CHECK(r.received_states().size() < 200);
  CHECK(r.stats().over_budget > 0);
}

TEST_CASE("the first window size read from a terminal is clamped like every later resize") {
  int master = -1, slave = -1;
  winsize huge{};
  huge.ws_col = 65535;
  huge.ws_row = 65535;
  REQUIRE(::openpty(&master, &slave, nullptr, nullptr, &huge) == 0);
  const auto size = os::query_window_size(slave);
  ::close(master);
  ::close(slave);
  REQUIRE(size.has_value());
  CHECK(screen_size_allowed(size->width, size->height));
  CHECK(size->width == max_screen_side);
}

}  // TEST_SUITE
