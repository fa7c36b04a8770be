#pragma once
// How two mosh2 ends agree on extensions (docs/protocol.md, "Extensions"): the client
// announces what it supports in every instruction until the server answers; the server
// answers only a client that announced, with what both support, until the client stops
// announcing. Only what both named is used. Toward a stock Mosh 1.4 peer: a stock
// server skips the announcement as an unknown field and never answers; a stock client
// never announces, so a mosh2 server sends it nothing new. A core: no I/O.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "mosh2/datagram/packet.hpp"
#include "mosh2/transport/instruction.hpp"

namespace mosh2::session {

/// The extensions mosh2 defines, by their wire ids (never reuse a number).
namespace extension {
/// The stream frames (Instruction fields 22 and 23) are understood: further
/// synchronized streams may be opened by the extensions that define them.
inline constexpr std::uint32_t streams = 1;
/// A client displaced by an attach is told so (Instruction field 24), under the key it
/// still holds, instead of hearing nothing.
inline constexpr std::uint32_t attached_elsewhere = 2;
/// A stream from server to client: the program's terminal modes (terminal_mode.hpp).
inline constexpr std::uint32_t terminal_mode = 3;
/// The server's history (lines that scrolled off the top of its main screen) as a
/// stream to the client, which writes them into its terminal's own scrollback.
inline constexpr std::uint32_t history = 4;
/// The frame diff may carry underline styles and colours (SGR 4:n, 58, 59).
inline constexpr std::uint32_t extended_styles = 5;
/// The client says, in each instruction (field 25), whether its datagrams take a reliable
/// byte stream; the server then sends nothing twice to it (docs/protocol.md, "Paths").
inline constexpr std::uint32_t reliable_path = 6;
/// Ids from here on are for tests only; no program announces them.
inline constexpr std::uint32_t first_test_id = 0x7f000000;

/// The name the status file and docs/protocol.md use for `id`.
inline std::string name(std::uint32_t id) {
  switch (id) {
    case streams: return "streams";
    case attached_elsewhere: return "attached_elsewhere";
    case terminal_mode: return "terminal_mode";
    case history: return "history";
    case extended_styles: return "extended_styles";
    case reliable_path: return "reliable_path";
    default: return id >= first_test_id ? "test-" + std::to_string(id - first_test_id) : std::to_string(id);
  }
}
}  // namespace extension

/// What this end supports, and which of it the peer has agreed to.
class negotiation {
public:
  negotiation(datagram::role self, std::vector<std::uint32_t> supported)
      : self_(self), supported_(std::move(supported)) {
    std::sort(supported_.begin(), supported_.end());
    supported_.erase(std::unique(supported_.begin(), supported_.end()), supported_.end());
  }

  /// Adds this end's announcement or answer to an instruction about to go out.
  void stamp(transport::instruction_extensions& ext) const {
    if (supported_.empty()) return;
    if (self_ == datagram::role::client && !answered_) ext.offer = supported_;
    if (self_ == datagram::role::server && answered_ && !peer_has_answer_) ext.accept = agreed_;
  }

  /// Takes the peer's fields from an authentic instruction; true when the agreed set
  /// was settled by it (the extensions named in agreed() may be used from now on).
  bool receive(const transport::instruction_extensions& ext) {
    if (supported_.empty()) return false;
    if (self_ == datagram::role::server) {
      if (!ext.offer) {
        // A client that stopped announcing has the answer (it announces until then).
        if (answered_) peer_has_answer_ = true;
        return false;
      }
      peer_has_answer_ = false;
      if (answered_) return false;
      agreed_ = common(*ext.offer);
      answered_ = true;
      return true;
    }
    if (!ext.accept || answered_) return false;
    agreed_ = common(*ext.accept);
    answered_ = true;
    return true;
  }

  /// Whether both ends named `id`.
  bool agreed(std::uint32_t id) const { return std::binary_search(agreed_.begin(), agreed_.end(), id); }
  /// What both ends named, sorted; empty until settled (and with a stock peer).
  const std::vector<std::uint32_t>& agreed_set() const { return agreed_; }
  /// Whether the peer has announced (server) or answered (client): it is a mosh2 end.
  bool settled() const { return answered_; }

  /// Forgets the peer (after a rekey a new client, perhaps a stock one, comes).
  void reset() {
    agreed_.clear();
    answered_ = false;
    peer_has_answer_ = false;
  }

private:
  std::vector<std::uint32_t> common(const std::vector<std::uint32_t>& theirs) const {
    std::vector<std::uint32_t> sorted = theirs, out;
    std::sort(sorted.begin(), sorted.end());
    std::set_intersection(supported_.begin(), supported_.end(), sorted.begin(), sorted.end(),
                          std::back_inserter(out));
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  datagram::role self_;
  std::vector<std::uint32_t> supported_;
  std::vector<std::uint32_t> agreed_;
  bool answered_ = false;         ///< server: an announcement arrived; client: the answer did
  bool peer_has_answer_ = false;  ///< server: the client stopped announcing
};

}  // namespace mosh2::session
