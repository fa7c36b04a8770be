// Decodes every datagram of the stock Mosh 1.4 captures (test/fixtures/stock-1.4, made by
// test/conformance/record-captures) with mosh2's layers, and checks that re-encoding what
// was decoded reproduces the captured bytes exactly.

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "../support/test_data.hpp"
#include "mosh2/crypto/ocb_session.hpp"
#include "mosh2/crypto/session_key.hpp"
#include "mosh2/datagram/connection_core.hpp"
#include "mosh2/datagram/packet.hpp"
#include "mosh2/terminal/emulator.hpp"
#include "mosh2/transport/compressor.hpp"
#include "mosh2/transport/fragment.hpp"
#include "mosh2/transport/instruction.hpp"
#include "mosh2/transport/messages.hpp"
#include "mosh2/util/bytes.hpp"
#include "mosh2/util/clock.hpp"

namespace {

using namespace mosh2;
using json = nlohmann::json;

enum class dir { c2s, s2c };
constexpr std::size_t index_of(dir d) { return d == dir::c2s ? 0 : 1; }
std::string name_of(dir d) { return d == dir::c2s ? "c2s" : "s2c"; }

/// IPv4 loopback: MTU 1252, so a non-final fragment carries 1214 bytes of zlib data.
constexpr std::size_t ipv4_fragment_payload = 1214;

struct captured {
  dir d;
  double t_ms;
  bytes wire;
};

/// One fixture file, parsed.
struct capture_file {
  std::string name;
  json meta;
  std::vector<captured> datagrams;  ///< in the order the relay received them
  std::vector<std::size_t> deliveries;  ///< indexes into datagrams, as the relay sent them on

