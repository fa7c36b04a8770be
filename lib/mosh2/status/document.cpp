// The status file's JSON text; see document.hpp.

#include "mosh2/status/document.hpp"

#include <optional>

#include <nlohmann/json.hpp>

#include "mosh2/status/process_start.hpp"

namespace mosh2::status {
namespace {

using json = nlohmann::ordered_json;

/// A steady time as Unix milliseconds, anchored at `now` (steady) = `now_unix` (wall).
std::int64_t to_unix_ms(time_point t, time_point now, std::int64_t now_unix) {
  return now_unix - std::chrono::duration_cast<milliseconds>(now - t).count();
}

json optional_time(const std::optional<time_point>& t, time_point now, std::int64_t now_unix) {
  return t ? json(to_unix_ms(*t, now, now_unix)) : json(nullptr);
}

json optional_age(const std::optional<time_point>& t, time_point now) {
  if (!t) return json(nullptr);
  return json(std::chrono::duration_cast<milliseconds>(now - *t).count() / 1000);
}

json traffic_json(const traffic& t) { return {{"datagrams", t.datagrams}, {"bytes", t.bytes}}; }

json process_start_json(int pid) {
  const auto ticks = pid > 0 ? process_start_ticks(pid) : std::nullopt;
  return ticks ? json(*ticks) : json(nullptr);
}

}  // namespace

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string to_json(const session_status& s, time_point now) {
  const std::int64_t now_unix = unix_ms_now();
  using datagram::drop_reason;
  const auto& c = s.datagrams;
  json dropped = {
      {"too_short", c.drops(drop_reason::too_short)},
      {"oversize", c.drops(drop_reason::oversize) + s.link.truncated},
      {"wrong_direction", c.drops(drop_reason::wrong_direction)},
      {"bad_tag", c.drops(drop_reason::bad_tag)},
      {"short_plaintext", c.drops(drop_reason::short_plaintext)},
      {"undecodable", s.link.fragment},
      {"old_key", s.link.old_key},
      {"unknown_stream", s.link.stream},
      {"total", c.total_dropped() + s.link.truncated + s.link.fragment},
  };
  json doc = {
      {"schema", status_schema_version},
      {"role", s.role},
      {"pid", s.pid},
      {"started_unix_ms", to_unix_ms(s.started, now, now_unix)},
      {"process_start_ticks", process_start_json(s.pid)},
      {"updated_unix_ms", now_unix},
      {"local", {{"address", s.local_address}, {"port", s.local_port}}},
      {"peer", s.peer_address ? json{{"address", *s.peer_address}, {"port", s.peer_port}} : json(nullptr)},
      {"last_contact_unix_ms", optional_time(s.last_contact, now, now_unix)},
      {"last_roundtrip_unix_ms", optional_time(s.last_roundtrip, now, now_unix)},
      {"rtt", {{"measured", s.rtt_measured}, {"srtt_ms", s.srtt_ms}, {"rto_ms", s.rto_ms}}},
      {"terminal", {{"width", s.width}, {"height", s.height}}},
      {"state", {{"sent", s.state_sent}, {"acked", s.state_acked}, {"received", s.state_received}}},
      {"shutting_down", s.shutting_down},
      {"session_state", s.session_state.empty() ? derive_session_state(s, now) : s.session_state},
      {"seconds_since_contact", optional_age(s.last_contact, now)},
      {"last_keystroke_unix_ms", optional_time(s.last_keystroke, now, now_unix)},
      {"seconds_since_keystroke", optional_age(s.last_keystroke, now)},
      {"bytes", {{"sent", s.bytes_sent}, {"received", s.bytes_received}}},
      {"command", s.command},
      {"name", s.name.empty() ? json(nullptr) : json(s.name)},
      {"attach", {{"count", s.attaches},
                  {"last_unix_ms", optional_time(s.last_attached, now, now_unix)},
                  {"from", s.attached_from ? json(*s.attached_from) : json(nullptr)}}},
      {"prediction", s.prediction_mode ? json{{"mode", *s.prediction_mode},
                                              {"shown", s.predictions_shown},
                                              {"confirmed", s.predictions_confirmed},
                                              {"wrong", s.predictions_wrong}}
                                       : json(nullptr)},
      {"program_input", s.program_input ? json{{"queued_bytes", s.program_input->queued_bytes},
                                               {"cap_bytes", s.program_input->cap_bytes},
                                               {"held_back_instructions", s.program_input->held_back_instructions}}
                                        : json(nullptr)},
      {"extensions", {{"agreed", s.extensions}, {"rekeys", s.rekeys}}},
      {"retransmissions", s.retransmissions},
      {"reliable_path", {{"in_use", s.reliable_path.in_use},
                         {"entered", s.reliable_path.entered},
                         {"resyncs", s.reliable_path.resyncs},
                         {"retransmissions", s.reliable_path.retransmissions},
                         {"stall_resyncs", s.reliable_path.stall_resyncs}}},
      {"datagrams",
       {{"sent", c.sealed},
        {"received", c.accepted},
        {"out_of_order", c.out_of_order},
        {"congestion_marks", c.congestion_marks},
        {"dropped", std::move(dropped)}}},
  };
  if (s.transport_path) {
    json switches = json::array();
    for (const auto& w : s.transport_path->switches)
      switches.push_back({{"unix_ms", to_unix_ms(w.at, now, now_unix)}, {"to", w.to}, {"why", w.why}});
    doc["transport"] = {{"mode", s.transport_path->mode}, {"in_use", s.transport_path->in_use},
                        {"udp_probes", s.transport_path->probes}, {"switches", std::move(switches)},
                        {"stream_retry_unix_ms", optional_time(s.transport_path->stream_retry, now, now_unix)},
                        {"stream_drops", s.transport_path->stream_drops},
                        {"stream_failure", s.transport_path->stream_failure ? json(*s.transport_path->stream_failure)
                                                                            : json(nullptr)}};
  }
  return doc.dump(2) + "\n";
}

std::string to_json(const relay_status& r, time_point now) {
  const std::int64_t now_unix = unix_ms_now();
  json sources = json::array();
  for (const auto& s : r.sources)
    sources.push_back({{"address", s.address},
                       {"port", s.port},
                       {"proven", s.proven},
                       {"up", traffic_json(s.up)},
                       {"down", traffic_json(s.down)},
                       {"last_seen_unix_ms", to_unix_ms(s.last_seen, now, now_unix)}});
  const json doc = {
      {"schema", status_schema_version},
      {"kind", relay_kind},
      {"pid", r.pid},
      {"started_unix_ms", to_unix_ms(r.started, now, now_unix)},
      {"process_start_ticks", process_start_json(r.pid)},
      {"updated_unix_ms", now_unix},
      {"bind", {{"address", r.bind_address}, {"port", r.bind_port}}},
      {"next_hop", {{"address", r.next_address}, {"port", r.next_port}}},
      {"idle_timeout_s", r.idle_timeout.count()},
      {"ends_with_session", r.ends_with_session},
      {"last_answer_unix_ms", optional_time(r.last_answer, now, now_unix)},
      {"sources", std::move(sources)},
      {"totals", {{"up", traffic_json(r.up)}, {"down", traffic_json(r.down)}}},
      {"dropped",
       {{"sources_evicted", r.sources_evicted}, {"sends_refused", r.sends_refused}, {"unsocketed", r.unsocketed}}},
  };
  return doc.dump(2) + "\n";
}

}  // namespace mosh2::status
