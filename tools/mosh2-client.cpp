// mosh2-client: drop-in for mosh-client 1.4. Reads the session key from MOSH_KEY
// (and removes it from the environment at once), checks everything it needs, then runs
// the session. Failures are thrown as os::fatal_error and printed once, by main().

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "mosh2/control/duration.hpp"
#include "mosh2/session/client_session.hpp"
#include "mosh2/os/locale_setup.hpp"
#include "mosh2/os/environment.hpp"
#include "mosh2/os/options.hpp"
#include "mosh2/os/process.hpp"
#include "mosh2/os/terminfo.hpp"
#include "mosh2/terminal/display.hpp"

namespace {

using namespace mosh2::os;
using namespace mosh2::session;

constexpr const char* usage =
    "Usage: MOSH_KEY=KEY mosh2-client [-v] [--no-history] [-# ARGS] IP PORT\n"
    "       mosh2-client -c\n"
    "  -c          print the number of colours of TERM and exit\n"
    "  -# ARGS     ignored (it makes ps output informative)\n"
    "  -v          verbose\n"
    "  --no-history  do not ask the server for its scrollback\n"
    "  -h, --help  this message\n"
    "  --version   version and licence\n"
    "Standard input and output must be a terminal (MOSH2_ALLOW_NO_TTY=1: run without one).\n"
    "MOSH2_UDP_TIMEOUT=DURATION: say what is wrong after that long without an answer (default 5s);\n"
    "MOSH2_SSH_HOST=NAME: the host ssh reached to start the server (the advice says so).\n"
    "MOSH2_TRANSPORT=udp|tcp|auto, MOSH2_STREAM_COMMAND=JSON-ARGV: the byte-stream path through ssh.\n";

void print_version() {
  std::printf("mosh2-client (mosh2 %s), wire-compatible with mosh 1.4\n"
              "Copyright 2026 the mosh2 developers. License MIT.\n",
              MOSH2_VERSION);
}

/// Reads MOSH_KEY and wipes it from the environment at once. The key must not outlive
/// this in our environment: children would inherit it, and /proc/<pid>/environ shows
/// the original bytes to the user's other processes until they are overwritten
/// (unsetenv only unlinks the variable).
std::string take_key() {
  char* key_env = std::getenv("MOSH_KEY");
  std::string key_text = key_env ? key_env : "";
  if (key_env) std::memset(key_env, '\0', key_text.size());
  ::unsetenv("MOSH_KEY");
  return key_text;
}

/// Where ncurses would look for TERM's entry, from this process's environment.
std::vector<std::string> terminfo_search_dirs() {
  return terminfo_dirs(std::getenv("TERMINFO"), std::getenv("HOME"), std::getenv("TERMINFO_DIRS"));
}

/// -c: as the stock client, terminfo's number, -1 for a terminal without colours, and
/// an error (exit 1) when TERM is unset or unknown rather than a guess.
int print_colors() {
  const char* term = std::getenv("TERM");
  auto colors = colors_of(term ? term : "", terminfo_search_dirs());
  if (!colors) throw fatal_error(1, fmt::format("mosh2-client: {}", colors.error()));
  std::printf("%d\n", *colors);
  return 0;
}

/// The session's settings from the options, the key and the environment; everything
/// checked before the first datagram, so that a client that cannot run leaves the
/// server's session as it was.
client_config session_config(const client_options& opts, const std::string& key_text) {
  if (key_text.empty()) throw fatal_error(1, "MOSH_KEY environment variable not found.");
  auto key = mosh2::crypto::session_key::parse(key_text);
  if (!key)
    throw fatal_error(1, fmt::format("mosh2-client: bad MOSH_KEY: {}", mosh2::crypto::describe(key.error())));
  const auto env = process_environment();
  auto predict = mosh2::overlay::prediction_mode::adaptive;
  if (const auto mode = env("MOSH_PREDICTION_DISPLAY")) {
    auto m = mosh2::overlay::parse_prediction_mode(*mode);
    if (!m) throw fatal_error(1, fmt::format("Unknown prediction mode {}.", *mode));
    predict = *m;
  }
  if (auto refusal = client_terminal_refusal(::isatty(STDIN_FILENO) == 1, ::isatty(STDOUT_FILENO) == 1, env))
    throw fatal_error(1, fmt::format("mosh2-client: {}", *refusal));

  client_config config{opts.host, opts.port, opts.verbosity, client_core_config(*key), {}};
  config.core.escape = escape_key::from_environment(std::getenv("MOSH_ESCAPE_KEY"));
  config.core.term_init = !env("MOSH_NO_TERM_INIT");
  config.core.title_prefix = !env("MOSH_TITLE_NOPREFIX");
  config.core.term = env("TERM").value_or("");
  config.core.terminfo_underline = underline_caps_of(config.core.term, terminfo_search_dirs());
  config.core.predict = predict;
  config.core.predict_overwrite = env("MOSH_PREDICTION_OVERWRITE") == "yes";
  if (!opts.history) config.core.extensions = without_extension(config.core.extensions, extension::history);
  if (const auto t = env(udp_timeout_variable)) {
    auto d = mosh2::control::parse_duration(*t);
    if (!d) throw fatal_error(1, fmt::format("mosh2-client: {}: {}", udp_timeout_variable, d.error()));
    config.core.udp_timeout = *d;
  }
  config.core.ssh_host = env(ssh_host_variable).value_or("");
  if (const auto t = env(transport_variable)) {
    auto mode = parse_transport_mode(*t);
    if (!mode) throw fatal_error(1, fmt::format("mosh2-client: {} must be udp, tcp or auto, not \"{}\"",
                                                transport_variable, *t));
    config.core.transport = *mode;
  }
  if (const auto c = env(stream_command_variable)) {
    auto argv = parse_stream_command(*c);
    if (!argv) throw fatal_error(1, fmt::format("mosh2-client: {}: {}", stream_command_variable, argv.error()));
    config.stream_command = std::move(*argv);
  }
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string key_text = take_key();
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = parse_client_args(args);
  if (!parsed) {
    std::fprintf(stderr, "mosh2-client: %s (see mosh2-client --help)\n", parsed.error().c_str());
    return 2;
  }
  if (std::holds_alternative<show_help>(*parsed)) {
    std::fputs(usage, stdout);
    return 0;
  }
  if (std::holds_alternative<show_version>(*parsed)) {
    print_version();
    return 0;
  }
  const auto& opts = std::get<client_options>(*parsed);
  try {
    if (opts.print_colors) return print_colors();
    client_config config = session_config(opts, key_text);
    auto locale = choose_utf8_locale({});
    if (locale.fell_back) std::fprintf(stderr, "mosh2-client: %s\n", locale.note.c_str());
    asio::io_context ctx;
    return run_client_session(ctx, std::move(config));
  } catch (const fatal_error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return e.status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mosh2-client: %s\n", e.what());
    return 1;
  }
}
