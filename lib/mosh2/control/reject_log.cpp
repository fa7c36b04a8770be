// The reject log; see reject_log.hpp.

#include "mosh2/control/reject_log.hpp"

#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

namespace mosh2::control {

namespace {
using queued = std::pair<time_point, std::string>;
// std::push_heap keeps the greatest on top; the earliest due time must be.
bool later(const queued& a, const queued& b) { return a.first > b.first; }
}  // namespace

std::string reject_limiter::line(const source& s) {
  std::string reasons;
  for (const auto& r : s.reasons) reasons += (reasons.empty() ? "" : ", ") + r;
  return fmt::format("rejected {} datagrams from {} ({})", s.pending, s.address, reasons);
}

void reject_limiter::emit(source& s, time_point now, std::vector<std::string>& out) {
  out.push_back(line(s));
  s.pending = 0;
  s.reasons.clear();
  s.last_line = now;
}

void reject_limiter::schedule(time_point when, const std::string& address) {
  ++steps_;
  queue_.emplace_back(when, address);
  std::push_heap(queue_.begin(), queue_.end(), later);
}

void reject_limiter::evict_oldest() {
  ++steps_;
  source& old = lru_.back();
  // A logged address's held-back count still reaches the log, as "other sources"; an
  // address that never became persistent is forgotten with its count (the status file
  // counts every rejected datagram anyway).
  if (old.reported && old.pending > 0) {
    if (overflow_.pending == 0) overflow_.address = "other sources";
    overflow_.pending += old.pending;
    if (overflow_.reasons.empty()) overflow_.reasons.emplace_back("table full");
  }
  index_.erase(old.address);
  lru_.pop_back();
}

std::vector<std::string> reject_limiter::record(std::string_view address, std::string_view reason,
                                                time_point now) {
  std::vector<std::string> out;
  ++steps_;
  const std::string key(address);
  auto it = index_.find(key);
  if (it == index_.end()) {
    if (index_.size() >= std::max<std::size_t>(policy_.max_sources, 1)) evict_oldest();
    lru_.emplace_front();
    lru_.front().address = key;
    lru_.front().first = now;
    it = index_.emplace(key, lru_.begin()).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second);
  }
  source& s = *it->second;
  if (s.streak > 0 && now - s.last >= policy_.forget_after) {
    if (s.reported && s.pending > 0) emit(s, now, out);
    s = source{};
    s.address = key;
    s.first = now;
  }
  s.last = now;
  ++s.streak;
  ++s.pending;
  if (std::find(s.reasons.begin(), s.reasons.end(), reason) == s.reasons.end()) s.reasons.emplace_back(reason);
  if (!s.reported) {
    if (s.streak >= policy_.min_rejects && now - s.first >= policy_.min_span) {
      s.reported = true;
      emit(s, now, out);
    }
  } else if (now - s.last_line >= policy_.interval) {
    emit(s, now, out);
  } else if (s.pending == 1) {
    schedule(s.last_line + policy_.interval, s.address);  // the first count held back
  }
  auto more = due(now);
  out.insert(out.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  return out;
}

std::vector<std::string> reject_limiter::due(time_point now) {
  std::vector<std::string> out;
  while (!queue_.empty() && queue_.front().first <= now) {
    ++steps_;
    std::pop_heap(queue_.begin(), queue_.end(), later);
    const std::string address = std::move(queue_.back().second);
    queue_.pop_back();
    const auto it = index_.find(address);
    if (it == index_.end()) continue;  // evicted: its count went to overflow_
    source& s = *it->second;
    if (!s.reported || s.pending == 0) continue;
    if (now - s.last_line >= policy_.interval) emit(s, now, out);
    else schedule(s.last_line + policy_.interval, s.address);
  }
  if (overflow_.pending > 0 && now - overflow_.last_line >= policy_.interval) emit(overflow_, now, out);
  // Stale entries (evicted addresses) leave the queue only when they come up; rebuild it
  // when they could make it outgrow the table. Amortized O(1): it takes that many pushes.
  if (queue_.size() > 2 * std::max<std::size_t>(policy_.max_sources, 1)) {
    std::erase_if(queue_, [&](const queued& q) {
      const auto it = index_.find(q.second);
      return it == index_.end() || it->second->pending == 0;
    });
    std::make_heap(queue_.begin(), queue_.end(), later);
  }
  return out;
}

time_point reject_limiter::next_due() const {
  time_point next = queue_.empty() ? never : queue_.front().first;
  if (overflow_.pending > 0) next = std::min(next, overflow_.last_line + policy_.interval);
  return next;
}

std::vector<std::string> reject_limiter::flush() {
  std::vector<std::string> out;
  for (auto it = lru_.rbegin(); it != lru_.rend(); ++it)
    if (it->reported && it->pending > 0) emit(*it, it->last, out);
  if (overflow_.pending > 0) emit(overflow_, overflow_.last_line, out);
  queue_.clear();
  return out;
}

reject_logger::reject_logger(bool to_stderr) : to_stderr_(to_stderr) {
  ::openlog("mosh2-server", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

reject_logger::~reject_logger() {
  write(limiter_.flush());
  ::closelog();
}

void reject_logger::record(std::string_view address, std::string_view reason, time_point now) {
  write(limiter_.record(address, reason, now));
}

void reject_logger::write(const std::vector<std::string>& lines) {
  for (const auto& l : lines) {
    ::syslog(LOG_NOTICE, "%s", l.c_str());
    if (to_stderr_) std::fprintf(stderr, "mosh2-server[%d]: %s\n", static_cast<int>(::getpid()), l.c_str());
  }
}

}  // namespace mosh2::control
