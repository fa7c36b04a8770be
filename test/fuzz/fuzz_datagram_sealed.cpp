// libFuzzer target: arbitrary bytes sealed with the test key by one end and opened by
// the other, so that the input reaches what lies past authentication: the fragment
// assembler and the decoder of the message the datagram's direction carries. The
// first byte picks the direction and the clock.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "mosh2/crypto/session_key.hpp"
#include "mosh2/datagram/connection_core.hpp"
#include "mosh2/transport/fragment.hpp"
#include "mosh2/transport/messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mosh2;
  using namespace mosh2::datagram;
  if (size == 0) return 0;
  const crypto::session_key key(crypto::session_key::raw_type{});  // the §13.1 key
  const bool to_client = (data[0] & 1) != 0;
  const time_point now(milliseconds(data[0] * 997));
  const bytes_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);

  connection_core sender(to_client ? role::server : role::client, key, now);
  connection_core receiver(to_client ? role::client : role::server, key, now);
  const bytes wire = sender.seal(payload, now);
  auto opened = receiver.open(wire, now);
  // Our own sealed datagram must open, whole and unchanged (an oversize one may not).
  if (!opened) {
    if (wire.size() <= 2048) std::abort();
    return 0;
  }
  if (opened->payload != payload) std::abort();

  transport::fragment_assembler assembler;
  auto r = assembler.add(opened->payload);
  if (r && r->has_value()) {
    const bytes& diff = (*r)->diff;
    if (to_client) {
      (void)transport::decode_host_message(diff);
    } else {
      (void)transport::decode_user_message(diff);
    }
  }
  return 0;
}