  crypto::session_key key() const {
    auto k = crypto::session_key::parse(meta.at("key").get<std::string>());
    REQUIRE(k.has_value());
    return *k;
  }
  std::vector<std::size_t> capture_order() const {
    std::vector<std::size_t> v(datagrams.size());
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = i;
    return v;
  }
};

capture_file load(const std::string& name) {
  capture_file f;
  f.name = name;
  f.meta = json::parse(test::read_file("fixtures/stock-1.4/" + name));
  REQUIRE(f.meta.at("made_by") == "test/conformance/record-captures");
  for (const auto& d : f.meta.at("datagrams")) {
    captured c{d.at("dir") == "c2s" ? dir::c2s : dir::s2c, d.at("t_ms").get<double>(), {}};
    REQUIRE((d.at("dir") == "c2s" || d.at("dir") == "s2c"));
    REQUIRE(from_hex(d.at("hex").get<std::string>(), c.wire));
    f.datagrams.push_back(std::move(c));
  }
  for (const auto& d : f.meta.at("deliveries")) {
    auto n = d.at("n").get<std::size_t>();
    REQUIRE(n < f.datagrams.size());
    f.deliveries.push_back(n);
  }
  REQUIRE_FALSE(f.datagrams.empty());
  return f;
}

/// A reassembled, decoded instruction and the bytes it was decoded from.
struct decoded_instruction {
  transport::instruction in;
  bytes raw;                 ///< decompressed protobuf bytes
  std::size_t fragments = 0; ///< how many fragments carried it
  std::size_t datagram = 0;  ///< index of the datagram that completed it
};

/// What one direction of a capture decodes to.
struct direction_trace {
  std::size_t datagrams = 0;
  std::size_t fragments = 0;
  std::size_t instruction_ids = 0;  ///< distinct fragment ids seen
  std::size_t out_of_order = 0;     ///< datagrams connection_core saw with an old seq
  std::size_t zlib_identical = 0;   ///< instructions our compress() reproduces byte for byte
  std::vector<decoded_instruction> instructions;
  transport::assembler_stats assembler;
};

/// Feeds the datagrams at `order` through the crypto, datagram and fragment layers, one
/// assembler per direction, checking every round trip on the way. `in_sequence`: the
/// order is the senders' own (the capture), so sequence numbers must count 0, 1, 2, ...
std::array<direction_trace, 2> decode_all(const capture_file& f,
                                          const std::vector<std::size_t>& order,
                                          bool in_sequence) {
  const auto key = f.key();
  crypto::ocb_session cipher(key);
  const time_point t0{};
  // The end that opens each direction: the server opens c2s, the client opens s2c.
  datagram::connection_core server(datagram::role::server, key, t0);
  datagram::connection_core client(datagram::role::client, key, t0);
  std::array<transport::fragment_assembler, 2> assembler;
  std::array<direction_trace, 2> trace;
  std::array<std::uint64_t, 2> next_seq{0, 0};
  // Our own copy of every fragment, to recover the compressed bytes of each instruction.
  std::array<std::map<std::uint64_t, std::map<std::uint16_t, bytes>>, 2> chunks;

  for (std::size_t i : order) {
    const captured& c = f.datagrams[i];
    const auto k = index_of(c.d);
    auto& tr = trace[k];
    CAPTURE(f.name);
    CAPTURE(i);
    CAPTURE(name_of(c.d));
    ++tr.datagrams;
    const auto now = t0 + std::chrono::microseconds(static_cast<std::int64_t>(c.t_ms * 1000));
    const auto sender = c.d == dir::c2s ? datagram::role::client : datagram::role::server;

    // Crypto + datagram layer, stateless: authenticate, then seal again byte for byte.
    auto dg = datagram::decode(cipher, c.wire, sender);
    REQUIRE_MESSAGE(dg.has_value(), "datagram does not authenticate");
    CHECK((dg->number & datagram::to_client_bit) == datagram::direction_bit_of(sender));
    CHECK(datagram::encode(cipher, dg->number, dg->timestamp, dg->timestamp_reply,
                           dg->payload) == c.wire);
    if (in_sequence) CHECK(dg->seq() == next_seq[k]++);

    // The connection core agrees, and hands up the same payload.
    auto& core = c.d == dir::c2s ? server : client;
    auto rx = core.open(c.wire, now);
    REQUIRE(rx.has_value());
    CHECK(rx->payload == dg->payload);
    CHECK(rx->seq == dg->seq());
    if (!rx->in_order) ++tr.out_of_order;

    // Fragment layer: the header round-trips; keep the chunk for our own check.
    auto frag = transport::parse_fragment(dg->payload);
    REQUIRE(frag.has_value());
    CHECK(transport::encode_fragment(frag->id, frag->number, frag->final, frag->chunk) ==
          dg->payload);
    if (!frag->final) CHECK(frag->chunk.size() == ipv4_fragment_payload);
    ++tr.fragments;
    auto& mine = chunks[k];
    if (!mine.contains(frag->id)) ++tr.instruction_ids;
    mine[frag->id].emplace(frag->number, bytes(frag->chunk));

    auto out = assembler[k].add(dg->payload);
    REQUIRE(out.has_value());
    if (!out->has_value()) continue;
    const transport::instruction& in = **out;

    // Our reassembly of the same id: every fragment present, then zlib and protobuf.
    const auto& parts = mine.at(frag->id);
    bytes compressed;
    std::uint16_t expect_number = 0;
    for (const auto& [number, chunk] : parts) {
      CHECK(number == expect_number++);
      compressed += chunk;
    }
    auto raw = transport::decompress(compressed);
    REQUIRE(raw.has_value());
    auto again = transport::decode_instruction(*raw);
    REQUIRE(again.has_value());
    CHECK(*again == in);
    CHECK(transport::encode(in) == *raw);  // Instruction round trip
    // Same zlib, same level: usually the same bytes, but the protocol does not promise it.
    tr.zlib_identical += transport::compress(*raw) == compressed;

    // The diff round trip, as the message type of this direction.
    if (c.d == dir::c2s) {
      auto m = transport::decode_user_message(in.diff);
      REQUIRE(m.has_value());
      CHECK(transport::encode(*m) == in.diff);
    } else {
      auto m = transport::decode_host_message(in.diff);
      REQUIRE(m.has_value());
      CHECK(transport::encode(*m) == in.diff);
    }
    tr.instructions.push_back({in, std::move(*raw), parts.size(), i});
  }
  for (std::size_t k = 0; k < 2; ++k) trace[k].assembler = assembler[k].stats();
  return trace;
}

/// The receiver side of SSP reduced to what a replay needs (protocol §7.5): a state is
/// made from a held state by applying the diff; duplicates and unknown bases are dropped.
template <class State, class Apply>
std::map<std::uint64_t, State> replay(const std::vector<decoded_instruction>& ins,
                                      State initial, Apply apply) {
  std::map<std::uint64_t, State> states;
  states.emplace(0, std::move(initial));
  for (const auto& d : ins) {
    if (states.contains(d.in.new_num)) continue;
    auto base = states.find(d.in.old_num);
    if (base == states.end()) continue;
    State s = base->second;
    if (!d.in.diff.empty()) apply(s, d.in.diff);
    states.emplace(d.in.new_num, std::move(s));
  }
  return states;
}

using user_log = std::vector<transport::user_instruction>;

std::map<std::uint64_t, user_log> replay_user(const std::vector<decoded_instruction>& ins) {
  return replay(ins, user_log{}, [](user_log& log, const bytes& diff) {
    auto m = transport::decode_user_message(diff);
    REQUIRE(m.has_value());
    log.insert(log.end(), m->instructions.begin(), m->instructions.end());
  });
}

std::map<std::uint64_t, terminal::emulator> replay_host(const std::vector<decoded_instruction>& ins,
                                                        int width, int height) {
  return replay(ins, terminal::emulator(width, height),
                [](terminal::emulator& emu, const bytes& diff) {
                  auto m = transport::decode_host_message(diff);
                  REQUIRE(m.has_value());
                  for (const auto& hi : m->instructions) {
                    if (auto* r = std::get_if<transport::resize>(&hi))
                      emu.resize(r->width, r->height);
                    else if (auto* h = std::get_if<transport::host_bytes>(&hi))
                      emu.write(h->hoststring);
                  }
                });
}

/// The screen as text lines, wide characters once, blanks as spaces, right-trimmed.
std::vector<std::string> screen_lines(const terminal::framebuffer& fb) {
  std::vector<std::string> lines;
  for (int r = 0; r < fb.height(); ++r) {
    std::string line;
    for (int c = 0; c < fb.width();) {
      const auto& cell = fb.cell_at(r, c);
      line += cell.blank() ? std::string(" ") : std::string(cell.text());
      c += cell.width();
    }
    line.erase(line.find_last_not_of(' ') + 1);
    lines.push_back(line);
  }
  return lines;
}

bool has_line(const std::vector<std::string>& lines, const std::string& want) {
  for (const auto& l : lines)
    if (l == want) return true;
  return false;
}

std::string typed_keys(const user_log& log) {
  std::string keys;
  for (const auto& e : log)
    if (auto* k = std::get_if<transport::keystroke>(&e)) keys += k->keys;
  return keys;
}

std::vector<transport::resize> resizes(const user_log& log) {
  std::vector<transport::resize> v;
  for (const auto& e : log)
    if (auto* r = std::get_if<transport::resize>(&e)) v.push_back(*r);
  return v;
}

const std::string utf8_line = "echo h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac";  // echo héllo 日本
const std::string utf8_output = "h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac";

/// Checks that hold for any capture of the recorded script, in capture order.
void check_session(const capture_file& f, const std::array<direction_trace, 2>& t) {
  CAPTURE(f.name);
  const auto& c2s = t[0];
  const auto& s2c = t[1];
  const auto width = f.meta.at("size").at(0).get<int>();
  const auto height = f.meta.at("size").at(1).get<int>();

  // Nothing dropped anywhere; every fragment id completed exactly once.
  for (const auto& tr : t) {
    CHECK(tr.assembler.drops() == 0);
    CHECK(tr.assembler.abandoned == 0);
    CHECK(tr.assembler.duplicates == 0);
    CHECK(tr.out_of_order == 0);
    CHECK(tr.instructions.size() == tr.instruction_ids);
    CHECK(tr.assembler.instructions == tr.instructions.size());
    for (const auto& d : tr.instructions) CHECK(d.in.protocol_version == 2);
  }
  // The random base64 block needs two fragments (protocol §13.2).
  std::size_t multi = 0;
  for (const auto& d : s2c.instructions) multi += d.fragments > 1;
  CHECK(multi >= 1);

  // The first client instruction: 0 -> 1 carrying the client's window size (§7.6).
  REQUIRE_FALSE(c2s.instructions.empty());
  const auto& first = c2s.instructions.front().in;
  CHECK(first.old_num == 0);
  CHECK(first.new_num == 1);
  auto first_msg = transport::decode_user_message(first.diff);
  REQUIRE(first_msg.has_value());
  REQUIRE_FALSE(first_msg->instructions.empty());
  CHECK(first_msg->instructions.front() ==
        transport::user_instruction{transport::resize{width, height}});
  // The server's first instruction is a pure ack of it (§2).
  REQUIRE_FALSE(s2c.instructions.empty());
  CHECK(s2c.instructions.front().in.ack_num == 1);

  // Shutdown (§7.7): once the client sends new_num 2^64-1 it sends nothing else, and the
  // server's last instruction acknowledges it.
  const auto shutdown = transport::shutdown_num;
  std::size_t first_shutdown = c2s.instructions.size();
  for (std::size_t i = 0; i < c2s.instructions.size(); ++i)
    if (c2s.instructions[i].in.new_num == shutdown) {
      first_shutdown = i;
      break;
    }
  REQUIRE(first_shutdown < c2s.instructions.size());
  for (std::size_t i = first_shutdown; i < c2s.instructions.size(); ++i)
    CHECK(c2s.instructions[i].in.new_num == shutdown);
  CHECK(s2c.instructions.back().in.ack_num == shutdown);
  for (std::size_t i = 0; i + 1 < s2c.instructions.size(); ++i)
    CHECK(s2c.instructions[i].in.ack_num != shutdown);
  for (const auto& d : s2c.instructions) CHECK(d.in.new_num != shutdown);

  // The keystroke log, rebuilt as the server would: everything typed, both resizes.
  auto users = replay_user(c2s.instructions);
  const auto& log = users.rbegin()->second;
  const auto keys = typed_keys(log);
  CHECK(keys.find("echo hello\r") != std::string::npos);
  CHECK(keys.find("stty size\r") != std::string::npos);
  CHECK(keys.find(utf8_line + "\r") != std::string::npos);
  const auto rs = resizes(log);
  REQUIRE(rs.size() >= 2);
  CHECK(rs.front() == transport::resize{width, height});
  CHECK(rs.back() == transport::resize{f.meta.at("resized_to").at(0).get<int>(),
                                       f.meta.at("resized_to").at(1).get<int>()});
}

/// The hoststrings rebuild the client's screen: a blank terminal of the client's size
/// (§7.6), each state made from the one its diff names.
void check_screen(const capture_file& f, const std::vector<decoded_instruction>& s2c) {
  CAPTURE(f.name);
  auto screens = replay_host(s2c, f.meta.at("size").at(0).get<int>(),
                             f.meta.at("size").at(1).get<int>());
  const auto& emu = screens.rbegin()->second;
  CHECK(emu.fb().width() == f.meta.at("resized_to").at(0).get<int>());
  CHECK(emu.fb().height() == f.meta.at("resized_to").at(1).get<int>());
  const auto lines = screen_lines(emu.fb());
  std::string shown;
  for (const auto& l : lines) shown += l + "\n";
  CAPTURE(shown);
  // "hello" has scrolled off by the end (the base64 block follows it): some earlier
  // state showed it.
  bool hello_shown = false;
  for (const auto& [num, state] : screens) hello_shown |= has_line(screen_lines(state.fb()), "hello");
  CHECK(hello_shown);
  CHECK(has_line(lines, "END-OF-BLOCK"));
  CHECK(has_line(lines, "30 100"));
  CHECK(has_line(lines, utf8_output));
  // tmux saw the same screen: its last lines match ours (tmux pads nothing we keep).
  const auto& tmux_screen = f.meta.at("client_screen_before_quit");
  REQUIRE(tmux_screen.size() >= 3);
  for (std::size_t back = 1; back <= 3; ++back) {
    auto want = tmux_screen.at(tmux_screen.size() - back).get<std::string>();
    want.erase(want.find_last_not_of(' ') + 1);
    CHECK(has_line(lines, want));
  }
}

/// One line per direction, for the log: how much of the protocol the capture exercises.
void summarize(const capture_file& f, const std::array<direction_trace, 2>& t) {
  for (dir d : {dir::c2s, dir::s2c}) {
    const auto& tr = t[index_of(d)];
    std::size_t multi = 0;
    for (const auto& i : tr.instructions) multi += i.fragments > 1;
    MESSAGE(f.name << " " << name_of(d) << ": " << tr.datagrams << " datagrams, "
                   << tr.instructions.size() << " instructions, " << multi
                   << " in several fragments; our zlib reproduces " << tr.zlib_identical);
    WARN_MESSAGE(tr.zlib_identical == tr.instructions.size(),
                 "compress() output differs from the stock sender's (allowed, §13.1)");
  }
}

}  // namespace

