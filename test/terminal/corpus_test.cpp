// Corpus test: feeds every escape-sequence script of test/terminal/corpus and every real-
// program capture of test/terminal/programs through the emulator, and compares the screen
// with what tmux showed for the same bytes (recorded by test/terminal/record-corpus):
// every row's text, every cell's attributes, the cursor and the modes. The deliberate
// differences listed in corpus/DIFFERENCES.md are skipped, exactly those comparisons; an
// entry that no longer differs fails too, so the list stays true.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../support/test_data.hpp"
#include "mosh2/terminal/emulator.hpp"
#include "mosh2/terminal/utf8_decoder.hpp"

using namespace mosh2::terminal;
using json = nlohmann::json;

namespace {

// ---------------------------------------------------------------- scripts and captures

struct step {
  bool resize = false;
  int width = 0, height = 0;
  std::string bytes;
};

struct script {
  int width = 0, height = 0;
  std::vector<step> steps;
};

/// The .script format (corpus/README.md): comments, one `size W H`, then JSON-string
/// chunks and `resize W H` lines.
script parse_script(const std::string& text, const std::string& name) {
  script s;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    if (line[0] == '"') {
      step st;
      st.bytes = json::parse(line).get<std::string>();
      s.steps.push_back(std::move(st));
      continue;
    }
    std::istringstream words(line);
    std::string word;
    int w = 0, h = 0;
    if (!(words >> word >> w >> h) || (word != "size" && word != "resize"))
      FAIL(name << ":" << lineno << ": cannot parse " << line);
    if (word == "size") {
      s.width = w;
      s.height = h;
    } else {
      s.steps.push_back({true, w, h, {}});
    }
  }
  REQUIRE_MESSAGE(s.width > 0, name << ": no size line");
  return s;
}

std::string utf8(const std::u32string& s) { return mosh2::terminal::to_utf8(s); }

// ------------------------------------------------------------------- canonical forms

std::string colour_name(const color& c) {
  if (c.is_rgb()) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c.red(), c.green(), c.blue());
    return buf;
  }
  return std::to_string(c.index());
}

/// Same words and order as canonical() in record-corpus.
std::string canonical(const renditions& r, bool with_bg = true) {
  static constexpr std::pair<renditions::attr, const char*> names[] = {
      {renditions::bold, "bold"},       {renditions::faint, "faint"},
      {renditions::italic, "italic"},   {renditions::underlined, "underline"},
      {renditions::blink, "blink"},     {renditions::inverse, "inverse"},
      {renditions::invisible, "invisible"}};
  std::string s;
  auto add = [&](const std::string& w) { s += (s.empty() ? "" : " ") + w; };
  for (const auto& [a, n] : names)
    if (r.has(a)) add(n);
  static constexpr const char* styles[] = {"single", "double", "curly", "dotted", "dashed"};
  if (r.has(renditions::underlined) && r.ul_style != underline_style::single)
    add(std::string("ulstyle=") + styles[static_cast<int>(r.ul_style)]);
  if (!r.fg.is_default()) add("fg=" + colour_name(r.fg));
  if (with_bg && !r.bg.is_default()) add("bg=" + colour_name(r.bg));
  if (!r.ul.is_default()) add("ulcolor=" + colour_name(r.ul));
  return s;
}

/// Removes the bg word from a canonical string (cells tmux does not report).
std::string without_bg(const std::string& s) {
  static const std::regex bg(R"((^| )bg=[^ ]+)");
  auto out = std::regex_replace(s, bg, "");
  if (!out.empty() && out.front() == ' ') out.erase(0, 1);
  return out;
}

/// The row as tmux's capture shows it: a wide cell's text once, a blank as a space,
/// trailing spaces removed.
std::string row_text(const framebuffer& fb, int r) {
  std::string s;
  for (int c = 0; c < fb.width(); ++c) {
    const auto& cl = fb.cell_at(r, c);
    s += cl.blank() ? std::string(" ") : std::string(cl.text());
    if (cl.wide()) ++c;
  }
  s.erase(s.find_last_not_of(' ') + 1);
  return s;
}

/// Canonical attributes per column; the right half of a wide character repeats the left.
std::vector<renditions> row_renditions(const framebuffer& fb, int r) {
  std::vector<renditions> out;
  for (int c = 0; c < fb.width(); ++c) {
    const auto& cl = fb.cell_at(r, c);
    out.push_back(cl.rend());
    if (cl.wide() && c + 1 < fb.width()) {
      out.push_back(cl.rend());
      ++c;
    }
  }
  return out;
}

