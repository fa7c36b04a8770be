#pragma once
// Fragmentation of compressed instructions into datagram payloads and their reassembly
// (protocol §5): 8-byte big-endian id, 2-byte big-endian final flag | number, chunk.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "mosh2/transport/compressor.hpp"
#include "mosh2/transport/instruction.hpp"
#include "mosh2/util/bytes.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::transport {

/// id (8) + final flag and fragment number (2).
inline constexpr std::size_t fragment_header_size = 10;
/// Fragment numbers have 15 bits, so one instruction has at most 0x8000 fragments.
inline constexpr std::size_t max_fragments = 0x8000;
/// Datagram bytes that are not fragment payload: nonce 8 + tag 16 + timestamps 4 +
/// fragment header 10 (protocol Appendix A). payload budget = MTU - datagram_overhead.
inline constexpr std::size_t datagram_overhead = 38;
/// The largest compressed instruction worth reassembling: compress() of the largest
/// instruction the receiver may decompress. A stock sender never produces more for an
/// instruction we would accept, so anything bigger is dropped before it is held.
inline constexpr std::size_t max_assembly_size = zlib_compress_bound(max_decompressed_size);

/// One fragment as read from a datagram payload; `chunk` borrows from the payload.
struct fragment {
  std::uint64_t id = 0;
  std::uint16_t number = 0;  ///< 0 .. 0x7FFF
  bool final = false;
  bytes_view chunk;
};

/// Why a fragment or a reassembled instruction was dropped.
enum class drop_reason {
  short_fragment,  ///< fewer than 10 bytes
  inconsistent,    ///< final flag contradicts another fragment of the same id
  too_large,       ///< the assembly would exceed max_assembly_size bytes
  bad_zlib,        ///< the concatenation is not a zlib stream within the 4 MiB limit
  bad_protobuf,    ///< the decompressed bytes are not an Instruction
};

/// Splits a datagram payload into header and chunk; only a short payload is refused.
result<fragment, drop_reason> parse_fragment(bytes_view payload);
/// Serializes one fragment: header then chunk.
bytes encode_fragment(std::uint64_t id, std::uint16_t number, bool final, bytes_view chunk);

/// The sending side: numbers, compresses and splits instructions. One per direction.
class fragmenter {
public:
  /// Encodes and compresses `in` and splits it into payloads of at most
  /// `payload_budget` + 10 bytes (pass MTU - datagram_overhead, e.g. 1214 on IPv4).
  /// The id is incremented before use whenever `in` differs from the previous
  /// instruction in anything but its diff, or the budget changed; the first id is 1.
  /// Throws std::invalid_argument if the budget is 0 and std::length_error if more than
  /// 0x8000 fragments would be needed (both sender bugs; nothing is changed then).
  std::vector<bytes> make_fragments(const instruction& in, std::size_t payload_budget);

  /// The id of the last instruction fragmented (0 before the first).
  [[nodiscard]] std::uint64_t last_id() const noexcept { return id_; }

private:
  std::uint64_t id_ = 0;
  std::optional<instruction> last_;  // diff cleared: it never takes part in the comparison
  std::size_t last_budget_ = 0;
};

/// Counters for what the assembler saw; a receiver may log or expose them.
struct assembler_stats {
  std::uint64_t instructions = 0;  ///< instructions delivered
  std::uint64_t duplicates = 0;    ///< fragments already held for the current id
  std::uint64_t late = 0;          ///< fragments of an id already delivered or dropped
  std::uint64_t stale = 0;         ///< fragments of an id older than the current one
  std::uint64_t abandoned = 0;     ///< partial assemblies discarded by a new id
  std::uint64_t short_fragment = 0;
  std::uint64_t inconsistent = 0;
  std::uint64_t too_large = 0;
  std::uint64_t bad_zlib = 0;
  std::uint64_t bad_protobuf = 0;
  /// Fragments or assemblies refused for a drop_reason.
  [[nodiscard]] std::uint64_t drops() const noexcept {
    return short_fragment + inconsistent + too_large + bad_zlib + bad_protobuf;
  }
};

/// The receiving side: a single reassembly buffer (protocol §5.2). A fragment with a
/// newer id discards the partial assembly; a fragment with an older id is ignored and
/// counted as stale. A sender's ids only grow, so an older id is a late duplicate or an
/// authentic datagram replayed by someone on the path, and it must not be able to reset
/// a half-assembled newer instruction (the stock receiver, which starts over on any
/// other id, can be kept from ever completing a large screen that way). Within an id, fragments may come in any order and duplicates are ignored. Once an id
/// has been delivered or dropped, its remaining fragments are ignored, so a duplicated
/// datagram never delivers an instruction twice.
///
/// Memory is bounded whatever the peer sends: at most max_fragments entries (the header
/// has 15 bits of fragment number) holding at most max_assembly_size chunk bytes.
class fragment_assembler {
public:
  /// Feeds one datagram payload. Returns the instruction when this fragment completes
  /// one, nullopt while incomplete or ignored, or the reason it (or its assembly) was
  /// dropped; a drop abandons the current id.
  result<std::optional<instruction>, drop_reason> add(bytes_view payload);

  /// Counters since construction.
  [[nodiscard]] const assembler_stats& stats() const noexcept { return stats_; }

private:
  result<std::optional<instruction>, drop_reason> drop(drop_reason why);
  result<std::optional<instruction>, drop_reason> complete();

  std::optional<std::uint64_t> id_;
  bool finished_ = false;            // current id delivered or dropped
  std::map<std::uint16_t, bytes> parts_;  // by fragment number
  std::size_t held_bytes_ = 0;
  std::optional<std::size_t> count_;  // known once the final fragment arrived
  assembler_stats stats_;
};

}  // namespace mosh2::transport
