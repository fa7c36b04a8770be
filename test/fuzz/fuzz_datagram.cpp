// libFuzzer target: arbitrary bytes opened as a datagram by both a client and a
// server core (the first byte picks the ECN mark and the clock).

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "mosh2/crypto/session_key.hpp"
#include "mosh2/datagram/connection_core.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mosh2;
  using namespace mosh2::datagram;
  const crypto::session_key key(crypto::session_key::raw_type{});  // the §13.1 key
  const bytes_view wire(reinterpret_cast<const char*>(data), size);
  const bool congestion = size > 0 && (data[0] & 1);
  const time_point now(milliseconds(size > 0 ? data[0] * 997 : 0));

  for (role self : {role::client, role::server}) {
    connection_core core(self, key, now);
    auto r = core.open(wire, now, congestion);
    // Whatever happened, the core must stay consistent and keep sealing.
    if (r && r->in_order && core.expected_seq() != r->seq + 1) std::abort();
    if (!r && core.counters().total_dropped() != 1) std::abort();
    const bytes next = core.seal(r ? bytes_view(r->payload) : bytes_view(), now);
    if (next.size() < min_datagram) std::abort();
  }
  return 0;
}
