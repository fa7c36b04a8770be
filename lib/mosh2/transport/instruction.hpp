#pragma once
// TransportBuffers.Instruction: the unit SSP sends, one per fragment set (protocol §6.1).

#include <cstdint>
#include <string>

#include "mosh2/util/bytes.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::transport {

inline constexpr std::uint32_t protocol_version = 2;
inline constexpr std::uint64_t shutdown_num = ~std::uint64_t{0};  ///< new_num of a shutdown request

/// One SSP instruction. Absent fields decode to their proto2 defaults.
struct instruction {
  std::uint32_t protocol_version = transport::protocol_version;
  std::uint64_t old_num = 0;
  std::uint64_t new_num = 0;
  std::uint64_t ack_num = 0;
  std::uint64_t throwaway_num = 0;
  bytes diff;   ///< serialized UserMessage or HostMessage; empty = no change
  bytes chaff;  ///< 0-16 random bytes, ignored
  bool operator==(const instruction&) const = default;
};

/// Why a protobuf byte string was rejected.
enum class decode_error { truncated, bad_varint, bad_wire_type, bad_field, too_large };

/// Serializes all seven fields in field order, as the stock sender does.
bytes encode(const instruction& in);
/// Parses an Instruction; unknown fields are skipped, malformed input is an error value.
result<instruction, decode_error> decode_instruction(bytes_view in);

}  // namespace mosh2::transport
