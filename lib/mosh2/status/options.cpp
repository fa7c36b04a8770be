// mosh2-status's command line; see options.hpp.

#include "mosh2/status/options.hpp"

#include <charconv>

#include <fmt/format.h>

#include "mosh2/control/duration.hpp"

namespace mosh2::status {
namespace {

std::optional<pid_t> parse_pid(std::string_view v) {
  long n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end != v.data() + v.size() || n <= 0 || n > 0x3fffffff) return std::nullopt;
  return static_cast<pid_t>(n);
}

/// The checks, in the order the user reads them; nothing when the line is good.
std::optional<std::string> parse_into(const std::vector<std::string_view>& args, status_options& o) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    std::optional<std::string_view> attached;
    if (a.starts_with("--") && a.find('=') != std::string_view::npos) {
      attached = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
    }
    const auto value = [&]() -> std::optional<std::string_view> {
      if (attached) return attached;
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    const bool takes_value = a == "--dir" || a == "--pid" || a == "--detached-for";
    if (attached && !takes_value) return fmt::format("{} takes no value", a);
    if (a == "-h" || a == "--help") {
      o.help = true;
    } else if (a == "--version") {
      o.version = true;
    } else if (a == "--keep-stale") {
      o.keep_stale = true;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--brief") {
      o.brief = true;
    } else if (a == "-v" || a == "--verbose") {
      o.verbose = true;
    } else if (a == "--dry-run") {
      o.dry_run = true;
    } else if (a == "--dir") {
      auto v = value();
      if (!v || v->empty()) return "--dir needs a directory";
      o.dirs.emplace_back(*v);
    } else if (a == "--pid") {
      auto v = value();
      if (!v) return "--pid needs a process id";
      auto pid = parse_pid(*v);
      if (!pid) return fmt::format("--pid needs a positive process id, not '{}'", *v);
      o.pid = *pid;
    } else if (a == "--detached-for") {
      auto v = value();
      if (!v) return "--detached-for needs a duration (e.g. 90s, 12h, 7d)";
      auto d = control::parse_duration(*v);
      if (!d) return "--detached-for: " + d.error();
      o.detached_for = *d;
    } else if (a == "kill" && !o.kill && i == 0) {
      o.kill = true;
    } else if (o.kill && !a.starts_with("-")) {
      auto pid = parse_pid(a);
      if (!pid) return fmt::format("kill needs process ids, not '{}'", a);
      o.kill_pids.push_back(*pid);
    } else {
      return fmt::format("unknown argument '{}'", a);
    }
  }
  if (o.help || o.version) return std::nullopt;
  if (o.json && o.brief) return "--json and --brief exclude each other";
  if (o.kill) {
    if (o.detached_for && !o.kill_pids.empty()) return "kill takes either process ids or --detached-for, not both";
    if (!o.detached_for && o.kill_pids.empty()) return "kill needs process ids or --detached-for DURATION";
    if (o.json || o.brief || o.pid) return "kill does not combine with --json, --brief or --pid";
  } else if (o.dry_run || o.detached_for) {
    return "--dry-run and --detached-for go with kill";
  }
  return std::nullopt;
}

}  // namespace

result<status_options, std::string> parse_status_options(const std::vector<std::string_view>& args) {
  status_options o;
  if (auto error = parse_into(args, o)) return failure{*error};
  return o;
}

}  // namespace mosh2::status
