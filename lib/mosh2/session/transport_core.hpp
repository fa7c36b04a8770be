#pragma once
// What Mosh 1.4 calls the Transport, as one core both programs share: the datagram and
// fragment layers (link_core) joined to an SSP endpoint, the peer's address, and the
// glue between them (RTT hand-off, round-trip success, roaming, the send MTU). A core:
// no sockets, no Asio, the time comes in as an argument. The stages around it read
// sockets and write datagrams; the role cores (server_core, client_core) own one.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mosh2/session/link_core.hpp"
#include "mosh2/session/negotiation.hpp"
#include "mosh2/ssp/append_log.hpp"
#include "mosh2/ssp/endpoint.hpp"
#include "mosh2/util/bytes.hpp"
#include "mosh2/util/clock.hpp"

namespace mosh2::session {

/// A UDP endpoint as the cores see it: comparable, printable, and its family (which
/// fixes the MTU). The stages convert to and from Asio's endpoint type.
struct peer_address {
  std::string ip;
  std::uint16_t port = 0;
  bool v6 = false;
  bool operator==(const peer_address&) const = default;
};

/// What a path tells the link about itself (docs/architecture.md, "Paths"): direct UDP
/// and UDP through a relay take the MTU from the address family and lose datagrams; a
/// framed byte stream (a pipe, ssh's stdio, TCP) has its own MTU and loses nothing, so
/// SSP must not retransmit into it.
struct path_traits {
  std::optional<std::size_t> mtu;  ///< nothing: by address family (UDP)
  bool reliable = false;
};

/// The MTU of a framed byte-stream path: large, because nothing fragments it below us.
inline constexpr std::size_t stream_path_mtu = 16 * 1024;

/// Stream frames up to this many bytes ride in the main object's instruction; more go
/// in an instruction of their own (see transport_core::tick).
inline constexpr std::size_t stream_piggyback_bytes = 512;

/// Which extensions an end offers, and which of them are streams it opens once agreed.
/// The default is what both programs announce (docs/protocol.md, "The extensions").
struct extension_config {
  std::vector<std::uint32_t> supported{extension::streams, extension::attached_elsewhere, extension::terminal_mode,
                                        extension::history, extension::extended_styles,
                                        extension::reliable_path};
  /// Stream ids, each also in `supported`.
  std::vector<std::uint32_t> streams{extension::terminal_mode, extension::history};
};

/// `c` without extension `id` (and its stream): what an end that turned it off announces.
inline extension_config without_extension(extension_config c, std::uint32_t id) {
  std::erase(c.supported, id);
  std::erase(c.streams, id);
  return c;
}

/// What one datagram did to the transport.
struct datagram_outcome {
  bool authentic = false;  ///< passed the datagram layer
  bool old_key = false;    ///< authentic only under the key the link was rekeyed away from
  bool roamed = false;     ///< the server now replies to this datagram's source
  /// Set when the datagram completed an instruction that SSP took in.
  std::optional<ssp::receive_outcome> instruction;
  /// The instruction was held back unread (see transport_core::receive).
  bool held_back = false;
  /// The extensions both ends agreed on were settled by this datagram.
  bool negotiated = false;
  /// Client: the server says the session was attached from elsewhere (see
  /// attached_notice_interval).
  bool displaced = false;
  /// Server: datagrams for the datagram's source, sealed under the retired key: the
  /// notice to a displaced client that agreed to `attached_elsewhere`.
  std::vector<bytes> reply;
};

/// A displaced client is told at most this often, however much it sends.
inline constexpr auto attached_notice_interval = std::chrono::seconds(1);

/// One end of a session's transport (protocol §4-§7). `Local` is the object this end
/// sends, `Remote` the peer's.
template <ssp::synchronizable_state Local, ssp::synchronizable_state Remote> class transport_core {
public:
  using endpoint_type = ssp::endpoint<Local, Remote>;

  /// The client knows its peer from the start; the server learns it from the first
  /// authentic datagram.
  /// `local` and `remote` are the initial states (number 0) both ends start from; a
  /// rekey starts over from them.
  transport_core(datagram::role self, const crypto::session_key& key, Local local, Remote remote,
                 time_point now, ssp::sender_options options, std::optional<peer_address> peer,
                 extension_config extensions = {})
      : link_(self, key, now), ssp_(local, remote, now, options), initial_local_(std::move(local)),
        initial_remote_(std::move(remote)), stream_options_(std::move(options)), self_(self),
        peer_(std::move(peer)), extensions_(std::move(extensions)), negotiation_(self, extensions_.supported) {
    if (peer_) link_.datagram().set_address_family(family_of(*peer_));
    ssp_.outgoing().set_peer_known(peer_.has_value());
    // A stream's frames ride beside the main object's, which carries liveness and chaff.
    stream_options_.heartbeats = false;
    stream_options_.random = [](std::size_t) { return bytes{}; };
  }

  /// One datagram from `from`. A complete instruction goes to SSP unless `accept_state`
  /// says no for its state: then only its acknowledgement is used and the peer will
  /// send that state again (the server holds back while its program is not reading).
  template <class AcceptState>
  datagram_outcome receive(bytes_view wire, const peer_address& from, time_point now, bool truncated,
                           bool congestion, AcceptState&& accept_state) {
    datagram_outcome out;
    auto arrival = link_.receive(wire, now, truncated, congestion);
    if (!arrival) {
      if (!truncated && retired_ && retired_->authentic(wire, now)) {
        link_.count_old_key();
        out.old_key = true;
        // The retired link's own sequence goes on, so no (key, nonce) pair repeats.
        if (retired_notice_ && now >= next_notice_) {
          transport::instruction notice;
          notice.ext.displaced = true;
          out.reply = retired_->datagrams_for(notice, now);
          next_notice_ = now + attached_notice_interval;
        }
      }
      return out;
    }
    out.authentic = true;
    // Roaming: a server replies to the newest authentic in-order source (§4.3).
    if (self_ == datagram::role::server && arrival->in_order && (!peer_ || *peer_ != from)) {
      peer_ = from;
      link_.datagram().set_address_family(family_of(from));
      out.roamed = true;
      // A new address is a new path, lossy until the client says otherwise from there:
      // the copy of a stream datagram that a UDP probe carries says "reliable" too. A
      // probe is answered at once, before the client's next datagram through the stream
      // takes the server back there, so that the client learns UDP works.
      if (peer_reliable_) ssp_.outgoing().ack_soon();
      peer_reliable_ = false;
    }
    if (!arrival->instruction) return out;
    const auto& inst = *arrival->instruction;
    if (self_ == datagram::role::server && arrival->in_order && !out.roamed &&
        negotiation_.agreed(extension::reliable_path))
      peer_reliable_ = inst.ext.reliable_path;
    if (inst.ext.displaced) {
      // Not a state: a client that never agreed ignores the field as a stock one would.
      out.displaced = self_ == datagram::role::client && negotiation_.agreed(extension::attached_elsewhere);
      if (out.displaced) return out;
    }
    if (negotiation_.receive(inst.ext)) {
      out.negotiated = true;
      open_agreed_streams(now);
    }
    receive_streams(inst.ext, now);
    if (inst.ext.no_state && negotiation_.agreed(extension::streams)) {
      ssp_.outgoing().peer_heard(now);
      return out;
    }
    if (!accept_state(inst)) {
      ssp_.receive_ack(inst, now);
      out.held_back = true;
    } else {
      out.instruction = ssp_.receive(inst, now);
    }
    if (auto rt = ssp_.last_roundtrip_success()) link_.datagram().set_last_roundtrip_success(*rt);
    return out;
  }

  /// See receive(); every state is accepted.
  datagram_outcome receive(bytes_view wire, const peer_address& from, time_point now, bool truncated = false,
                           bool congestion = false) {
    return receive(wire, from, now, truncated, congestion, [](const transport::instruction&) { return true; });
  }

  /// The sealed datagrams of the instruction due at `now` (empty when none is due or
  /// there is nobody to send to). The RTT estimate reaches the sender first.
  std::vector<bytes> tick(time_point now) {
    sync();
    auto inst = ssp_.tick(now);
    std::vector<transport::stream_frame> frames;
    for (auto& [id, s] : streams_)
      if (auto si = s.ep.tick(now, inst.has_value())) frames.push_back(frame_of(id, *si));
    if (!inst && !frames.empty()) {
      // Only the streams have something to say: an instruction without a main state,
      // which only a peer that agreed to streams is ever sent.
      inst.emplace();
      inst->ext.no_state = true;
    }
    std::vector<bytes> out;
    if (!inst) return out;
    // An instruction arrives whole or not at all: a stream's bulk rides in its own, so
    // that losing one of its fragments never costs the screen its frame.
    std::size_t stream_bytes = 0;
    for (const auto& f : frames) stream_bytes += f.diff.size();
    std::optional<transport::instruction> bulk;
    if (!inst->ext.no_state && stream_bytes > stream_piggyback_bytes) {
      bulk.emplace();
      bulk->ext.no_state = true;
      bulk->ext.streams = std::move(frames);
    } else {
      inst->ext.streams = std::move(frames);
    }
    negotiation_.stamp(inst->ext);
    if (self_ == datagram::role::client && negotiation_.agreed(extension::reliable_path))
      inst->ext.reliable_path = path_.reliable;
    if (bulk) bulk->ext.reliable_path = inst->ext.reliable_path;
    if (!peer_) return out;
    out = link_.datagrams_for(*inst, now);
    if (bulk)
      for (auto& d : link_.datagrams_for(*bulk, now)) out.push_back(std::move(d));
    return out;
  }

  /// When tick() next has something to do.
  time_point next_deadline(time_point now) {
    sync();
    time_point t = ssp_.next_deadline(now);
    for (auto& [id, s] : streams_) t = std::min(t, s.ep.next_deadline(now));
    return t;
  }

  /// Starts the link over under `key` (docs/protocol.md, "Rekeying"): a fresh nonce
  /// sequence in both directions, SSP back to the initial states while the local object
  /// keeps its contents (so the first frame is a full repaint), the peer's address, the
  /// agreed extensions and the streams forgotten. Datagrams under the old key are then
  /// dropped and counted (link drops `old_key`). The old key seals nothing
  /// again but the notice to a displaced client that agreed to `attached_elsewhere`.
  void rekey(const crypto::session_key& key, time_point now) {
    const link_drops carried = link_.drops();
    // Only a client that agreed may be told it was displaced; a stock one hears nothing.
    retired_notice_ = self_ == datagram::role::server && negotiation_.agreed(extension::attached_elsewhere);
    next_notice_ = time_point{};
    retired_.emplace(std::move(link_));
    link_ = link_core(self_, key, now, carried);
    ssp_.restart(initial_local_, initial_remote_, now);
    negotiation_.reset();
    streams_.clear();
    peer_reliable_ = false;
    if (self_ == datagram::role::server) peer_.reset();
    else if (peer_) link_.datagram().set_address_family(family_of(*peer_));
    link_.datagram().set_path_mtu(path_.mtu);
    ++rekeys_;
  }
  /// How often rekey() was called.
  std::uint64_t rekeys() const { return rekeys_; }

  /// The path datagrams now take (see path_traits). A client with `reliable_path`
  /// agreed tells its server, which then sends it nothing twice either.
  void set_path(const path_traits& p) {
    path_ = p;
    link_.datagram().set_path_mtu(p.mtu);
  }
  const path_traits& path() const { return path_; }
  /// Whether SSP takes the path as reliable now: as set, or (server) as the client said
  /// in its newest in-order instruction from the address it is heard from.
  bool reliable_now() const { return path_.reliable || peer_reliable_; }

  /// The extensions both ends agreed on (see negotiation).
  const negotiation& extensions() const { return negotiation_; }

  /// Whether stream `id` is open (agreed by both ends).
  bool stream_open(std::uint32_t id) const { return streams_.count(id) != 0; }
  /// The local log of stream `id`, to append to; nullptr while it is not open. Its
  /// held_data_bytes() is what the peer has not acknowledged yet: the owner keeps that
  /// within a window of its choosing.
  ssp::append_log* stream_out(std::uint32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : &it->second.ep.outgoing().current_state();
  }
  /// The items of stream `id` that arrived since the last call, once each, in order.
  ssp::log_delivery take_stream_items(std::uint32_t id) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return {};
    return std::exchange(it->second.inbox, {});
  }

