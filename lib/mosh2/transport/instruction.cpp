// Protobuf encoding of TransportBuffers.Instruction (protocol §6.1).

#include "mosh2/transport/instruction.hpp"

#include "mosh2/transport/protobuf.hpp"

namespace mosh2::transport {

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
      default:
        break;  // unknown field: skipped
    }
  }
  return out;
}

}  // namespace mosh2::transport
