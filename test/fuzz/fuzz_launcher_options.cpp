// libFuzzer target: the mosh2 launcher's command line (launcher::parse_launcher_args)
// and its --ssh word splitter. The input is argv, NUL-separated; whatever it holds,
// parsing returns a value or an error and never throws.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "mosh2/launcher/launcher_options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args;
  std::size_t start = 0;
  for (std::size_t pos; (pos = in.find('\0', start)) != std::string::npos; start = pos + 1)
    args.push_back(in.substr(start, pos - start));
  args.push_back(in.substr(start));

  auto parsed = mosh2::launcher::parse_launcher_args(args);
  // Errors are one line. An argument with a newline in it is quoted back as typed
  // today, so only inputs without one are held to that.
  if (!parsed && parsed.error().find('\n') != std::string::npos && in.find('\n') == std::string::npos)
    std::abort();
  (void)mosh2::launcher::split_command(in);
  return 0;
}