TEST_SUITE("conformance") {

TEST_CASE("stock capture, clean: every datagram authenticates and every layer round-trips") {
  const auto f = load("session-basic.json");
  const auto t = decode_all(f, f.capture_order(), true);
  check_session(f, t);
  CHECK(f.meta.at("client_exit") == 0);
  // Every datagram was delivered once, in order.
  CHECK(f.deliveries == f.capture_order());
  summarize(f, t);
}

TEST_CASE("stock capture, clean: the hoststrings rebuild the client's screen") {
  const auto f = load("session-basic.json");
  const auto t = decode_all(f, f.capture_order(), true);
  check_screen(f, t[1].instructions);
}

TEST_CASE("stock capture, lossy: the originals decode like a clean session") {
  const auto f = load("session-lossy.json");
  const auto t = decode_all(f, f.capture_order(), true);
  check_session(f, t);
  check_screen(f, t[1].instructions);
  summarize(f, t);
  // Loss made both stock ends retransmit: some state number went out more than once.
  std::size_t resent = 0;
  for (const auto& tr : t) {
    std::map<std::uint64_t, int> seen;
    for (const auto& d : tr.instructions)
      if (d.in.new_num != transport::shutdown_num && seen[d.in.new_num]++ == 1) ++resent;
  }
  CHECK(resent >= 1);
}

TEST_CASE("stock capture, lossy: in the order delivered, duplicates and reordering are absorbed") {
  const auto f = load("session-lossy.json");
  // The delivery log really has losses, duplicates and reordering in it.
  std::vector<int> times(f.datagrams.size(), 0);
  std::size_t reordered = 0;
  std::array<std::optional<std::size_t>, 2> last;
  for (auto n : f.deliveries) {
    ++times[n];
    auto& l = last[index_of(f.datagrams[n].d)];
    if (l && n < *l) ++reordered;
    if (!l || n > *l) l = n;
  }
  std::size_t lost = 0, duplicated = 0;
  for (int n : times) {
    lost += n == 0;
    duplicated += n > 1;
  }
  CHECK(lost > 0);
  CHECK(duplicated > 0);
  CHECK(reordered > 0);

  const auto t = decode_all(f, f.deliveries, false);
  std::size_t duplicates_seen = 0;
  for (const auto& tr : t) {
    CHECK(tr.assembler.drops() == 0);
    duplicates_seen += tr.assembler.duplicates + tr.assembler.late;
    for (const auto& d : tr.instructions) CHECK(d.in.protocol_version == 2);
  }
  CHECK(duplicates_seen > 0);
  // What the client received still reached the screen it showed before quitting.
  auto screens = replay_host(t[1].instructions, f.meta.at("size").at(0).get<int>(),
                             f.meta.at("size").at(1).get<int>());
  CHECK(has_line(screen_lines(screens.rbegin()->second.fb()), utf8_output));
  // And what the server received holds every line typed.
  auto users = replay_user(t[0].instructions);
  CHECK(typed_keys(users.rbegin()->second).find(utf8_line + "\r") != std::string::npos);
}

}  // TEST_SUITE
