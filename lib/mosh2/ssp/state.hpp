#pragma once
// The contract an object must meet to be synchronized by SSP (protocol §7): copies,
// equality, a byte diff from an older copy, applying such a diff, and dropping an
// acknowledged prefix.

#include <concepts>

#include "mosh2/util/bytes.hpp"

namespace mosh2::ssp {

/// A state SSP can synchronize.
///
/// - `diff_from(older)` returns the bytes that turn `older` into `*this`; the empty
///   string means "no change" (the sender then sends an empty-diff instruction).
/// - `apply_diff(diff)` applies such bytes; it returns false on malformed input and
///   then leaves the state unchanged. The bytes come from the network: never throw.
/// - `subtract(prefix)` forgets what `prefix` (an acknowledged older copy) already
///   contains; a no-op for objects that are not logs. It must tolerate
///   `s.subtract(s)`, because the sender trims the acknowledged entry by itself.
/// - Equality decides whether anything is left to send.
template <class S>
concept synchronizable_state =
    std::copyable<S> && std::equality_comparable<S> &&
    requires(S& s, const S& older, bytes_view diff) {
      { older.diff_from(older) } -> std::same_as<bytes>;
      { s.apply_diff(diff) } -> std::same_as<bool>;
      s.subtract(older);
    };

}  // namespace mosh2::ssp
