// Predictive local echo (protocol §10.1-§10.6): making predictions from keystrokes,
// judging them against server frames, and drawing the trusted ones.
//
// Where §10 is silent, this file chooses:
// * A cursor prediction is created only when a key moves the cursor; a key that only
//   starts an epoch (wide character, control) creates none, since "the cursor stays"
//   would be a prediction that the key itself disproves.
// * CSI C / CSI D count as arrows only without parameters or intermediates (CSI 1;5C
//   jumps by words); the predicted cursor stays within the row.
// * Overwrite-mode backspace predicts a blank with the cell's current renditions; the
//   blank row predicted for a newline on the last row has the frame's background.
// * "Correct but no credit" only retires the prediction: no epoch confirmed, no glitch
//   repair, no renditions copied.
// * Every reset (wrong prediction, resize, paste) also starts a new hidden epoch.
// * Trigger hysteresis: "on" wins over "off"; triggers are updated before the cells are
//   judged, so a glitch found in this frame underlines from the next one.
// * Glitch repair: "within 250 ms" is strictly less; the 150 ms spacing is measured
//   between repairs, and only while glitch_trigger > 0.
// * OSC strings and C1 controls typed on the keyboard start an epoch, like ESC sequences.
// * With the program's mode known (set_echo_state): a carriage return typed while an echo
//   is expected starts a vouched epoch, drawn without confirmation from the first key on
//   (the return's own guess of the cursor stays hidden: a shell's prompt or a command's
//   output decides where the cursor goes; proved wrong, it leaves the line vouched); a key
//   typed before the screen after that return arrived drops the vouch (it was aimed at
//   the old screen), as does a key typed while the screen is still changing (the mode
//   saying echo is off may still be on its way) and any mode that does not promise an echo. Echo `off` hides
//   everything and starts over hidden.

#include "mosh2/overlay/prediction.hpp"

#include <cmath>
#include <utility>

#include "mosh2/ssp/constants.hpp"
#include "mosh2/terminal/char_width.hpp"

