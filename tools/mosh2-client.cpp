// mosh2-client: drop-in for mosh-client 1.4. Reads the session key from MOSH_KEY
// (and removes it from the environment at once), then runs the session.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "mosh2/session/client_session.hpp"
#include "mosh2/os/locale_setup.hpp"
#include "mosh2/os/options.hpp"
#include "mosh2/os/terminfo.hpp"
#include "mosh2/terminal/display.hpp"

namespace {

using namespace mosh2::os;
using namespace mosh2::session;

constexpr const char* usage =
    "Usage: MOSH_KEY=KEY mosh2-client [-v] [-# ARGS] IP PORT\n"
    "       mosh2-client -c\n"
    "  -c          print the number of colours of TERM and exit\n"
    "  -# ARGS     ignored (it makes ps output informative)\n"
    "  -v          verbose\n"
    "  -h, --help  this message\n"
    "  --version   version and licence\n";

void print_version() {
  std::printf("mosh2-client (mosh2 %s), wire-compatible with mosh 1.4\n"
              "Copyright 2026 the mosh2 developers. License MIT.\n",
              MOSH2_VERSION);
}

}  // namespace

int main(int argc, char** argv) {
  // The key must not outlive this line in our environment: children would inherit it,
  // and /proc/<pid>/environ shows the original bytes to the user's other processes
  // until they are overwritten (unsetenv only unlinks the variable).
  char* key_env = std::getenv("MOSH_KEY");
  const std::string key_text = key_env ? key_env : "";
  if (key_env) std::memset(key_env, '\0', key_text.size());
  ::unsetenv("MOSH_KEY");

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
  const char* term = std::getenv("TERM");
  if (opts.print_colors) {
    // As the stock client: terminfo's number, -1 for a terminal without colours, and an
    // error (exit 1) when TERM is unset or unknown rather than a guess.
    auto colors = colors_of(term ? term : "", terminfo_dirs(std::getenv("TERMINFO"), std::getenv("HOME"),
                                                             std::getenv("TERMINFO_DIRS")));
    if (!colors) {
      std::fprintf(stderr, "mosh2-client: %s\n", colors.error().c_str());
      return 1;
    }
    std::printf("%d\n", *colors);
    return 0;
  }
  if (key_text.empty()) {
    std::fputs("MOSH_KEY environment variable not found.\n", stderr);
    return 1;
  }
  auto key = mosh2::crypto::session_key::parse(key_text);
  if (!key) {
    std::fprintf(stderr, "mosh2-client: bad MOSH_KEY: %s\n", std::string(mosh2::crypto::describe(key.error())).c_str());
    return 1;
  }
  auto predict = mosh2::overlay::prediction_mode::adaptive;
  if (const char* mode = std::getenv("MOSH_PREDICTION_DISPLAY")) {
    auto m = mosh2::overlay::parse_prediction_mode(mode);
    if (!m) {
      std::fprintf(stderr, "Unknown prediction mode %s.\n", mode);
      return 1;
    }
    predict = *m;
  }
  const char* overwrite = std::getenv("MOSH_PREDICTION_OVERWRITE");
  auto locale = choose_utf8_locale({});
  if (locale.fell_back) std::fprintf(stderr, "mosh2-client: %s\n", locale.note.c_str());

  client_config config{opts.host, opts.port, opts.verbosity, client_core_config(*key)};
  config.core.escape = escape_key::from_environment(std::getenv("MOSH_ESCAPE_KEY"));
  config.core.term_init = std::getenv("MOSH_NO_TERM_INIT") == nullptr;
  config.core.title_prefix = std::getenv("MOSH_TITLE_NOPREFIX") == nullptr;
  config.core.term = term ? term : "";
  config.core.predict = predict;
  config.core.predict_overwrite = overwrite && std::string_view(overwrite) == "yes";
  try {
    asio::io_context ctx;
    return run_client_session(ctx, std::move(config));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mosh2-client: %s\n", e.what());
    return 1;
  }
}