  /// A send failed with EMSGSIZE: the MTU falls back to 500 from now on.
  void send_too_big() { link_.datagram().mtu_exceeded(); }

  /// Server: forget the client after 40 s without an in-order datagram (§4.3); true
  /// when that just happened.
  bool expire_peer(time_point now) {
    if (self_ != datagram::role::server || !peer_ || !link_.datagram().association_expired(now)) return false;
    peer_.reset();
    peer_reliable_ = false;
    ssp_.outgoing().set_peer_known(false);
    return true;
  }

  /// Where datagrams go; nothing while a server has not heard from a client.
  const std::optional<peer_address>& peer() const { return peer_; }

  // -- SSP, as the role cores use it -------------------------------------------------------

  /// Whether this end started its shutdown (§7.7).
  bool shutting_down() const { return ssp_.outgoing().shutdown_in_progress(); }
  /// Starts this end's shutdown: from now on every instruction says so.
  void start_shutdown(time_point now) { ssp_.outgoing().start_shutdown(now); }
  /// The exit status once the shutdown handshake is over: 0 when this end's shutdown
  /// was acknowledged or it acknowledged the peer's, 1 when it gave up waiting.
  std::optional<int> shutdown_result(time_point now) const {
    const auto& out = ssp_.outgoing();
    if (out.counterparty_shutdown_ack_sent() || (out.shutdown_in_progress() && out.shutdown_acknowledged())) return 0;
    if (out.shutdown_ack_timed_out(now)) return 1;
    return std::nullopt;
  }
  /// The number of the last local state sent.
  std::uint64_t sent_num() const { return ssp_.outgoing().sent_num(); }
  /// The sender's frame interval now.
  milliseconds send_interval() const { return ssp_.outgoing().send_interval(); }
  /// The send time of the newest local state the peer acknowledged (§4.4).
  std::optional<time_point> last_roundtrip_success() const { return ssp_.last_roundtrip_success(); }
  /// The number of the peer's newest state.
  std::uint64_t remote_num() const { return ssp_.incoming().newest_num(); }
  /// The peer's states held as bases, oldest first.
  const auto& remote_states() const { return ssp_.incoming().received_states(); }
  /// The receiver's consumer API for an append-only remote object (§7.5): see
  /// ssp::receiver::consume_new.
  template <class F> auto consume_remote(F&& extract) { return ssp_.incoming().consume_new(std::forward<F>(extract)); }

