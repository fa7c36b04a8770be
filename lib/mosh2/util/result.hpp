#pragma once
// result<T, E>: a value or the reason there is none. GCC 12 has no std::expected,
// and untrusted input must fail as a value, not as an exception.

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace mosh2 {

/// Wraps an error value so that result's constructors are never ambiguous.
template <class E> struct failure {
  E error;
};
template <class E> failure(E) -> failure<E>;

/// Either a T or an E. Check with `if (r)` before dereferencing.
template <class T, class E> class [[nodiscard]] result {
public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  /// Anything T can be built from (e.g. one alternative of a variant T).
  template <class U>
    requires(!std::is_same_v<std::remove_cvref_t<U>, T> && std::is_constructible_v<T, U &&> &&
             !std::is_convertible_v<U &&, E>)
  result(U&& value) : v_(std::in_place_index<0>, T(std::forward<U>(value))) {}
  template <class F>
    requires std::is_convertible_v<F, E>
  result(failure<F> f) : v_(std::in_place_index<1>, E(std::move(f.error))) {}

  [[nodiscard]] bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  [[nodiscard]] E error() const { assert(!has_value()); return std::get<1>(v_); }

private:
  std::variant<T, E> v_;
};

}  // namespace mosh2
