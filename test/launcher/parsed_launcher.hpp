#pragma once
// The launcher options a command line parses to, failing the test when it does not.

#include <doctest/doctest.h>

#include <string>
#include <variant>
#include <vector>

#include "mosh2/launcher/launcher_options.hpp"

namespace mosh2::test {

inline launcher::launcher_options launcher(std::vector<std::string> args) {
  auto r = launcher::parse_launcher_args(args);
  if (!r) FAIL(r.error());
  REQUIRE(std::holds_alternative<launcher::launcher_options>(*r));
  return std::get<launcher::launcher_options>(*r);
}

}  // namespace mosh2::test
