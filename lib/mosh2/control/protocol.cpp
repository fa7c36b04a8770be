// The control protocol; see protocol.hpp. nlohmann/json stays in this file.

#include "mosh2/control/protocol.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mosh2::control {
namespace {

using json = nlohmann::ordered_json;

/// Longest shutdown reason kept for the log; the request's size bounds it anyway.
constexpr std::size_t max_reason = 200;

std::string line_of(const json& j) { return j.dump() + "\n"; }

std::string error_reply(std::string_view why) {
  return line_of(json{{"control", control_version}, {"ok", false}, {"error", why}});
}

}  // namespace

result<request, std::string> parse_request(std::string_view line) {
  if (line.size() >= max_request_bytes) return failure{std::string("request too long")};
  const json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return failure{std::string("request is not a JSON object")};
  const auto version = j.find("control");
  if (version == j.end() || !version->is_number_integer())
    return failure{std::string("request has no \"control\" version")};
  if (*version != control_version)
    return failure{fmt::format("control version {} is not supported (this session speaks {})", version->dump(),
                               control_version)};
  const auto what = j.find("request");
  if (what == j.end() || !what->is_string()) return failure{std::string("request has no \"request\" name")};
  if (*what == "status") return request{status_request{}};
  if (*what == "rotate_key") return request{rotate_key_request{}};
  if (*what == "shutdown") {
    std::string reason = "control request";
    if (const auto r = j.find("reason"); r != j.end()) {
      if (!r->is_string()) return failure{std::string("\"reason\" must be a string")};
      reason = r->get<std::string>().substr(0, max_reason);
    }
    return request{shutdown_request(std::move(reason))};
  }
  return failure{fmt::format("unknown request {}", what->dump())};
}

std::string format_request(const request& r) {
  json j = {{"control", control_version}};
  if (const auto* s = std::get_if<shutdown_request>(&r)) {
    j["request"] = "shutdown";
    j["reason"] = s->reason;
  } else if (std::holds_alternative<rotate_key_request>(r)) {
    j["request"] = "rotate_key";
  } else {
    j["request"] = "status";
  }
  return line_of(j);
}

request_buffer::state request_buffer::feed(std::string_view data) {
  if (state_ != state::incomplete) return state_;
  const auto newline = data.find('\n');
  const auto take = data.substr(0, newline);
  if (line_.size() + take.size() >= max_request_bytes) {
    state_ = state::oversize;
    line_.clear();
    return state_;
  }
  line_.append(take);
  if (newline != std::string_view::npos) state_ = state::complete;
  return state_;
}

request_buffer::state request_buffer::end_of_input() {
  if (state_ == state::incomplete && !line_.empty()) state_ = state::complete;
  return state_;
}

std::string respond(std::string_view request_line, control_handler& handler) {
  auto parsed = parse_request(request_line);
  if (!parsed) return error_reply(parsed.error());
  if (auto* s = std::get_if<shutdown_request>(&*parsed)) {
    handler.request_shutdown(std::move(s->reason));
    return line_of(json{{"control", control_version}, {"ok", true}});
  }
  if (std::holds_alternative<rotate_key_request>(*parsed)) {
    auto r = handler.rotate_key();
    if (!r) return error_reply(r.error());
    return line_of(json{{"control", control_version}, {"ok", true}, {"key", r->key}, {"port", r->port}});
  }
  json status = json::parse(handler.status_json(), nullptr, false);
  if (status.is_discarded() || !status.is_object()) return error_reply("the session's status is unavailable");
  return line_of(json{{"control", control_version}, {"ok", true}, {"status", std::move(status)}});
}

std::string oversize_reply() { return error_reply(fmt::format("request longer than {} bytes", max_request_bytes)); }

std::string refused_reply() { return error_reply("permission denied: not this session's user"); }

result<reply, std::string> parse_reply(std::string_view line) {
  if (line.size() > max_reply_bytes) return failure{std::string("reply too long")};
  const json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return failure{std::string("reply is not a JSON object")};
  const auto version = j.find("control");
  if (version == j.end() || *version != control_version) return failure{std::string("reply has another control version")};
  const auto ok = j.find("ok");
  if (ok == j.end() || !ok->is_boolean()) return failure{std::string("reply has no \"ok\"")};
  reply r;
  r.ok = ok->get<bool>();
  if (!r.ok) {
    const auto e = j.find("error");
    r.error = e != j.end() && e->is_string() ? e->get<std::string>() : "unknown error";
  }
  if (const auto s = j.find("status"); s != j.end()) {
    if (!s->is_object()) return failure{std::string("reply's status is not an object")};
    r.status = s->dump();
  }
  if (const auto k = j.find("key"); k != j.end()) {
    const auto p = j.find("port");
    if (!k->is_string() || p == j.end() || !p->is_number_unsigned() || *p == 0 || *p > 65535)
      return failure{std::string("reply's key or port is malformed")};
    r.key = k->get<std::string>();
    r.port = p->get<unsigned>();
  }
  return r;
}

}  // namespace mosh2::control
