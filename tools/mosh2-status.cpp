// mosh2-status: prints one JSON document describing every live mosh2-server and
// mosh2-client of this user, gathered from their status files (docs/status.md).

#include <sys/types.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mosh2/session/status_report.hpp"

namespace {

constexpr const char* usage =
    "Usage: mosh2-status [--dir DIR] [--pid PID] [--keep-stale]\n"
    "Prints the status of this user's live mosh2 sessions as JSON (schema: mosh2-status(1)).\n";

struct status_options {
  std::vector<std::filesystem::path> dirs;
  std::optional<pid_t> pid;
  bool keep_stale = false;
};

/// Parses argv; an error message on a bad option.
std::optional<std::string> parse(const std::vector<std::string_view>& args, status_options& o, bool& help,
                                 bool& version) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto a = args[i];
    const auto value = [&]() -> std::optional<std::string_view> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    if (a == "-h" || a == "--help") {
      help = true;
    } else if (a == "--version") {
      version = true;
    } else if (a == "--keep-stale") {
      o.keep_stale = true;
    } else if (a == "--dir") {
      auto v = value();
      if (!v || v->empty()) return "--dir needs a directory";
      o.dirs.emplace_back(*v);
    } else if (a == "--pid") {
      auto v = value();
      long n = 0;
      if (!v) return "--pid needs a process id";
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
      if (ec != std::errc{} || end != v->data() + v->size() || n <= 0)
        return "--pid needs a positive process id, not '" + std::string(*v) + "'";
      o.pid = static_cast<pid_t>(n);
    } else {
      return "unknown argument '" + std::string(a) + "'";
    }
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mosh2::session;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  status_options opts;
  bool help = false;
  bool version = false;
  if (auto error = parse(args, opts, help, version)) {
    std::fprintf(stderr, "mosh2-status: %s (see mosh2-status --help)\n", error->c_str());
    return 2;
  }
  if (help) {
    std::fputs(usage, stdout);
    return 0;
  }
  if (version) {
    std::printf("mosh2-status (mosh2 %s)\n", MOSH2_VERSION);
    return 0;
  }
  if (opts.dirs.empty()) opts.dirs = status_directories();

  std::vector<std::string> problems;
  auto entries = read_status_files(opts.dirs, !opts.keep_stale, problems);
  for (const auto& p : problems) std::fprintf(stderr, "mosh2-status: %s\n", p.c_str());
  if (opts.pid) std::erase_if(entries, [&](const status_entry& e) { return e.pid != *opts.pid; });
  std::fputs(status_document(entries).c_str(), stdout);
  if (opts.pid && entries.empty()) {
    std::fprintf(stderr, "mosh2-status: no live mosh2 session with pid %d\n", static_cast<int>(*opts.pid));
    return 1;
  }
  return 0;
}
