#pragma once
// The process environment as a function, so that the decisions taken from it (which
// prediction mode, which timeouts, which locale variables to pass on) are pure and take
// a test's map instead.

#include <functional>
#include <map>
#include <optional>
#include <string>

namespace mosh2::os {

/// A variable's value, or nothing when it is unset.
using environment_lookup = std::function<std::optional<std::string>(const std::string& name)>;

/// getenv(3).
environment_lookup process_environment();

/// A fixed set of variables (for tests and for decisions on a copy).
environment_lookup environment_of(std::map<std::string, std::string> variables);

}  // namespace mosh2::os
