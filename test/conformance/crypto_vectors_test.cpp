// Published AES-128-OCB vectors (RFC 7253 Appendix A and Mosh's draft-03 vector),
// sealed and opened byte for byte.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "../support/test_data.hpp"
#include "mosh2/crypto/ocb_session.hpp"

using mosh2::bytes;
using mosh2::crypto::ocb_session;
using mosh2::crypto::session_key;

namespace {

bytes unhex(const std::string& hex) {
  bytes out;
  REQUIRE(mosh2::from_hex(hex, out));
  return out;
}

session_key key_from_hex(const std::string& hex) {
  const bytes raw = unhex(hex);
  REQUIRE(raw.size() == session_key::size);
  session_key::raw_type k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(raw[i]);
  return session_key(k);
}

void check_vectors(ocb_session& s, const nlohmann::json& list) {
  for (const auto& v : list) {
    const bytes n = unhex(v.at("N").get<std::string>());
    const bytes a = unhex(v.at("A").get<std::string>());
    const bytes p = unhex(v.at("P").get<std::string>());
    const bytes c = unhex(v.at("C").get<std::string>());
    CAPTURE(v.at("N").get<std::string>());
    CHECK(mosh2::to_hex(s.seal_with(n, a, p)) == mosh2::to_hex(c));
    auto opened = s.open_with(n, a, c);
    REQUIRE(opened);
    CHECK(mosh2::to_hex(*opened) == mosh2::to_hex(p));
    // And the tag really is checked: the last byte flipped must fail.
    bytes bad = c;
    bad.back() = static_cast<char>(bad.back() ^ 0x80);
    CHECK_FALSE(s.open_with(n, a, bad));
  }
}

}  // namespace

TEST_SUITE("conformance") {

TEST_CASE("all sixteen RFC 7253 AES-128 sample results seal and open byte for byte") {
  const auto j = nlohmann::json::parse(mosh2::test::read_file("vectors/rfc7253_aes128_ocb.json"));
  REQUIRE(j.at("rfc7253").size() == 16);
  ocb_session s(key_from_hex(j.at("key").get<std::string>()));
  check_vectors(s, j.at("rfc7253"));
}

TEST_CASE("Mosh's draft-03 empty-message vector matches") {
  const auto j = nlohmann::json::parse(mosh2::test::read_file("vectors/rfc7253_aes128_ocb.json"));
  REQUIRE(j.at("mosh_draft").size() == 1);
  ocb_session s(key_from_hex(j.at("key").get<std::string>()));
  check_vectors(s, j.at("mosh_draft"));
}

}  // TEST_SUITE
