#pragma once
// One process's session as its status file describes it (docs/status.md): the type the
// session cores fill, the document's constants, and the names of its states and drops.
// Pure: no I/O, no JSON, no formatting; the file, the reader and the table are elsewhere
// in this folder.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mosh2/datagram/connection_core.hpp"
#include "mosh2/util/clock.hpp"

namespace mosh2::status {

/// Bumped on any change a script could notice; additions of fields do not bump it.
inline constexpr int status_schema_version = 1;
/// A live process rewrites its file at most this often.
inline constexpr auto status_interval = std::chrono::seconds(1);
/// ...and when only heartbeats moved its counters, at most this often.
inline constexpr auto status_idle_interval = std::chrono::seconds(30);

/// A session whose client has not been heard for this long is "detached": the 3 s
/// heartbeat plus a margin for one lost heartbeat and a slow link.
inline constexpr auto detached_after = std::chrono::seconds(7);

/// The `session_state` both roles report: "never-connected" before the peer's first
/// state, "shutting-down" once the handshake began, "detached" after `silent_for` of
/// silence beyond detached_after, else "connected".
inline std::string session_state_name(bool ever_heard, bool shutting_down, steady::duration silent_for) {
  if (!ever_heard) return "never-connected";
  if (shutting_down) return "shutting-down";
  return silent_for > detached_after ? "detached" : "connected";
}

/// The link layer's own drops, beside the datagram layer's (datagram::stats).
struct link_counts {
  std::uint64_t truncated = 0;  ///< larger than the receive buffer
  std::uint64_t fragment = 0;   ///< failed reassembly, inflate or decode
  std::uint64_t old_key = 0;    ///< sealed under a key the session was rekeyed away from
  std::uint64_t stream = 0;     ///< stream frames for a stream that is not open
};

/// One process's session as the status file describes it. Times are steady
/// time_points; to_json (document.hpp) turns them into Unix milliseconds.
struct session_status {
  std::string role;  ///< "server" or "client"
  int pid = 0;
  std::string local_address;
  unsigned local_port = 0;
  std::optional<std::string> peer_address;  ///< unset while no peer is attached
  unsigned peer_port = 0;
  time_point started{};
  std::optional<time_point> last_contact;    ///< newest authentic in-order datagram
  std::optional<time_point> last_roundtrip;  ///< send time of the newest acknowledged state
  double srtt_ms = 0;
  long rto_ms = 0;
  bool rtt_measured = false;
  int width = 0;
  int height = 0;
  std::uint64_t state_sent = 0;      ///< newest state number we sent
  std::uint64_t state_acked = 0;     ///< newest of ours the peer acknowledged
  std::uint64_t state_received = 0;  ///< newest of the peer's we hold
  bool shutting_down = false;
  /// The session fills these; the document decides names.
  std::string session_state;  ///< "never-connected", "connected", "detached", "shutting-down"
  std::optional<time_point> last_keystroke;  ///< newest user input (server: applied; client: typed)
  std::uint64_t bytes_sent = 0;      ///< UDP payload bytes sent (sealed datagrams)
  std::uint64_t bytes_received = 0;  ///< UDP payload bytes of authentic datagrams
  std::vector<std::string> command;  ///< server: the program it runs (argv)
  std::string name;                  ///< server: --name (empty: none)
  std::uint64_t attaches = 0;        ///< server: key rotations (`mosh2-server attach`)
  std::optional<time_point> last_attached;   ///< server: the newest rotation
  std::optional<std::string> attached_from;  ///< server: the first address heard after it
  std::optional<std::string> prediction_mode;  ///< client: adaptive, always, never, experimental
  std::uint64_t predictions_shown = 0;      ///< client: predicted cells drawn
  std::uint64_t predictions_confirmed = 0;  ///< client: predictions the server's screen confirmed
  std::uint64_t predictions_wrong = 0;      ///< client: predictions the server's screen contradicted
  /// Client: the path its datagrams take (UDP or the byte stream through ssh) and each change.
  struct path_switch_status {
    time_point at;
    std::string to;
    std::string why;
  };
  struct transport_status {
    std::string mode;    ///< udp, tcp, auto
    std::string in_use;  ///< udp, stream
    std::uint64_t probes = 0;
    std::vector<path_switch_status> switches;
    std::optional<time_point> stream_retry;  ///< a failed stream is tried again then
    std::uint64_t stream_drops = 0;          ///< datagrams the stream's full queue dropped
    std::optional<std::string> stream_failure;  ///< why the stream last ended
  };
  std::optional<transport_status> transport_path;
  /// Server: typed input waiting for a program that is not reading (see program_input).
  struct program_input_status {
    std::uint64_t queued_bytes = 0;
    std::uint64_t cap_bytes = 0;
    std::uint64_t held_back_instructions = 0;  ///< new client states not taken in (queue full; each resend counts)
  };
  std::optional<program_input_status> program_input;
  datagram::stats datagrams;
  link_counts link;
  /// The extensions both ends agreed on, by name (docs/protocol.md, "Extensions"); empty
  /// with a stock peer or before the peer announced itself.
  std::vector<std::string> extensions;
  std::uint64_t rekeys = 0;  ///< times the session's key was rotated
  /// SSP's timing on a reliable path (docs/protocol.md, "Paths"), all senders together.
  struct reliable_path_status {
    bool in_use = false;               ///< the path is taken as reliable now
    std::uint64_t entered = 0;         ///< times it became reliable
    std::uint64_t resyncs = 0;         ///< sends from the acknowledged state on entering it
    std::uint64_t retransmissions = 0; ///< resends while it was reliable, the resyncs aside
    std::uint64_t stall_resyncs = 0;   ///< of the resyncs, those after the path lost a state
  };
  reliable_path_status reliable_path;
  std::uint64_t retransmissions = 0;  ///< resends of a state number, every sender, on any path
};

/// The session's state as the status document names it: "shutting-down" once the
/// shutdown handshake began, "never-connected" before the peer was first heard,
/// "detached" when it has not been heard for longer than detached_after, else
/// "connected". to_json uses this when the session left session_state empty.
inline std::string derive_session_state(const session_status& s, time_point now) {
  if (s.shutting_down) return "shutting-down";
  if (!s.last_contact) return "never-connected";
  if (now - *s.last_contact > detached_after) return "detached";
  return "connected";
}

/// The link-layer half of a status (datagram and byte counters, RTT, last contact),
/// which both programs fill in the same way from their link (session::link_core).
template <class Link> void fill_link_status(session_status& s, const Link& link) {
  const auto& d = link.datagram();
  s.last_contact = d.last_heard();
  s.last_roundtrip = d.last_roundtrip_success();
  s.srtt_ms = d.srtt_ms();
  s.rto_ms = static_cast<long>(d.rto().count());
  s.rtt_measured = d.rtt().has_sample();
  s.datagrams = d.counters();
  s.bytes_sent = d.counters().bytes_sealed;
  s.bytes_received = d.counters().bytes_accepted;
  s.link.truncated = link.drops().truncated;
  s.link.fragment = link.drops().fragment;
  s.link.old_key = link.drops().old_key;
  s.link.stream = link.drops().stream;
}

/// The SSP half: state numbers and whether the shutdown handshake has begun.
template <class Endpoint> void fill_ssp_status(session_status& s, const Endpoint& ssp) {
  s.state_sent = ssp.outgoing().sent_num();
  s.state_acked = ssp.outgoing().acked_num();
  s.state_received = ssp.incoming().newest_num();
  s.shutting_down = ssp.outgoing().shutdown_in_progress();
}

/// Names the drop that a link counted since the previous call, with the status
/// document's names ("bad_tag", "wrong_direction", ...), for the reject log.
class drop_namer {
public:
  template <class Link> std::string_view newest(const Link& link) {
    const auto& c = link.datagram().counters();
    std::string_view name = "undecodable";
    using datagram::drop_reason;
    static constexpr std::pair<drop_reason, std::string_view> names[] = {
        {drop_reason::too_short, "too_short"},
        {drop_reason::oversize, "oversize"},
        {drop_reason::wrong_direction, "wrong_direction"},
        {drop_reason::bad_tag, "bad_tag"},
        {drop_reason::short_plaintext, "short_plaintext"}};
    for (const auto& [reason, n] : names)
      if (c.drops(reason) != seen_.drops(reason)) name = n;
    if (link.drops().truncated != seen_truncated_) name = "oversize";  // as the status document counts it
    seen_ = c;
    seen_truncated_ = link.drops().truncated;
    return name;
  }

private:
  datagram::stats seen_;
  std::uint64_t seen_truncated_ = 0;
};

}  // namespace mosh2::status
