// The VT500-style state machine: transitions of protocol §9.1, with ESC 0x40-0x5F
// folded onto the C1 controls and the DCS states merged (their contents are ignored).

#include "mosh2/terminal/parser.hpp"

namespace mosh2::terminal {

namespace {

constexpr bool is_c0(char32_t c) { return c < 0x20; }
constexpr bool is_param_char(char32_t c) { return (c >= '0' && c <= '9') || c == ';' || c == ':'; }
constexpr bool is_intermediate(char32_t c) { return c >= 0x20 && c <= 0x2F; }
constexpr bool is_private_marker(char32_t c) { return c >= 0x3C && c <= 0x3F; }
// Code points from U+00A0 up are classified like GL characters (§9.1); inside a
// sequence they act as final characters of an unknown function.
constexpr bool is_final(char32_t c) { return (c >= 0x40 && c <= 0x7E) || c >= 0xA0; }

}  // namespace

void parser::reset() {
  state_ = state::ground;
  osc_pending_st_ = false;
  clear();
  osc_.clear();
}

void parser::clear() {
  intermediates_len_ = 0;
  param_chars_len_ = 0;
  param_count_ = 0;
  has_colon_ = false;
}

void parser::collect(char32_t c) {
  // Real functions have at most two intermediates; a longer run stays unmatchable.
  if (intermediates_len_ < max_intermediates)
    intermediates_[intermediates_len_++] = static_cast<char>(c);
}

void parser::finish_params() {
  param_count_ = 0;
  sub_.fill(0);
  has_colon_ = false;
  if (param_chars_len_ == 0) return;
  int value = 0;
  bool digits = false, too_large = false, next_is_sub = false;
  for (std::size_t i = 0; i <= param_chars_len_; ++i) {
    const char c = i < param_chars_len_ ? param_chars_[i] : ';';
    if (c == ';' || c == ':') {
      // Empty, 0 and too large all mean "missing" (§9.1); 0 stands for missing.
      if (next_is_sub) sub_[param_count_ / 64] |= std::uint64_t{1} << (param_count_ % 64);
      params_[param_count_++] = digits && !too_large ? value : 0;
      value = 0;
      digits = too_large = false;
      next_is_sub = c == ':';
      if (next_is_sub) has_colon_ = true;
    } else if (!too_large) {
      digits = true;
      value = value * 10 + (c - '0');
      if (value > max_param_value) too_large = true;
    }
  }
}

parser::action parser::enter_escape() {
  osc_pending_st_ = state_ == state::osc_string;
  clear();
  state_ = state::escape;
  return action::none;
}

// Transitions that apply in every state (§9.1): CAN, SUB and the C1 controls.
parser::action parser::anywhere(char32_t c) {
  ch_ = c;
  switch (c) {
    case 0x90:  // DCS
    case 0x98:  // SOS
    case 0x9E:  // PM
    case 0x9F:  // APC
      clear();
      state_ = state::ignore_string;
      return action::none;
    case 0x9B:  // CSI
      clear();
      state_ = state::csi_entry;
      return action::none;
    case 0x9D:  // OSC
      clear();
      osc_.clear();
      state_ = state::osc_string;
      return action::none;
    case 0x9C: {  // ST
      const bool osc = state_ == state::osc_string;
      state_ = state::ground;
      return osc ? action::osc_dispatch : action::none;
    }
    default:  // CAN, SUB and every other C1 control
      state_ = state::ground;
      return action::execute;
  }
}

// One handler per state, indexed by the state's value: feed() is the transitions
// that apply everywhere, then this table.
const std::array<parser::action (parser::*)(char32_t), 9> parser::state_table = {
    &parser::in_ground_state,     // ground
    &parser::in_escape,           // escape
    &parser::in_escape_intermediate,
    &parser::in_csi_param,        // csi_entry
    &parser::in_csi_param,        // csi_param
    &parser::in_csi_intermediate,
    &parser::in_csi_ignore,
    &parser::in_osc_string,
    &parser::in_ignore_string,
};

parser::action parser::feed(char32_t c) {
  if (c == 0x1B) return enter_escape();
  if (c == 0x18 || c == 0x1A || (c >= 0x80 && c <= 0x9F)) return anywhere(c);
  return (this->*state_table[static_cast<std::size_t>(state_)])(c);
}

parser::action parser::in_ground_state(char32_t c) {
  ch_ = c;
  if (is_c0(c)) return action::execute;
  if (c == 0x7F) return action::none;
  return action::print;
}

parser::action parser::in_escape(char32_t c) {
  if (is_c0(c)) {
    ch_ = c;
    return action::execute;
  }
  if (c == 0x7F) return action::none;
  if (is_intermediate(c)) {
    collect(c);
    state_ = state::escape_intermediate;
    return action::none;
  }
  if (c >= 0x40 && c <= 0x5F) {
    // ESC Fe is the 7-bit form of a C1 control; ESC \ may end an OSC string.
    const bool osc = osc_pending_st_;
    osc_pending_st_ = false;
    if (osc && c == 0x5C) {
      state_ = state::ground;
      ch_ = 0x9C;
      return action::osc_dispatch;
    }
    state_ = state::ground;
    return anywhere(c + 0x40);
  }
  osc_pending_st_ = false;
  ch_ = c;
  state_ = state::ground;
  return action::esc_dispatch;
}

parser::action parser::in_escape_intermediate(char32_t c) {
  ch_ = c;
  if (is_c0(c)) return action::execute;
  if (c == 0x7F) return action::none;
  if (is_intermediate(c)) {
    collect(c);
    return action::none;
  }
  state_ = state::ground;
  return action::esc_dispatch;
}

// csi_entry and csi_param: a private marker is allowed only first.
parser::action parser::in_csi_param(char32_t c) {
  ch_ = c;
  if (is_c0(c)) return action::execute;
  if (c == 0x7F) return action::none;
  if (is_param_char(c)) {
    if (param_chars_len_ < max_param_chars) param_chars_[param_chars_len_++] = static_cast<char>(c);
    state_ = state::csi_param;
    return action::none;
  }
  if (is_private_marker(c) && state_ == state::csi_entry) {
    collect(c);
    state_ = state::csi_param;
    return action::none;
  }
  if (is_private_marker(c)) {
    state_ = state::csi_ignore;
    return action::none;
  }
  if (is_intermediate(c)) {
    collect(c);
    state_ = state::csi_intermediate;
    return action::none;
  }
  state_ = state::ground;
  finish_params();
  return action::csi_dispatch;
}

parser::action parser::in_csi_intermediate(char32_t c) {
  ch_ = c;
  if (is_c0(c)) return action::execute;
  if (c == 0x7F) return action::none;
  if (is_intermediate(c)) {
    collect(c);
    return action::none;
  }
  if (c >= 0x30 && c <= 0x3F) {
    state_ = state::csi_ignore;
    return action::none;
  }
  state_ = state::ground;
  finish_params();
  return action::csi_dispatch;
}

parser::action parser::in_csi_ignore(char32_t c) {
  ch_ = c;
  if (is_c0(c)) return action::execute;
  if (is_final(c)) state_ = state::ground;
  return action::none;
}

parser::action parser::in_osc_string(char32_t c) {
  if (c == 0x07) {
    ch_ = c;
    state_ = state::ground;
    return action::osc_dispatch;
  }
  if (!is_c0(c) && osc_.size() < max_osc_chars) osc_.push_back(c);
  return action::none;
}

parser::action parser::in_ignore_string(char32_t) { return action::none; }

}  // namespace mosh2::terminal
