#pragma once
// The status dump: each live mosh2 process keeps one JSON file describing its session
// (peer, RTT, last contact, counters) in a private directory, rewritten at most once a
// second; `mosh2-status` gathers them for scripts. The schema is docs/status.md, and
// nothing secret (the key) is ever in it.

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mosh2/datagram/connection_core.hpp"
#include "mosh2/session/link_core.hpp"
#include "mosh2/util/clock.hpp"

namespace mosh2::session {

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

/// One process's session as the status file describes it. Times are steady
/// time_points; to_json turns them into Unix milliseconds.
struct session_status {
  std::string role;  ///< "server" or "client"
  pid_t pid = 0;
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
  /// Session management (issue 12). The session fills these; the document decides names.
  std::string session_state;  ///< "never-connected", "connected", "detached", "shutting-down"
  std::optional<time_point> last_keystroke;  ///< newest user input (server: applied; client: typed)
  std::uint64_t bytes_sent = 0;      ///< UDP payload bytes sent (sealed datagrams)
  std::uint64_t bytes_received = 0;  ///< UDP payload bytes of authentic datagrams
  std::vector<std::string> command;  ///< server: the program it runs (argv)
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
  link_drops link;
};

/// The session's state as the status document names it: "shutting-down" once the
/// shutdown handshake began, "never-connected" before the peer was first heard,
/// "detached" when it has not been heard for longer than detached_after, else
/// "connected". to_json uses this when the session left session_state empty.
std::string derive_session_state(const session_status& s, time_point now);

/// The link-layer half of a status (datagram and byte counters, RTT, last contact),
/// which both programs fill in the same way.
void fill_link_status(session_status& s, const link_core& link);

/// The SSP half: state numbers and whether the shutdown handshake has begun.
template <class Endpoint> void fill_ssp_status(session_status& s, const Endpoint& ssp) {
  s.state_sent = ssp.outgoing().sent_num();
  s.state_acked = ssp.outgoing().acked_num();
  s.state_received = ssp.incoming().newest_num();
  s.shutting_down = ssp.outgoing().shutdown_in_progress();
}

/// The file's JSON text. `now` anchors the steady times to the wall clock.
std::string to_json(const session_status& s, time_point now);

/// Where status files go, most preferred first: $MOSH2_STATUS_DIR alone when set;
/// otherwise $XDG_RUNTIME_DIR/mosh2 and then /tmp/mosh2-<uid> (a detached server
/// outlives the login that owned XDG_RUNTIME_DIR unless lingering is enabled).
/// Empty when MOSH2_STATUS_DIR is set to the empty string: status files are off.
std::vector<std::filesystem::path> status_directories();

/// Creates `dir` (mode 0700) if missing and checks that it is a directory of ours that
/// nobody else can write; the reason when it is not usable.
std::optional<std::string> prepare_status_directory(const std::filesystem::path& dir);

/// The file a process keeps: written whole and renamed into place, so a reader never
/// sees half a file; removed when the writer goes. Failures are quiet (a status file
/// must never disturb a session) but the newest reason is kept for logs.
class status_file {
public:
  status_file(std::vector<std::filesystem::path> candidates, pid_t pid);
  ~status_file();
  status_file(const status_file&) = delete;
  status_file& operator=(const status_file&) = delete;

  /// Replaces the file's contents with `json`; tries the next directory when the
  /// current one stops working. False when no directory took it.
  bool write(const std::string& json);
  /// The file last written, if any.
  const std::optional<std::filesystem::path>& path() const { return written_; }
  /// Why the newest write failed (empty after a success).
  const std::string& last_error() const { return error_; }

private:
  std::vector<std::filesystem::path> candidates_;
  std::string name_;
  std::optional<std::filesystem::path> written_;
  std::string error_;
};

/// What a session owns to publish its status: the file, and when to rewrite it (at
/// most once per status_interval, and only when something happened since).
class status_reporter {
public:
  explicit status_reporter(std::vector<std::filesystem::path> candidates = status_directories())
      : file_(std::move(candidates), ::getpid()) {}

