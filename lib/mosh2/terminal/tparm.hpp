#pragma once
// Instantiating a parameterized terminfo string (terminfo(5), "Parameterized Strings"),
// for the few capabilities the client takes from the local terminal's entry (Smulx,
// Setulc). Pure: no ncurses, no global state.

#include <span>
#include <string>
#include <string_view>

namespace mosh2::terminal {

/// `cap` with `params` (%p1 to %p9; missing ones are 0) put in: %d %o %x %X %c with
/// flags, width and precision, %s of a number, %{n}, %'c', %i, %l, arithmetic, logic and
/// comparisons, %? %t %e %; and the variables %P/%g. Never fails: a malformed part yields
/// what it can, the stack is bounded (an empty stack pops 0), and the work is linear in
/// the string's length.
std::string tparm(std::string_view cap, std::span<const long> params);

}  // namespace mosh2::terminal
