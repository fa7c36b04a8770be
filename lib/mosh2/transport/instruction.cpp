// Protobuf encoding of TransportBuffers.Instruction (protocol §6.1).

#include "mosh2/transport/instruction.hpp"

#include "mosh2/transport/protobuf.hpp"

namespace mosh2::transport {
namespace {

bytes packed(const std::vector<std::uint32_t>& ids) {
  bytes out;
  for (auto id : ids) pb::put_varint(out, id);
  return out;
}

result<std::vector<std::uint32_t>, decode_error> unpack(bytes_view in) {
  std::vector<std::uint32_t> ids;
  pb::reader r(in);
  while (!r.at_end()) {
    auto v = r.next_varint();
    if (!v) return failure{v.error()};
    if (ids.size() == max_offered_extensions) return failure{decode_error::too_large};
    ids.push_back(static_cast<std::uint32_t>(*v));
  }
  return ids;
}

bytes encode_frame(const stream_frame& f) {
  bytes out;
  out.reserve(24 + f.diff.size());
  pb::put_uint_field(out, 1, f.stream);
  pb::put_uint_field(out, 2, f.old_num);
  pb::put_uint_field(out, 3, f.new_num);
  pb::put_uint_field(out, 4, f.ack_num);
  pb::put_uint_field(out, 5, f.throwaway_num);
  pb::put_bytes_field(out, 6, f.diff);
  return out;
}

result<stream_frame, decode_error> decode_frame(bytes_view in) {
  stream_frame f;
  pb::reader r(in);
  while (!r.at_end()) {
    auto field = r.next();
    if (!field) return failure{field.error()};
    const bool is_varint = field->type == pb::wire_type::varint;
    if (field->number >= 1 && field->number <= 5 && !is_varint) return failure{decode_error::bad_field};
    switch (field->number) {
      case 1: f.stream = static_cast<std::uint32_t>(field->value); break;
      case 2: f.old_num = field->value; break;
      case 3: f.new_num = field->value; break;
      case 4: f.ack_num = field->value; break;
      case 5: f.throwaway_num = field->value; break;
      case 6:
        if (field->type != pb::wire_type::length_delimited) return failure{decode_error::bad_field};
        f.diff.assign(field->data);
        break;
      default: break;
    }
  }
  return f;
}

void encode_extensions(bytes& out, const instruction_extensions& ext) {
  if (ext.offer) pb::put_bytes_field(out, offer_field, packed(*ext.offer));
  if (ext.accept) pb::put_bytes_field(out, accept_field, packed(*ext.accept));
  for (const auto& f : ext.streams) pb::put_bytes_field(out, stream_field, encode_frame(f));
  if (ext.no_state) pb::put_uint_field(out, no_state_field, 1);
  if (ext.displaced) pb::put_uint_field(out, displaced_field, 1);
  if (ext.reliable_path) pb::put_uint_field(out, reliable_path_field, 1);
}

}  // namespace

bytes encode(const instruction& in) {
  bytes out;
  out.reserve(40 + in.diff.size() + in.chaff.size());
  pb::put_uint_field(out, 1, in.protocol_version);
  pb::put_uint_field(out, 2, in.old_num);
  pb::put_uint_field(out, 3, in.new_num);
  pb::put_uint_field(out, 4, in.ack_num);
  pb::put_uint_field(out, 5, in.throwaway_num);
  // Empty diff and chaff are still sent as zero-length fields, as the stock sender does,
  // so that our bytes (and hence the compressed bytes) match its bytes.
  pb::put_bytes_field(out, 6, in.diff);
  pb::put_bytes_field(out, 7, in.chaff);
  encode_extensions(out, in.ext);
  return out;
}

result<instruction, decode_error> decode_instruction(bytes_view in) {
  instruction out;
  out.protocol_version = 0;  // proto2 default when absent: the receiver must see a mismatch
  pb::reader r(in);
  while (!r.at_end()) {
    auto f = r.next();
    if (!f) return failure{f.error()};
    const bool is_varint = f->type == pb::wire_type::varint;
    const bool is_bytes = f->type == pb::wire_type::length_delimited;
    switch (f->number) {
      case 1:
        if (!is_varint) return failure{decode_error::bad_field};
        // A uint32 field holding a wider varint is truncated, as protobuf specifies.
        out.protocol_version = static_cast<std::uint32_t>(f->value);
        break;
      case 2:
        if (!is_varint) return failure{decode_error::bad_field};
        out.old_num = f->value;
        break;
      case 3:
        if (!is_varint) return failure{decode_error::bad_field};
        out.new_num = f->value;
        break;
      case 4:
        if (!is_varint) return failure{decode_error::bad_field};
        out.ack_num = f->value;
        break;
      case 5:
        if (!is_varint) return failure{decode_error::bad_field};
        out.throwaway_num = f->value;
        break;
      case 6:
        if (!is_bytes) return failure{decode_error::bad_field};
        out.diff.assign(f->data);
        break;
      case 7:
        if (!is_bytes) return failure{decode_error::bad_field};
        out.chaff.assign(f->data);
        break;
      case offer_field:
      case accept_field: {
        if (!is_bytes) return failure{decode_error::bad_field};
        auto ids = unpack(f->data);
        if (!ids) return failure{ids.error()};
        (f->number == offer_field ? out.ext.offer : out.ext.accept) = std::move(*ids);
        break;
      }
      case stream_field: {
        if (!is_bytes) return failure{decode_error::bad_field};
        if (out.ext.streams.size() == max_stream_frames) return failure{decode_error::too_large};
        auto frame = decode_frame(f->data);
        if (!frame) return failure{frame.error()};
        out.ext.streams.push_back(std::move(*frame));
        break;
      }
      case no_state_field:
        if (!is_varint) return failure{decode_error::bad_field};
        out.ext.no_state = f->value != 0;
        break;
      case displaced_field:
        if (!is_varint) return failure{decode_error::bad_field};
        out.ext.displaced = f->value != 0;
        break;
      case reliable_path_field:
        if (!is_varint) return failure{decode_error::bad_field};
        out.ext.reliable_path = f->value != 0;
        break;
      default:
        break;  // unknown field: skipped
    }
  }
  return out;
}

}  // namespace mosh2::transport
