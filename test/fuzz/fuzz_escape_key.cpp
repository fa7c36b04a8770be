// libFuzzer target: the client's keyboard input parser (session::escape_key), fed
// byte by byte. The first byte picks the escape key (as MOSH_ESCAPE_KEY would: a
// character, or empty to disable it). Whatever is typed, a disabled key passes every
// byte through untouched, and an enabled one never sends more than two bytes for one.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "mosh2/session/escape_key.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using mosh2::session::escape_key;
  if (size == 0) return 0;
  const std::string setting = data[0] == 0 ? std::string() : std::string(1, static_cast<char>(data[0]));
  escape_key key = escape_key::from_environment(setting.c_str());
  for (std::size_t i = 1; i < size; ++i) {
    const char byte = static_cast<char>(data[i]);
    const auto r = key.feed(byte);
    if (!key.enabled() && (r.send != std::string(1, byte) || r.act != escape_key::action::none))
      std::abort();
    if (r.send.size() > 2) std::abort();
  }
  (void)key.help_text();
  (void)key.quit_hint();
  return 0;
}
