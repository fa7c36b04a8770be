// libFuzzer target: the reassembly buffer. The input is a sequence of fragments, each
// prefixed by a one-byte length, fed to one assembler; its counters must stay consistent.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "mosh2/transport/fragment.hpp"

using namespace mosh2;
using namespace mosh2::transport;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes_view in(reinterpret_cast<const char*>(data), size);
  fragment_assembler a;
  std::uint64_t delivered = 0, dropped = 0;
  std::size_t pos = 0;
  while (pos < in.size()) {  // each round consumes at least the length byte
    const std::size_t len = static_cast<std::uint8_t>(in[pos++]);
    const bytes_view frag = in.substr(pos, len);
    pos += frag.size();
    auto r = a.add(frag);
    if (!r) ++dropped;
    else if (r->has_value()) ++delivered;
  }
  if (delivered != a.stats().instructions || dropped != a.stats().drops()) std::abort();
  return 0;
}
