#pragma once
// A minimal protobuf wire-format writer and reader (varints, length-delimited fields,
// skipping of unknown fields of every wire type).
//
// Why hand-written instead of libprotobuf: the protocol has four tiny proto2 messages,
// so generated code and a protoc build step would cost more than they save; it keeps
// the dependency list at zlib; and every byte of a malformed message from the network
// ends in a decode_error value we chose, never in an exception, an abort or an
// allocation sized by the peer. The rules follow the public encoding guide
// (protobuf.dev/programming-guides/encoding).

#include <cstddef>
#include <cstdint>

#include "mosh2/transport/instruction.hpp"
#include "mosh2/util/bytes.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::transport::pb {

/// The low three bits of a tag. 6 and 7 are invalid; 3 and 4 are the deprecated groups.
enum class wire_type : std::uint8_t {
  varint = 0,
  fixed64 = 1,
  length_delimited = 2,
  start_group = 3,
  end_group = 4,
  fixed32 = 5,
};

/// Largest field number the format allows (2^29 - 1).
inline constexpr std::uint32_t max_field_number = (1u << 29) - 1;
/// A varint never needs more than ten bytes for 64 bits.
inline constexpr std::size_t max_varint_size = 10;
/// Groups nested deeper than this are refused; the stack stays small on hostile input.
inline constexpr int max_group_depth = 64;

/// Appends `v` as a base-128 varint, least significant group first.
inline void put_varint(bytes& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

/// Appends the tag of field `number` with wire type `t`.
inline void put_tag(bytes& out, std::uint32_t number, wire_type t) {
  put_varint(out, (static_cast<std::uint64_t>(number) << 3) | static_cast<std::uint8_t>(t));
}

/// Appends a uint32/uint64 field.
inline void put_uint_field(bytes& out, std::uint32_t number, std::uint64_t v) {
  put_tag(out, number, wire_type::varint);
  put_varint(out, v);
}

/// Appends an int32 field: negative values are sign-extended to 64 bits (ten bytes),
/// as the format requires for int32 (unlike sint32, which would zig-zag).
inline void put_int32_field(bytes& out, std::uint32_t number, std::int32_t v) {
  put_uint_field(out, number, static_cast<std::uint64_t>(static_cast<std::int64_t>(v)));
}

/// Appends a bytes/string/embedded-message field.
inline void put_bytes_field(bytes& out, std::uint32_t number, bytes_view v) {
  put_tag(out, number, wire_type::length_delimited);
  put_varint(out, v.size());
  out.append(v);
}

/// One field as read from the wire. `value` holds varint/fixed32/fixed64 payloads;
/// `data` holds length-delimited payloads and the body of a group.
struct field {
  std::uint32_t number = 0;
  wire_type type = wire_type::varint;
  std::uint64_t value = 0;
  bytes_view data;
};

/// Reads a message field by field. Errors: `truncated` (input ends inside a field),
/// `bad_varint` (more than ten bytes, or bits beyond 64), `bad_wire_type` (6, 7, or an
/// unmatched end-group), `bad_field` (field number 0 or above 2^29 - 1), `too_large`
/// (groups nested deeper than max_group_depth). After an error the reader is spent.
class reader {
public:
  /// Borrows `in`; the views in returned fields point into it.
  explicit reader(bytes_view in) : in_(in) {}

  /// True once every byte has been consumed.
  [[nodiscard]] bool at_end() const noexcept { return pos_ >= in_.size(); }

  /// Reads the next field; call only while !at_end().
  result<field, decode_error> next() { return next_at_depth(0); }
  /// Reads one bare varint: an element of a packed repeated field.
  result<std::uint64_t, decode_error> next_varint() { return varint(); }

private:
  result<std::uint64_t, decode_error> varint() {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < max_varint_size; ++i) {
      if (pos_ >= in_.size()) return failure{decode_error::truncated};
      const auto b = static_cast<std::uint8_t>(in_[pos_++]);
      // The tenth byte carries bit 63 only: anything more would overflow 64 bits.
      if (i == max_varint_size - 1 && b > 1) return failure{decode_error::bad_varint};
      v |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) return v;
    }
    return failure{decode_error::bad_varint};
  }

  result<bytes_view, decode_error> take(std::uint64_t n) {
    if (n > in_.size() - pos_) return failure{decode_error::truncated};
    const bytes_view out = in_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return out;
  }

  result<field, decode_error> next_at_depth(int depth) {
    auto tag = varint();
    if (!tag) return failure{tag.error()};
    const std::uint64_t number = *tag >> 3;
    if (number == 0 || number > max_field_number) return failure{decode_error::bad_field};
    field f;
    f.number = static_cast<std::uint32_t>(number);
    switch (*tag & 7) {
      case 0: {
        f.type = wire_type::varint;
        auto v = varint();
        if (!v) return failure{v.error()};
        f.value = *v;
        return f;
      }
      case 1:
      case 5: {
        const bool wide = (*tag & 7) == 1;
        f.type = wide ? wire_type::fixed64 : wire_type::fixed32;
        auto raw = take(wide ? 8 : 4);
        if (!raw) return failure{raw.error()};
        for (std::size_t i = raw->size(); i-- > 0;)  // little-endian
          f.value = (f.value << 8) | static_cast<std::uint8_t>((*raw)[i]);
        return f;
      }
      case 2: {
        f.type = wire_type::length_delimited;
        auto len = varint();
        if (!len) return failure{len.error()};
        auto data = take(*len);
        if (!data) return failure{data.error()};
        f.data = *data;
        return f;
      }
      case 3: {
        // A group ends at the end-group tag with the same number; its body may hold
        // further groups, hence the depth bound.
        if (depth >= max_group_depth) return failure{decode_error::too_large};
        f.type = wire_type::start_group;
        const std::size_t body_start = pos_;
        // Each iteration consumes at least one byte, so in_.size() bounds the loop.
        for (std::size_t guard = 0; guard <= in_.size(); ++guard) {
          const std::size_t field_start = pos_;
          if (at_end()) return failure{decode_error::truncated};
          auto end_tag = peek_end_group();
          if (!end_tag) return failure{end_tag.error()};
          if (*end_tag != 0) {
            if (*end_tag != f.number) return failure{decode_error::bad_wire_type};
            f.data = in_.substr(body_start, field_start - body_start);
            return f;
          }
          pos_ = field_start;
          auto inner = next_at_depth(depth + 1);
          if (!inner) return failure{inner.error()};
        }
        return failure{decode_error::truncated};
      }
      case 4:
        return failure{decode_error::bad_wire_type};  // end-group outside any group
      default:
        return failure{decode_error::bad_wire_type};
    }
  }

  // If the next tag is an end-group, consumes it and returns its field number;
  // otherwise returns 0 (field numbers are never 0) and leaves pos_ past the tag.
  result<std::uint32_t, decode_error> peek_end_group() {
    auto tag = varint();
    if (!tag) return failure{tag.error()};
    const std::uint64_t number = *tag >> 3;
    if (number == 0 || number > max_field_number) return failure{decode_error::bad_field};
    if ((*tag & 7) == 4) return static_cast<std::uint32_t>(number);
    return std::uint32_t{0};
  }

  bytes_view in_;
  std::size_t pos_ = 0;
};

}  // namespace mosh2::transport::pb
