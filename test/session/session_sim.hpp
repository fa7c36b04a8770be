#pragma once
// Two session cores joined by a simulated network: a server_core with a scripted
// program on its pty, a client_core typing, and one lossy, delaying, reordering link
// each way that carries sealed datagrams (the real bytes, through the real datagram,
// fragment and SSP layers). With use_stream() the client can also start the byte-stream
// path: a FIFO each way with a delay and a bandwidth, which reaches the server from the
// relay's address, as through ssh and `mosh2-server stream-relay`. A fake clock jumps
// from deadline to deadline, so a whole session runs in milliseconds of CPU with no sockets.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "mosh2/crypto/session_key.hpp"
#include "mosh2/session/client_core.hpp"
#include "mosh2/session/server_core.hpp"

namespace mosh2::session::test {

/// How one direction treats a datagram.
struct link_model {
  double loss = 0.0;        ///< probability a datagram is lost
  int min_delay_ms = 5;     ///< one-way delay range; a range reorders
  int max_delay_ms = 5;
  double duplicate = 0.0;   ///< probability of a second copy
};

/// One direction of the network.
class sim_link {
public:
  sim_link(link_model m, std::uint64_t seed) : model_(m), gen_(seed) {}

  void send(bytes datagram, peer_address from, time_point now) {
    ++sent_;
    history.push_back(datagram);
    const int copies = chance(model_.duplicate) ? 2 : 1;
    duplicated_ += static_cast<std::uint64_t>(copies - 1);
    for (int i = 0; i < copies; ++i) {
      if (chance(model_.loss) || blackout_) {
        ++lost_;
        continue;
      }
      std::uniform_int_distribution<int> delay(model_.min_delay_ms, model_.max_delay_ms);
      queue_.push_back({now + milliseconds(delay(gen_)), order_++, datagram, from});
    }
  }
  std::optional<time_point> next_due() const {
    if (queue_.empty()) return std::nullopt;
    return std::min_element(queue_.begin(), queue_.end(), earlier)->due;
  }
  struct in_flight {
    time_point due;
    std::uint64_t order;
    bytes datagram;
    peer_address from;
  };
  std::vector<in_flight> take_due(time_point now) {
    auto split = std::partition(queue_.begin(), queue_.end(), [&](const in_flight& p) { return p.due > now; });
    std::vector<in_flight> due(std::make_move_iterator(split), std::make_move_iterator(queue_.end()));
    queue_.erase(split, queue_.end());
    std::sort(due.begin(), due.end(), earlier);
    for (const auto& p : due) {
      if (p.order < newest_) ++reordered_;
      newest_ = std::max(newest_, p.order);
    }
    return due;
  }
  void set_blackout(bool on) { blackout_ = on; }
  /// Every datagram handed to send(), for replays.
  std::vector<bytes> history;
  std::uint64_t sent() const { return sent_; }
  std::uint64_t lost() const { return lost_; }
  std::uint64_t duplicated() const { return duplicated_; }
  std::uint64_t reordered() const { return reordered_; }

private:
  static bool earlier(const in_flight& a, const in_flight& b) {
    return a.due != b.due ? a.due < b.due : a.order < b.order;
  }
  bool chance(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(gen_) < p; }

  link_model model_;
  std::mt19937_64 gen_;
  std::vector<in_flight> queue_;
  std::uint64_t order_ = 0, newest_ = 0, sent_ = 0, lost_ = 0, duplicated_ = 0, reordered_ = 0;
  bool blackout_ = false;
};

/// One direction of a framed byte stream (ssh's stdio): nothing lost or reordered, a
/// fixed delay, and a bandwidth, so that a burst queues and its acknowledgement comes late.
class sim_stream {
public:
  sim_stream(int delay_ms = 40, double bytes_per_ms = 200) : delay_(delay_ms), rate_(bytes_per_ms) {}
  void send(bytes datagram, time_point now) {
    bytes_ += datagram.size() + 4;  // and its length prefix
    history.push_back(datagram);
    if (drop_ > 0) {
      --drop_;
      return;
    }
    const auto wire = milliseconds(static_cast<milliseconds::rep>(static_cast<double>(datagram.size() + 4) / rate_));
    free_at_ = std::max(free_at_, now) + wire;
    queue_.push_back({free_at_ + delay_, std::move(datagram)});
  }
  std::optional<time_point> next_due() const {
    if (queue_.empty()) return std::nullopt;
    return queue_.front().first;
  }
  std::vector<bytes> take_due(time_point now) {
    std::vector<bytes> due;
    while (!queue_.empty() && queue_.front().first <= now) {
      due.push_back(std::move(queue_.front().second));
      queue_.erase(queue_.begin());
    }
    return due;
  }
  /// Loses the next `n` datagrams after all (a relay's socket buffer that overflowed).
  void drop_next(int n) { drop_ = n; }
  /// The stream ended: what was in it is gone.
  void cut() { queue_.clear(); }
  std::uint64_t bytes_sent() const { return bytes_; }
  std::vector<bytes> history;

private:
  milliseconds delay_;
  double rate_;
  time_point free_at_{};
  std::vector<std::pair<time_point, bytes>> queue_;
  std::uint64_t bytes_ = 0;
  int drop_ = 0;
};

/// The program on the server's pty: records every byte it reads, echoes them if asked,
/// and can stop reading (a write to its pty then stays unfinished).
struct sim_program {
  bool reading = true;
  bool echo = true;
  std::string input;                 ///< every byte it read, in order
  std::vector<std::string> history;  ///< "w:<n>" and "r:WxH" in the order they happened
  std::optional<program_op> pending;  ///< handed out, not carried out yet
};

inline crypto::session_key test_key() {
  crypto::session_key::raw_type raw{};
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return crypto::session_key(raw);
}

inline bytes fixed_chaff(std::size_t n) { return bytes(n, 'c'); }

/// What each end announces (docs/protocol.md, "Extensions"); an empty `supported`
/// makes that end behave as a stock Mosh 1.4 peer on the wire.
struct sim_extensions {
  extension_config server;
  extension_config client;
};

/// A whole session on a fake clock.
class session_sim {
public:
  /// The server's program queue cap in these tests: small, so that holding back shows.
  static constexpr std::size_t input_cap = 256 * 1024;

