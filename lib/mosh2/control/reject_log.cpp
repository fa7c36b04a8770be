// The reject log; see reject_log.hpp.

#include "mosh2/control/reject_log.hpp"

#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

namespace mosh2::control {

std::string reject_limiter::line(const source& s) {
  std::string reasons;
  for (const auto& r : s.reasons) reasons += (reasons.empty() ? "" : ", ") + r;
  return fmt::format("rejected {} datagrams from {} ({})", s.pending, s.shown, reasons);
}

void reject_limiter::emit(source& s, time_point now, std::vector<std::string>& out) {
  out.push_back(line(s));
  s.pending = 0;
  s.reasons.clear();
  s.last_line = now;
}

std::vector<std::string> reject_limiter::record(std::string_view address, std::uint16_t port,
                                                std::string_view reason, time_point now) {
  const bool v6 = address.find(':') != std::string_view::npos;
  std::string shown = v6 ? fmt::format("[{}]:{}", address, port) : fmt::format("{}:{}", address, port);
  auto it = sources_.find(shown);
  if (it == sources_.end()) make_room(now);
  source* s = nullptr;
  if (it != sources_.end()) {
    s = &it->second;
  } else if (sources_.size() < max_sources_) {
    source fresh;
    fresh.shown = shown;
    fresh.last_line = now - interval_;  // the first rejection of a source is logged at once
    s = &sources_.emplace(std::move(shown), std::move(fresh)).first->second;
  } else {
    s = &overflow_;
    s->shown = "other sources";
    reason = "table full";
  }
  ++s->pending;
  if (std::find(s->reasons.begin(), s->reasons.end(), reason) == s->reasons.end()) s->reasons.emplace_back(reason);
  next_due_ = std::min(next_due_, s->last_line + interval_);
  return due(now);
}

std::vector<std::string> reject_limiter::due(time_point now) {
  std::vector<std::string> out;
  if (now < next_due_) return out;
  next_due_ = never;
  for (auto& [key, s] : sources_) {
    if (s.pending == 0) continue;
    if (now - s.last_line >= interval_) emit(s, now, out);
    else next_due_ = std::min(next_due_, s.last_line + interval_);
  }
  if (overflow_.pending > 0) {
    if (now - overflow_.last_line >= interval_) emit(overflow_, now, out);
    else next_due_ = std::min(next_due_, overflow_.last_line + interval_);
  }
  return out;
}

std::vector<std::string> reject_limiter::flush() {
  std::vector<std::string> out;
  for (auto& [key, s] : sources_)
    if (s.pending > 0) emit(s, s.last_line, out);
  if (overflow_.pending > 0) emit(overflow_, overflow_.last_line, out);
  next_due_ = never;
  return out;
}

void reject_limiter::make_room(time_point now) {
  if (sources_.size() < max_sources_) return;
  // A source with nothing held back and no line for an interval can be forgotten: its
  // next rejection is logged at once anyway, exactly as if it were remembered.
  std::erase_if(sources_, [&](const auto& kv) { return kv.second.pending == 0 && now - kv.second.last_line >= interval_; });
}

reject_logger::reject_logger(bool to_stderr) : to_stderr_(to_stderr) {
  ::openlog("mosh2-server", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

reject_logger::~reject_logger() {
  write(limiter_.flush());
  ::closelog();
}

void reject_logger::record(std::string_view address, std::uint16_t port, std::string_view reason, time_point now) {
  write(limiter_.record(address, port, reason, now));
}

void reject_logger::write(const std::vector<std::string>& lines) {
  for (const auto& l : lines) {
    ::syslog(LOG_NOTICE, "%s", l.c_str());
    if (to_stderr_) std::fprintf(stderr, "mosh2-server[%d]: %s\n", static_cast<int>(::getpid()), l.c_str());
  }
}

}  // namespace mosh2::control
