// TransportBuffers.Instruction encoding and decoding (protocol §6.1, §13.1).

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "mosh2/transport/instruction.hpp"
#include "mosh2/transport/protobuf.hpp"
#include "transport_test_util.hpp"

using namespace mosh2;
using namespace mosh2::transport;
using mosh2::transport::test::unhex;

namespace {

instruction vector_instruction() {
  instruction in;
  in.protocol_version = 2;
  in.old_num = 0;
  in.new_num = 1;
  in.ack_num = 0;
  in.throwaway_num = 0;
  in.diff = unhex("0a061a0428503018");
  return in;
}

decode_error error_of(bytes_view b) {
  auto r = decode_instruction(b);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

}  // namespace

TEST_SUITE("transport") {

TEST_CASE("the protocol 13.1 instruction encodes to the published bytes and back") {
  const bytes wire = unhex("0802 1000 1801 2000 2800 3208 0a061a0428503018 3a00");
  CHECK(to_hex(encode(vector_instruction())) == to_hex(wire));
  auto back = decode_instruction(wire);
  REQUIRE(back);
  CHECK(*back == vector_instruction());
}

TEST_CASE("the server's first ack of protocol 13.1 encodes with empty diff and chaff fields") {
  instruction in;
  in.new_num = 1;
  in.ack_num = 1;
  CHECK(to_hex(encode(in)) == "0802100018012001280032003a00");
  auto back = decode_instruction(encode(in));
  REQUIRE(back);
  CHECK(*back == in);
}

TEST_CASE("extreme values round trip and the shutdown number is a ten-byte varint") {
  instruction in;
  in.protocol_version = 0xffffffffu;
  in.old_num = shutdown_num - 1;
  in.new_num = shutdown_num;
  in.ack_num = shutdown_num;
  in.throwaway_num = std::uint64_t{1} << 63;
  in.diff = bytes(300, '\0');  // two-byte length
  in.chaff = bytes(16, '\xff');
  const bytes wire = encode(in);
  CHECK(wire.find(unhex("18ffffffffffffffffff01")) != bytes::npos);
  auto back = decode_instruction(wire);
  REQUIRE(back);
  CHECK(*back == in);
}

TEST_CASE("every combination of present and absent fields decodes with proto2 defaults") {
  const instruction full{7, 11, 12, 13, 14, "diff", "chaff", {}};
  for (unsigned mask = 0; mask < 128; ++mask) {
    bytes wire;
    instruction expect;
    expect.protocol_version = 0;  // absent uint32 = 0, not 2: the version check must fail
    if (mask & 1) { pb::put_uint_field(wire, 1, full.protocol_version); expect.protocol_version = 7; }
    if (mask & 2) { pb::put_uint_field(wire, 2, full.old_num); expect.old_num = 11; }
    if (mask & 4) { pb::put_uint_field(wire, 3, full.new_num); expect.new_num = 12; }
    if (mask & 8) { pb::put_uint_field(wire, 4, full.ack_num); expect.ack_num = 13; }
    if (mask & 16) { pb::put_uint_field(wire, 5, full.throwaway_num); expect.throwaway_num = 14; }
    if (mask & 32) { pb::put_bytes_field(wire, 6, full.diff); expect.diff = full.diff; }
    if (mask & 64) { pb::put_bytes_field(wire, 7, full.chaff); expect.chaff = full.chaff; }
    CAPTURE(mask);
    auto got = decode_instruction(wire);
    REQUIRE(got);
    CHECK(*got == expect);
  }
}

TEST_CASE("fields in any order decode and the last occurrence of a field wins") {
  const bytes wire = unhex("3a0178 1805 0802 3201aa 1806 08ff01 3200");
  auto got = decode_instruction(wire);
  REQUIRE(got);
  CHECK(got->new_num == 6);
  CHECK(got->protocol_version == 255);
  CHECK(got->diff.empty());
  CHECK(got->chaff == "x");
}

TEST_CASE("non-minimal varints are accepted and wide uint32 values are truncated") {
  auto a = decode_instruction(unhex("08 8280808000"));
  REQUIRE(a);
  CHECK(a->protocol_version == 2);
  bytes wide;
  pb::put_uint_field(wide, 1, (std::uint64_t{1} << 32) + 2);
  auto b = decode_instruction(wide);
  REQUIRE(b);
  CHECK(b->protocol_version == 2);
}

TEST_CASE("unknown fields of every wire type are skipped") {
  bytes wire;
  pb::put_uint_field(wire, 1, 2);
  pb::put_uint_field(wire, 8, 123456789);                            // varint
  wire += unhex("49 0102030405060708");                               // field 9, fixed64
  pb::put_bytes_field(wire, 10, "ignored");                           // length-delimited
  wire += unhex("5b 0801 63 6801 64 12026869 5c");                    // field 11 group, nested group 12
  wire += unhex("6d 01020304");                                       // field 13, fixed32
  pb::put_uint_field(wire, pb::max_field_number, 1);                  // largest field number
  pb::put_uint_field(wire, 3, 9);
  auto got = decode_instruction(wire);
  REQUIRE(got);
  CHECK(got->protocol_version == 2);
  CHECK(got->new_num == 9);
  CHECK(got->diff.empty());
}

TEST_CASE("the empty string decodes to an instruction with every field absent") {
  auto got = decode_instruction("");
  REQUIRE(got);
  CHECK(got->protocol_version == 0);
  CHECK(got->new_num == 0);
}

TEST_CASE("malformed instructions are rejected as values with a reason") {
  CHECK(error_of(unhex("08")) == decode_error::truncated);                  // value missing
  CHECK(error_of(unhex("0880")) == decode_error::truncated);                // varint cut
  CHECK(error_of(unhex("80")) == decode_error::truncated);                  // tag cut
  CHECK(error_of(unhex("3205 0102")) == decode_error::truncated);           // length beyond end
  CHECK(error_of(unhex("49 01020304")) == decode_error::truncated);         // fixed64 cut
  CHECK(error_of(unhex("4d 0102")) == decode_error::truncated);             // fixed32 cut
  CHECK(error_of(unhex("4b 0801")) == decode_error::truncated);             // group never ends
  CHECK(error_of(unhex("08 ffffffffffffffffff02")) == decode_error::bad_varint);  // > 64 bits
  CHECK(error_of(unhex("08 ffffffffffffffffff8001")) == decode_error::bad_varint);  // 11 bytes
  CHECK(error_of(unhex("3a ffffffffffffffffff7f")) == decode_error::bad_varint);
  CHECK(error_of(unhex("0e 00")) == decode_error::bad_wire_type);           // wire type 6
  CHECK(error_of(unhex("0f 00")) == decode_error::bad_wire_type);           // wire type 7
  CHECK(error_of(unhex("4c")) == decode_error::bad_wire_type);              // stray end-group
  CHECK(error_of(unhex("4b 54")) == decode_error::bad_wire_type);           // group 9 ended as 10
  CHECK(error_of(unhex("00 00")) == decode_error::bad_field);               // field number 0
  CHECK(error_of(unhex("8080808010 00")) == decode_error::bad_field);       // number 2^29
  CHECK(error_of(unhex("0a 0102")) == decode_error::bad_field);             // version as bytes
  CHECK(error_of(unhex("1d 01000000")) == decode_error::bad_field);         // new_num as fixed32
  CHECK(error_of(unhex("30 05")) == decode_error::bad_field);               // diff as varint
  CHECK(error_of(unhex("3b 3c")) == decode_error::bad_field);               // chaff as group
}

TEST_CASE("groups nested beyond the depth bound are refused, not recursed into") {
  bytes deep;
  for (int i = 0; i < pb::max_group_depth + 1; ++i) deep += unhex("4b");
  for (int i = 0; i < pb::max_group_depth + 1; ++i) deep += unhex("4c");
  CHECK(error_of(deep) == decode_error::too_large);
  bytes ok;
  for (int i = 0; i < pb::max_group_depth; ++i) ok += unhex("4b");
  for (int i = 0; i < pb::max_group_depth; ++i) ok += unhex("4c");
  CHECK(decode_instruction(ok).has_value());
}

TEST_CASE("every prefix of a valid instruction decodes or is reported truncated") {
  const bytes wire = encode(vector_instruction());
  int decoded = 0;
  for (std::size_t n = 0; n < wire.size(); ++n) {
    auto got = decode_instruction(bytes_view(wire).substr(0, n));
    if (got) ++decoded;
    else CHECK(got.error() == decode_error::truncated);
  }
  CHECK(decoded == 7);  // empty, after each of the five varints, and after the diff
}

TEST_CASE("negative int32 values are written as ten-byte sign-extended varints") {
  bytes out;
  pb::put_int32_field(out, 5, -1);
  CHECK(to_hex(out) == "28ffffffffffffffffff01");
  out.clear();
  pb::put_int32_field(out, 5, 80);
  CHECK(to_hex(out) == "2850");
}

}  // TEST_SUITE

TEST_SUITE("transport") {

TEST_CASE("an instruction without extensions encodes exactly the seven stock fields") {
  // The published vector stays byte for byte: extensions add nothing when unset.
  const bytes wire = encode(vector_instruction());
  CHECK(wire == unhex("0802 1000 1801 2000 2800 3208 0a061a0428503018 3a00"));
}

TEST_CASE("extension fields round-trip after the stock fields, which a stock decoder would skip") {
  instruction in = vector_instruction();
  in.ext.offer = std::vector<std::uint32_t>{1, 2, 300};
  in.ext.accept = std::vector<std::uint32_t>{};
  stream_frame f;
  f.stream = 2;
  f.old_num = 4;
  f.new_num = 5;
  f.ack_num = 3;
  f.throwaway_num = 4;
  f.diff = "abc";
  in.ext.streams = {f, f};
  in.ext.no_state = true;
  in.ext.displaced = true;
  const bytes wire = encode(in);
  // The first bytes are the stock encoding, unchanged.
  const bytes stock = encode(vector_instruction());
  CHECK(wire.substr(0, stock.size()) == stock);
  auto back = decode_instruction(wire);
  REQUIRE(back.has_value());
  CHECK(*back == in);
  // Every field past the stock ones has a number a Mosh 1.4 Instruction does not define.
  pb::reader r(bytes_view(wire).substr(stock.size()));
  while (!r.at_end()) {
    auto field = r.next();
    REQUIRE(field.has_value());
    CHECK(field->number >= offer_field);
    CHECK(field->number <= displaced_field);
  }
  // A displaced notice of the wrong wire type is a malformed instruction.
  bytes bad = encode(vector_instruction());
  pb::put_bytes_field(bad, displaced_field, "x");
  CHECK_FALSE(decode_instruction(bad).has_value());
}

TEST_CASE("oversized announcements and too many stream frames are refused as values") {
  instruction in = vector_instruction();
  in.ext.offer = std::vector<std::uint32_t>(max_offered_extensions + 1, 7);
  CHECK(error_of(encode(in)) == decode_error::too_large);
  in.ext.offer.reset();
  in.ext.streams.assign(max_stream_frames + 1, stream_frame{});
  CHECK(error_of(encode(in)) == decode_error::too_large);
  in.ext.streams.resize(max_stream_frames);
  CHECK(decode_instruction(encode(in)).has_value());
}

TEST_CASE("a malformed stream frame or announcement fails the whole instruction") {
  bytes wire = encode(vector_instruction());
  bytes bad = wire;
  pb::put_bytes_field(bad, stream_field, unhex("08"));  // varint cut short
  CHECK(error_of(bad) == decode_error::truncated);
  bad = wire;
  pb::put_uint_field(bad, offer_field, 1);  // a varint where a packed list belongs
  CHECK(error_of(bad) == decode_error::bad_field);
  bad = wire;
  pb::put_bytes_field(bad, offer_field, unhex("ff"));
  CHECK(error_of(bad) == decode_error::truncated);
}
}
