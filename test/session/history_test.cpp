// The history stream between two cores over the simulated link: the lines that scroll
// off the server's screen reach the client's local terminal (an emulator with a
// scrollback of its own, fed every byte the client writes) once each and in order
// through loss; a client that did not agree gets nothing new; a history that outruns
// the link leaves one marker line; the extended styles reach only a mosh2 client.

#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "mosh2/terminal/display.hpp"
#include "mosh2/terminal/emulator.hpp"
#include "session_sim.hpp"

using namespace mosh2;
using namespace mosh2::session;
using namespace mosh2::session::test;

namespace {

extension_config stock_like() { return extension_config{{}, {}}; }

std::string line_text(const terminal::history_line& l) {
  std::string s;
  for (const auto& c : l.cells) s += c.blank() ? std::string(" ") : std::string(c.text());
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

/// What the client's local terminal holds, scrollback first, then the screen: it gets
/// every byte the client wrote, as a terminal with a large history would.
std::vector<std::string> local_terminal_lines(session_sim& sim) {
  terminal::emulator local(80, 24, terminal::emulator_options{200000, false});
  local.write(sim.client().open_screen());
  local.write(sim.client_output);
  std::vector<std::string> out;
  if (const auto* h = local.history())
    for (auto n = h->first(); n < h->end(); ++n) out.push_back(line_text(h->line(n)));
  if (!local.alternate_screen())
    for (int r = 0; r < local.fb().height(); ++r) out.push_back(row_text(local.fb(), r));
  return out;
}

std::vector<std::string> numbers_in(const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  for (const auto& l : lines)
    if (!l.empty() && l.find_first_not_of("0123456789") == std::string::npos) out.push_back(l);
  return out;
}

/// `seq first last` on the server's pty, `per_write` lines a write, one write every `gap`.
void seq(session_sim& sim, int first, int last, int per_write, milliseconds gap) {
  for (int n = first; n <= last;) {
    std::string chunk;
    for (int i = 0; i < per_write && n <= last; ++i, ++n) chunk += std::to_string(n) + "\r\n";
    (void)sim.server().handle(program_output{chunk}, sim.now());
    sim.run_for(gap);
  }
}

/// The instructions among `sent` (the server's datagrams), as the client opens them.
std::vector<transport::instruction> opened_instructions(const std::vector<bytes>& sent) {
  std::vector<transport::instruction> out;
  datagram::connection_core dc(datagram::role::client, test_key(), time_point{});
  transport::fragment_assembler assembler;
  for (const auto& d : sent) {
    auto o = dc.open(d, time_point{});
    if (!o) continue;
    auto a = assembler.add(o->payload);
    if (a && *a) out.push_back(std::move(**a));
  }
  return out;
}

std::vector<std::string> expected(int first, int last) {
  std::vector<std::string> out;
  for (int n = first; n <= last; ++n) out.push_back(std::to_string(n));
  return out;
}

/// The key of an attach (a new client in the first one's place).
crypto::session_key attach_key() {
  crypto::session_key::raw_type raw{};
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(90 + i * 5);
  return crypto::session_key(raw);
}

}  // namespace

TEST_SUITE("session") {

TEST_CASE("scrolled lines reach the local terminal's scrollback once each and in order through loss") {
  const link_model lossy{0.2, 100, 100};
  session_sim sim(lossy, lossy, 3, {}, 100000);
  sim.run_for(2s);
  REQUIRE(sim.server().transport().stream_open(extension::history));
  seq(sim, 1, 50000, 2500, 10ms);
  // A window a round trip: 50,000 short lines take about 20 s of (simulated) time here.
  sim.run_for(60s);
  CHECK(sim.client().history().lines() == 50000 - 23);
  const auto lines = local_terminal_lines(sim);
  CHECK(numbers_in(lines) == expected(1, 50000));
  CHECK(sim.client().history().skipped() == 0);
  CHECK(sim.down().lost() > 0);
  CHECK(sim.client().history().bad_items() == 0);
  // Nothing is left unacknowledged at the server.
  CHECK(sim.server().transport().stream_out(extension::history)->size() == 0);
}

TEST_CASE("the screen keeps coming while the history is behind") {
  const link_model lossy{0.2, 100, 100};
  session_sim sim(lossy, lossy, 5);
  sim.run_for(2s);
  seq(sim, 1, 20000, 20000, 0ms);
  // The last line is on the client's screen long before the history caught up.
  for (int i = 0; i < 100 && row_text(sim.client().server_screen(), 22) != "20000"; ++i) sim.run_for(100ms);
  CHECK(row_text(sim.client().server_screen(), 22) == "20000");
  CHECK(sim.client().history().lines() < 20000 - 24);
}

TEST_CASE("without loss the history keeps up: a window every round trip") {
  const link_model slow{0.0, 100, 100};
  session_sim sim(slow, slow, 1, {}, 100000);
  sim.run_for(2s);
  seq(sim, 1, 50000, 2500, 10ms);
  // About 650 KB of encoded lines, 64 KiB a round trip of 200 ms (plus the ack delay).
  sim.run_for(5s);
  CHECK(sim.client().history().lines() == 50000 - 23);
}

TEST_CASE("the history's bulk rides beside the screen's instructions, never in them") {
  session_sim sim({}, {}, 1, {}, 100000);
  sim.run_for(1s);
  seq(sim, 1, 20000, 1000, 5ms);
  sim.run_for(3s);
  REQUIRE(sim.client().history().lines() == 20000 - 23);
  std::size_t bulky = 0, screens = 0;
  for (const auto& inst : opened_instructions(sim.down().history)) {
    std::size_t stream_bytes = 0;
    for (const auto& f : inst.ext.streams) stream_bytes += f.diff.size();
    if (inst.ext.no_state) {
      if (stream_bytes > stream_piggyback_bytes) ++bulky;
      continue;
    }
    if (!inst.diff.empty()) ++screens;
    CHECK(stream_bytes <= stream_piggyback_bytes);
  }
  CHECK(bulky >= 3);
  CHECK(screens > 5);
}

TEST_CASE("a frame diff toward a terminal whose scrollback has the history scrolls nothing off its top") {
  // A screen of numbered rows, then the same scrolled up by 5: the diff's cheapest way
  // is to scroll. A terminal that keeps what scrolls off (here an emulator with a
  // history) must get no row that way.
  terminal::framebuffer last(80, 24), target(80, 24);
  terminal::emulator a(80, 24), b(80, 24);
  std::string rows, more;
  for (int i = 1; i <= 24; ++i) rows += "row " + std::to_string(i) + (i < 24 ? "\r\n" : "");
  for (int i = 25; i <= 29; ++i) more += "\r\nrow " + std::to_string(i);
  a.write(rows);
  b.write(rows + more);
  for (const bool scroll_off_top : {true, false}) {
    auto profile = terminal::terminal_profile::from_term("xterm-256color");
    profile.has_scroll = false;  // line feeds at the bottom: what terminals keep
    profile.scroll_off_top = scroll_off_top;
    terminal::emulator local(80, 24, terminal::emulator_options{1000, false});
    local.write(terminal::new_frame(terminal::framebuffer(80, 24), a.fb(), profile, false));
    local.write(terminal::new_frame(a.fb(), b.fb(), profile, true));
    CHECK(row_text(local.fb(), 0) == "row 6");
    CHECK(row_text(local.fb(), 23) == "row 29");
    CHECK((local.history()->end() == 0) == !scroll_off_top);
  }
}

TEST_CASE("a client that did not agree gets no history, and draws as before") {
  for (const auto& client : {stock_like(), without_extension(extension_config{}, extension::history)}) {
    session_sim sim({}, {}, 1, {extension_config{}, client});
    sim.run_for(1s);
    seq(sim, 1, 200, 50, 40ms);
    sim.run_for(2s);
    CHECK_FALSE(sim.server().transport().stream_open(extension::history));
    CHECK(sim.client().history().lines() == 0);
    CHECK(row_text(sim.client().server_screen(), 22) == "200");
    // Still on the alternate screen, as a Mosh 1.4 client: no line reached a scrollback.
    CHECK(numbers_in(local_terminal_lines(sim)).empty());
  }
}

TEST_CASE("a server without history opens no stream") {
  session_sim sim({}, {}, 1, {}, 0);
  sim.run_for(1s);
  seq(sim, 1, 100, 50, 40ms);
  sim.run_for(1s);
  CHECK(sim.server().transport().extensions().agreed(extension::extended_styles));
  CHECK_FALSE(sim.server().transport().stream_open(extension::history));
  CHECK(sim.client().history().lines() == 0);
}

TEST_CASE("lines the bound dropped before they were sent become one marker line") {
  session_sim sim({}, {}, 1, {}, 100);
  sim.run_for(1s);
  seq(sim, 1, 5000, 5000, 0ms);
  sim.run_for(5s);
  const auto lines = local_terminal_lines(sim);
  std::size_t markers = 0;
  std::size_t marker_at = 0;
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (lines[i].starts_with("[mosh2: ")) {
      ++markers;
      marker_at = i;
    }
  REQUIRE(markers == 1);
  // 5000 lines scrolled, minus the screen's 23 and the 100 kept.
  CHECK(lines[marker_at] == "[mosh2: 4,877 lines skipped]");
  const std::vector<std::string> after(lines.begin() + static_cast<std::ptrdiff_t>(marker_at) + 1, lines.end());
  CHECK(numbers_in(after) == expected(4878, 5000));
  CHECK(sim.client().history().skipped() == 4877);
}

TEST_CASE("the extended styles reach a mosh2 client; a stock-like one gets the plain underline") {
  for (const bool mosh2_client : {true, false}) {
    session_sim sim({}, {}, 1, {extension_config{}, mosh2_client ? extension_config{} : stock_like()});
    sim.run_for(1s);
    (void)sim.server().handle(program_output{"\033[4:3mX\033[m"}, sim.now());
    sim.run_for(1s);
    const auto& r = sim.client().server_screen().cell_at(0, 0).rend();
    CHECK(r.has(terminal::renditions::underlined));
    CHECK(r.ul_style == (mosh2_client ? terminal::underline_style::curly : terminal::underline_style::single));
  }
}

TEST_CASE("after an attach the new client gets the newest 1,000 history lines, no more, before its first screen") {
  session_sim sim({}, {}, 1, {}, 10000);
  sim.run_for(1s);
  seq(sim, 1, 5000, 500, 10ms);
  sim.run_for(3s);
  REQUIRE(sim.client().history().lines() == 5000 - 23);
  const auto* h = sim.server().transport().local().emulator().history();
  REQUIRE(h != nullptr);
  REQUIRE(h->end() == 5000 - 23);
  REQUIRE(h->size() == 5000 - 23);

  // `mosh2-server attach`: a new key, and a new client process in a fresh terminal.
  (void)sim.server().handle(rekey_requested{attach_key()}, sim.now());
  sim.replace_client(attach_key());
  sim.client_output.clear();
  // Its first screen (the bottom line, 5000, drawn) comes with the history or after it.
  bool screen_seen = false;
  for (int i = 0; i < 500 && !screen_seen; ++i) {
    sim.run_for(10ms);
    screen_seen = sim.client_output.find("5000") != std::string::npos;
  }
  REQUIRE(screen_seen);
  CHECK(sim.client().history().lines() == history_reattach_lines);
  sim.run_for(3s);
  // Exactly the newest 1,000 kept lines: numbers 3978..4977 (line n holds n + 1), then
  // the screen's 4978..5000; nothing older, nothing twice, and no marker line (the
  // older lines are the first client's, not lost).
  CHECK(sim.client().history().lines() == history_reattach_lines);
  CHECK(sim.client().history().skipped() == 0);
  const auto lines = local_terminal_lines(sim);
  CHECK(numbers_in(lines) == expected(5000 - 23 - 1000 + 1, 5000));
  CHECK(std::none_of(lines.begin(), lines.end(), [](const std::string& l) { return l.starts_with("[mosh2: "); }));
}

TEST_CASE("a widened screen takes back no line the client was sent: its terminal holds each once") {
  session_sim sim({}, {}, 1, {}, 10000);
  sim.run_for(1s);
  // 100 lines of 120 columns: two rows each at 80.
  std::string out;
  for (int i = 1; i <= 100; ++i) {
    out += fmt::format("{:04}:", i);
    out.append(115, static_cast<char>('a' + i % 26));
    out += "\r\n";
  }
  (void)sim.server().handle(program_output{out}, sim.now());
  sim.run_for(3s);
  REQUIRE(sim.client().history().lines() == 200 + 1 - 24);
  // The local terminal, as the client's output reaches it; then the window widens.
  terminal::emulator local(80, 24, terminal::emulator_options{200000, false});
  local.write(sim.client().open_screen());
  local.write(sim.client_output);
  sim.client_output.clear();
  local.resize(200, 24);
  (void)sim.client().handle(window_resized{200, 24}, sim.now());
  sim.run_for(3s);
  REQUIRE(sim.server().transport().local().emulator().fb().width() == 200);
  local.write(sim.client_output);
  // Every numbered line once, in order, in the scrollback and screen together.
  std::vector<std::string> numbers;
  auto take = [&](const std::string& text) {
    if (text.size() > 5 && text[4] == ':' && text.substr(0, 4).find_first_not_of("0123456789") == std::string::npos)
      numbers.push_back(text.substr(0, 4));
  };
  for (auto n = local.history()->first(); n < local.history()->end(); ++n) take(line_text(local.history()->line(n)));
  for (int r = 0; r < local.fb().height(); ++r) take(row_text(local.fb(), r));
  std::vector<std::string> want;
  for (int i = 1; i <= 100; ++i) want.push_back(fmt::format("{:04}", i));
  CHECK(numbers == want);
}

}  // TEST_SUITE
