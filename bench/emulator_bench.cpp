// Emulator throughput: feeds typical host output through mosh2::terminal::emulator in
// pty-sized chunks and prints MB/s per workload. Then, with --changes, the size of the
// frame diff (new_frame, wire profile) for typical discrete screen changes. Run by
// tools/bench; not a test.
//
//   bench-emulator [--min-seconds S] [--programs DIR] [--changes DIR]
//
// --changes DIR reads DIR/changes.tsv as bench/screen_changes.py --write DIR makes it:
// per change a setup and a change blob; the table shows the bytes of
// new_frame(screen after setup, screen after setup + change), before any compression or
// protocol overhead, and the same bytes through zlib at level 6 (what the transport does
// to the whole instruction). The stock server's diff cannot be shown here: only its
// compressed, encrypted datagrams are visible (server_compare.py counts those).
//
// Workloads (all generated here, deterministically, except the program captures):
//   plain      `seq 1 200000` output: short lines, scrolling every line
//   coloured   `ls --color`-like names and gcc-like diagnostics: SGR on every word
//   programs   the vim/less byte streams of test/terminal/programs/*.bytes, repeated:
//              full-screen redraws, cursor motion, scrolling regions
//   utf8       CJK, accented and combining text, scrolling
//   random     random bytes (fixed seed): the parser's worst paths
// The plain and coloured workloads run again, alternating, as the server's emulator with
// its history at the default (emulator_options::server(): 10,000 lines), the same with
// none (server(0), what `mosh2-server --history 0` runs) and the stock-facing one, so
// that the history's cost shows side by side: CPU time of one long-lived emulator each,
// in the steady state of a full history.
//
//   bench-emulator --history-cost ROUNDS [--history LINES]   only that table
//   bench-emulator --feed WORKLOAD|file:PATH [--history LINES] one feed, for callgrind
//                                                             (bench/history_cost.py)

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "mosh2/terminal/display.hpp"
#include "mosh2/terminal/emulator.hpp"

#ifndef MOSH2_SOURCE_ROOT
#define MOSH2_SOURCE_ROOT "."
#endif