// ------------------------------------------------------------------------ differences

/// One row of DIFFERENCES.md: which comparisons of which recording are skipped.
struct difference {
  std::string test;     // "corpus/NAME" or "programs/NAME"
  std::string scope;    // as written, for messages
  bool cursor = false, title = false;
  std::set<std::string> modes;
  std::set<int> text_rows;
  std::set<std::pair<int, int>> attr_cells;  // (row, col)
  std::set<int> attr_rows;                   // whole rows
  bool used = false;                         // a skipped comparison really differed
};

std::pair<int, int> parse_range(const std::string& s) {
  const auto dash = s.find('-');
  if (dash == std::string::npos) return {std::stoi(s), std::stoi(s)};
  return {std::stoi(s.substr(0, dash)), std::stoi(s.substr(dash + 1))};
}

/// Table rows look like: | `corpus/NAME` | `cursor, text 3-4, attrs 0:5-9, mode origin` | reason |
std::vector<difference> load_differences() {
  std::vector<difference> out;
  std::istringstream in(mosh2::test::read_file("terminal/corpus/DIFFERENCES.md"));
  static const std::regex row(R"(^\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|)");
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, row)) continue;
    difference d;
    d.test = m[1];
    d.scope = m[2];
    std::istringstream items(d.scope);
    std::string item;
    while (std::getline(items, item, ',')) {
      std::istringstream words(item);
      std::string kind, arg;
      words >> kind >> arg;
      if (kind == "cursor") {
        d.cursor = true;
      } else if (kind == "title") {
        d.title = true;
      } else if (kind == "mode") {
        d.modes.insert(arg);
      } else if (kind == "text" || kind == "row") {
        auto [a, b] = parse_range(arg);
        for (int r = a; r <= b; ++r) d.text_rows.insert(r);
        if (kind == "row")
          for (int r = a; r <= b; ++r) d.attr_rows.insert(r);
      } else if (kind == "attrs") {
        const auto colon = arg.find(':');
        if (colon == std::string::npos) {
          auto [a, b] = parse_range(arg);
          for (int r = a; r <= b; ++r) d.attr_rows.insert(r);
        } else {
          const int r = std::stoi(arg.substr(0, colon));
          auto [a, b] = parse_range(arg.substr(colon + 1));
          for (int c = a; c <= b; ++c) d.attr_cells.insert({r, c});
        }
      } else {
        FAIL("DIFFERENCES.md: unknown scope '" << item << "' for " << d.test);
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

// ------------------------------------------------------------------------- comparison

struct outcome {
  std::vector<std::string> mismatches;  // not covered by a listed difference
  int skipped = 0;                      // differing comparisons covered by the list
};

class comparer {
public:
  comparer(std::vector<difference*> diffs) : diffs_(std::move(diffs)) {}

  void check(bool same, const std::string& what, const std::string& detail,
             bool (*covers)(const difference&, const void*), const void* key) {
    if (same) return;
    for (auto* d : diffs_)
      if (covers(*d, key)) {
        d->used = true;
        ++out.skipped;
        return;
      }
    out.mismatches.push_back(what + ": " + detail);
  }

  outcome out;

private:
  std::vector<difference*> diffs_;
};

std::string quoted(const std::string& s) { return json(s).dump(); }

/// Modes that both terminals track: tmux reports them through display-message formats.
void compare_modes(const emulator& emu, const json& m, comparer& cmp) {
  const auto& ds = emu.fb().ds();
  auto mouse = [&] {
    switch (ds.mouse) {
      case mouse_reporting::vt220: return 1000;
      case mouse_reporting::button_event: return 1002;
      case mouse_reporting::any_event: return 1003;
      default: return 0;
    }
  }();
  auto encoding = ds.mouse_enc == mouse_encoding::sgr    ? 1006
                  : ds.mouse_enc == mouse_encoding::utf8 ? 1005
                                                         : 0;
  const std::pair<std::string, std::pair<int, int>> modes[] = {
      {"cursor_visible", {ds.cursor_visible, m["cursor_visible"]}},
      {"insert", {ds.insert_mode, m["insert"]}},
      {"origin", {ds.origin_mode, m["origin"]}},
      {"autowrap", {ds.auto_wrap, m["autowrap"]}},
      {"scroll_top", {ds.scroll_top, m["scroll_top"]}},
      {"scroll_bottom", {ds.scroll_bottom, m["scroll_bottom"]}},
      {"app_cursor_keys", {ds.application_cursor_keys, m["app_cursor_keys"]}},
      {"mouse", {mouse, m["mouse"]}},
      {"mouse_encoding", {encoding, m["mouse_encoding"]}},
      {"alternate_screen", {emu.alternate_screen(), m["alternate_screen"]}},
  };
  for (const auto& [name, v] : modes)
    cmp.check(v.first == v.second, "mode " + name,
              "ours " + std::to_string(v.first) + " recorded " + std::to_string(v.second),
              [](const difference& d, const void* k) {
                return d.modes.count(*static_cast<const std::string*>(k)) > 0;
              },
              &name);
}

void compare(const emulator& emu, const json& exp, comparer& cmp) {
  const auto& fb = emu.fb();
  const int width = exp["width"], height = exp["height"];
  if (fb.width() != width || fb.height() != height) {
    cmp.out.mismatches.push_back("size " + std::to_string(fb.width()) + "x" +
                                 std::to_string(fb.height()) + ", recorded " +
                                 std::to_string(width) + "x" + std::to_string(height));
    return;
  }
  const auto& ds = fb.ds();

  // Cursor: position and whether a wrap is pending.
  // (Stock recordings have no pending flag: mosh-client places the cursor with CUP.)
  const int crow = exp["cursor"]["row"], ccol = exp["cursor"]["col"];
  const bool has_pending = exp["cursor"].contains("pending_wrap");
  const bool pending = has_pending && exp["cursor"]["pending_wrap"].get<bool>();
  const bool ours_pending = has_pending && ds.next_print_wraps && ds.cursor_col == width - 1;
  cmp.check(ds.cursor_row == crow && ds.cursor_col == ccol && ours_pending == pending, "cursor",
            "ours (" + std::to_string(ds.cursor_row) + "," + std::to_string(ds.cursor_col) +
                (ours_pending ? ",pending" : "") + ") recorded (" + std::to_string(crow) + "," +
                std::to_string(ccol) + (pending ? ",pending" : "") + ")",
            [](const difference& d, const void*) { return d.cursor; }, nullptr);

  if (exp.contains("modes")) compare_modes(emu, exp["modes"], cmp);

  // Title, when the recording changed it (tmux recordings only).
  if (exp.contains("title") && !exp["title"].is_null()) {
    const std::string ours = utf8(fb.title());
    cmp.check(ours == exp["title"].get<std::string>(), "title",
              "ours " + quoted(ours) + " recorded " + exp["title"].dump(),
              [](const difference& d, const void*) { return d.title; }, nullptr);
  }
  // Text, row by row.
  for (int r = 0; r < height; ++r) {
    const std::string ours = row_text(fb, r), theirs = exp["rows"][r];
    cmp.check(ours == theirs, "text row " + std::to_string(r),
              "\n      ours     " + quoted(ours) + "\n      recorded " + quoted(theirs),
              [](const difference& d, const void* k) {
                return d.text_rows.count(*static_cast<const int*>(k)) > 0;
              },
              &r);
  }

  // Attributes, cell by cell. tmux reports a row's cells up to the last one written
  // ("extent"); beyond it only blanks can be, whose background tmux does not report.
  std::vector<std::vector<std::string>> want(static_cast<std::size_t>(height),
                                             std::vector<std::string>(width));
  for (const auto& run : exp["attrs"])
    for (int c = run[1]; c < run[2].get<int>(); ++c)
      want[run[0].get<std::size_t>()][static_cast<std::size_t>(c)] = run[3];
  for (int r = 0; r < height; ++r) {
    const auto rends = row_renditions(fb, r);
    const int extent = exp["extents"][r];
    for (int c = 0; c < width && c < static_cast<int>(rends.size()); ++c) {
      const auto& theirs = want[r][c];
      const std::string ours = canonical(rends[c], c < extent);
      const std::pair<int, int> key{r, c};
      cmp.check(ours == (c < extent ? theirs : without_bg(theirs)),
                "attrs " + std::to_string(r) + ":" + std::to_string(c),
                "ours " + quoted(ours) + " recorded " + quoted(theirs),
                [](const difference& d, const void* k) {
                  const auto& rc = *static_cast<const std::pair<int, int>*>(k);
                  return d.attr_rows.count(rc.first) > 0 || d.attr_cells.count(rc) > 0;
                },
                &key);
    }
  }
}

/// Runs one recording against its differences and reports; returns true on a match.
bool run_one(const std::string& test, const emulator& emu, const json& exp,
             std::vector<difference>& diffs) {
  std::vector<difference*> mine;
  for (auto& d : diffs)
    if (d.test == test) mine.push_back(&d);
  comparer cmp(mine);
  compare(emu, exp, cmp);
  if (!cmp.out.mismatches.empty()) {
    std::string msg = test + " differs from its recording:";
    const std::size_t shown = std::min<std::size_t>(cmp.out.mismatches.size(), 12);
    for (std::size_t i = 0; i < shown; ++i) msg += "\n    " + cmp.out.mismatches[i];
    if (shown < cmp.out.mismatches.size())
      msg += "\n    ... and " + std::to_string(cmp.out.mismatches.size() - shown) + " more";
    FAIL_CHECK(msg);
    return false;
  }
  return true;
}

std::vector<std::string> names_with(const std::string& folder, const std::string& ext) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(mosh2::test::data_path(folder)))
    if (e.path().extension() == ext) out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

void check_no_stale(const std::vector<difference>& diffs, const std::string& prefix) {
  for (const auto& d : diffs)
    if (d.test.rfind(prefix, 0) == 0 && !d.used)
      FAIL_CHECK("DIFFERENCES.md lists `" << d.test << "` `" << d.scope
                                          << "`, but those comparisons all match now: "
                                             "remove or narrow the entry");
}

/// Feeds every script through a fresh emulator and compares it with the recordings
/// in `expected_dir` (tmux's, or stock Mosh's), under the differences tagged `tag`.
void run_corpus(const std::string& expected_dir, const std::string& tag, const char* oracle) {
  auto diffs = load_differences();
  const auto names = names_with("terminal/corpus", ".script");
  REQUIRE(names.size() >= 60);
  int passed = 0;
  for (const auto& name : names) {
    INFO("script " << name);
    const auto sc = parse_script(mosh2::test::read_file("terminal/corpus/" + name + ".script"),
                                 name);
    const auto exp = json::parse(mosh2::test::read_file(expected_dir + name + ".expected"));
    emulator emu(sc.width, sc.height, emulator_options::server());
    for (const auto& st : sc.steps) {
      if (st.resize)
        emu.resize(st.width, st.height);
      else
        emu.write(st.bytes);
    }
    (void)emu.take_replies();
    if (run_one(tag + name, emu, exp, diffs)) ++passed;
  }
  MESSAGE(tag << ": " << passed << " of " << names.size() << " scripts match " << std::string(oracle)
              << " (after the listed differences)");
  check_no_stale(diffs, tag);
}

}  // namespace

