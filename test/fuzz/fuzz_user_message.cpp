// libFuzzer target: a UserMessage applied to the server's keystroke log
// (ssp::user_stream::apply_diff), as a malicious client could send it. A refused
// message leaves the log unchanged; an accepted one only appends, and the appended
// events re-encode to a message that appends the same events.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "mosh2/ssp/user_stream.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using mosh2::ssp::user_stream;
  const mosh2::bytes_view diff(reinterpret_cast<const char*>(data), size);
  user_stream base;
  base.push_bytes("ab");
  user_stream log = base;
  if (!log.apply_diff(diff)) {
    if (!(log == base)) std::abort();
    return 0;
  }
  if (log.size() < base.size()) std::abort();
  user_stream again = base;
  if (!again.apply_diff(log.diff_from(base)) || !(again == log)) std::abort();
  return 0;
}