namespace {

using clock_type = std::chrono::steady_clock;

std::string plain_text() {
  std::string s;
  for (int i = 1; i <= 200000; ++i) s += std::to_string(i) + "\r\n";
  return s;
}

std::string coloured_text() {
  std::string s;
  const char* kinds[] = {"\x1b[01;34m", "\x1b[01;32m", "\x1b[01;36m", "\x1b[00m", "\x1b[40;33;01m"};
  for (int i = 0; i < 20000; ++i) {
    for (int k = 0; k < 4; ++k) {
      s += kinds[(i + k) % 5];
      s += "file_" + std::to_string(i * 4 + k) + ".txt";
      s += "\x1b[0m  ";
    }
    s += "\r\n";
    if (i % 7 == 0) {
      s += "\x1b[1msrc/module_" + std::to_string(i) + ".cpp:" + std::to_string(i % 500) +
           ":17: \x1b[1;31merror: \x1b[0m\x1b[1mno matching function for call to "
           "'frobnicate(int)'\x1b[0m\r\n  " + std::to_string(i % 500) +
           " |   frobnicate(42);\r\n    |   \x1b[1;32m^~~~~~~~~~\x1b[0m\r\n";
    }
  }
  return s;
}

std::string utf8_text() {
  std::string s;
  for (int i = 0; i < 30000; ++i) {
    s += "中文字符测试 Ünïcödé e\xcc\x81 a\xcc\x80\xcc\xa3 ";
    s += std::to_string(i);
    s += " 😀 ελληνικά кириллица\r\n";
  }
  return s;
}

std::string random_bytes() {
  std::mt19937 rng(12345);
  std::string s(4 << 20, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

std::string program_captures(const std::string& dir) {
  std::string all;
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".bytes") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    all += ss.str();
  }
  if (all.empty()) return all;
  std::string out;
  while (out.size() < (4u << 20)) out += all;  // enough for a stable measurement
  return out;
}

/// Feeds `input` in 4 KiB writes; returns the emulator's work count so far.
std::uint64_t feed(mosh2::terminal::emulator& emu, const std::string& input) {
  constexpr std::size_t chunk = 4096;
  for (std::size_t i = 0; i < input.size(); i += chunk)
    emu.write(std::string_view(input).substr(i, chunk));
  (void)emu.take_replies();
  return emu.work();
}

/// feed(), for the one feed that `valgrind --tool=callgrind --toggle-collect=*counted_feed*`
/// counts (bench/history_cost.py): not inlined, and nothing else calls it.
[[gnu::noinline]] std::uint64_t counted_feed(mosh2::terminal::emulator& emu, const std::string& input) {
  return feed(emu, input);
}

struct workload {
  const char* key;
  const char* name;
  std::string input;
  int width, height;
};

double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

/// The history's cost, side by side in one run: the server's emulator with its history
/// at the default (emulator_options::server()) against the same with none
/// (server(0), what `mosh2-server --history 0` runs), and, for scale, the stock-facing
/// emulator (emulator_options{}). Samples alternate between the three, so that the
/// VM's drift hits all alike; each is the CPU time (std::clock, steadier than the wall
/// clock on a shared machine) of 3 feeds of the workload, and the table shows medians.
void history_cost_table(const workload& plain, const workload& coloured, int rounds, std::size_t lines) {
  using mosh2::terminal::emulator_options;
  const emulator_options configs[] = {emulator_options{}, emulator_options::server(0),
                                      emulator_options::server(lines)};
  std::printf("\n%-30s %10s %10s %10s %8s\n", "history (server emulator)", "stock ms",
              "off ms", "on ms", "on/off");
  for (const workload* w : {&plain, &coloured}) {
    std::vector<double> ms[3];
    std::uint64_t sink = 0;
    // One emulator per configuration for the whole run, as a server keeps one for its
    // session: after the first feed its history is full, and what is timed is the steady
    // state, where a new line reuses the oldest one's storage.
    std::vector<mosh2::terminal::emulator> emus;
    for (const auto& c : configs) {
      emus.emplace_back(w->width, w->height, c);
      feed(emus.back(), w->input);
    }
    for (int round = 0; round < rounds; ++round)
      for (int c = 0; c < 3; ++c) {
        const double start = cpu_seconds();
        for (int k = 0; k < 3; ++k) sink += feed(emus[static_cast<std::size_t>(c)], w->input);
        ms[c].push_back((cpu_seconds() - start) / 3 * 1e3);
      }
    const double off = median(ms[1]), on = median(ms[2]);
    std::printf("%-30s %10.2f %10.2f %10.2f %8.3f\n", w->name, median(ms[0]), off, on, off > 0 ? on / off : 0);
    if (sink == 0) std::printf("(no work?)\n");
    std::fflush(stdout);
  }
  std::printf("CPU ms per feed of the workload, median of %d; off: --history 0, on: %zu lines "
              "(the default: %zu); stock: the stock-facing emulator\n",
              rounds, lines, mosh2::terminal::default_history_lines);
}

struct result {
  double mb_per_s;
  std::size_t bytes;
};

/// Feeds `input` in 4 KiB writes (what one pty read returns) until `min_seconds` passed.
result measure(const std::string& input, int width, int height, double min_seconds,
               const mosh2::terminal::emulator_options& options = {}) {
  constexpr std::size_t chunk = 4096;
  std::size_t total = 0;
  const auto start = clock_type::now();
  double elapsed = 0;
  for (int round = 0; round < 1000 && (round == 0 || elapsed < min_seconds); ++round) {
    mosh2::terminal::emulator emu(width, height, options);
    for (std::size_t i = 0; i < input.size(); i += chunk)
      emu.write(std::string_view(input).substr(i, chunk));
    (void)emu.take_replies();
    total += input.size();
    elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  }
  return {static_cast<double>(total) / 1e6 / elapsed, total};
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t deflated_size(const std::string& s) {
  uLongf n = ::compressBound(static_cast<uLong>(s.size()));
  std::vector<Bytef> out(n);
  if (::compress2(out.data(), &n, reinterpret_cast<const Bytef*>(s.data()),
                  static_cast<uLong>(s.size()), 6) != Z_OK)
    return 0;
  return n;
}

/// The frame-diff table: one row per line of DIR/changes.tsv
/// (name, label, setup file, change file, columns, rows).
int change_table(const std::string& dir) {
  std::ifstream index(std::filesystem::path(dir) / "changes.tsv");
  if (!index) {
    std::fprintf(stderr, "bench-emulator: no %s/changes.tsv\n", dir.c_str());
    return 1;
  }
  std::printf("\n%-34s %7s %7s %7s %8s\n", "change (new_frame, wire profile)", "write B",
              "diff B", "zlib B", "us/diff");
  std::size_t total_write = 0, total_diff = 0, total_zlib = 0;
  std::string line;
  while (std::getline(index, line)) {
    std::vector<std::string> f;
    for (std::size_t a = 0, b; a <= line.size(); a = b + 1) {
      b = line.find('\t', a);
      if (b == std::string::npos) b = line.size();
      f.push_back(line.substr(a, b - a));
    }
    if (f.size() < 6) continue;
    const std::string setup = read_file(std::filesystem::path(dir) / f[2]);
    const std::string change = read_file(std::filesystem::path(dir) / f[3]);
    mosh2::terminal::emulator emu(std::atoi(f[4].c_str()), std::atoi(f[5].c_str()));
    emu.write(setup);
    (void)emu.take_replies();
    const mosh2::terminal::framebuffer before = emu.fb();  // shares rows: a snapshot
    emu.write(change);
    (void)emu.take_replies();
    const std::string diff = mosh2::terminal::new_frame(before, emu.fb());
    // new_frame's cost, for scale: repeated for about 20 ms.
    int n = 0;
    std::size_t sink = 0;
    const auto start = clock_type::now();
    double elapsed = 0;
    while (n < 100000 && (n < 5 || elapsed < 0.02)) {
      sink += mosh2::terminal::new_frame(before, emu.fb()).size();
      ++n;
      elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
    }
    if (sink != diff.size() * static_cast<std::size_t>(n))
      std::fprintf(stderr, "bench-emulator: new_frame gave different sizes\n");
    const std::size_t z = deflated_size(diff);
    std::printf("%-34s %7zu %7zu %7zu %8.1f\n", f[1].c_str(), change.size(), diff.size(), z,
                elapsed / n * 1e6);
    total_write += change.size();
    total_diff += diff.size();
    total_zlib += z;
    std::fflush(stdout);
  }
  std::printf("%-34s %7zu %7zu %7zu\n", "total", total_write, total_diff, total_zlib);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  double min_seconds = 1.0;
  std::string programs = std::string(MOSH2_SOURCE_ROOT) + "/test/terminal/programs";
  std::string changes;
  std::string feed_key;
  long feed_history = -1;
  int history_rounds = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--history-cost") {
      history_rounds = std::atoi(argv[i + 1]);
    } else if (a == "--feed") {
      feed_key = argv[i + 1];
    } else if (a == "--history") {
      feed_history = std::atol(argv[i + 1]);
    } else if (a == "--min-seconds") {
      min_seconds = std::atof(argv[i + 1]);
    } else if (a == "--programs") {
      programs = argv[i + 1];
    } else if (a == "--changes") {
      changes = argv[i + 1];
    } else {
      std::fprintf(stderr,
                   "usage: %s [--min-seconds S] [--programs DIR] [--changes DIR]\n"
                   "       %s --history-cost ROUNDS [--history LINES]\n"
                   "       %s --feed plain|coloured|programs|utf8|random|file:PATH [--history LINES]\n",
                   argv[0], argv[0], argv[0]);
      return 2;
    }
  }