  /// Records that the session changed.
  void touch() { dirty_ = true; }
  /// Records that only counters moved (a heartbeat came or went): the file catches up
  /// within status_idle_interval, on a wake-up the session has anyway. An idle session
  /// then rewrites its file twice a minute rather than on every heartbeat; each rewrite
  /// costs a filesystem wake-up (measured: bench/idle_wakeups.py). The control socket
  /// always answers with the live values.
  void touch_idle() { idle_dirty_ = true; }
  /// True when a write is due at `now`.
  bool due(time_point now) const {
    return (dirty_ && now >= next_) || (idle_dirty_ && now >= last_ + status_idle_interval);
  }
  /// The next time a write can be due, or `never`.
  time_point next_deadline() const { return dirty_ ? next_ : never; }
  /// Writes `s`. Returns the reason of the first failure, once, for the session's log.
  std::optional<std::string> publish(const session_status& s, time_point now);
  const status_file& file() const { return file_; }

private:
  status_file file_;
  bool dirty_ = true;
  bool idle_dirty_ = false;
  bool warned_ = false;
  time_point next_{};
  time_point last_{};
};

/// Names the drop that `link` counted since the previous call, with the status
/// document's names ("bad_tag", "wrong_direction", ...), for the reject log.
class drop_namer {
public:
  std::string_view newest(const link_core& link);

private:
  datagram::stats seen_;
  link_drops seen_link_;
};

/// A status file larger than this is not a status file (they are ~2 KiB).
inline constexpr std::size_t max_status_file_bytes = 64 * 1024;
/// A status file whose process started more than this after the file's
/// `started_unix_ms` belongs to a newer process that reused the pid. The margin covers
/// /proc's whole-second boot time and the moments between process start and session
/// start.
inline constexpr std::chrono::milliseconds pid_reuse_margin{3000};

/// One status file read back by `mosh2-status`.
struct status_entry {
  std::filesystem::path path;
  pid_t pid = 0;
  std::string json;  ///< the file's text, already checked to parse as a JSON object
  std::optional<std::filesystem::path> control;  ///< `<pid>.sock` beside it, if present
};

/// Something the reader skipped, and whether to say so without -v.
struct read_problem {
  std::string text;
  bool always = false;  ///< false: only with -v (a stranger's file, a stale entry)
  bool directory = false;  ///< a whole directory was not read
};

/// How read_status_files treats what it finds.
struct read_options {
  bool prune_stale = true;     ///< remove the files and sockets of processes that are gone
  bool explicit_dirs = false;  ///< the user named the directories: a missing one is a problem
};

/// Reads every `<pid>.json` in `dirs` (first directory wins for a pid). A directory is
/// read only if it passes the writer's checks (control::check_private_directory). A
/// file is read only if it opens with O_NOFOLLOW|O_NONBLOCK as a regular file of this
/// user of at most max_status_file_bytes, parses as a JSON object whose `pid` matches
/// its name, and its process is alive and not a newer one that reused the pid (see
/// pid_reuse_margin). Everything skipped is described in `problems`.
std::vector<status_entry> read_status_files(const std::vector<std::filesystem::path>& dirs,
                                            const read_options& options, std::vector<read_problem>& problems);

/// When process `pid` started, in Unix milliseconds (from /proc), if it exists.
std::optional<std::int64_t> process_start_unix_ms(pid_t pid);

/// Wall-clock now in Unix milliseconds.
std::int64_t unix_ms_now();

/// The document `mosh2-status` prints: {"schema", "generated_unix_ms", "sessions": [...]}.
std::string status_document(const std::vector<status_entry>& entries);

/// A session as mosh2-status's table and selections see it, read from its JSON.
struct session_view {
  pid_t pid = 0;
  std::string role;
  std::string state;  ///< session_state
  std::string peer;   ///< ADDR:PORT or "-"
  std::optional<std::int64_t> since_contact_ms;    ///< at `now_unix_ms`
  std::optional<std::int64_t> since_keystroke_ms;  ///< at `now_unix_ms`
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t datagrams_sent = 0;
  std::uint64_t datagrams_received = 0;
  std::string command;  ///< argv joined with spaces ("-" for a client)
};

/// Reads the fields of one session object; nothing when it is not one.
std::optional<session_view> view_of(const std::string& session_json, std::int64_t now_unix_ms);

/// The table for people: one header line and one line per session.
std::string status_table(const std::vector<session_view>& sessions);

/// One line for a shell profile about the detached sessions, e.g. "2 detached mosh2
/// sessions (pids 123, 456); mosh2-status for details"; empty when there are none.
std::string brief_line(const std::vector<session_view>& sessions);

/// Whether `kill --detached-for D` ends this session: a server whose state is
/// "detached" and whose client has not been heard for at least D.
bool detached_for_at_least(const session_view& s, std::chrono::milliseconds d);

}  // namespace mosh2::session
