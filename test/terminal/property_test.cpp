// Property test of the frame diff: for random pairs of screens A and B, made by running
// random but realistic host output through the emulator, new_frame(A, B) fed to a
// receiver holding A yields B; and a repaint from nothing yields B too.

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "../support/test_data.hpp"
#include "mosh2/terminal/display.hpp"
#include "mosh2/terminal/emulator.hpp"

using namespace mosh2::terminal;

namespace {

using tokens = std::vector<std::string>;

std::string join(const tokens& t) {
  std::string s;
  for (const auto& x : t) s += x;
  return s;
}

std::string escaped(std::string_view s) {
  std::string out;
  char buf[8];
  for (unsigned char ch : s) {
    if (ch == 0x1B) out += "\\e";
    else if (ch == '\n') out += "\\n";
    else if (ch == '\r') out += "\\r";
    else if (ch < 0x20 || ch == 0x7F) {
      std::snprintf(buf, sizeof buf, "\\x%02X", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out;
}

// Random host output in small tokens, so that a failing case can be shrunk.
class stream_gen {
public:
  explicit stream_gen(std::uint32_t seed) : rng_(seed) {}

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(int percent) { return pick(0, 99) < percent; }

  tokens make(int n, int width, int height) {
    tokens t;
    for (int i = 0; i < n; ++i) t.push_back(token(width, height));
    return t;
  }

private:
  std::string text(int len) {
    static const char* const pieces[] = {
        "\xC3\xA9",          // é (Latin-1: width 1)
        "\xE6\x97\xA5",      // 日 (wide)
        "\xE6\x9C\xAC",      // 本 (wide)
        "\xF0\x9F\x98\x80",  // 😀 (wide)
        "\xCC\x81",          // combining acute
        "\xCC\x88",          // combining diaeresis
        "\xE2\x94\x80",      // ─
        "\xC2\xA0",          // no-break space
    };
    std::string s;
    for (int i = 0; i < len; ++i) {
      const int k = pick(0, 99);
      if (k < 70) s += static_cast<char>(pick(0x21, 0x7E));
      else if (k < 82) s += ' ';
      else s += pieces[pick(0, 7)];
    }
    return s;
  }

  std::string sgr() {
    static const int simple[] = {0, 1, 3, 4, 5, 7, 8, 22, 23, 24, 25, 27, 28, 39, 49, 2};
    std::string s = "\033[";
    const int n = pick(1, 3);
    for (int i = 0; i < n; ++i) {
      if (i) s += ';';
      const int k = pick(0, 9);
      if (k < 4) s += std::to_string(simple[pick(0, 15)]);
      else if (k < 6) s += std::to_string(pick(0, 1) ? pick(30, 37) : pick(40, 47));
      else if (k < 7) s += std::to_string(pick(0, 1) ? pick(90, 97) : pick(100, 107));
      else if (k < 9) s += (pick(0, 1) ? "38;5;" : "48;5;") + std::to_string(pick(0, 255));
      else
        s += (pick(0, 1) ? "38;2;" : "48;2;") + std::to_string(pick(0, 255)) + ";" +
             std::to_string(pick(0, 255)) + ";" + std::to_string(pick(0, 255));
    }
    return s + "m";
  }

  std::string num(int hi) { return std::to_string(pick(0, hi)); }

  std::string token(int w, int h) {
    const int k = pick(0, 199);
    if (k < 50) return text(pick(1, 12));
    if (k < 56) return text(w + pick(0, 3));  // a line that wraps
    if (k < 66) return sgr();
    if (k < 72) {
      static const char* const c[] = {"\r\n", "\n", "\r", "\b", "\t", "\033D", "\033E", "\033M"};
      return c[pick(0, 7)];
    }
    if (k < 84) {
      switch (pick(0, 6)) {
        case 0: return "\033[" + num(h + 1) + ";" + num(w + 1) + "H";
        case 1: return "\033[" + num(3) + "A";
        case 2: return "\033[" + num(3) + "B";
        case 3: return "\033[" + num(5) + "C";
        case 4: return "\033[" + num(5) + "D";
        case 5: return "\033[" + num(w + 1) + "G";
        default: return "\033[" + num(h + 1) + "d";
      }
    }
    if (k < 100) {
      switch (pick(0, 10)) {
        case 0: return "\033[" + num(2) + "K";
        case 1: return "\033[" + num(2) + "J";
        case 2: return "\033[" + num(w) + "X";
        case 3: return "\033[" + num(3) + "@";
        case 4: return "\033[" + num(3) + "P";
        case 5: return "\033[" + num(2) + "L";
        case 6: return "\033[" + num(2) + "M";
        case 7: return "\033[" + num(3) + "S";
        case 8: return "\033[" + num(3) + "T";
        case 9: return "\033[K";
        default: return "\033[" + num(h) + ";" + num(h + 1) + "r";
      }
    }
    if (k < 112) {
      static const int modes[] = {5, 25, 2004, 9, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1015,
                                  1007, 7, 7, 6, 1049, 1};
      return "\033[?" + std::to_string(modes[pick(0, 17)]) + (pick(0, 1) ? "h" : "l");
    }
    if (k < 115) return pick(0, 1) ? "\033[4h" : "\033[4l";
    if (k < 122) {
      switch (pick(0, 4)) {
        case 0: return "\033]0;" + text(pick(0, 8)) + "\a";
        case 1: return "\033]1;" + text(pick(0, 8)) + "\033\\";
        case 2: return "\033]2;" + text(pick(0, 8)) + "\a";
        case 3: return "\033]52;c;" + text(pick(0, 8)) + "\a";
        default: return "\a";
      }
    }
    if (k < 126) {
      // A combining mark right after a cursor motion: a fallback cell.
      return "\033[" + num(h + 1) + ";" + num(w + 1) + "H" + (pick(0, 1) ? "\xCC\x81" : "\xCC\x81\xCC\x88");
    }
    if (k < 128) return pick(0, 1) ? "\0337" : "\0338";
    if (k < 129) return pick(0, 3) ? "\033(0lqk\033(B" : "\033#8";
    if (k < 130) return "\033c";
    return text(pick(1, 6));
  }

  std::mt19937 rng_;
};

bool visual_blank(const cell& c) {
  return c.blank() || (!c.wide() && !c.fallback() && c.text() == " ");
}

// Cells as a real screen shows them: a printed space looks like an erased cell, and a
// fallback cell looks like U+00A0 followed by its marks.
bool looks_same(const cell& got, const cell& want) {
  if (got == want) return true;
  if (got.rend() != want.rend()) return false;
  if (visual_blank(got) && visual_blank(want)) return true;
  return want.fallback() && !got.fallback() && got.text() == "\xC2\xA0" + std::string(want.text());
}

std::string describe(const cell& c) {
  std::string s = "'" + escaped(c.text()) + "'";
  if (c.wide()) s += " wide";
  if (c.fallback()) s += " fallback";
  s += " attrs=" + std::to_string(c.rend().attrs);
  return s;
}

// Empty when `got` shows `want`; else the differences, one per line.
std::string differences(const framebuffer& got, const framebuffer& want, bool exact, bool titles,
                        bool* tolerated = nullptr) {
  std::string d;
  if (got.width() != want.width() || got.height() != want.height())
    return "size " + std::to_string(got.width()) + "x" + std::to_string(got.height()) + " vs " +
           std::to_string(want.width()) + "x" + std::to_string(want.height()) + "\n";
  const auto& g = got.ds();
  const auto& w = want.ds();
  if (g.cursor_row != w.cursor_row || g.cursor_col != w.cursor_col)
    d += "cursor (" + std::to_string(g.cursor_row) + "," + std::to_string(g.cursor_col) + ") vs (" +
         std::to_string(w.cursor_row) + "," + std::to_string(w.cursor_col) + ")\n";
  if (g.cursor_visible != w.cursor_visible) d += "cursor visibility\n";
  if (g.reverse_video != w.reverse_video) d += "reverse video\n";
  if (!(g.rend == w.rend)) d += "current renditions\n";
  if (g.bracketed_paste != w.bracketed_paste) d += "bracketed paste\n";
  if (g.mouse != w.mouse) d += "mouse reporting\n";
  if (g.mouse_focus_events != w.mouse_focus_events) d += "focus events\n";
  if (g.mouse_enc != w.mouse_enc) d += "mouse encoding\n";
  if (exact && g.mouse_alternate_scroll != w.mouse_alternate_scroll) d += "alternate scroll\n";
  if (exact && got.clipboard() != want.clipboard()) d += "clipboard\n";
  if (titles && got.title() != want.title()) d += "title\n";
  for (int r = 0; r < want.height(); ++r) {
    // Known limits (docs/display.md): a soft wrap on the bottom row of a screen of one
    // or two rows cannot be recorded without scrolling, nor one on an empty cell of a
    // screen one column wide without erasing it again.
    const bool wrap_limit = (r == want.height() - 1 && want.height() < 3) || want.width() < 2;
    if (got.row_at(r).wrap != want.row_at(r).wrap && wrap_limit && tolerated) *tolerated = true;
    if (got.row_at(r).wrap != want.row_at(r).wrap && !wrap_limit)
      d += "row " + std::to_string(r) + " wrap " + std::to_string(got.row_at(r).wrap) + " vs " +
           std::to_string(want.row_at(r).wrap) + "\n";
    for (int c = 0; c < want.width(); ++c) {
      const cell& a = got.cell_at(r, c);
      const cell& b = want.cell_at(r, c);
      // Known limit: no print puts a wide character in the last column (Mosh 1.4 moves
      // it to the next row even with autowrap off); it is drawn as a space.
      const bool wide_limit = b.wide() && c == want.width() - 1 && a.text() == " ";
      if (wide_limit && tolerated) *tolerated = true;
      if (exact ? !(a == b) && !wide_limit : !looks_same(a, b) && !wide_limit)
        d += "cell (" + std::to_string(r) + "," + std::to_string(c) + ") " + describe(a) + " vs " +
             describe(b) + "\n";
    }
  }
  return d;
}

struct case_result {
  std::string diff;     // the frame diff that failed, if any
  std::string problem;  // empty on success
};

struct profile_case {
  const char* name;
  terminal_profile profile;
};

// Drives one pair through one profile: the receiver first gets the diff from a blank
// screen to A (as a client does), then the diff from A to B.
case_result check_pair(const profile_case& pc, int w1, int h1, const tokens& s1, int w2, int h2,
                       const tokens& s2) {
  const terminal_profile& p = pc.profile;
  const bool exact = p.mosh_emulator;
  const bool titles = p.has_title;
  emulator a(w1, h1);
  a.write(join(s1));
  emulator b = a;
  if (w2 != w1 || h2 != h1) b.resize(w2, h2);
  b.write(join(s2));

  case_result res;
  emulator rx(w1, h1);
  const framebuffer blank_a(w1, h1);
  res.diff = new_frame(blank_a, a.fb(), p, exact);
  rx.write(res.diff);
  if (!rx.take_replies().empty()) return {res.diff, "the diff provoked a reply"};
  // A real terminal only shows the title once the remote side has set one.
  bool tolerated = false;
  std::string d = differences(rx.fb(), a.fb(), exact, titles && a.fb().title_initialized(), &tolerated);
  if (!d.empty()) return {res.diff, "blank -> A:\n" + d};
  if (tolerated) {
    // The receiver missed a wrap flag it cannot get: give it A itself, with the modes a
    // client's emulator has (no hoststring ever changes them).
    rx.fb() = a.fb();
    auto& ds = rx.fb().ds();
    ds.origin_mode = ds.insert_mode = ds.next_print_wraps = false;
    ds.auto_wrap = true;
    ds.scroll_top = 0;
    ds.scroll_bottom = h1 - 1;
  }

  if (w2 != w1 || h2 != h1) rx.resize(w2, h2);
  res.diff = new_frame(a.fb(), b.fb(), p, true);
  rx.write(res.diff);
  if (!rx.take_replies().empty()) return {res.diff, "the diff provoked a reply"};
  d = differences(rx.fb(), b.fb(), exact, titles && b.fb().title_initialized());
  if (!d.empty()) return {res.diff, "A -> B:\n" + d};
  if (a.fb() == b.fb() && a.fb().icon_name() == b.fb().icon_name() && !res.diff.empty())
    return {res.diff, "equal screens gave a non-empty diff"};

  // A repaint from nothing (initialized = false) onto a blank screen of B's size.
  emulator fresh(w2, h2);
  res.diff = new_frame(framebuffer(w2, h2), b.fb(), p, false);
  fresh.write(res.diff);
  d = differences(fresh.fb(), b.fb(), exact, titles && b.fb().title_initialized());
  if (!d.empty()) return {res.diff, "repaint of B:\n" + d};
  return {};
}

// Drops tokens while the case still fails, to print a small reproduction.
void shrink(const profile_case& pc, int w1, int h1, tokens& s1, int w2, int h2, tokens& s2) {
  for (int round = 0; round < 4; ++round) {
    bool progress = false;
    for (tokens* t : {&s1, &s2}) {
      for (std::size_t i = t->size(); i-- > 0;) {
        tokens trial = *t;
        trial.erase(trial.begin() + static_cast<std::ptrdiff_t>(i));
        tokens saved = *t;
        *t = trial;
        if (check_pair(pc, w1, h1, s1, w2, h2, s2).problem.empty()) *t = saved;
        else progress = true;
      }
    }
    if (!progress) break;
  }
}

std::string hex(std::string_view s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// MOSH2_PROPERTY_SCALE=n runs n times as many pairs (a soak run; the default is 1).
int scale() {
  const char* v = std::getenv("MOSH2_PROPERTY_SCALE");
  const int n = v ? std::atoi(v) : 1;
  return n > 0 ? n : 1;
}

int run_cases(const profile_case& pc, int pairs, std::uint32_t seed_base) {
  int failures = 0;
  pairs *= scale();
  for (int i = 0; i < pairs && failures < 1; ++i) {
    const std::uint32_t seed = seed_base + static_cast<std::uint32_t>(i);
    stream_gen g(seed);
    static const int small[] = {1, 2, 3};
    const int w1 = g.chance(10) ? small[g.pick(0, 2)] : g.pick(4, 30);
    const int h1 = g.chance(10) ? small[g.pick(0, 2)] : g.pick(3, 12);
    int w2 = w1, h2 = h1;
    if (g.chance(15)) {
      w2 = g.pick(1, 30);
      h2 = g.pick(1, 12);
    }
    tokens s1 = g.make(g.pick(0, 40), w1, h1);
    tokens s2 = g.make(g.pick(0, 25), w2, h2);
    auto res = check_pair(pc, w1, h1, s1, w2, h2, s2);
    if (res.problem.empty()) continue;
    ++failures;
    shrink(pc, w1, h1, s1, w2, h2, s2);
    res = check_pair(pc, w1, h1, s1, w2, h2, s2);
    std::string msg = std::string("profile ") + pc.name + ", seed " + std::to_string(seed) + "\nA " +
                      std::to_string(w1) + "x" + std::to_string(h1) + ": " + escaped(join(s1)) +
                      "\nB " + std::to_string(w2) + "x" + std::to_string(h2) + " = A + " +
                      escaped(join(s2)) + "\ndiff: " + escaped(res.diff) + "\ndiff hex: " +
                      hex(res.diff) + "\n" + res.problem;
    FAIL_CHECK(msg);
  }
  return failures;
}

terminal_profile no_ech_no_bce() {
  terminal_profile p = terminal_profile::from_term("vt100");
  return p;
}

}  // namespace

TEST_SUITE("terminal") {

TEST_CASE("a diff between random screens turns the wire receiver's screen into the target") {
  CHECK(run_cases({"wire", terminal_profile::wire()}, 3000, 1000) == 0);
}

TEST_CASE("the wire diff stays exact when it scrolls with line feeds instead of SU/SD") {
  terminal_profile p = terminal_profile::wire();
  p.has_scroll = false;
  CHECK(run_cases({"wire-no-scroll", p}, 500, 60000) == 0);
}

TEST_CASE("a diff for a real terminal shows the target on it") {
  CHECK(run_cases({"xterm-256color", terminal_profile::from_term("xterm-256color")}, 700, 70000) == 0);
  CHECK(run_cases({"linux", terminal_profile::from_term("linux")}, 400, 80000) == 0);
  CHECK(run_cases({"vt100", no_ech_no_bce()}, 400, 90000) == 0);
  CHECK(run_cases({"tmux", terminal_profile::from_term("tmux-256color")}, 400, 95000) == 0);
}

TEST_CASE("real programs' output, diffed frame by frame, keeps the wire receiver exact") {
  namespace fs = std::filesystem;
  const fs::path dir = mosh2::test::data_path("terminal/programs");
  int captures = 0;
  std::size_t raw_total = 0, diff_total = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".bytes") continue;
    const std::string name = entry.path().stem().string();
    const auto meta = nlohmann::json::parse(
        mosh2::test::read_file("terminal/programs/" + name + ".json"));
    const int w = meta["size"][0].get<int>(), h = meta["size"][1].get<int>();
    const std::string bytes = mosh2::test::read_file("terminal/programs/" + name + ".bytes");
    ++captures;
    // Frames as a server would take them: whatever one read of the pty returned.
    for (std::uint32_t seed : {1u, 2u, 3u}) {
      std::mt19937 rng(seed);
      emulator host(w, h), rx(w, h);
      std::size_t pos = 0, frames = 0, sent = 0;
      bool ok = true;
      while (pos < bytes.size() && ok) {
        const std::size_t n = std::uniform_int_distribution<std::size_t>(1, seed == 1 ? 4096 : 300)(rng);
        const framebuffer before = host.fb();
        host.write(std::string_view(bytes).substr(pos, n));
        pos += n;
        const std::string d = new_frame(before, host.fb());
        sent += d.size();
        rx.write(d);
        ++frames;
        const std::string problem = differences(rx.fb(), host.fb(), true, true);
        if (!problem.empty()) {
          FAIL_CHECK(name << " seed " << seed << " frame " << frames << " (bytes " << pos - n << "+"
                          << n << ")\ndiff: " << escaped(d) << "\n" << problem);
          ok = false;
        }
      }
      if (seed == 1) {
        MESSAGE(name << ": " << bytes.size() << " bytes of output, " << frames << " frames, "
                     << sent << " bytes of diffs");
        raw_total += bytes.size();
        diff_total += sent;
      }
    }
  }
  MESSAGE("all captures: " << raw_total << " bytes of output, " << diff_total << " bytes of diffs");
  CHECK(captures > 0);
}

// The server's emulator (program output, reflow, history) diffed toward a receiver with
// Mosh 1.4's semantics, as the wire has it.
void corpus_scripts_keep_receiver_exact(bool extended) {
  namespace fs = std::filesystem;
  CAPTURE(extended);
  int scripts = 0;
  for (const auto& entry : fs::directory_iterator(mosh2::test::data_path("terminal/corpus"))) {
    if (entry.path().extension() != ".script") continue;
    const std::string name = entry.path().stem().string();
    // The .script format (corpus/README.md): `size W H`, JSON-string chunks, `resize W H`.
    const std::string text = mosh2::test::read_file("terminal/corpus/" + name + ".script");
    std::size_t at = 0;
    emulator host(1, 1), rx(1, 1);
    bool sized = false;
    int step = 0;
    while (at < text.size()) {
      std::size_t end = text.find('\n', at);
      if (end == std::string::npos) end = text.size();
      const std::string line = text.substr(at, end - at);
      at = end + 1;
      if (line.empty() || line[0] == '#') continue;
      const framebuffer before = host.fb();
      if (line[0] == '"') {
        host.write(nlohmann::json::parse(line).get<std::string>());
      } else {
        int w = 0, h = 0;
        char word[16] = {};
        if (std::sscanf(line.c_str(), "%15s %d %d", word, &w, &h) != 3) continue;
        if (std::string(word) == "size") {
          host = emulator(w, h, emulator_options::server());
          rx = emulator(w, h);
          sized = true;
          continue;
        }
        host.resize(w, h);
        rx.resize(w, h);
      }
      if (!sized) continue;
      ++step;
      // A stock peer gets what Mosh 1.4 can show (a plain underline); a mosh2 peer that
      // negotiated extended styles gets them all.
      const terminal_profile profile = terminal_profile::wire(extended);
      const std::string d = new_frame(before, host.fb(), profile);
      rx.write(d);
      const std::string problem = differences(rx.fb(), as_shown(host.fb(), profile), true, true);
      if (!problem.empty()) {
        FAIL_CHECK(name << " step " << step << "\ndiff: " << escaped(d) << "\n" << problem);
        // Go on from the host's screen so one miss is reported once.
        rx.fb() = as_shown(host.fb(), profile);
        auto& ds = rx.fb().ds();
        ds.origin_mode = ds.insert_mode = ds.next_print_wraps = false;
        ds.auto_wrap = true;
        ds.scroll_top = 0;
        ds.scroll_bottom = host.fb().height() - 1;
      }
    }
    ++scripts;
  }
  CHECK(scripts > 0);
}

TEST_CASE("the emulator corpus scripts, diffed step by step, keep a stock wire receiver exact") {
  corpus_scripts_keep_receiver_exact(false);
}

TEST_CASE("the emulator corpus scripts, diffed step by step, keep an extended wire receiver exact") {
  corpus_scripts_keep_receiver_exact(true);
}

}  // TEST_SUITE
