// Protobuf encoding of ClientBuffers.UserMessage and HostBuffers.HostMessage (protocol
// §6.2, §6.3). Each inner Instruction carries its extension as a length-delimited field.

#include "mosh2/transport/messages.hpp"

#include <optional>

#include "mosh2/transport/protobuf.hpp"

namespace mosh2::transport {
namespace {

// Field numbers: the message-level repeated field, the extensions of the inner
// Instruction, and the fields inside each extension message.
constexpr std::uint32_t instruction_field = 1;
constexpr std::uint32_t keystroke_ext = 2;
constexpr std::uint32_t hostbytes_ext = 2;
constexpr std::uint32_t resize_ext = 3;
constexpr std::uint32_t echoack_ext = 7;
constexpr std::uint32_t keys_field = 4;
constexpr std::uint32_t hoststring_field = 4;
constexpr std::uint32_t width_field = 5;
constexpr std::uint32_t height_field = 6;
constexpr std::uint32_t echo_ack_num_field = 8;

bytes encode_extension(const keystroke& k) {
  bytes body;
  pb::put_bytes_field(body, keys_field, k.keys);
  bytes out;
  pb::put_bytes_field(out, keystroke_ext, body);
  return out;
}

bytes encode_extension(const resize& r) {
  bytes body;
  pb::put_int32_field(body, width_field, r.width);
  pb::put_int32_field(body, height_field, r.height);
  bytes out;
  pb::put_bytes_field(out, resize_ext, body);
  return out;
}

bytes encode_extension(const host_bytes& h) {
  bytes body;
  pb::put_bytes_field(body, hoststring_field, h.hoststring);
  bytes out;
  pb::put_bytes_field(out, hostbytes_ext, body);
  return out;
}

bytes encode_extension(const echo_ack& e) {
  bytes body;
  pb::put_uint_field(body, echo_ack_num_field, e.echo_ack_num);
  bytes out;
  pb::put_bytes_field(out, echoack_ext, body);
  return out;
}

template <class Variant> bytes encode_all(const std::vector<Variant>& instructions) {
  bytes out;
  for (const auto& v : instructions) {
    const bytes inner = std::visit([](const auto& ext) { return encode_extension(ext); }, v);
    pb::put_bytes_field(out, instruction_field, inner);
  }
  return out;
}

// The merge functions below parse an extension message into an existing value: a
// repeated embedded message merges field by field (protobuf semantics), so only the
// fields present overwrite.

result<bool, decode_error> merge(bytes_view in, keystroke& k) {
  pb::reader r(in);
  while (!r.at_end()) {
    auto f = r.next();
    if (!f) return failure{f.error()};
    if (f->number != keys_field) continue;
    if (f->type != pb::wire_type::length_delimited) return failure{decode_error::bad_field};
    k.keys.assign(f->data);
  }
  return true;
}

result<bool, decode_error> merge(bytes_view in, host_bytes& h) {
  pb::reader r(in);
  while (!r.at_end()) {
    auto f = r.next();
    if (!f) return failure{f.error()};
    if (f->number != hoststring_field) continue;
    if (f->type != pb::wire_type::length_delimited) return failure{decode_error::bad_field};
    h.hoststring.assign(f->data);
  }
  return true;
}

result<bool, decode_error> merge(bytes_view in, resize& z) {
  pb::reader r(in);
  while (!r.at_end()) {
    auto f = r.next();
    if (!f) return failure{f.error()};
    if (f->number != width_field && f->number != height_field) continue;
    if (f->type != pb::wire_type::varint) return failure{decode_error::bad_field};
    // int32 from a 64-bit varint keeps the low 32 bits, as protobuf specifies; C++20
    // defines the conversion as modular.
    const auto v = static_cast<std::int32_t>(static_cast<std::uint32_t>(f->value));
    (f->number == width_field ? z.width : z.height) = v;
  }
  return true;
}

result<bool, decode_error> merge(bytes_view in, echo_ack& e) {
  pb::reader r(in);
  while (!r.at_end()) {
    auto f = r.next();
    if (!f) return failure{f.error()};
    if (f->number != echo_ack_num_field) continue;
    if (f->type != pb::wire_type::varint) return failure{decode_error::bad_field};
    e.echo_ack_num = f->value;
  }
  return true;
}

// Merges a length-delimited extension field `f` into `slot`, creating it on first sight.
template <class T>
result<bool, decode_error> merge_extension(const pb::field& f, std::optional<T>& slot) {
  if (f.type != pb::wire_type::length_delimited) return failure{decode_error::bad_field};
  if (!slot) slot.emplace();
  return merge(f.data, *slot);
}

// One inner Instruction. Stock senders put exactly one extension in each; if several
// known ones are present, each becomes its own entry, in field-number order, so nothing
// the peer sent is silently lost. An instruction with no known extension adds nothing.
result<bool, decode_error> decode_inner(bytes_view in, std::vector<user_instruction>& out) {
  std::optional<keystroke> k;
  std::optional<resize> z;
  pb::reader r(in);
  while (!r.at_end()) {
    auto f = r.next();
    if (!f) return failure{f.error()};
    result<bool, decode_error> ok = true;
    if (f->number == keystroke_ext) ok = merge_extension(*f, k);
    else if (f->number == resize_ext) ok = merge_extension(*f, z);
    if (!ok) return failure{ok.error()};
  }
  if (k) out.emplace_back(std::move(*k));
  if (z) out.emplace_back(*z);
  return true;
}

result<bool, decode_error> decode_inner(bytes_view in, std::vector<host_instruction>& out) {
  std::optional<host_bytes> h;
  std::optional<resize> z;
  std::optional<echo_ack> e;
  pb::reader r(in);
  while (!r.at_end()) {
    auto f = r.next();
    if (!f) return failure{f.error()};
    result<bool, decode_error> ok = true;
    if (f->number == hostbytes_ext) ok = merge_extension(*f, h);
    else if (f->number == resize_ext) ok = merge_extension(*f, z);
    else if (f->number == echoack_ext) ok = merge_extension(*f, e);
    if (!ok) return failure{ok.error()};
  }
  if (h) out.emplace_back(std::move(*h));
  if (z) out.emplace_back(*z);
  if (e) out.emplace_back(*e);
  return true;
}

template <class Message> result<Message, decode_error> decode_message(bytes_view in) {
  Message m;
  pb::reader r(in);
  while (!r.at_end()) {
    auto f = r.next();
    if (!f) return failure{f.error()};
    if (f->number != instruction_field) continue;
    if (f->type != pb::wire_type::length_delimited) return failure{decode_error::bad_field};
    auto ok = decode_inner(f->data, m.instructions);
    if (!ok) return failure{ok.error()};
  }
  return m;
}

}  // namespace

bytes encode(const user_message& m) { return encode_all(m.instructions); }
bytes encode(const host_message& m) { return encode_all(m.instructions); }

result<user_message, decode_error> decode_user_message(bytes_view in) {
  return decode_message<user_message>(in);
}
result<host_message, decode_error> decode_host_message(bytes_view in) {
  return decode_message<host_message>(in);
}

}  // namespace mosh2::transport
