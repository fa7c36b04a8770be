#pragma once
// The datagram and fragment layers composed for one end of a session: datagrams in,
// complete instructions out; instructions in, sealed datagrams out. No sockets here:
// the stage that owns them decides where datagrams come from and go to.

#include <optional>
#include <vector>

#include "mosh2/datagram/connection_core.hpp"
#include "mosh2/transport/fragment.hpp"
#include "mosh2/transport/instruction.hpp"

namespace mosh2::session {

/// Why an incoming datagram produced nothing (authentic-but-incomplete is not a drop).
struct link_drops {
  std::uint64_t truncated = 0;  ///< larger than the receive buffer
  std::uint64_t datagram = 0;   ///< failed the datagram layer (see datagram stats)
  std::uint64_t fragment = 0;   ///< failed reassembly, inflate or decode
  std::uint64_t old_key = 0;    ///< sealed under a key the link was rekeyed away from
  std::uint64_t stream = 0;     ///< stream frames for a stream that is not open
};

class link_core {
public:
  /// `carried` keeps the drop counters of the link this one replaces (a rekey).
  link_core(datagram::role self, const crypto::session_key& key, time_point now, link_drops carried = {})
      : datagram_(self, key, now), drops_(carried) {}

  /// What one authentic datagram yielded.
  struct arrival {
    std::optional<transport::instruction> instruction;  ///< set when it completed one
    bool in_order = false;  ///< newest sequence so far: a server follows its source address
  };

  /// Opens, reassembles and decodes; nothing when the datagram was dropped.
  std::optional<arrival> receive(bytes_view wire, time_point now, bool truncated, bool congestion) {
    if (truncated) {
      ++drops_.truncated;
      return std::nullopt;
    }
    auto opened = datagram_.open(wire, now, congestion);
    if (!opened) {
      ++drops_.datagram;
      return std::nullopt;
    }
    arrival a;
    a.in_order = opened->in_order;
    auto assembled = assembler_.add(opened->payload);
    if (!assembled) ++drops_.fragment;
    else if (*assembled) a.instruction = std::move(**assembled);
    return a;
  }

  /// Largest fragment payload: what the datagram layer can seal within the MTU, less
  /// the transport's fragment header (1214 on IPv4, 1178 on IPv6, 462 at the fallback).
  std::size_t fragment_payload_budget() const {
    return datagram_.fragment_budget() - transport::fragment_header_size;
  }

  /// The sealed datagrams that carry `in`, in order.
  std::vector<bytes> datagrams_for(const transport::instruction& in, time_point now) {
    std::vector<bytes> out;
    for (auto& f : fragmenter_.make_fragments(in, fragment_payload_budget()))
      out.push_back(datagram_.seal(f, now));
    return out;
  }

  /// Whether `wire` is authentic under this link's key (a retired link classifies
  /// datagrams from a client that still holds the old key). Counts nothing here.
  bool authentic(bytes_view wire, time_point now) { return datagram_.open(wire, now).has_value(); }
  /// Counts a datagram that a retired link found authentic (see authentic()).
  void count_old_key() { ++drops_.old_key; }
  /// Counts a stream frame for a stream that is not open.
  void count_stream_drop() { ++drops_.stream; }

  datagram::connection_core& datagram() { return datagram_; }
  const datagram::connection_core& datagram() const { return datagram_; }
  const transport::fragment_assembler& assembler() const { return assembler_; }
  const link_drops& drops() const { return drops_; }

private:
  datagram::connection_core datagram_;
  transport::fragmenter fragmenter_;
  transport::fragment_assembler assembler_;
  link_drops drops_;
};

}  // namespace mosh2::session
