#pragma once
// The DEC/ECMA-48 state machine in the style of Paul Williams' VT500 parser (protocol
// §9.1): code points in, at most one action out per code point.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mosh2::terminal {

/// Splits decoded host output into printable characters, controls and escape
/// sequences. Holds no screen state; the emulator interprets the actions.
class parser {
public:
  /// What the code point just fed completed.
  enum class action : std::uint8_t {
    none,          ///< consumed into a sequence (or ignored)
    print,         ///< ch() is a graphic character
    execute,       ///< ch() is a C0 or C1 control (ESC 0x40-0x5F arrives as C1)
    esc_dispatch,  ///< ESC [intermediates()] ch()
    csi_dispatch,  ///< CSI [intermediates()] params ch(); intermediates include < = > ?
    osc_dispatch,  ///< osc() holds the string, terminated by BEL or ST
  };

  enum class state : std::uint8_t {
    ground, escape, escape_intermediate, csi_entry, csi_param, csi_intermediate,
    csi_ignore, osc_string, ignore_string  ///< DCS (all its states), SOS, PM, APC
  };

  static constexpr std::size_t max_param_chars = 100;     ///< protocol §9.1
  static constexpr std::size_t max_osc_chars = 16384;     ///< code points
  static constexpr std::size_t max_intermediates = 4;
  static constexpr int max_param_value = 65535;
  static constexpr std::size_t max_params = max_param_chars + 1;

  /// Advances the state machine by one code point.
  action feed(char32_t c);

  /// True in the ground state, where printable ASCII may bypass feed().
  bool in_ground() const { return state_ == state::ground; }
  state current_state() const { return state_; }
  /// Back to ground, dropping any partial sequence.
  void reset();

  /// The character that completed the last action.
  char32_t ch() const { return ch_; }
  /// Intermediate and private-marker characters of the last ESC/CSI dispatch.
  std::string_view intermediates() const { return {intermediates_.data(), intermediates_len_}; }
  /// Number of parameters of the last CSI dispatch (missing ones count).
  std::size_t param_count() const { return param_count_; }
  /// Parameter i, or `def` if absent, empty, 0, above 65535 or unparsable (§9.1).
  int param(std::size_t i, int def) const {
    if (i >= param_count_ || params_[i] <= 0) return def;
    return params_[i];
  }
  /// True when parameter i was separated from the one before by ':' (an ITU T.416
  /// sub-parameter, as in `38:2::r:g:b`).
  bool param_is_sub(std::size_t i) const {
    return i < param_count_ && (sub_[i / 64] >> (i % 64)) & 1;
  }
  /// True when the last CSI had a ':' among its parameters. Only SGR knows what one
  /// means; every other function ignores such a sequence, as Mosh 1.4 ignores them all.
  bool has_sub_params() const { return has_colon_; }
  /// The collected OSC string (capped at 16384 code points).
  const std::u32string& osc() const { return osc_; }
  /// Drops the OSC string once it has been handled, so copying the parser (which SSP
  /// does with every emulator state) never copies an old title.
  void clear_osc() { osc_.clear(); }

private:
  action anywhere(char32_t c);
  void clear();
  void collect(char32_t c);
  void finish_params();
  action enter_escape();
  // The per-state transitions of §9.1, one function per state (feed() picks one).
  action in_ground_state(char32_t c);
  action in_escape(char32_t c);
  action in_escape_intermediate(char32_t c);
  action in_csi_param(char32_t c);
  action in_csi_intermediate(char32_t c);
  action in_csi_ignore(char32_t c);
  action in_osc_string(char32_t c);
  action in_ignore_string(char32_t c);
  static const std::array<action (parser::*)(char32_t), 9> state_table;

  state state_ = state::ground;
  char32_t ch_ = 0;
  bool osc_pending_st_ = false;  ///< ESC seen inside an OSC string: ESC \ ends it
  std::array<char, max_intermediates> intermediates_{};
  std::size_t intermediates_len_ = 0;
  std::array<char, max_param_chars> param_chars_{};
  std::size_t param_chars_len_ = 0;
  std::array<int, max_params> params_{};
  std::size_t param_count_ = 0;
  std::array<std::uint64_t, (max_params + 63) / 64> sub_{};  ///< see param_is_sub
  bool has_colon_ = false;
  std::u32string osc_;
};

}  // namespace mosh2::terminal
