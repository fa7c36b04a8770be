// Asking the terminal driver how it treats "\n".

#include "mosh2/os/line_end.hpp"

#include <unistd.h>

namespace mosh2::os {

std::string_view line_end_of(int fd) {
  termios t{};
  if (!::isatty(fd) || ::tcgetattr(fd, &t) != 0) return line_end(false, 0);
  return line_end(true, t.c_oflag);
}

}  // namespace mosh2::os