namespace mosh2::overlay {

namespace {

// §10.4: a blank cell, a space and U+00A0 all count as the same contents.
bool blank_text(std::string_view t) { return t.empty() || t == " " || t == "\xC2\xA0"; }
bool same_text(std::string_view a, std::string_view b) { return a == b || (blank_text(a) && blank_text(b)); }

}  // namespace

std::optional<prediction_mode> parse_prediction_mode(std::string_view name) {
  if (name == "adaptive") return prediction_mode::adaptive;
  if (name == "always") return prediction_mode::always;
  if (name == "never") return prediction_mode::never;
  if (name == "experimental") return prediction_mode::experimental;
  return std::nullopt;
}

std::string_view to_string(prediction_mode mode) {
  switch (mode) {
    case prediction_mode::adaptive: return "adaptive";
    case prediction_mode::always: return "always";
    case prediction_mode::never: return "never";
    case prediction_mode::experimental: return "experimental";
  }
  return "adaptive";
}

void prediction_engine::set_srtt(double srtt_ms) {
  const double lo = static_cast<double>(ssp::send_interval_min.count());
  const double hi = static_cast<double>(ssp::send_interval_max.count());
  double half = std::ceil(srtt_ms / 2.0);
  if (!(half >= lo)) half = lo;  // also catches NaN
  send_interval_ = milliseconds(static_cast<milliseconds::rep>(std::min(half, hi)));
}

void prediction_engine::set_echo_state(echo_state s, std::uint64_t mode_key) {
  echo_ = s;
  mode_key_ = mode_key;
  if (!echo_expected()) vouched_epoch_ = 0;
  if (s == echo_state::off) reset();  // keys typed from now on are secrets until shown otherwise
}

bool prediction_engine::echo_expected() const {
  if (echo_ == echo_state::kernel) return true;
  return echo_ == echo_state::program &&
         std::find(echoing_modes_.begin(), echoing_modes_.end(), mode_key_) != echoing_modes_.end();
}

void prediction_engine::vouch_new_line() {
  vouched_epoch_ = prediction_epoch_;
  vouched_from_ = local_frame_sent_ + 1;  // the state this return travels in
  vouch_fresh_ = true;
}

// ---- §10.3: making predictions ------------------------------------------------------

void prediction_engine::new_user_input(std::string_view bytes, const terminal::framebuffer& local_frame,
                                       time_point now) {
  if (mode_ == prediction_mode::never) return;
  if (bytes.size() > paste_threshold) {
    reset();
    return;
  }
  for (char b : bytes) new_user_byte(b, local_frame, now);
}

void prediction_engine::new_user_byte(char byte, const terminal::framebuffer& local_frame, time_point now) {
  if (mode_ == prediction_mode::never) return;
  check_size(local_frame);
  // Experimental mode never holds a prediction back: each byte starts in the confirmed epoch.
  if (mode_ == prediction_mode::experimental) prediction_epoch_ = confirmed_epoch_;
  // The first key of a vouched line decides: typed ahead of the screen after the
  // return, or onto a screen still changing, it gets Mosh's rule instead.
  if (vouched_epoch_ == prediction_epoch_ && std::exchange(vouch_fresh_, false) &&
      (echo_ack_ < vouched_from_ || (last_screen_change_ && now - *last_screen_change_ < 2 * send_interval_)))
    vouched_epoch_ = 0;
  auto b = static_cast<std::uint8_t>(byte);
  // The client's terminal is in application cursor mode; SS3 arrows mean the same as CSI ones.
  if (after_esc_ && b == 'O') b = '[';
  after_esc_ = b == 0x1B;
  utf8_.feed(b, [&](char32_t cp) { act(cp, local_frame, now); });
}

void prediction_engine::act(char32_t cp, const terminal::framebuffer& fb, time_point now) {
  // The host-output parser ignores DEL; typed, it is backspace.
  if (cp == 0x7F && parser_.in_ground()) {
    backspace(fb, now);
    return;
  }
  using action = terminal::parser::action;
  switch (parser_.feed(cp)) {
    case action::print:
      type_char(parser_.ch(), fb, now);
      break;
    case action::execute:
      if (parser_.ch() == U'\r') {
        const int row = cursor_position(fb).row;
        become_tentative();
        if (echo_expected() && mode_ != prediction_mode::experimental) vouch_new_line();
        predict_newline(row, fb, now);
      } else {
        become_tentative();
      }
      break;
    case action::csi_dispatch: {
      // Plain left/right arrows move the cursor; modified ones (CSI 1;5C) jump by words.
      const char32_t f = parser_.ch();
      if ((f == U'C' || f == U'D') && parser_.param_count() == 0 && parser_.intermediates().empty()) {
        auto at = cursor_position(fb);
        at.col = std::clamp(at.col + (f == U'C' ? 1 : -1), 0, fb.width() - 1);
        move_cursor(at, now);
      } else {
        become_tentative();
      }
      break;
    }
    case action::esc_dispatch:
    case action::osc_dispatch:
      become_tentative();
      break;
    case action::none:
      break;
  }
}

void prediction_engine::type_char(char32_t cp, const terminal::framebuffer& fb, time_point now) {
  // Wide and combining characters move the cursor in ways not worth guessing.
  if (terminal::char_width(cp) != 1) {
    become_tentative();
    return;
  }
  const auto at = cursor_position(fb);
  const int last = fb.width() - 1;
  if (at.col == last) become_tentative();  // autowrap may or may not follow

  if (!overwrite_) {
    // Insert: the rest of the row moves right; what falls into the last column is unknown.
    for (int col = last; col > at.col; --col) {
      const auto moved = predicted_or_actual(at.row, col - 1, fb);
      auto& p = predict_cell(at.row, col, fb, now);
      p.replacement = moved;
      p.unknown = col == last;
    }
  }

  const terminal::renditions rend =
      at.col == 0 ? fb.ds().rend : predicted_or_actual(at.row, at.col - 1, fb).rend();
  char utf8[4];
  const auto len = terminal::encode_utf8(cp, utf8);
  auto& p = predict_cell(at.row, at.col, fb, now);
  p.unknown = false;
  p.replacement.set_char(std::string_view(utf8, len), rend, false);

  if (at.col < last) {
    move_cursor({at.row, at.col + 1}, now);
  } else {
    become_tentative();
    predict_newline(at.row, fb, now);
  }
}

void prediction_engine::backspace(const terminal::framebuffer& fb, time_point now) {
  const auto at = cursor_position(fb);
  if (at.col <= 0) return;  // nothing moves, so nothing to predict
  const int row = at.row, col = at.col - 1, last = fb.width() - 1;
  move_cursor({row, col}, now);

  if (overwrite_) {
    const auto rend = predicted_or_actual(row, col, fb).rend();
    auto& p = predict_cell(row, col, fb, now);
    p.unknown = false;
    p.replacement.reset(rend);
    return;
  }
  // Insert: the rest of the row moves left; the last two columns may receive anything
  // (a wide character's halves, text the application had scrolled away).
  for (int c = col; c <= last; ++c) {
    if (c < last - 1) {
      const auto moved = predicted_or_actual(row, c + 1, fb);
      auto& p = predict_cell(row, c, fb, now);
      p.replacement = moved;
      p.unknown = false;
    } else {
      predict_cell(row, c, fb, now).unknown = true;
    }
  }
}

void prediction_engine::predict_newline(int row, const terminal::framebuffer& fb, time_point now) {
  if (row + 1 < fb.height()) {
    move_cursor({row + 1, 0}, now);
    return;
  }
  // On the last row the screen would scroll; predicting the scroll would mean guessing
  // every row, so only the new last row (blank) is predicted.
  move_cursor({row, 0}, now);
  for (int c = 0; c < fb.width(); ++c) {
    auto& p = predict_cell(row, c, fb, now);
    p.unknown = false;
    p.replacement.reset(fb.background());
  }
}

void prediction_engine::move_cursor(position to, time_point now) {
  if (cursors_.empty() || cursors_.back().when.epoch != prediction_epoch_) cursors_.emplace_back();
  auto& c = cursors_.back();
  c.row = to.row;
  c.col = to.col;
  c.when = new_stamp(now);
}

prediction_engine::cell_prediction& prediction_engine::predict_cell(int row, int col,
                                                                    const terminal::framebuffer& fb,
                                                                    time_point now) {
  auto& slots = rows_[row];
  if (slots.empty()) slots.resize(static_cast<std::size_t>(fb.width()));
  auto& p = slots[static_cast<std::size_t>(col)];
  if (!p.active) {
    p = cell_prediction{true, false, {}, {}, false, {}};
    ++counts_.made;
  }
  const auto seen = fb.cell_at(row, col).text();
  if (std::none_of(p.originals.begin(), p.originals.end(), [&](const std::string& o) { return same_text(o, seen); })) {
    if (p.originals.size() < max_cell_originals) p.originals.emplace_back(seen);
    else p.too_many_originals = true;
  }
  p.when = new_stamp(now);
  return p;
}

terminal::cell prediction_engine::predicted_or_actual(int row, int col, const terminal::framebuffer& fb) const {
  if (const auto it = rows_.find(row); it != rows_.end() && col < static_cast<int>(it->second.size())) {
    const auto& p = it->second[static_cast<std::size_t>(col)];
    if (p.active && !p.unknown) return p.replacement;
  }
  return fb.cell_at(row, col);
}

// The cursor of the current epoch's prediction, or else the frame's: a new epoch
// starts from what is on the screen, since whatever began it moved the cursor unknowably.
prediction_engine::position prediction_engine::cursor_position(const terminal::framebuffer& fb) const {
  if (!cursors_.empty() && cursors_.back().when.epoch == prediction_epoch_)
    return {cursors_.back().row, cursors_.back().col};
  return {fb.ds().cursor_row, fb.ds().cursor_col};
}

// ---- §10.4: validation --------------------------------------------------------------

void prediction_engine::cull(const terminal::framebuffer& server_frame, time_point now) {
  if (mode_ == prediction_mode::never) return;
  check_size(server_frame);
  update_triggers();
  cull_cells(server_frame, now);
  cull_cursor(server_frame);
  std::erase_if(rows_, [](const auto& r) {
    return std::none_of(r.second.begin(), r.second.end(), [](const cell_prediction& p) { return p.active; });
  });
}

void prediction_engine::check_size(const terminal::framebuffer& fb) {
  if (fb.width() == width_ && fb.height() == height_) return;
  if (width_ != 0) reset();
  width_ = fb.width();
  height_ = fb.height();
}

void prediction_engine::update_triggers() {
  if (send_interval_ > srtt_trigger_on_above) srtt_trigger_ = true;
  else if (send_interval_ <= srtt_trigger_off_at && !active()) srtt_trigger_ = false;
  // A long glitch underlines even on a fast link, so "on" wins over "off".
  if (send_interval_ > flagging_on_above || glitch_trigger_ > glitch_flag_above) flagging_ = true;
  else if (send_interval_ <= flagging_off_at) flagging_ = false;
}

prediction_engine::verdict prediction_engine::judge(const cell_prediction& p, int row, int col,
                                                    const terminal::framebuffer& fb) const {
  if (echo_ack_ < p.when.expiration) return verdict::pending;
  if (row >= fb.height() || col >= fb.width()) return verdict::incorrect;
  const auto predicted = p.replacement.text();
  if (p.unknown || blank_text(predicted)) return verdict::correct_no_credit;
  if (!same_text(fb.cell_at(row, col).text(), predicted)) return verdict::incorrect;
  // Text that was already there proves nothing about the echo.
  const bool was_there = p.too_many_originals ||
                         std::any_of(p.originals.begin(), p.originals.end(),
                                     [&](const std::string& o) { return same_text(o, predicted); });
  return was_there ? verdict::correct_no_credit : verdict::correct;
}

void prediction_engine::cull_cells(const terminal::framebuffer& fb, time_point now) {
  for (auto& [row, slots] : rows_) {
    for (std::size_t col = 0; col < slots.size(); ++col) {
      auto& p = slots[col];
      if (!p.active) continue;
      const int c = static_cast<int>(col);
      switch (judge(p, row, c, fb)) {
        case verdict::pending: {
          const auto age = now - p.when.made;
          if (age >= glitch_flag_threshold) glitch_trigger_ = std::max(glitch_trigger_, glitch_flag_level);
          else if (age >= glitch_threshold) glitch_trigger_ = std::max(glitch_trigger_, glitch_show_level);
          break;
        }
        case verdict::correct_no_credit:
          p.active = false;
          break;
        case verdict::correct: {
          ++counts_.confirmed;
          if (echo_ == echo_state::program &&
              std::find(echoing_modes_.begin(), echoing_modes_.end(), mode_key_) == echoing_modes_.end()) {
            if (echoing_modes_.size() == max_echoing_modes) echoing_modes_.erase(echoing_modes_.begin());
            echoing_modes_.push_back(mode_key_);
          }
          confirmed_epoch_ = std::max(confirmed_epoch_, p.when.epoch);
          // Quick echoes, spaced out, slowly repair the glitch level.
          if (glitch_trigger_ > 0 && now - p.when.made < glitch_threshold &&
              (!last_repair_ || now - *last_repair_ >= glitch_repair_spacing)) {
            --glitch_trigger_;
            last_repair_ = now;
          }
          const auto rend = fb.cell_at(row, c).rend();
          for (std::size_t k = col; k < slots.size(); ++k)
            if (slots[k].active) slots[k].replacement.rend() = rend;
          p.active = false;
          break;
        }
        case verdict::incorrect:
          ++counts_.wrong;
          if (mode_ == prediction_mode::experimental) {
            p.active = false;
          } else if (tentative(p.when)) {
            kill_epoch(p.when.epoch);
          } else {
            reset();  // the user saw something wrong: start over, hidden
            return;
          }
          break;
      }
    }
  }
}

void prediction_engine::cull_cursor(const terminal::framebuffer& fb) {
  if (cursors_.empty()) return;
  const auto& newest = cursors_.back();
  if (echo_ack_ >= newest.when.expiration &&
      (newest.row != fb.ds().cursor_row || newest.col != fb.ds().cursor_col)) {
    if (mode_ == prediction_mode::experimental) cursors_.clear();
    else reset();
    return;
  }
  std::erase_if(cursors_, [&](const cursor_prediction& c) { return echo_ack_ >= c.when.expiration; });
}

// Drops `epoch` and everything predicted after it; the next cursor prediction restarts
// from the screen's cursor.
void prediction_engine::kill_epoch(std::uint64_t epoch) {
  for (auto& [row, slots] : rows_)
    for (auto& p : slots)
      if (p.active && p.when.epoch >= epoch) p.active = false;
  std::erase_if(cursors_, [&](const cursor_prediction& c) { return c.when.epoch >= epoch; });
  become_tentative();
}

void prediction_engine::become_tentative() {
  if (mode_ == prediction_mode::experimental) return;
  // A reset before anything was typed on a vouched line (the old line's cursor guess
  // proved wrong when the command's output came) leaves the new line vouched for.
  const bool carry = vouched_epoch_ == prediction_epoch_ && vouch_fresh_;
  ++prediction_epoch_;
  if (carry) vouched_epoch_ = prediction_epoch_;
}

void prediction_engine::reset() {
  rows_.clear();
  cursors_.clear();
  become_tentative();
}

bool prediction_engine::active() const {
  if (!cursors_.empty()) return true;
  for (const auto& [row, slots] : rows_)
    for (const auto& p : slots)
      if (p.active) return true;
  return false;
}

std::size_t prediction_engine::originals_held() const {
  std::size_t n = 0;
  for (const auto& [row, slots] : rows_)
    for (const auto& p : slots) n += p.originals.size();
  return n;
}

// ---- §10.5: display -----------------------------------------------------------------

bool prediction_engine::displaying() const {
  switch (mode_) {
    case prediction_mode::never: return false;
    case prediction_mode::always:
    case prediction_mode::experimental: return true;
    case prediction_mode::adaptive: return srtt_trigger_ || glitch_trigger_ > 0;
  }
  return false;
}

void prediction_engine::apply(terminal::framebuffer& frame) const {
  if (!displaying() || echo_ == echo_state::off) return;
  const int width = frame.width(), height = frame.height();
  for (const auto& c : cursors_) {
    if (tentative(c.when) || c.row >= height || c.col >= width) continue;
    frame.ds().cursor_row = c.row;
    frame.ds().cursor_col = c.col;
    frame.ds().next_print_wraps = false;
  }
  for (const auto& [row, slots] : rows_) {
    if (row >= height) continue;
    const int cols = std::min(width, static_cast<int>(slots.size()));
    for (int col = 0; col < cols; ++col) {
      const auto& p = slots[static_cast<std::size_t>(col)];
      if (!p.active || tentative(p.when)) continue;
      const auto& actual = frame.cell_at(row, col);
      // A prediction the server's frame already shows is not drawn at all, so its
      // underline goes as soon as the echo arrives, before the echo_ack that lets cull()
      // judge it (as the stock client does, §10.5).
      if (!p.unknown && p.replacement == actual) continue;
      terminal::cell shown = p.unknown ? actual : p.replacement;
      // Unknown cells are only marked, and never in the last column (often just a margin).
      const bool mark = p.unknown ? col != width - 1 : !(shown.blank() && actual.blank());
      if (flagging_ && mark) shown.rend().set(terminal::renditions::underlined, true);
      if (!(shown == actual)) frame.mutable_cell(row, col) = shown;
    }
  }
}

time_point prediction_engine::next_deadline(time_point now) const {
  // Only the glitch timers change anything without a new frame, and once predictions
  // are both shown and underlined they cannot change the picture any more.
  if (mode_ == prediction_mode::never || !active() || (displaying() && flagging_)) return never;
  return now + prediction_recheck;
}

}  // namespace mosh2::overlay
