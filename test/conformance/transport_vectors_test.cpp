// Transport golden bytes (protocol §6.2, §6.3, §13.1): protobuf, zlib and fragments,
// checked byte for byte in both directions.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "../support/test_data.hpp"
#include "mosh2/transport/compressor.hpp"
#include "mosh2/transport/fragment.hpp"
#include "mosh2/transport/messages.hpp"

using namespace mosh2;
using namespace mosh2::transport;
using json = nlohmann::json;

namespace {

json golden() { return json::parse(mosh2::test::read_file("vectors/transport_golden.json")); }

bytes hex_field(const json& j, const char* key) {
  bytes out;
  REQUIRE_MESSAGE(from_hex(j.at(key).get<std::string>(), out), key);
  return out;
}

bytes unhex(const json& j) {
  bytes out;
  REQUIRE(from_hex(j.get<std::string>(), out));
  return out;
}

}  // namespace

TEST_SUITE("conformance") {

TEST_CASE("golden instructions encode, compress and fragment byte for byte") {
  const json g = golden();
  REQUIRE(g.at("instructions").size() >= 2);
  for (const json& v : g.at("instructions")) {
    CAPTURE(v.at("name").get<std::string>());
    instruction in;
    in.protocol_version = v.at("protocol_version").get<std::uint32_t>();
    in.old_num = v.at("old_num").get<std::uint64_t>();
    in.new_num = v.at("new_num").get<std::uint64_t>();
    in.ack_num = v.at("ack_num").get<std::uint64_t>();
    in.throwaway_num = v.at("throwaway_num").get<std::uint64_t>();
    in.diff = hex_field(v, "diff");
    in.chaff = hex_field(v, "chaff");
    const bytes pb = hex_field(v, "protobuf");
    const bytes z = hex_field(v, "zlib");

    CHECK(to_hex(encode(in)) == to_hex(pb));
    auto decoded = decode_instruction(pb);
    REQUIRE(decoded);
    CHECK(*decoded == in);

    auto inflated = decompress(z);
    REQUIRE(inflated);
    CHECK(to_hex(*inflated) == to_hex(pb));
    CHECK(to_hex(compress(pb)) == to_hex(z));  // zlib 1.2.13 at level 6, as the stock peer

    std::vector<bytes> expect;
    for (const json& f : v.at("fragments")) expect.push_back(unhex(f));
    fragmenter sender;  // fresh, so the id is 1 as in the capture
    const auto frags = sender.make_fragments(in, v.at("payload_budget").get<std::size_t>());
    REQUIRE(frags.size() == expect.size());
    for (std::size_t i = 0; i < frags.size(); ++i) CHECK(to_hex(frags[i]) == to_hex(expect[i]));

    fragment_assembler receiver;
    std::optional<instruction> got;
    for (const bytes& f : expect) {
      auto r = receiver.add(f);
      REQUIRE(r);
      if (r->has_value()) got = **r;
    }
    REQUIRE(got.has_value());
    CHECK(*got == in);
  }
}

TEST_CASE("golden user messages encode and decode byte for byte") {
  const json g = golden();
  REQUIRE_FALSE(g.at("user_messages").empty());
  for (const json& v : g.at("user_messages")) {
    CAPTURE(v.at("name").get<std::string>());
    user_message m;
    for (const json& i : v.at("instructions")) {
      if (i.contains("resize"))
        m.instructions.emplace_back(resize{i["resize"][0].get<std::int32_t>(),
                                           i["resize"][1].get<std::int32_t>()});
      else
        m.instructions.emplace_back(keystroke{unhex(i.at("keystroke"))});
    }
    const bytes pb = hex_field(v, "protobuf");
    CHECK(to_hex(encode(m)) == to_hex(pb));
    auto back = decode_user_message(pb);
    REQUIRE(back);
    CHECK(*back == m);
  }
}

TEST_CASE("golden host messages encode and decode byte for byte") {
  const json g = golden();
  REQUIRE_FALSE(g.at("host_messages").empty());
  for (const json& v : g.at("host_messages")) {
    CAPTURE(v.at("name").get<std::string>());
    host_message m;
    for (const json& i : v.at("instructions")) {
      if (i.contains("resize"))
        m.instructions.emplace_back(resize{i["resize"][0].get<std::int32_t>(),
                                           i["resize"][1].get<std::int32_t>()});
      else if (i.contains("echoack"))
        m.instructions.emplace_back(echo_ack{i["echoack"].get<std::uint64_t>()});
      else
        m.instructions.emplace_back(host_bytes{unhex(i.at("hostbytes"))});
    }
    const bytes pb = hex_field(v, "protobuf");
    CHECK(to_hex(encode(m)) == to_hex(pb));
    auto back = decode_host_message(pb);
    REQUIRE(back);
    CHECK(*back == m);
  }
}

}  // TEST_SUITE
