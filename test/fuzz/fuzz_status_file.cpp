// libFuzzer target: mosh2-status reading one status file (status::read_status_files,
// then status_document), as a local user able to plant or edit a file could write it.
// The input becomes <our pid>.json in a private temporary directory; "@PID@" in the
// input is replaced by our pid, so the seeds can be real status files. libFuzzer ends
// with _Exit, so nothing here removes the directory: run_fuzz.py points TMPDIR at a
// work directory it deletes.

#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mosh2/status/reader.hpp"
#include "mosh2/status/view.hpp"

namespace {

const std::filesystem::path& private_dir() {
  static const std::filesystem::path dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mosh2-fuzz-status.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    return std::filesystem::path(tmpl);
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  const std::string pid = std::to_string(::getpid());
  for (std::size_t at; (at = text.find("@PID@")) != std::string::npos;) text.replace(at, 5, pid);

  const auto file = private_dir() / (pid + ".json");
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
  }
  std::vector<mosh2::status::read_problem> problems;
  mosh2::status::read_options options;
  options.prune_stale = false;
  const auto entries = mosh2::status::read_status_files({private_dir()}, options, problems);
  if (entries.size() > 1) std::abort();
  (void)mosh2::status::status_document(entries);
  return 0;
}
