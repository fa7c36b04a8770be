#pragma once
// Where the checked-in vectors and fixtures live: test/meson.build exports
// MOSH2_TEST_DATA (the test/ source folder) to every test.

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace mosh2::test {

/// Absolute path of a file below test/, e.g. data_path("vectors/rfc7253.json").
inline std::string data_path(const std::string& relative) {
  const char* root = std::getenv("MOSH2_TEST_DATA");
  if (!root) throw std::runtime_error("MOSH2_TEST_DATA is not set (run through meson test)");
  return std::string(root) + "/" + relative;
}

/// Whole file as bytes; throws if missing, so a lost fixture fails loudly.
inline std::string read_file(const std::string& relative) {
  std::ifstream in(data_path(relative), std::ios::binary);
  if (!in) throw std::runtime_error("cannot open test data " + relative);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace mosh2::test
