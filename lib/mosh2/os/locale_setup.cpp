// Locale selection: prefer what the user asked for, never refuse to start.

#include "mosh2/os/locale_setup.hpp"

#include <langinfo.h>

#include <clocale>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace mosh2::os {
namespace {

constexpr const char* locale_vars[] = {
    "LANG", "LANGUAGE", "LC_CTYPE", "LC_NUMERIC", "LC_TIME", "LC_COLLATE", "LC_MONETARY",
    "LC_MESSAGES", "LC_PAPER", "LC_NAME", "LC_ADDRESS", "LC_TELEPHONE", "LC_MEASUREMENT",
    "LC_IDENTIFICATION", "LC_ALL"};

bool current_is_utf8() {
  if (!std::setlocale(LC_ALL, "")) return false;
  const char* cs = ::nl_langinfo(CODESET);
  return cs && (std::strcmp(cs, "UTF-8") == 0 || std::strcmp(cs, "utf8") == 0);
}

std::string describe_ctype() {
  for (const char* v : {"LC_ALL", "LC_CTYPE", "LANG"})
    if (const char* s = std::getenv(v); s && *s) return std::string(v) + "=" + s;
  return "no locale variables";
}

}  // namespace

locale_outcome choose_utf8_locale(const std::vector<std::pair<std::string, std::string>>& requested) {
  locale_outcome out;
  if (current_is_utf8()) {
    out.utf8 = true;
    return out;
  }
  const std::string before = describe_ctype();
  if (!requested.empty()) {
    for (const char* v : locale_vars) ::unsetenv(v);
    for (const auto& [name, value] : requested) ::setenv(name.c_str(), value.c_str(), 1);
    if (current_is_utf8()) {
      out.utf8 = true;
      for (const auto& kv : requested) out.child_env.push_back(kv);
      return out;
    }
  }
  // The requested locale is not installed here: C.UTF-8 always is (glibc >= 2.35).
  const std::string wanted = requested.empty() ? before : requested.front().first + "=" + requested.front().second;
  ::setenv("LC_CTYPE", "C.UTF-8", 1);
  ::unsetenv("LC_ALL");
  out.utf8 = current_is_utf8();
  out.fell_back = true;
  out.note = "locale " + wanted + " is not a usable UTF-8 locale here; using C.UTF-8 for character handling";
  for (const auto& kv : requested)
    if (kv.first != "LC_ALL" && kv.first != "LC_CTYPE") out.child_env.push_back(kv);
  out.child_env.emplace_back("LC_CTYPE", "C.UTF-8");
  return out;
}

}  // namespace mosh2::os
