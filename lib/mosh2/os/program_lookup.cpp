// execvp's search, done ahead of time with stat(2) and access(2).

#include "mosh2/os/program_lookup.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace mosh2::os {
namespace {

/// 0 when execve could run `file`, else the errno it would give.
int check_file(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return errno;
  if (S_ISDIR(st.st_mode)) return EACCES;  // what execve says for a directory
  if (::access(file.c_str(), X_OK) != 0) return errno;
  return 0;
}

std::string under(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

}  // namespace

result<std::string, int> find_program(const std::string& name, const std::optional<std::string>& path,
                                      const std::string& cwd) {
  if (name.empty()) return failure{ENOENT};
  if (name.find('/') != std::string::npos) {
    const std::string file = name[0] == '/' ? name : under(cwd, name);
    if (int e = check_file(file); e != 0) return failure{e};
    return file;
  }
  const std::string dirs = path.value_or("/bin:/usr/bin");
  bool denied = false;
  std::size_t start = 0;
  for (;;) {
    const auto colon = dirs.find(':', start);
    const std::string dir = dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    const std::string file = under(dir.empty() ? cwd : dir, name);
    const int e = check_file(file);
    if (e == 0) return file;
    // execvp goes on after these and reports EACCES if any candidate gave it.
    if (e == EACCES) denied = true;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return failure{denied ? EACCES : ENOENT};
}

std::string cannot_run_message(const std::string& name, int error) {
  return fmt::format("cannot run {}: {}", name, std::strerror(error));
}

}  // namespace mosh2::os