  explicit session_sim(link_model up = {}, link_model down = {}, std::uint64_t seed = 1, sim_extensions ext = {},
                       std::size_t history_lines = terminal::default_history_lines)
      : now_(time_point{} + std::chrono::hours(1)),
        ext_(std::move(ext)),
        history_lines_(history_lines),
        server_(server_config(), now_),
        client_(std::in_place, client_config(test_key()), now_),
        up_(up, seed),
        down_(down, seed * 7919 + 1) {}

  server_core& server() { return server_; }
  client_core& client() { return *client_; }
  /// A new client process with `key` takes the old one's place (it starts from the
  /// initial state, as after an attach); the old one is gone.
  void replace_client(const crypto::session_key& key) { client_.emplace(client_config(key), now_); }

  /// A client that can start the byte-stream path (as with a stream command), with
  /// `mode`; call before the first run. The stream reaches the server from
  /// stream_address, as the relay's datagrams do.
  void use_stream(transport_mode mode, std::chrono::seconds udp_timeout = std::chrono::seconds(5)) {
    transport_ = mode;
    udp_timeout_ = udp_timeout;
    client_.emplace(client_config(test_key()), now_);
  }
  sim_stream& stream_up() { return stream_up_; }
  sim_stream& stream_down() { return stream_down_; }
  /// Whether the stream is running (the client started it and has not stopped it).
  bool stream_running() const { return stream_running_; }
  /// Starts of the stream the client asked for.
  int stream_starts = 0;
  /// While set, a start of the stream fails at once with this reason (ssh cannot connect).
  std::optional<std::string> stream_refuses;
  /// Where the stream's datagrams reach the server from.
  peer_address stream_address{"127.0.0.1", 40000, false};

  /// UDP blocked both ways (or open again), as a firewall would.
  void block_udp(bool on) {
    up_.set_blackout(on);
    down_.set_blackout(on);
  }

  sim_program& program() { return program_; }
  sim_link& up() { return up_; }
  sim_link& down() { return down_; }
  time_point now() const { return now_; }
  /// The address the client's datagrams come from (changes when it roams).
  peer_address client_address{"127.0.0.1", 50000, false};
  /// Every program signal the server asked for.
  std::vector<int> signals;
  /// Every byte the client wrote to its terminal (after its open_screen()).
  std::string client_output;
  /// The most datagrams the client sent in one turn (one instruction's fragments).
  std::size_t largest_client_burst = 0;

  /// Runs until `until` (fake time), or `max_steps` steps; returns the steps taken.
  std::size_t run_for(milliseconds span, std::size_t max_steps = 200000) {
    const time_point until = now_ + span;
    std::size_t steps = 0;
    while (steps++ < max_steps) {
      step();
      time_point next = std::min(server_deadline_, client_deadline_);
      if (auto d = up_.next_due()) next = std::min(next, *d);
      if (auto d = down_.next_due()) next = std::min(next, *d);
      if (auto d = stream_up_.next_due()) next = std::min(next, *d);
      if (auto d = stream_down_.next_due()) next = std::min(next, *d);
      // At least a millisecond a step: a core that keeps asking for "now" cannot spin.
      next = std::max(next, now_ + milliseconds(1));
      if (next > until) break;
      now_ = next;
    }
    now_ = std::max(now_, until);
    step();
    return steps;
  }

