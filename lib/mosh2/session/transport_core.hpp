#pragma once
// What Mosh 1.4 calls the Transport, as one core both programs share: the datagram and
// fragment layers (link_core) joined to an SSP endpoint, the peer's address, and the
// glue between them (RTT hand-off, round-trip success, roaming, the send MTU). A core:
// no sockets, no Asio, the time comes in as an argument. The stages around it read
// sockets and write datagrams; the role cores (server_core, client_core) own one.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mosh2/session/link_core.hpp"
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

/// What one datagram did to the transport.
struct datagram_outcome {
  bool authentic = false;  ///< passed the datagram layer
  bool roamed = false;     ///< the server now replies to this datagram's source
  /// Set when the datagram completed an instruction that SSP took in.
  std::optional<ssp::receive_outcome> instruction;
  /// The instruction was held back unread (see transport_core::receive).
  bool held_back = false;
};

/// One end of a session's transport (protocol §4-§7). `Local` is the object this end
/// sends, `Remote` the peer's.
template <ssp::synchronizable_state Local, ssp::synchronizable_state Remote> class transport_core {
public:
  using endpoint_type = ssp::endpoint<Local, Remote>;

  /// The client knows its peer from the start; the server learns it from the first
  /// authentic datagram.
  transport_core(datagram::role self, const crypto::session_key& key, Local local, Remote remote,
                 time_point now, ssp::sender_options options, std::optional<peer_address> peer)
      : link_(self, key, now), ssp_(std::move(local), std::move(remote), now, std::move(options)),
        self_(self), peer_(std::move(peer)) {
    if (peer_) link_.datagram().set_address_family(family_of(*peer_));
    ssp_.outgoing().set_peer_known(peer_.has_value());
  }

  /// One datagram from `from`. A complete instruction goes to SSP unless `accept_state`
  /// says no for its state: then only its acknowledgement is used and the peer will
  /// send that state again (the server holds back while its program is not reading).
  template <class AcceptState>
  datagram_outcome receive(bytes_view wire, const peer_address& from, time_point now, bool truncated,
                           bool congestion, AcceptState&& accept_state) {
    datagram_outcome out;
    auto arrival = link_.receive(wire, now, truncated, congestion);
    if (!arrival) return out;
    out.authentic = true;
    // Roaming: a server replies to the newest authentic in-order source (§4.3).
    if (self_ == datagram::role::server && arrival->in_order && (!peer_ || *peer_ != from)) {
      peer_ = from;
      link_.datagram().set_address_family(family_of(from));
      out.roamed = true;
    }
    if (!arrival->instruction) return out;
    const auto& inst = *arrival->instruction;
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
    std::vector<bytes> out;
    if (auto inst = ssp_.tick(now); inst && peer_) out = link_.datagrams_for(*inst, now);
    return out;
  }

  /// When tick() next has something to do.
  time_point next_deadline(time_point now) {
    sync();
    return ssp_.next_deadline(now);
  }

  /// A send failed with EMSGSIZE: the MTU falls back to 500 from now on.
  void send_too_big() { link_.datagram().mtu_exceeded(); }

  /// Server: forget the client after 40 s without an in-order datagram (§4.3); true
  /// when that just happened.
  bool expire_peer(time_point now) {
    if (self_ != datagram::role::server || !peer_ || !link_.datagram().association_expired(now)) return false;
    peer_.reset();
    ssp_.outgoing().set_peer_known(false);
    return true;
  }

  /// Where datagrams go; nothing while a server has not heard from a client.
  const std::optional<peer_address>& peer() const { return peer_; }

  /// The local object, to change in place.
  Local& local() { return ssp_.outgoing().current_state(); }
  const Local& local() const { return ssp_.outgoing().current_state(); }
  /// The peer's newest object.
  const Remote& remote() const { return ssp_.incoming().newest_state(); }

  endpoint_type& ssp() { return ssp_; }
  const endpoint_type& ssp() const { return ssp_; }
  link_core& link() { return link_; }
  const link_core& link() const { return link_; }

private:
  static datagram::address_family family_of(const peer_address& p) {
    return p.v6 ? datagram::address_family::ipv6 : datagram::address_family::ipv4;
  }

  void sync() {
    auto& out = ssp_.outgoing();
    out.set_rtt(link_.datagram().srtt_ms(), link_.datagram().rto());
    out.set_peer_known(peer_.has_value());
  }

  link_core link_;
  endpoint_type ssp_;
  datagram::role self_;
  std::optional<peer_address> peer_;
};

}  // namespace mosh2::session
