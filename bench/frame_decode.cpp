// bench-decode: opens the server->client datagrams that server_compare.py captured with
// the session key, reassembles the instructions and says what each one is made of, so
// the per-change table can show both servers' frame diffs (the hoststrings) and their
// wire bytes without the random chaff. A benchmark helper; not a test, not a tool.
//
//   bench-decode [--hoststrings]
//
//   stdin:  line 1, the 22-letter session key (MOSH_KEY); then one line per datagram,
//           in arrival order: TAG HEX (TAG names the group, e.g. the screen change)
//   stdout: one line per complete instruction:
//           TAG old_num new_num datagrams wire_bytes compressed_bytes diff_bytes
//               chaff_bytes hoststring_bytes
//           (with --hoststrings, then the hoststrings themselves in hex, or "-")
//           or "TAG error WHAT" for a datagram or instruction that does not decode.

#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <utility>

#include "mosh2/crypto/ocb_session.hpp"
#include "mosh2/crypto/session_key.hpp"
#include "mosh2/datagram/packet.hpp"
#include "mosh2/transport/compressor.hpp"
#include "mosh2/transport/fragment.hpp"
#include "mosh2/transport/instruction.hpp"
#include "mosh2/transport/messages.hpp"
#include "mosh2/util/bytes.hpp"

namespace {

struct assembly {
  std::map<unsigned, std::string> chunks;  // fragment number -> chunk
  int count = -1;                          // fragments in all, once the final one came
  std::size_t wire = 0;                    // datagram bytes so far
};

std::string to_hex(const std::string& s) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

void finish(const std::string& tag, const assembly& a, bool with_hoststrings) {
  std::string compressed;
  for (const auto& [n, chunk] : a.chunks) compressed += chunk;
  auto plain = mosh2::transport::decompress(compressed);
  if (!plain) {
    std::printf("%s error zlib\n", tag.c_str());
    return;
  }
  auto inst = mosh2::transport::decode_instruction(plain.value());
  if (!inst) {
    std::printf("%s error instruction\n", tag.c_str());
    return;
  }
  std::string host;
  if (!inst.value().diff.empty()) {
    auto msg = mosh2::transport::decode_host_message(inst.value().diff);
    if (!msg) {
      std::printf("%s error host_message\n", tag.c_str());
      return;
    }
    for (const auto& i : msg.value().instructions)
      if (const auto* hb = std::get_if<mosh2::transport::host_bytes>(&i)) host += hb->hoststring;
  }
  std::printf("%s %llu %llu %zu %zu %zu %zu %zu %zu", tag.c_str(),
              static_cast<unsigned long long>(inst.value().old_num),
              static_cast<unsigned long long>(inst.value().new_num), a.chunks.size(), a.wire,
              compressed.size(), inst.value().diff.size(), inst.value().chaff.size(), host.size());
  if (with_hoststrings) std::printf(" %s", host.empty() ? "-" : to_hex(host).c_str());
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  bool with_hoststrings = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--hoststrings") == 0) {
      with_hoststrings = true;
    } else {
      std::fprintf(stderr, "usage: %s [--hoststrings] < KEY-AND-DATAGRAMS\n", argv[0]);
      return 2;
    }
  }
  std::string line;
  if (!std::getline(std::cin, line)) return 2;
  auto key = mosh2::crypto::session_key::parse(line);
  if (!key) {
    std::fprintf(stderr, "bench-decode: not a session key\n");
    return 2;
  }
  mosh2::crypto::ocb_session cipher(key.value());
  std::map<std::pair<std::string, std::uint64_t>, assembly> open;  // (tag, id) -> fragments
  while (std::getline(std::cin, line)) {
    const auto space = line.find(' ');
    if (space == std::string::npos) continue;
    const std::string tag = line.substr(0, space);
    mosh2::bytes wire;
    if (!mosh2::from_hex(std::string_view(line).substr(space + 1), wire)) {
      std::printf("%s error hex\n", tag.c_str());
      continue;
    }
    auto d = mosh2::datagram::decode(cipher, wire, mosh2::datagram::role::server);
    if (!d) {
      std::printf("%s error datagram\n", tag.c_str());
      continue;
    }
    auto f = mosh2::transport::parse_fragment(d.value().payload);
    if (!f) {
      std::printf("%s error fragment\n", tag.c_str());
      continue;
    }
    auto& a = open[{tag, f.value().id}];
    a.chunks.emplace(f.value().number, std::string(f.value().chunk));
    a.wire += wire.size();
    if (f.value().final) a.count = f.value().number + 1;
    if (a.count >= 0 && a.chunks.size() == static_cast<std::size_t>(a.count)) {
      finish(tag, a, with_hoststrings);
      open.erase({tag, f.value().id});
    }
  }
  std::fflush(stdout);
  return 0;
}