  // -- the datagram layer, as the role cores use it ------------------------------------------

  /// Client: whether the datagrams due now should leave from a fresh socket (§4.5);
  /// true starts the next 10 s before another hop.
  bool take_port_hop(time_point now) {
    if (!link_.datagram().should_hop(now)) return false;
    link_.datagram().hopped(now);
    return true;
  }
  /// Server: when the peer is forgotten if nothing in order arrives before (§4.3).
  time_point peer_expiry() const {
    const auto heard = link_.datagram().last_heard();
    return heard ? *heard + datagram::server_association_timeout : never;
  }
  /// When the newest in-order datagram arrived.
  std::optional<time_point> last_heard() const { return link_.datagram().last_heard(); }

  /// The local object, to change in place.
  Local& local() { return ssp_.outgoing().current_state(); }
  const Local& local() const { return ssp_.outgoing().current_state(); }
  /// The peer's newest object.
  const Remote& remote() const { return ssp_.incoming().newest_state(); }

  /// The main sender's counters with every further stream's added (the `retransmissions`,
  /// `path_resyncs`, `reliable_retransmissions` and `stall_resyncs` that the status file shows).
  ssp::sender_stats sender_totals() const {
    ssp::sender_stats t = ssp_.outgoing().stats();
    for (const auto& [id, s] : streams_) {
      const auto& o = s.ep.outgoing().stats();
      t.retransmissions += o.retransmissions;
      t.path_resyncs += o.path_resyncs;
      t.reliable_retransmissions += o.reliable_retransmissions;
      t.stall_resyncs += o.stall_resyncs;
    }
    return t;
  }

