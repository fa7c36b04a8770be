// libFuzzer target: the three protobuf decoders. Whatever decodes must re-encode to
// bytes that decode to the same value; anything else is a bug worth a crash.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "mosh2/transport/messages.hpp"

using namespace mosh2;
using namespace mosh2::transport;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes_view in(reinterpret_cast<const char*>(data), size);
  if (auto r = decode_instruction(in)) {
    auto again = decode_instruction(encode(*r));
    if (!again || !(*again == *r)) std::abort();
  }
  if (auto r = decode_user_message(in)) {
    auto again = decode_user_message(encode(*r));
    if (!again || !(*again == *r)) std::abort();
  }
  if (auto r = decode_host_message(in)) {
    auto again = decode_host_message(encode(*r));
    if (!again || !(*again == *r)) std::abort();
  }
  return 0;
}
