#pragma once
// The client's hold on the user's terminal: raw mode and the session's screen
// (alternate screen, keypad and so on) from construction, and the terminal exactly as
// it was found on every way out: return, exception, or a shutdown by signal.

#include <string>
#include <utility>

#include "mosh2/os/local_terminal.hpp"

namespace mosh2::session {

class terminal_guard {
public:
  /// Raw mode on `in`; writes `open` to `out` now and `close` when the guard goes.
  terminal_guard(int in, int out, std::string open, std::string close)
      : raw_(in), out_(out), open_(std::move(open)), close_(std::move(close)) {
    os::write_all(out_, open_);
  }
  ~terminal_guard() { release(); }
  terminal_guard(const terminal_guard&) = delete;
  terminal_guard& operator=(const terminal_guard&) = delete;

  /// Gives the terminal back for a while (suspend); resume() takes it again.
  void release() {
    if (!held_) return;
    held_ = false;
    os::write_all(out_, close_);
    raw_.restore();
  }
  void resume() {
    if (held_) return;
    raw_.enter();
    os::write_all(out_, open_);
    held_ = true;
  }
  bool held() const { return held_; }

private:
  os::raw_mode raw_;
  int out_;
  std::string open_;
  std::string close_;
  bool held_ = true;
};

}  // namespace mosh2::session