  /// The layers underneath, for the status file and tests.
  const endpoint_type& ssp() const { return ssp_; }
  const link_core& link() const { return link_; }

private:
  static datagram::address_family family_of(const peer_address& p) {
    return p.v6 ? datagram::address_family::ipv6 : datagram::address_family::ipv4;
  }

  struct stream {
    stream(time_point now, const ssp::sender_options& options)
        : ep(ssp::append_log{}, ssp::append_log{}, now, options) {}
    ssp::endpoint<ssp::append_log, ssp::append_log> ep;
    std::uint64_t delivered = 0;  ///< head of the peer's log already taken into the inbox
    /// Items taken from each new newest state as it arrives: a later state holds only
    /// its own diff's items, so waiting for the owner would lose those in between.
    ssp::log_delivery inbox;
  };

  void sync() {
    auto& out = ssp_.outgoing();
    out.set_rtt(link_.datagram().srtt_ms(), link_.datagram().rto());
    out.set_peer_known(peer_.has_value());
    out.set_reliable_path(reliable_now());
    for (auto& [id, s] : streams_) {
      auto& so = s.ep.outgoing();
      so.set_rtt(link_.datagram().srtt_ms(), link_.datagram().rto());
      so.set_peer_known(peer_.has_value());
      so.set_reliable_path(reliable_now());
    }
  }