  /// One turn at the current time, as the session runner takes it: deliveries, then a
  /// turn of each core, whose datagrams go on the links; the server takes further turns
  /// while its program carries out the operations it hands out.
  void step() {
    for (auto& p : up_.take_due(now_)) absorb(server_.handle(incoming_datagram{p.datagram, p.from}, now_));
    for (auto& d : stream_up_.take_due(now_)) absorb(server_.handle(incoming_datagram{d, stream_address}, now_));
    for (auto& p : down_.take_due(now_)) (void)client_->handle(incoming_datagram{p.datagram, {}}, now_);
    for (auto& d : stream_down_.take_due(now_)) (void)client_->handle(stream_datagram{incoming_datagram{d, {}}}, now_);
    auto c = client_->handle(turn{}, now_);
    if (c.stop_stream) stop_stream();
    if (c.start_stream) start_stream();
    largest_client_burst = std::max(largest_client_burst, c.datagrams.size());
    client_output += c.screen;
    for (auto& d : c.datagrams) {
      if (c.to_stream && stream_running_) {
        stream_up_.send(d, now_);
        if (!c.also_udp) continue;
      }
      up_.send(std::move(d), client_address, now_);
    }
    client_exit = c.exit;
    client_deadline_ = c.deadline;
    for (int guard = 0; guard < 10000; ++guard) {
      auto s = server_.handle(turn{}, now_);
      // The relay's answers go back through the stream while it runs; else nowhere.
      const bool to_relay = server_.transport().peer() == stream_address;
      for (auto& d : s.datagrams) {
        if (!to_relay) down_.send(std::move(d), {"127.0.0.1", 60001, false}, now_);
        else if (stream_running_) stream_down_.send(std::move(d), now_);
      }
      server_exit = s.exit;
      server_deadline_ = s.deadline;
      if (s.next_op) program_.pending = std::move(s.next_op);
      absorb(std::move(s));
      if (!run_program_op()) break;
    }
  }

  /// The exit status each core's last turn reported, if it is over.
  std::optional<int> server_exit, client_exit;

  /// Types `keys` on the client now.
  void type(std::string_view keys) { (void)client_->handle(keyboard_input{keys}, now_); }

private:
  server_core_config server_config() {
    server_core_config c(test_key());
    c.random = fixed_chaff;
    c.program_input_cap = input_cap;
    c.extensions = ext_.server;
    c.history_lines = history_lines_;
    return c;
  }
  client_core_config client_config(const crypto::session_key& key) {
    client_core_config c(key);
    c.extensions = ext_.client;
    c.transport = transport_;
    c.stream_possible = transport_ != transport_mode::udp;
    c.udp_timeout = udp_timeout_;
    c.server = {"127.0.0.1", 60001, false};
    c.term = "xterm-256color";
    c.random = fixed_chaff;
    return c;
  }

  void start_stream() {
    stop_stream();
    ++stream_starts;
    if (stream_refuses) {
      (void)client_->handle(stream_ended{*stream_refuses}, now_);
      return;
    }
    stream_running_ = true;
  }
  void stop_stream() {
    stream_running_ = false;
    stream_up_.cut();
    stream_down_.cut();
  }

  void absorb(server_actions a) {
    for (auto sig : a.program_signals) signals.push_back(sig.signo);
  }

  /// Carries out the operation the server handed out, if the program can; true when
  /// one was finished (the server then hands out the next on its next turn).
  bool run_program_op() {
    if (!program_.pending) return false;
    if (auto* r = std::get_if<pty_resize>(&*program_.pending)) {
      program_.history.push_back("r:" + std::to_string(r->width) + "x" + std::to_string(r->height));
    } else {
      if (!program_.reading) return false;
      const auto data = std::get<pty_write>(*program_.pending).data;
      program_.input += data;
      program_.history.push_back("w:" + std::to_string(data.size()));
      if (program_.echo) absorb(server_.handle(program_output{data}, now_));
    }
    program_.pending.reset();
    absorb(server_.handle(program_op_finished{}, now_));
    return true;
  }

  time_point now_;
  sim_extensions ext_;
  std::size_t history_lines_;
  // Before client_, whose config reads them.
  transport_mode transport_ = transport_mode::udp;
  std::chrono::seconds udp_timeout_ = default_udp_timeout;
  time_point server_deadline_{}, client_deadline_{};  // from each core's last turn
  server_core server_;
  std::optional<client_core> client_;
  sim_program program_;
  sim_link up_;
  sim_link down_;
  sim_stream stream_up_, stream_down_;
  bool stream_running_ = false;
};

/// The instructions in `sent` (one direction's datagrams, in send order) as the peer
/// with `key` would decode them; datagrams not authentic under `key` are counted.
struct opened {
  std::vector<transport::instruction> instructions;
  std::vector<std::uint64_t> seqs;
  std::size_t not_authentic = 0;
};
inline opened open_all(const std::vector<bytes>& sent, datagram::role receiver, const crypto::session_key& key,
                std::size_t from = 0) {
  opened out;
  datagram::connection_core dc(receiver, key, time_point{});
  transport::fragment_assembler assembler;
  for (std::size_t i = from; i < sent.size(); ++i) {
    auto d = dc.open(sent[i], time_point{});
    if (!d) {
      ++out.not_authentic;
      continue;
    }
    out.seqs.push_back(d->seq);
    auto a = assembler.add(d->payload);
    if (a && *a) out.instructions.push_back(std::move(**a));
  }
  return out;
}

/// Row `r` of a screen as text (wide-cell continuations skipped).
inline std::string row_text(const terminal::framebuffer& fb, int r) {
  std::string s;
  for (int c = 0; c < fb.width(); ++c) s += fb.cell_at(r, c).text().empty() ? " " : std::string(fb.cell_at(r, c).text());
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace mosh2::session::test
