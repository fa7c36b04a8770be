// UserMessage and HostMessage encoding and decoding (protocol §6.2, §6.3).

#include <doctest/doctest.h>

#include <climits>
#include <cstdint>

#include "mosh2/transport/messages.hpp"
#include "mosh2/transport/protobuf.hpp"
#include "transport_test_util.hpp"

using namespace mosh2;
using namespace mosh2::transport;
using mosh2::transport::test::unhex;

namespace {

// Wraps extension bytes as one `instruction = 1` entry of a message.
bytes entry(bytes_view inner) {
  bytes out;
  pb::put_bytes_field(out, 1, inner);
  return out;
}

}  // namespace

TEST_SUITE("transport") {

TEST_CASE("the protocol 6.2 user messages match the published bytes both ways") {
  const user_message resize_msg{{resize{80, 24}}};
  const user_message keys_msg{{keystroke{"ls\r"}}};
  CHECK(to_hex(encode(resize_msg)) == "0a061a0428503018");
  CHECK(to_hex(encode(keys_msg)) == "0a0712052203" "6c730d");
  auto a = decode_user_message(unhex("0a061a0428503018"));
  REQUIRE(a);
  CHECK(*a == resize_msg);
  auto b = decode_user_message(unhex("0a07120522036c730d"));
  REQUIRE(b);
  CHECK(*b == keys_msg);
}

TEST_CASE("the protocol 6.3 host message matches the published bytes both ways") {
  const host_message msg{{echo_ack{3}, host_bytes{"hi"}}};
  const bytes wire = unhex("0a043a024003 0a0612042202 6869");
  CHECK(to_hex(encode(msg)) == to_hex(wire));
  auto back = decode_host_message(wire);
  REQUIRE(back);
  CHECK(*back == msg);
}

TEST_CASE("an empty message is the empty string and the empty string is an empty message") {
  CHECK(encode(user_message{}).empty());
  CHECK(encode(host_message{}).empty());
  auto u = decode_user_message("");
  REQUIRE(u);
  CHECK(u->instructions.empty());
  auto h = decode_host_message("");
  REQUIRE(h);
  CHECK(h->instructions.empty());
}

TEST_CASE("instructions keep their order and every kind round trips") {
  const user_message u{{keystroke{"a"}, resize{-1, INT32_MIN}, keystroke{""}, resize{INT32_MAX, 0},
                        keystroke{bytes("\0\x1b[A", 4)}}};
  auto ub = decode_user_message(encode(u));
  REQUIRE(ub);
  CHECK(*ub == u);
  const host_message h{{resize{132, 50}, echo_ack{~std::uint64_t{0}}, host_bytes{""},
                        host_bytes{bytes(5000, 'x')}, echo_ack{0}}};
  auto hb = decode_host_message(encode(h));
  REQUIRE(hb);
  CHECK(*hb == h);
}

TEST_CASE("a negative resize uses ten-byte varints inside the extension") {
  const bytes wire = encode(user_message{{resize{-1, 24}}});
  CHECK(to_hex(wire) == "0a0f1a0d28ffffffffffffffffff013018");
}

TEST_CASE("instructions with only unknown extensions are skipped") {
  bytes unknown_ext;
  pb::put_bytes_field(unknown_ext, 9, unhex("0801"));
  bytes wire = entry(unknown_ext) + unhex("0a061a0428503018") + entry("");
  wire += unhex("1005");  // an unknown field of UserMessage itself
  auto got = decode_user_message(wire);
  REQUIRE(got);
  CHECK(*got == user_message{{resize{80, 24}}});

  // The host's echo-ack extension number means nothing in a UserMessage.
  auto u = decode_user_message(unhex("0a043a024003"));
  REQUIRE(u);
  CHECK(u->instructions.empty());
}

TEST_CASE("unknown fields inside extensions are skipped") {
  // hostbytes{ field 9 fixed32, hoststring "hi", field 10 varint }
  const bytes inner = unhex("120b 4d01020304 22026869 5001");
  auto got = decode_host_message(entry(inner));
  REQUIRE(got);
  CHECK(*got == host_message{{host_bytes{"hi"}}});
}

TEST_CASE("absent fields inside extensions decode to zero or empty") {
  auto u = decode_user_message(entry(unhex("1200")) + entry(unhex("1a022850")));
  REQUIRE(u);
  CHECK(*u == user_message{{keystroke{""}, resize{80, 0}}});
  auto h = decode_host_message(entry(unhex("3a00")));
  REQUIRE(h);
  CHECK(*h == host_message{{echo_ack{0}}});
}

TEST_CASE("an instruction carrying several extensions yields each in field-number order") {
  auto u = decode_user_message(entry(unhex("1a0428503018 12032201 61")));
  REQUIRE(u);
  CHECK(*u == user_message{{keystroke{"a"}, resize{80, 24}}});
  auto h = decode_host_message(entry(unhex("3a024005 1a0428503018 120422026869")));
  REQUIRE(h);
  CHECK(*h == host_message{{host_bytes{"hi"}, resize{80, 24}, echo_ack{5}}});
}

TEST_CASE("a repeated extension within one instruction merges field by field") {
  auto u = decode_user_message(entry(unhex("1a022850 1a023018 1a022851")));
  REQUIRE(u);
  CHECK(*u == user_message{{resize{81, 24}}});
}

TEST_CASE("an int32 read from a wide varint keeps its low 32 bits") {
  bytes body;
  pb::put_uint_field(body, 5, (std::uint64_t{1} << 32) + 7);
  bytes ext;
  pb::put_bytes_field(ext, 3, body);
  auto u = decode_user_message(entry(ext));
  REQUIRE(u);
  CHECK(*u == user_message{{resize{7, 0}}});
}

TEST_CASE("malformed messages are rejected as values") {
  auto err = [](bytes_view b) {
    auto r = decode_user_message(b);
    REQUIRE_FALSE(r.has_value());
    return r.error();
  };
  CHECK(err(unhex("0a07120522036c73")) == decode_error::truncated);      // message cut
  CHECK(err(unhex("0a03120522")) == decode_error::truncated);            // inner length lies
  CHECK(err(unhex("0a03 120122")) == decode_error::truncated);           // keys field cut
  CHECK(err(unhex("0801")) == decode_error::bad_field);                  // instruction as varint
  CHECK(err(unhex("0a02 1001")) == decode_error::bad_field);             // keystroke as varint
  CHECK(err(unhex("0a04 12022001")) == decode_error::bad_field);         // keys as varint
  CHECK(err(unhex("0a04 1a022a00")) == decode_error::bad_field);         // width as bytes
  CHECK(err(unhex("0a02 0e00")) == decode_error::bad_wire_type);         // wire type 6 inside
  auto h = decode_host_message(unhex("0a04 3a024200"));                  // echo_ack_num as bytes
  REQUIRE_FALSE(h.has_value());
  CHECK(h.error() == decode_error::bad_field);
  auto h2 = decode_host_message(unhex("0a04 12022001"));                 // hoststring as varint
  REQUIRE_FALSE(h2.has_value());
  CHECK(h2.error() == decode_error::bad_field);
}

}  // TEST_SUITE
