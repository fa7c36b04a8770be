// wire-walk CAPTURE.json [--allow-offer]: opens every datagram of a capture made by
// record-captures with the session's key, reassembles and inflates each instruction, and
// walks its protobuf fields, nested diffs included, against Mosh 1.4's schema (protocol
// §6.1-§6.3). Any other field is a violation. --allow-offer admits exactly one more: the
// client's announcement (Instruction field 20, docs/protocol.md "Extensions"). Exits 0
// when the capture is clean, 1 with a line per violation, 2 on unusable input.

#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "mosh2/datagram/connection_core.hpp"
#include "mosh2/transport/compressor.hpp"
#include "mosh2/transport/fragment.hpp"
#include "mosh2/transport/instruction.hpp"
#include "mosh2/transport/protobuf.hpp"

namespace {

using namespace mosh2;
namespace pb = transport::pb;

/// The fields a message may hold, and for each nested one the schema of its content.
struct schema {
  std::set<std::uint32_t> fields;
  std::map<std::uint32_t, const schema*> nested;
};

// ClientBuffers / HostBuffers (§6.2, §6.3): Instruction extensions and their messages.
const schema keystroke{{4}, {}};
const schema resize{{5, 6}, {}};
const schema hostbytes{{4}, {}};
const schema echoack{{8}, {}};
const schema user_instruction{{2, 3}, {{2, &keystroke}, {3, &resize}}};
const schema host_instruction{{2, 3, 7}, {{2, &hostbytes}, {3, &resize}, {7, &echoack}}};
const schema user_message{{1}, {{1, &user_instruction}}};
const schema host_message{{1}, {{1, &host_instruction}}};

struct walker {
  int violations = 0;
  std::uint64_t fields_seen = 0;

  void walk(bytes_view data, const schema& s, const std::string& where) {
    pb::reader r(data);
    while (!r.at_end()) {
      auto f = r.next();
      if (!f) {
        report(where + ": undecodable protobuf");
        return;
      }
      ++fields_seen;
      if (!s.fields.count(f->number)) {
        report(where + ": field " + std::to_string(f->number) + " is not in Mosh 1.4's schema");
        continue;
      }
      if (auto n = s.nested.find(f->number); n != s.nested.end())
        walk(f->data, *n->second, where + "." + std::to_string(f->number));
    }
  }
  void report(const std::string& line) {
    ++violations;
    if (violations <= 20) std::printf("wire-walk: %s\n", line.c_str());
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3 || (argc == 3 && std::string(argv[2]) != "--allow-offer")) {
    std::fprintf(stderr, "usage: wire-walk CAPTURE.json [--allow-offer]\n");
    return 2;
  }
  const bool allow_offer = argc == 3;
  nlohmann::json doc;
  try {
    std::ifstream in(argv[1]);
    doc = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wire-walk: %s: %s\n", argv[1], e.what());
    return 2;
  }
  auto key = crypto::session_key::parse(doc.at("key").get<std::string>());
  if (!key) {
    std::fprintf(stderr, "wire-walk: the capture's key does not parse\n");
    return 2;
  }
  // The server opens what the client sent, and the other way round.
  datagram::connection_core at_server(datagram::role::server, *key, time_point{});
  datagram::connection_core at_client(datagram::role::client, *key, time_point{});
  // Duplicates and reordering: chunks are kept by number, and each id is walked once.
  struct assembly {
    std::map<std::uint16_t, bytes> chunks;
    std::optional<std::uint16_t> final_number;
    bool done = false;
  };
  std::map<std::string, std::map<std::uint64_t, assembly>> pending;  // by direction, then id
  walker w;
  std::uint64_t instructions = 0, offers = 0, datagrams = 0;
  for (const auto& d : doc.at("datagrams")) {
    const std::string dir = d.at("dir").get<std::string>();
    const std::string hex = d.at("hex").get<std::string>();
    bytes wire;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) wire.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    auto opened = (dir == "c2s" ? at_server : at_client).open(wire, time_point{});
    if (!opened) {
      w.report(dir + ": a datagram does not open with the session key");
      continue;
    }
    ++datagrams;
    auto frag = transport::parse_fragment(opened->payload);
    if (!frag) {
      w.report(dir + ": a payload is not a fragment");
      continue;
    }
    auto& a = pending[dir][frag->id];
    if (a.done) continue;
    a.chunks[frag->number] = bytes(frag->chunk);
    if (frag->final) a.final_number = frag->number;
    if (!a.final_number || a.chunks.size() != std::size_t{*a.final_number} + 1) continue;
    bytes compressed;
    for (auto& [n, c] : a.chunks) compressed += c;
    a.done = true;
    a.chunks.clear();
    auto plain = transport::decompress(compressed);
    if (!plain) {
      w.report(dir + ": an instruction does not inflate");
      continue;
    }
    ++instructions;
    schema instruction{{1, 2, 3, 4, 5, 6, 7}, {{6, dir == "c2s" ? &user_message : &host_message}}};
    if (allow_offer && dir == "c2s") {
      instruction.fields.insert(transport::offer_field);
      pb::reader r(*plain);
      while (!r.at_end()) {
        auto f = r.next();
        if (f && f->number == transport::offer_field) ++offers;
        if (!f) break;
      }
    }
    w.walk(*plain, instruction, dir + " instruction " + std::to_string(frag->id));
  }
  std::printf("wire-walk: %llu datagrams, %llu instructions, %llu fields walked, %llu announcements, %d violations\n",
              static_cast<unsigned long long>(datagrams), static_cast<unsigned long long>(instructions),
              static_cast<unsigned long long>(w.fields_seen), static_cast<unsigned long long>(offers), w.violations);
  if (instructions < 10) {
    std::printf("wire-walk: too few instructions to say anything\n");
    return 1;
  }
  if (allow_offer && offers == 0) {
    std::printf("wire-walk: --allow-offer, but the client never announced: this is not a mosh2 client\n");
    return 1;
  }
  return w.violations == 0 ? 0 : 1;
}
