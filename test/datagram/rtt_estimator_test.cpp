// The RTT estimator's arithmetic, worked by hand (protocol §4.2, RFC 6298).

#include <doctest/doctest.h>

#include "mosh2/datagram/rtt_estimator.hpp"

using mosh2::milliseconds;
using mosh2::datagram::rtt_estimator;

TEST_SUITE("datagram") {

TEST_CASE("before any sample SRTT is 1000, RTTVAR 500 and the RTO the 1000 ms cap") {
  rtt_estimator e;
  CHECK_FALSE(e.has_sample());
  CHECK(e.srtt_ms() == 1000.0);
  CHECK(e.rttvar_ms() == 500.0);
  CHECK(e.rto() == milliseconds(1000));  // 1000 + 4·500 = 3000, clamped
}

TEST_CASE("the first sample sets SRTT to R and RTTVAR to R/2") {
  rtt_estimator e;
  CHECK(e.add_sample(100));
  CHECK(e.has_sample());
  CHECK(e.srtt_ms() == 100.0);
  CHECK(e.rttvar_ms() == 50.0);
  CHECK(e.rto() == milliseconds(300));  // 100 + 4·50
}

TEST_CASE("later samples smooth with 1/4 and 1/8 gains, RTTVAR from the old SRTT") {
  rtt_estimator e;
  REQUIRE(e.add_sample(100));
  REQUIRE(e.add_sample(200));
  // RTTVAR = 3/4·50 + 1/4·|100 − 200| = 37.5 + 25; SRTT = 7/8·100 + 1/8·200 = 87.5 + 25
  CHECK(e.rttvar_ms() == 62.5);
  CHECK(e.srtt_ms() == 112.5);
  CHECK(e.rto() == milliseconds(363));  // ceil(112.5 + 250) = ceil(362.5)
  REQUIRE(e.add_sample(100));
  // RTTVAR = 3/4·62.5 + 1/4·12.5 = 46.875 + 3.125; SRTT = 7/8·112.5 + 12.5 = 98.4375 + 12.5
  CHECK(e.rttvar_ms() == 50.0);
  CHECK(e.srtt_ms() == 110.9375);
  CHECK(e.rto() == milliseconds(311));  // ceil(310.9375)
}

TEST_CASE("samples of 5000 ms or more are discarded, 4999 is kept") {
  rtt_estimator e;
  CHECK_FALSE(e.add_sample(5000));
  CHECK_FALSE(e.add_sample(65000));
  CHECK_FALSE(e.add_sample(-1));
  CHECK_FALSE(e.has_sample());
  CHECK(e.srtt_ms() == 1000.0);
  CHECK(e.add_sample(4999));
  CHECK(e.srtt_ms() == 4999.0);
  CHECK_FALSE(e.add_sample(5000));
  CHECK(e.srtt_ms() == 4999.0);
  CHECK(e.rttvar_ms() == 2499.5);
}

TEST_CASE("the RTO is clamped to at least 50 ms and at most 1000 ms") {
  rtt_estimator low;
  REQUIRE(low.add_sample(0));
  CHECK(low.rto() == milliseconds(50));
  rtt_estimator small;
  REQUIRE(small.add_sample(12));  // 12 + 4·6 = 36
  CHECK(small.rto() == milliseconds(50));
  rtt_estimator just;
  REQUIRE(just.add_sample(17));  // 17 + 4·8.5 = 51
  CHECK(just.rto() == milliseconds(51));
  rtt_estimator high;
  REQUIRE(high.add_sample(400));  // 400 + 800 = 1200
  CHECK(high.rto() == milliseconds(1000));
  rtt_estimator edge;
  REQUIRE(edge.add_sample(333));  // 333 + 666 = 999
  CHECK(edge.rto() == milliseconds(999));
}

}  // TEST_SUITE
