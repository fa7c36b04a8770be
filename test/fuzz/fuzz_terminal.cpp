// libFuzzer entry: arbitrary host output through the emulator (a client's, or the
// server's with history and reflow), checking that the screen stays well formed, that
// splitting the input does not change the result, and that the history's encoding
// decodes; and the same bytes as a hostile history run, which must decode or fail.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mosh2/terminal/emulator.hpp"
#include "mosh2/terminal/history.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  // The first bytes pick the screen size and how the rest is split into writes.
  const int width = 1 + data[0] % 64;
  const int height = 1 + data[1] % 24;
  const std::size_t step = 1 + data[2] % 16;
  const bool server = (data[2] & 0x80) != 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 3, size - 3);

  if (auto run = mosh2::terminal::decode_history(input)) {
    auto again = mosh2::terminal::decode_history(mosh2::terminal::encode_history(run->first, run->lines));
    if (!again || !(*again == *run)) std::abort();
  }

  const auto options = server ? mosh2::terminal::emulator_options::server(50) : mosh2::terminal::emulator_options{};
  mosh2::terminal::emulator whole(width, height, options), pieces(width, height, options);
  whole.write(input);
  for (std::size_t pos = 0; pos < input.size(); pos += step) {
    pieces.write(input.substr(pos, step));
    if (pieces.fb().invariant_violation() != nullptr) std::abort();
  }
  if (whole.fb().invariant_violation() != nullptr) std::abort();
  if (!(whole.fb() == pieces.fb())) std::abort();
  if (whole.take_replies() != pieces.take_replies()) std::abort();
  if (server) {
    const auto* h = whole.history();
    if (h->end() != pieces.history()->end()) std::abort();
    auto run = mosh2::terminal::decode_history(h->encode_from(0, 1000, 1 << 20));
    if (!run || run->lines.size() != h->size()) std::abort();
  }

  // A resize in the middle must leave a well-formed screen too.
  whole.resize(1 + data[1] % 64, 1 + data[0] % 24);
  whole.write(input.substr(input.size() / 2));
  if (whole.fb().invariant_violation() != nullptr) std::abort();
  return 0;
}
