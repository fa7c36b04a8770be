#pragma once
// TransportBuffers.Instruction: the unit SSP sends, one per fragment set (protocol §6.1).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mosh2/util/bytes.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::transport {

inline constexpr std::uint32_t protocol_version = 2;
inline constexpr std::uint64_t shutdown_num = ~std::uint64_t{0};  ///< new_num of a shutdown request

/// One frame of a further synchronized stream (docs/protocol.md, "Extensions"): the
/// SSP numbers and diff of that stream's own sender, carried inside an Instruction.
struct stream_frame {
  std::uint32_t stream = 0;  ///< the extension id of the stream
  std::uint64_t old_num = 0;
  std::uint64_t new_num = 0;
  std::uint64_t ack_num = 0;
  std::uint64_t throwaway_num = 0;
  bytes diff;
  bool operator==(const stream_frame&) const = default;
};

/// mosh2's extension fields of an Instruction (docs/protocol.md, "Extensions"). A Mosh
/// 1.4 peer skips them as unknown fields; a mosh2 server never sends any of them to a
/// peer that did not announce itself, so toward stock Mosh they are all absent.
struct instruction_extensions {
  std::optional<std::vector<std::uint32_t>> offer;   ///< field 20: the client's announcement
  std::optional<std::vector<std::uint32_t>> accept;  ///< field 21: the server's answer
  std::vector<stream_frame> streams;                 ///< field 22, repeated
  /// Field 23: fields 1-7 carry no state of the main object (an instruction sent only
  /// for its streams); a mosh2 receiver gives it to no SSP receiver but the streams'.
  bool no_state = false;
  /// Field 24: the session was handed to another client (sealed under the key this
  /// client still holds); only to a client that agreed to `attached_elsewhere`.
  bool displaced = false;
  /// Field 25: the client's datagrams take a reliable byte stream (docs/protocol.md,
  /// "Paths"); only from a client whose server agreed to `reliable_path`.
  bool reliable_path = false;
  bool empty() const { return !offer && !accept && streams.empty() && !no_state && !displaced && !reliable_path; }
  bool operator==(const instruction_extensions&) const = default;
};

inline constexpr std::uint32_t offer_field = 20;
inline constexpr std::uint32_t accept_field = 21;
inline constexpr std::uint32_t stream_field = 22;
inline constexpr std::uint32_t no_state_field = 23;
inline constexpr std::uint32_t displaced_field = 24;
inline constexpr std::uint32_t reliable_path_field = 25;
/// Decoding limits: an announcement names at most this many extensions, and an
/// instruction carries at most this many stream frames; more is a malformed instruction.
inline constexpr std::size_t max_offered_extensions = 64;
inline constexpr std::size_t max_stream_frames = 32;

/// One SSP instruction. Absent fields decode to their proto2 defaults.
struct instruction {
  std::uint32_t protocol_version = transport::protocol_version;
  std::uint64_t old_num = 0;
  std::uint64_t new_num = 0;
  std::uint64_t ack_num = 0;
  std::uint64_t throwaway_num = 0;
  bytes diff;   ///< serialized UserMessage or HostMessage; empty = no change
  bytes chaff;  ///< 0-16 random bytes, ignored
  instruction_extensions ext;  ///< fields 20-25, only between mosh2 peers
  bool operator==(const instruction&) const = default;
};

/// Why a protobuf byte string was rejected.
enum class decode_error { truncated, bad_varint, bad_wire_type, bad_field, too_large };

/// Serializes all seven fields in field order, as the stock sender does, then any
/// extension field that is set (none, toward a stock peer).
bytes encode(const instruction& in);
/// Parses an Instruction; unknown fields are skipped, malformed input is an error value.
result<instruction, decode_error> decode_instruction(bytes_view in);

}  // namespace mosh2::transport
