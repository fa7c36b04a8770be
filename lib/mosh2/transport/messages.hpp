#pragma once
// The two diff payloads (protocol §6.2, §6.3): ClientBuffers.UserMessage, carried
// client->server, and HostBuffers.HostMessage, carried server->client.

#include <cstdint>
#include <variant>
#include <vector>

#include "mosh2/transport/instruction.hpp"

namespace mosh2::transport {

struct keystroke {  ///< extension 2 of ClientBuffers.Instruction
  bytes keys;
  bool operator==(const keystroke&) const = default;
};
struct resize {  ///< extension 3 of either Instruction; width = columns, height = rows
  std::int32_t width = 0;
  std::int32_t height = 0;
  bool operator==(const resize&) const = default;
};
struct host_bytes {  ///< extension 2 of HostBuffers.Instruction
  bytes hoststring;
  bool operator==(const host_bytes&) const = default;
};
struct echo_ack {  ///< extension 7 of HostBuffers.Instruction
  std::uint64_t echo_ack_num = 0;
  bool operator==(const echo_ack&) const = default;
};

using user_instruction = std::variant<keystroke, resize>;
using host_instruction = std::variant<host_bytes, resize, echo_ack>;

/// ClientBuffers.UserMessage: `repeated Instruction instruction = 1`.
struct user_message {
  std::vector<user_instruction> instructions;
  bool operator==(const user_message&) const = default;
};
/// HostBuffers.HostMessage: `repeated Instruction instruction = 1`.
struct host_message {
  std::vector<host_instruction> instructions;
  bool operator==(const host_message&) const = default;
};

/// An empty message encodes to the empty string (which SSP reads as "no diff").
bytes encode(const user_message& m);
bytes encode(const host_message& m);
/// Instructions with no known extension (forward compatibility) are skipped.
result<user_message, decode_error> decode_user_message(bytes_view in);
result<host_message, decode_error> decode_host_message(bytes_view in);

}  // namespace mosh2::transport