  std::vector<workload> loads;
  loads.push_back({"plain", "plain (seq 1 200000)", plain_text(), 80, 24});
  loads.push_back({"coloured", "coloured (ls/gcc-like SGR)", coloured_text(), 120, 40});
  loads.push_back({"programs", "programs (vim/less captures)", program_captures(programs), 80, 24});
  loads.push_back({"utf8", "utf8 (CJK, combining)", utf8_text(), 80, 24});
  loads.push_back({"random", "random bytes", random_bytes(), 80, 24});

  if (feed_key.rfind("file:", 0) == 0) {  // a file's bytes at 80x24, as server_compare.py's client
    loads.insert(loads.begin(), workload{feed_key.c_str(), "file", read_file(feed_key.substr(5)), 80, 24});
    if (loads.front().input.empty()) {
      std::fprintf(stderr, "bench-emulator: nothing in %s\n", feed_key.c_str() + 5);
      return 2;
    }
  }
  if (!feed_key.empty()) {
    for (const auto& w : loads)
      if (feed_key == w.key) {
        const auto options = feed_history < 0 ? mosh2::terminal::emulator_options{}
                                              : mosh2::terminal::emulator_options::server(
                                                    static_cast<std::size_t>(feed_history));
        // Twice, so that the second feed (the one to count) meets a full history.
        mosh2::terminal::emulator emu(w.width, w.height, options);
        (void)feed(emu, w.input);
        std::printf("%s: work %llu\n", w.key, static_cast<unsigned long long>(counted_feed(emu, w.input)));
        return 0;
      }
    std::fprintf(stderr, "bench-emulator: no workload %s\n", feed_key.c_str());
    return 2;
  }
  if (history_rounds > 0) {
    history_cost_table(loads[0], loads[1], std::min(history_rounds, 1000),
                       feed_history < 0 ? mosh2::terminal::default_history_lines
                                        : static_cast<std::size_t>(feed_history));
    return 0;
  }
  std::printf("%-30s %10s %12s %10s\n", "workload", "size", "screen", "MB/s");
  for (const auto& w : loads) {
    if (w.input.empty()) {
      std::printf("%-30s %10s %12s %10s\n", w.name, "-", "-", "no input");
      continue;
    }
    const auto r = measure(w.input, w.width, w.height, min_seconds);
    char size[32], screen[32];
    std::snprintf(size, sizeof size, "%.1f MB", static_cast<double>(w.input.size()) / 1e6);
    std::snprintf(screen, sizeof screen, "%dx%d", w.width, w.height);
    std::printf("%-30s %10s %12s %10.1f\n", w.name, size, screen, r.mb_per_s);
    std::fflush(stdout);
  }
  history_cost_table(loads[0], loads[1], 5, mosh2::terminal::default_history_lines);
  return changes.empty() ? 0 : change_table(changes);
}
