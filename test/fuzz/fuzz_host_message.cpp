// libFuzzer target: a HostMessage applied to the client's copy of the server's screen
// (session::terminal_state::apply_diff), as a malicious server could send it. A
// refused message must leave the state unchanged; an applied one must leave a
// well-formed screen whose own diff rebuilds it on a fresh state.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "mosh2/session/terminal_state.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using mosh2::session::terminal_state;
  const mosh2::bytes_view diff(reinterpret_cast<const char*>(data), size);
  terminal_state state(80, 24);
  const terminal_state before = state;
  if (!state.apply_diff(diff)) {
    if (!(state == before)) std::abort();
    return 0;
  }
  if (state.fb().invariant_violation() != nullptr) std::abort();
  // A second message on top (the same bytes again) must keep the screen well formed.
  if (state.apply_diff(diff) && state.fb().invariant_violation() != nullptr) std::abort();
  return 0;
}