TEST_SUITE("terminal") {

TEST_CASE("corpus: every escape-sequence script matches tmux's screen") {
  run_corpus("terminal/corpus/", "corpus/", "tmux");
}

TEST_CASE("corpus: every escape-sequence script matches stock Mosh 1.4's screen") {
  run_corpus("terminal/corpus/stock-1.4/", "stock/", "stock Mosh 1.4");
}

TEST_CASE("corpus: real programs' output matches tmux's screen, in any chunking") {
  auto diffs = load_differences();
  const auto names = names_with("terminal/programs", ".bytes");
  REQUIRE(!names.empty());
  for (const auto& name : names) {
    INFO("program " << name);
    const auto bytes = mosh2::test::read_file("terminal/programs/" + name + ".bytes");
    const auto exp = json::parse(mosh2::test::read_file("terminal/programs/" + name + ".expected"));
    const int width = exp["width"], height = exp["height"];
    emulator whole(width, height, emulator_options::server());
    whole.write(bytes);
    run_one("programs/" + name, whole, exp, diffs);
    // The parser keeps its state across writes: byte-at-a-time and odd-sized chunks must
    // end in the same screen.
    for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4093}}) {
      emulator split(width, height, emulator_options::server());
      for (std::size_t i = 0; i < bytes.size(); i += chunk)
        split.write(std::string_view(bytes).substr(i, chunk));
      CHECK_MESSAGE(split.fb() == whole.fb(), name << " fed in chunks of " << chunk);
      CHECK(split.fb().ds().cursor_col == whole.fb().ds().cursor_col);
    }
  }
  check_no_stale(diffs, "programs/");
}

}  // TEST_SUITE
