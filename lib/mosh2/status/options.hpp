#pragma once
// mosh2-status's command line (mosh2-status(1)), parsed without side effects so that
// every case can be tested; the program only acts on the result.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mosh2/util/result.hpp"

namespace mosh2::status {

struct status_options {
  std::vector<std::filesystem::path> dirs;  ///< --dir, in order; empty: the default directories
  std::optional<pid_t> pid;                 ///< --pid
  bool keep_stale = false;
  bool json = false;
  bool brief = false;
  bool verbose = false;
  bool kill = false;     ///< the `kill` command
  bool dry_run = false;  ///< with kill
  std::optional<std::chrono::seconds> detached_for;  ///< with kill
  std::vector<pid_t> kill_pids;                      ///< with kill
  bool help = false;
  bool version = false;
};

/// Parses the arguments after the program name. The error is one line for
/// "mosh2-status: <error> (see mosh2-status --help)", exit status 2.
result<status_options, std::string> parse_status_options(const std::vector<std::string_view>& args);

}  // namespace mosh2::status