  void open_agreed_streams(time_point now) {
    if (!negotiation_.agreed(extension::streams)) return;
    for (auto id : extensions_.streams)
      if (negotiation_.agreed(id) && !streams_.count(id)) streams_.emplace(id, stream(now, stream_options_));
  }

  void receive_streams(const transport::instruction_extensions& ext, time_point now) {
    for (const auto& f : ext.streams) {
      auto it = streams_.find(f.stream);
      if (it == streams_.end()) {
        link_.count_stream_drop();
        continue;
      }
      auto& s = it->second;
      const auto outcome = s.ep.receive(instruction_of(f), now);
      // No heartbeat repeats a stream's acknowledgement: a state heard again, or one
      // built on a state we never got, is answered, so the sender learns where we are.
      if (!f.diff.empty() &&
          (outcome == ssp::receive_outcome::duplicate || outcome == ssp::receive_outcome::unknown_base))
        s.ep.outgoing().ack_soon();
      if (outcome != ssp::receive_outcome::newest) continue;
      for (auto& item : ssp::take_new_items(s.ep.incoming(), s.delivered).items) s.inbox.items.push_back(std::move(item));
    }
    // The main object's traffic is the streams' sign of life: they send no heartbeats.
    for (auto& [id, s] : streams_) s.ep.outgoing().peer_heard(now);
  }

  static transport::stream_frame frame_of(std::uint32_t id, const transport::instruction& i) {
    return transport::stream_frame{id, i.old_num, i.new_num, i.ack_num, i.throwaway_num, i.diff};
  }
  static transport::instruction instruction_of(const transport::stream_frame& f) {
    transport::instruction i;
    i.old_num = f.old_num;
    i.new_num = f.new_num;
    i.ack_num = f.ack_num;
    i.throwaway_num = f.throwaway_num;
    i.diff = f.diff;
    return i;
  }

  link_core link_;
  std::optional<link_core> retired_;  ///< the link before the last rekey, to classify drops
  bool retired_notice_ = false;  ///< the retired link's client agreed to `attached_elsewhere`
  time_point next_notice_{};
  endpoint_type ssp_;
  Local initial_local_;
  Remote initial_remote_;
  ssp::sender_options stream_options_;
  datagram::role self_;
  std::optional<peer_address> peer_;
  path_traits path_;
  bool peer_reliable_ = false;  ///< server: the client says its path is a reliable stream
  extension_config extensions_;
  negotiation negotiation_;
  std::map<std::uint32_t, stream> streams_;
  std::uint64_t rekeys_ = 0;
};

}  // namespace mosh2::session
