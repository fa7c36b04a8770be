#pragma once
// A fresh private directory for one test, removed afterwards (its permissions restored
// first, for tests that take them away).

#include <stdlib.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace mosh2::test {

struct temp_dir {
  explicit temp_dir(const std::string& prefix = "mosh2-test") {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::permissions(path, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::filesystem::path path;
};

}  // namespace mosh2::test
