// libFuzzer target: sequences of instructions, sealed with the fixed test key by the
// real link code (fragmenter and datagram layer), fed through the server core and the
// client core; so the input gets past authentication to SSP: state numbers, acks,
// throwaways, out-of-order and unknown bases, and diffs that are valid keystrokes or
// host output as well as arbitrary bytes. Each record of the input is
//   flags, old_num, new_num, ack_num, throwaway_num, milliseconds to advance, length, diff
// (one byte each but the diff); flags bit 0 picks the core, bits 1-2 the kind of diff
// (raw, a valid message, a wrong protocol version, or the bytes sealed as a fragment).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mosh2/session/client_core.hpp"
#include "mosh2/session/link_core.hpp"
#include "mosh2/session/server_core.hpp"
#include "mosh2/transport/messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mosh2;
  using namespace mosh2::session;
  const crypto::session_key key(crypto::session_key::raw_type{});  // the §13.1 key
  time_point now(std::chrono::hours(1));
  const ssp::random_source no_chaff = [](std::size_t n) { return bytes(n, 'c'); };
  server_core_config sc(key);
  sc.random = no_chaff;
  client_core_config cc(key);
  cc.server = peer_address{"127.0.0.1", 60001, false};
  cc.random = no_chaff;
  server_core server(sc, now);
  client_core client(cc, now);
  link_core to_server(datagram::role::client, key, now), to_client(datagram::role::server, key, now);
  const peer_address from{"127.0.0.1", 50000, false};

  for (std::size_t at = 0; at + 7 <= size;) {
    const std::uint8_t* r = data + at;
    const std::size_t length = std::min<std::size_t>(r[6], size - at - 7);
    const bytes raw(reinterpret_cast<const char*>(r + 7), length);
    at += 7 + length;
    const bool for_server = (r[0] & 1) == 0;
    transport::instruction inst;
    inst.old_num = r[1];
    inst.new_num = r[2];
    inst.ack_num = r[3];
    inst.throwaway_num = r[4];
    switch ((r[0] >> 1) & 3) {
      case 0: inst.diff = raw; break;
      case 1: {  // keystrokes and a resize, or host output, as a valid message
        if (for_server) {
          transport::user_message m;
          m.instructions.emplace_back(transport::keystroke{raw});
          m.instructions.emplace_back(transport::resize{1 + r[5] % 200, 1 + r[6] % 60});
          inst.diff = transport::encode(m);
        } else {
          transport::host_message m;
          m.instructions.emplace_back(transport::echo_ack{r[3]});
          m.instructions.emplace_back(transport::host_bytes{raw});
          inst.diff = transport::encode(m);
        }
        break;
      }
      case 2: inst.protocol_version = r[5]; break;
      default: break;  // a fragment of arbitrary bytes, sealed below
    }
    now += milliseconds(r[5]);
    link_core& link = for_server ? to_server : to_client;
    auto wires = ((r[0] >> 1) & 3) == 3 ? std::vector<bytes>{link.datagram().seal(raw, now)}
                                        : link.datagrams_for(inst, now);
    for (const bytes& wire : wires) {
      if (for_server) (void)server.handle(session::incoming_datagram{wire, from}, now);
      else (void)client.handle(session::incoming_datagram{wire, {}}, now);
    }
    // Let each core act as its stages would: the program reads, datagrams go out.
    for (int op = 0; op < 64 && server.handle(session::turn{}, now).next_op; ++op)
      (void)server.handle(session::program_op_finished{}, now);
    (void)client.handle(session::turn{}, now);
  }
  return 0;
}
