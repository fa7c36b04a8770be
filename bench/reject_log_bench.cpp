// The reject log's cost per rejected datagram: with the table of sources full (4096
// addresses), 20,000 records from new addresses (each one evicts the least recently
// rejected), against 20,000 from one address already in the table. Prints µs per
// record, best of five runs. Not a test; test/control/reject_log_test.cpp counts the
// table steps instead of timing them.
//
//   bench-reject-log

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "mosh2/control/reject_log.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

double best_us_per_record(bool new_sources) {
  double best = 1e18;
  for (int run = 0; run < 5; ++run) {
    mosh2::control::reject_limiter l;
    const mosh2::time_point t0 = mosh2::time_point{} + std::chrono::hours(1);
    const std::size_t table = mosh2::control::reject_policy{}.max_sources;
    for (std::size_t i = 0; i < table; ++i) (void)l.record(fmt::format("10.1.{}.{}", i / 256, i % 256), "bad_tag", t0);
    std::vector<std::string> addresses;
    for (int i = 0; i < 20'000; ++i)
      addresses.push_back(new_sources ? fmt::format("10.{}.{}.{}", 2 + i / 65536, i / 256 % 256, i % 256)
                                      : std::string("10.1.0.1"));
    const auto start = clock_type::now();
    std::size_t lines = 0;
    for (const auto& a : addresses) lines += l.record(a, "bad_tag", t0 + std::chrono::seconds(1)).size();
    const std::chrono::duration<double, std::micro> took = clock_type::now() - start;
    if (lines != 0) std::fprintf(stderr, "unexpected: %zu lines\n", lines);
    best = std::min(best, took.count() / static_cast<double>(addresses.size()));
  }
  return best;
}

}  // namespace

int main() {
  std::printf("reject log, full table of %zu addresses, 20,000 records (best of 5):\n",
              mosh2::control::reject_policy{}.max_sources);
  std::printf("  new address each time:  %.3f us/record\n", best_us_per_record(true));
  std::printf("  known address:          %.3f us/record\n", best_us_per_record(false));
  return 0;
}
