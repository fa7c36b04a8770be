#pragma once
// SSP's timing constants and list caps (protocol §7.1 and Appendix A), with units.

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "mosh2/util/clock.hpp"

namespace mosh2::ssp {

inline constexpr milliseconds send_interval_min{20};    ///< at most 50 frames per second
inline constexpr milliseconds send_interval_max{250};   ///< at least 4 frames per second
inline constexpr milliseconds ack_interval{3000};       ///< heartbeat when nothing else was sent
inline constexpr milliseconds ack_delay{100};           ///< delayed ack after a non-empty diff
inline constexpr milliseconds server_send_mindelay{8};  ///< collection time after a change (server)
inline constexpr milliseconds client_send_mindelay{1};  ///< collection time after a change (client)
/// Retransmit actively only while the peer was heard this recently; also the shutdown give-up time.
inline constexpr milliseconds active_retry_timeout{10000};
inline constexpr unsigned shutdown_retries = 16;        ///< shutdown instructions before giving up
inline constexpr std::size_t sent_states_cap = 32;      ///< beyond this, a middle entry is culled
/// The culled entry is this many places from the newest (1 = the newest).
inline constexpr std::size_t sent_states_cull_position = 16;
inline constexpr std::size_t received_states_cap = 1024;  ///< beyond this, the quench applies
inline constexpr milliseconds receiver_quench{15000};     ///< how long a full receiver refuses growth
inline constexpr std::size_t max_chaff = 16;              ///< chaff is 0..16 random bytes
/// Prospective resend: diff from the acknowledged state if it is at most this much longer...
inline constexpr std::size_t resend_slack = 100;
/// ...and shorter than this in total.
inline constexpr std::size_t resend_limit = 1000;

}  // namespace mosh2::ssp
