// Parameterized terminfo strings. See tparm.hpp.

#include "mosh2/terminal/tparm.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <vector>

namespace mosh2::terminal {

namespace {

// Enough for any capability seen in the wild (Setulc uses four entries).
constexpr std::size_t max_stack = 32;

class machine {
public:
  void push(long v) {
    if (stack_.size() < max_stack) stack_.push_back(v);
  }
  long pop() {
    if (stack_.empty()) return 0;
    const long v = stack_.back();
    stack_.pop_back();
    return v;
  }

private:
  std::vector<long> stack_;
};

// Skips from just after a %? ... %t (condition false) or a %e (branch done) to the
// matching %e (when `to_else`) or %;, keeping count of nested conditionals.
std::size_t skip_branch(std::string_view cap, std::size_t i, bool to_else) {
  int depth = 0;
  while (i + 1 < cap.size()) {
    if (cap[i] != '%') {
      ++i;
      continue;
    }
    const char c = cap[i + 1];
    i += 2;
    if (c == '?') ++depth;
    else if (c == ';' && depth-- == 0) return i;
    else if (c == 'e' && depth == 0 && to_else) return i;
  }
  return cap.size();
}

}  // namespace

std::string tparm(std::string_view cap, std::span<const long> given) {
  std::array<long, 9> p{};
  for (std::size_t i = 0; i < given.size() && i < p.size(); ++i) p[i] = given[i];
  std::array<long, 26> dynamic_vars{}, static_vars{};
  machine m;
  std::string out;
  std::size_t i = 0;
  while (i < cap.size()) {
    if (cap[i] != '%') {
      out += cap[i++];
      continue;
    }
    if (++i >= cap.size()) break;
    const char c = cap[i++];
    switch (c) {
      case '%': out += '%'; break;
      case 'c': out += static_cast<char>(m.pop()); break;
      case 'p':
        if (i < cap.size() && cap[i] >= '1' && cap[i] <= '9') m.push(p[static_cast<std::size_t>(cap[i++] - '1')]);
        break;
      case 'P':
      case 'g':
        if (i < cap.size()) {
          const char v = cap[i++];
          long* slot = v >= 'a' && v <= 'z'   ? &dynamic_vars[static_cast<std::size_t>(v - 'a')]
                       : v >= 'A' && v <= 'Z' ? &static_vars[static_cast<std::size_t>(v - 'A')]
                                              : nullptr;
          if (!slot) break;
          if (c == 'P') *slot = m.pop();
          else m.push(*slot);
        }
        break;
      case '\'':
        if (i < cap.size()) m.push(static_cast<unsigned char>(cap[i++]));
        if (i < cap.size() && cap[i] == '\'') ++i;
        break;
      case '{': {
        long v = 0;
        bool negative = i < cap.size() && cap[i] == '-';
        if (negative) ++i;
        while (i < cap.size() && cap[i] >= '0' && cap[i] <= '9') {
          if (v < 100000000) v = v * 10 + (cap[i] - '0');
          ++i;
        }
        if (i < cap.size() && cap[i] == '}') ++i;
        m.push(negative ? -v : v);
        break;
      }
      case 'l': m.push(0); break;  // strlen of a number parameter: not a string here
      case 'i': ++p[0]; ++p[1]; break;
      case '+': { const long b = m.pop(), a = m.pop(); m.push(a + b); break; }
      case '-': { const long b = m.pop(), a = m.pop(); m.push(a - b); break; }
      case '*': { const long b = m.pop(), a = m.pop(); m.push(a * b); break; }
      case '/': { const long b = m.pop(), a = m.pop(); m.push(b ? a / b : 0); break; }
      case 'm': { const long b = m.pop(), a = m.pop(); m.push(b ? a % b : 0); break; }
      case '&': { const long b = m.pop(), a = m.pop(); m.push(a & b); break; }
      case '|': { const long b = m.pop(), a = m.pop(); m.push(a | b); break; }
      case '^': { const long b = m.pop(), a = m.pop(); m.push(a ^ b); break; }
      case '=': { const long b = m.pop(), a = m.pop(); m.push(a == b); break; }
      case '>': { const long b = m.pop(), a = m.pop(); m.push(a > b); break; }
      case '<': { const long b = m.pop(), a = m.pop(); m.push(a < b); break; }
      case 'A': { const long b = m.pop(), a = m.pop(); m.push(a && b); break; }
      case 'O': { const long b = m.pop(), a = m.pop(); m.push(a || b); break; }
      case '!': m.push(!m.pop()); break;
      case '~': m.push(~m.pop()); break;
      case '?': break;
      case 't':
        if (!m.pop()) i = skip_branch(cap, i, true);
        break;
      case 'e': i = skip_branch(cap, i, false); break;
      case ';': break;
      default: {
        // %[[:]flags][width[.precision]][doxXs]
        std::string spec = "%";
        std::size_t j = i - 1;
        if (cap[j] == ':') ++j;
        while (j < cap.size() && (cap[j] == '-' || cap[j] == '+' || cap[j] == '#' || cap[j] == ' ')) spec += cap[j++];
        // Width and precision of at most two digits each, so the spec stays a valid
        // printf format whatever the capability holds.
        const auto digits = [&] {
          for (int k = 0; k < 2 && j < cap.size() && cap[j] >= '0' && cap[j] <= '9'; ++k) spec += cap[j++];
        };
        digits();
        if (j < cap.size() && cap[j] == '.') {
          spec += cap[j++];
          digits();
        }
        if (j >= cap.size()) {
          i = j;
          break;
        }
        const char conv = cap[j];
        if (conv != 'd' && conv != 'o' && conv != 'x' && conv != 'X' && conv != 's') {
          i = j + 1;  // not a conversion terminfo knows: dropped
          break;
        }
        i = j + 1;
        spec += 'l';
        spec += conv == 's' ? 'd' : conv;
        char buf[64];
        const int n = std::snprintf(buf, sizeof buf, spec.c_str(), m.pop());
        if (n > 0) out.append(buf, std::min(static_cast<std::size_t>(n), sizeof buf - 1));
        break;
      }
    }
  }
  return out;
}

}  // namespace mosh2::terminal
