#pragma once
// Random bytes from the kernel's CSPRNG (getrandom), for keys and chaff.

#include <stdexcept>
#include <string>
#include <sys/random.h>
#include <cerrno>

namespace mosh2 {

/// Fills `n` bytes from getrandom(); throws only if the kernel refuses (a broken system).
inline std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(out.data() + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("getrandom failed");
    }
    got += static_cast<std::size_t>(r);
  }
  return out;
}

}  // namespace mosh2
