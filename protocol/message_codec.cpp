// The JSON forms of the protocol messages (messages.h): the envelope and one body per
// message type. docs/protocol.md is the normative description; tests/protocol/golden/
// pins the exact bytes. The same rules as codec.cpp: deterministic encoding, liberal in
// unknown fields, strict in what is read.
#include <array>
#include <boost/json.hpp>
#include <charconv>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "protocol/agent_health.h"
#include "protocol/codec.h"
#include "protocol/json_fields.h"
#include "protocol/messages.h"

namespace aifed {
namespace {

namespace json = boost::json;
using namespace json_fields;

constexpr std::array<std::string_view, std::variant_size_v<Body>> kTypeNames = {
    "HELLO",  "WELCOME", "CAPACITY", "HEARTBEAT", "DISPATCH",    "DISPATCH_ACK", "JOB_STATUS",
    "CANCEL", "ACK",     "ERROR",    "JOB_USAGE", "LOG_REQUEST", "LOG_DATA",     "MAINTENANCE",
};

json::object bodyToJson(const Hello& m) {
  json::object o;
  o["agent_version"] = m.agent_version;
  o["backend"] = m.backend;
  json::array jobs;
  for (const JobReport& j : m.jobs) {
    json::object jo;
    jo["job_id"] = j.job_id;
    jo["attempt"] = j.attempt;
    jo["local_id"] = j.local_id;
    jo["state"] = jobStateName(j.state);
    if (j.seq != 0) jo["seq"] = j.seq;  // 1.1 fields only when known: 1.0 bytes otherwise
    jobs.emplace_back(std::move(jo));
  }
  o["jobs"] = std::move(jobs);
  if (m.incarnation != 0) o["incarnation"] = m.incarnation;
  if (m.rules) o["rules"] = toJson(*m.rules);
  return o;
}

json::object bodyToJson(const Welcome& m) {
  json::object o;
  o["coordinator_version"] = m.coordinator_version;
  o["protocol_version"] = m.protocol_version;
  o["heartbeat_interval_ms"] = m.heartbeat_interval.count();
  o["capacity_interval_ms"] = m.capacity_interval.count();
  if (m.job_lease > Duration::zero()) o["job_lease_ms"] = m.job_lease.count();
  return o;
}

json::object bodyToJson(const Capacity& m) {
  json::object o;
  o["capacity"] = toJson(m.capacity);
  o["degraded"] = m.degraded;
  o["degraded_reason"] = m.degraded_reason;
  if (m.health) o["health"] = toJson(*m.health);
  return o;
}

json::object bodyToJson(const Heartbeat& m) {
  json::object o;
  o["epoch"] = m.epoch;
  o["running_jobs"] = m.running_jobs;
  o["pending_jobs"] = m.pending_jobs;
  if (m.health) o["health"] = toJson(*m.health);
  return o;
}

json::object bodyToJson(const Dispatch& m) {
  json::object o;
  o["job_id"] = m.job_id;
  o["attempt"] = m.attempt;
  o["spec"] = toJson(m.spec);
  return o;
}

json::object bodyToJson(const DispatchAck& m) {
  json::object o;
  o["job_id"] = m.job_id;
  o["attempt"] = m.attempt;
  o["accepted"] = m.accepted;
  o["reason"] = m.reason;
  o["local_id"] = m.local_id;
  // 1.2 fields only when set: a 1.1 agent's bytes otherwise.
  for (auto [key, value] : {std::pair{"rule", &m.rule},
                            {"local_user", &m.local_user},
                            {"account", &m.account},
                            {"stdout_path", &m.stdout_path},
                            {"stderr_path", &m.stderr_path}}) {
    if (!value->empty()) o[key] = *value;
  }
  return o;
}

json::object bodyToJson(const JobStatus& m) {
  json::object o;
  o["job_id"] = m.job_id;
  o["attempt"] = m.attempt;
  o["local_id"] = m.local_id;
  o["state"] = jobStateName(m.state);
  if (m.submitted_at) o["submitted_at"] = toMillis(*m.submitted_at);
  if (m.started_at) o["started_at"] = toMillis(*m.started_at);
  if (m.ended_at) o["ended_at"] = toMillis(*m.ended_at);
  if (m.exit_code) o["exit_code"] = *m.exit_code;
  o["reason"] = m.reason;
  if (m.incarnation != 0) o["incarnation"] = m.incarnation;
  if (m.seq != 0) o["seq"] = m.seq;
  return o;
}

json::object bodyToJson(const Cancel& m) {
  json::object o;
  o["job_id"] = m.job_id;
  o["attempt"] = m.attempt;
  o["reason"] = m.reason;
  // Only a withdrawal carries it: every other CANCEL keeps its v1.0 bytes.
  if (m.only_if_pending) o["only_if_pending"] = true;
  return o;
}

json::object bodyToJson(const Ack& m) {
  json::object o;
  o["ack_msg_id"] = m.ack_msg_id;
  return o;
}

json::object bodyToJson(const ErrorReply& m) {
  json::object o;
  o["code"] = m.code;
  o["message"] = m.message;
  o["field"] = m.field;
  o["ref_msg_id"] = m.ref_msg_id;
  return o;
}

Status checkAttempt(const FieldReader& r, int attempt) {
  if (attempt < 1)
    return invalidArgument(r.path("attempt") + " must be at least 1", r.path("attempt"));
  return Status::Ok();
}

Status bodyFromJson(const FieldReader& r, Hello& m) {
  RETURN_IF_ERROR(r.str("agent_version", m.agent_version));
  RETURN_IF_ERROR(r.str("backend", m.backend));
  const json::array* jobs = nullptr;
  RETURN_IF_ERROR(r.array("jobs", jobs));
  for (size_t i = 0; i < jobs->size(); ++i) {
    std::string path = indexPath(r.path("jobs"), i);
    const json::object* jo = nullptr;
    RETURN_IF_ERROR(requireObject((*jobs)[i], path, jo));
    FieldReader jr(*jo, path);
    JobReport job;
    RETURN_IF_ERROR(jr.str("job_id", job.job_id));
    RETURN_IF_ERROR(jr.integer("attempt", job.attempt));
    RETURN_IF_ERROR(checkAttempt(jr, job.attempt));
    RETURN_IF_ERROR(jr.str("local_id", job.local_id, false));
    RETURN_IF_ERROR(jr.jobState("state", job.state));
    RETURN_IF_ERROR(jr.uint64("seq", job.seq, false));
    m.jobs.push_back(std::move(job));
  }
  RETURN_IF_ERROR(r.uint64("incarnation", m.incarnation, false));
  const json::value* rules = nullptr;
  RETURN_IF_ERROR(r.find("rules", false, rules));
  if (rules != nullptr) {
    Result<SiteRules> parsed = siteRulesFromJson(*rules, r.path("rules"));
    if (!parsed.ok()) return parsed.status();
    m.rules = std::move(*parsed);
  }
  return Status::Ok();
}

Status bodyFromJson(const FieldReader& r, Welcome& m) {
  RETURN_IF_ERROR(r.str("coordinator_version", m.coordinator_version));
  RETURN_IF_ERROR(r.str("protocol_version", m.protocol_version));
  RETURN_IF_ERROR(r.millis("heartbeat_interval_ms", m.heartbeat_interval));
  RETURN_IF_ERROR(r.millis("capacity_interval_ms", m.capacity_interval));
  if (m.heartbeat_interval <= Duration::zero()) {
    return invalidArgument(r.path("heartbeat_interval_ms") + " must be positive",
                           r.path("heartbeat_interval_ms"));
  }
  if (m.capacity_interval <= Duration::zero()) {
    return invalidArgument(r.path("capacity_interval_ms") + " must be positive",
                           r.path("capacity_interval_ms"));
  }
  const json::value* lease = nullptr;
  RETURN_IF_ERROR(r.find("job_lease_ms", false, lease));
  if (lease != nullptr) {
    RETURN_IF_ERROR(r.millis("job_lease_ms", m.job_lease));
    if (m.job_lease < Duration::zero()) {
      return invalidArgument(r.path("job_lease_ms") + " must not be negative",
                             r.path("job_lease_ms"));
    }
  }
  return Status::Ok();
}

// The optional `health` object of HEARTBEAT and CAPACITY.
Status readHealth(const FieldReader& r, std::optional<AgentHealth>& out) {
  const json::value* health = nullptr;
  RETURN_IF_ERROR(r.find("health", false, health));
  if (health == nullptr) return Status::Ok();
  Result<AgentHealth> parsed = agentHealthFromJson(*health, r.path("health"));
  if (!parsed.ok()) return parsed.status();
  out = std::move(*parsed);
  return Status::Ok();
}

Status bodyFromJson(const FieldReader& r, Capacity& m) {
  const json::value* capacity = nullptr;
  RETURN_IF_ERROR(r.value("capacity", capacity));
  Result<SiteCapacity> site = siteCapacityFromJson(*capacity, r.path("capacity"));
  if (!site.ok()) return site.status();
  m.capacity = std::move(*site);
  RETURN_IF_ERROR(r.boolean("degraded", m.degraded, false));
  RETURN_IF_ERROR(r.str("degraded_reason", m.degraded_reason, false));
  return readHealth(r, m.health);
}

Status bodyFromJson(const FieldReader& r, Heartbeat& m) {
  RETURN_IF_ERROR(r.uint64("epoch", m.epoch));
  RETURN_IF_ERROR(r.integer("running_jobs", m.running_jobs));
  RETURN_IF_ERROR(r.integer("pending_jobs", m.pending_jobs));
  return readHealth(r, m.health);
}

Status bodyFromJson(const FieldReader& r, Dispatch& m) {
  RETURN_IF_ERROR(r.str("job_id", m.job_id));
  RETURN_IF_ERROR(r.integer("attempt", m.attempt));
  RETURN_IF_ERROR(checkAttempt(r, m.attempt));
  const json::value* spec = nullptr;
  RETURN_IF_ERROR(r.value("spec", spec));
  Result<JobSpec> parsed = jobSpecFromJson(*spec, r.path("spec"));
  if (!parsed.ok()) return parsed.status();
  m.spec = std::move(*parsed);
  return Status::Ok();
}

Status bodyFromJson(const FieldReader& r, DispatchAck& m) {
  RETURN_IF_ERROR(r.str("job_id", m.job_id));
  RETURN_IF_ERROR(r.integer("attempt", m.attempt));
  RETURN_IF_ERROR(checkAttempt(r, m.attempt));
  RETURN_IF_ERROR(r.boolean("accepted", m.accepted));
  RETURN_IF_ERROR(r.str("reason", m.reason, false));
  RETURN_IF_ERROR(r.str("local_id", m.local_id, false));
  RETURN_IF_ERROR(r.str("rule", m.rule, false));
  RETURN_IF_ERROR(r.str("local_user", m.local_user, false));
  RETURN_IF_ERROR(r.str("account", m.account, false));
  RETURN_IF_ERROR(r.str("stdout_path", m.stdout_path, false));
  RETURN_IF_ERROR(r.str("stderr_path", m.stderr_path, false));
  return Status::Ok();
}

Status bodyFromJson(const FieldReader& r, JobStatus& m) {
  RETURN_IF_ERROR(r.str("job_id", m.job_id));
  RETURN_IF_ERROR(r.integer("attempt", m.attempt));
  RETURN_IF_ERROR(checkAttempt(r, m.attempt));
  RETURN_IF_ERROR(r.str("local_id", m.local_id, false));
  RETURN_IF_ERROR(r.jobState("state", m.state));
  if (!isSiteReportable(m.state)) {
    return invalidArgument(r.path("state") + ": a site cannot report state \"" +
                               std::string(jobStateName(m.state)) + "\"",
                           r.path("state"));
  }
  RETURN_IF_ERROR(r.optionalTime("submitted_at", m.submitted_at));
  RETURN_IF_ERROR(r.optionalTime("started_at", m.started_at));
  RETURN_IF_ERROR(r.optionalTime("ended_at", m.ended_at));
  int exit_code = 0;
  const json::value* present = nullptr;
  RETURN_IF_ERROR(r.find("exit_code", false, present));
  if (present != nullptr) {
    RETURN_IF_ERROR(r.integer("exit_code", exit_code));
    m.exit_code = exit_code;
  }
  RETURN_IF_ERROR(r.str("reason", m.reason, false));
  RETURN_IF_ERROR(r.uint64("incarnation", m.incarnation, false));
  RETURN_IF_ERROR(r.uint64("seq", m.seq, false));
  return Status::Ok();
}

Status bodyFromJson(const FieldReader& r, Cancel& m) {
  RETURN_IF_ERROR(r.str("job_id", m.job_id));
  RETURN_IF_ERROR(r.integer("attempt", m.attempt));
  RETURN_IF_ERROR(checkAttempt(r, m.attempt));
  RETURN_IF_ERROR(r.str("reason", m.reason, false));
  RETURN_IF_ERROR(r.boolean("only_if_pending", m.only_if_pending, false));
  return Status::Ok();
}

Status bodyFromJson(const FieldReader& r, Ack& m) {
  return r.str("ack_msg_id", m.ack_msg_id);
}

Status bodyFromJson(const FieldReader& r, ErrorReply& m) {
  RETURN_IF_ERROR(r.str("code", m.code));
  RETURN_IF_ERROR(r.str("message", m.message));
  RETURN_IF_ERROR(r.str("field", m.field, false));
  RETURN_IF_ERROR(r.str("ref_msg_id", m.ref_msg_id, false));
  return Status::Ok();
}

// ---- 1.2 ----

json::object bodyToJson(const JobUsage& m) {
  json::object o;
  o["job_id"] = m.job_id;
  o["attempt"] = m.attempt;
  o["local_id"] = m.local_id;
  o["source"] = m.source;
  o["elapsed_s"] = wholeSeconds(m.elapsed);
  o["nodes"] = m.nodes;
  o["gpus"] = m.gpus;
  o["tres"] = m.tres;
  if (m.exit_code) o["exit_code"] = *m.exit_code;
  o["state"] = m.state;
  o["local_user"] = m.local_user;
  o["account"] = m.account;
  return o;
}

json::object bodyToJson(const LogRequest& m) {
  json::object o;
  o["request_id"] = m.request_id;
  o["job_id"] = m.job_id;
  o["attempt"] = m.attempt;
  o["stream"] = m.stream;
  if (m.offset) o["offset"] = *m.offset;
  o["max_bytes"] = m.max_bytes;
  return o;
}

json::object bodyToJson(const LogData& m) {
  json::object o;
  o["request_id"] = m.request_id;
  o["job_id"] = m.job_id;
  o["attempt"] = m.attempt;
  o["stream"] = m.stream;
  o["path"] = m.path;
  o["size"] = m.size;
  o["offset"] = m.offset;
  o["data"] = m.data;
  if (m.error.empty()) o["end"] = m.end;
  if (!m.error.empty()) {
    o["error"] = m.error;
    o["message"] = m.message;
  }
  return o;
}

json::object bodyToJson(const Maintenance& m) {
  json::array windows;
  for (const MaintenanceWindow& w : m.windows) {
    windows.push_back(json::object{{"id", w.id},
                                   {"start_at", toMillis(w.start)},
                                   {"end_at", toMillis(w.end)},
                                   {"reason", w.reason},
                                   {"declared_by", w.declared_by}});
  }
  json::object o;
  o["windows"] = std::move(windows);
  o["grace_ms"] = m.grace.count();
  return o;
}

Status checkStream(const FieldReader& r, const std::string& stream) {
  if (stream == "stdout" || stream == "stderr") return Status::Ok();
  return invalidArgument(r.path("stream") + " must be \"stdout\" or \"stderr\"", r.path("stream"));
}

Status bodyFromJson(const FieldReader& r, JobUsage& m) {
  RETURN_IF_ERROR(r.str("job_id", m.job_id));
  RETURN_IF_ERROR(r.integer("attempt", m.attempt));
  RETURN_IF_ERROR(checkAttempt(r, m.attempt));
  RETURN_IF_ERROR(r.str("local_id", m.local_id, false));
  RETURN_IF_ERROR(r.str("source", m.source));
  RETURN_IF_ERROR(r.seconds("elapsed_s", m.elapsed));
  RETURN_IF_ERROR(r.integer("nodes", m.nodes));
  RETURN_IF_ERROR(r.integer("gpus", m.gpus));
  if (m.elapsed < Duration::zero() || m.nodes < 0 || m.gpus < 0) {
    return invalidArgument(r.path("elapsed_s") + ", nodes and gpus must not be negative",
                           r.path("elapsed_s"));
  }
  RETURN_IF_ERROR(r.str("tres", m.tres, false));
  const json::value* exit_code = nullptr;
  RETURN_IF_ERROR(r.find("exit_code", false, exit_code));
  if (exit_code != nullptr) {
    int code = 0;
    RETURN_IF_ERROR(r.integer("exit_code", code));
    m.exit_code = code;
  }
  RETURN_IF_ERROR(r.str("state", m.state, false));
  RETURN_IF_ERROR(r.str("local_user", m.local_user, false));
  RETURN_IF_ERROR(r.str("account", m.account, false));
  return Status::Ok();
}

Status bodyFromJson(const FieldReader& r, LogRequest& m) {
  RETURN_IF_ERROR(r.str("request_id", m.request_id));
  RETURN_IF_ERROR(r.str("job_id", m.job_id));
  RETURN_IF_ERROR(r.integer("attempt", m.attempt));
  RETURN_IF_ERROR(checkAttempt(r, m.attempt));
  RETURN_IF_ERROR(r.str("stream", m.stream));
  RETURN_IF_ERROR(checkStream(r, m.stream));
  const json::value* offset = nullptr;
  RETURN_IF_ERROR(r.find("offset", false, offset));
  if (offset != nullptr) {
    uint64_t at = 0;
    RETURN_IF_ERROR(r.uint64("offset", at));
    m.offset = at;
  }
  RETURN_IF_ERROR(r.uint64("max_bytes", m.max_bytes));
  return Status::Ok();
}

Status bodyFromJson(const FieldReader& r, LogData& m) {
  RETURN_IF_ERROR(r.str("request_id", m.request_id));
  RETURN_IF_ERROR(r.str("job_id", m.job_id));
  RETURN_IF_ERROR(r.integer("attempt", m.attempt));
  RETURN_IF_ERROR(checkAttempt(r, m.attempt));
  RETURN_IF_ERROR(r.str("stream", m.stream));
  RETURN_IF_ERROR(checkStream(r, m.stream));
  RETURN_IF_ERROR(r.str("path", m.path, false));
  RETURN_IF_ERROR(r.uint64("size", m.size, false));
  RETURN_IF_ERROR(r.uint64("offset", m.offset, false));
  RETURN_IF_ERROR(r.str("data", m.data, false));
  m.end = m.offset + m.data.size();
  RETURN_IF_ERROR(r.uint64("end", m.end, false));
  RETURN_IF_ERROR(r.str("error", m.error, false));
  RETURN_IF_ERROR(r.str("message", m.message, false));
  return Status::Ok();
}

Status bodyFromJson(const FieldReader& r, Maintenance& m) {
  const json::array* windows = nullptr;
  RETURN_IF_ERROR(r.array("windows", windows));
  for (size_t i = 0; i < windows->size(); ++i) {
    std::string path = indexPath(r.path("windows"), i);
    const json::object* wo = nullptr;
    RETURN_IF_ERROR(requireObject((*windows)[i], path, wo));
    FieldReader wr(*wo, path);
    MaintenanceWindow w;
    RETURN_IF_ERROR(wr.str("id", w.id));
    RETURN_IF_ERROR(wr.time("start_at", w.start));
    RETURN_IF_ERROR(wr.time("end_at", w.end));
    if (w.end <= w.start) {
      return invalidArgument(wr.path("end_at") + " must be after start_at", wr.path("end_at"));
    }
    RETURN_IF_ERROR(wr.str("reason", w.reason, false));
    RETURN_IF_ERROR(wr.str("declared_by", w.declared_by, false));
    m.windows.push_back(std::move(w));
  }
  RETURN_IF_ERROR(r.millis("grace_ms", m.grace));
  if (m.grace < Duration::zero()) {
    return invalidArgument(r.path("grace_ms") + " must not be negative", r.path("grace_ms"));
  }
  return Status::Ok();
}

// Builds the body alternative at `index` from JSON.
template <size_t I = 0>
Status decodeBody(size_t index, const FieldReader& r, Body& out) {
  if constexpr (I < std::variant_size_v<Body>) {
    if (index == I) {
      std::variant_alternative_t<I, Body> body;
      RETURN_IF_ERROR(bodyFromJson(r, body));
      out = std::move(body);
      return Status::Ok();
    }
    return decodeBody<I + 1>(index, r, out);
  } else {
    return internalError("message type index out of range");
  }
}

// "major.minor" with both parts decimal integers.
bool parseVersion(std::string_view v, int& major, int& minor) {
  size_t dot = v.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == v.size()) return false;
  const char* begin = v.data();
  const char* end = v.data() + v.size();
  auto [p1, e1] = std::from_chars(begin, begin + dot, major);
  if (e1 != std::errc() || p1 != begin + dot) return false;
  auto [p2, e2] = std::from_chars(begin + dot + 1, end, minor);
  return e2 == std::errc() && p2 == end && major >= 0 && minor >= 0;
}

Status decodeEnvelope(const json::object& root, Message& m) {
  FieldReader r(root, "");
  RETURN_IF_ERROR(r.str("v", m.v));
  int major = 0;
  int minor = 0;
  if (!parseVersion(m.v, major, minor)) {
    return invalidArgument("v must be a version \"major.minor\", got \"" + m.v + "\"", "v");
  }
  if (major != kProtocolMajor) {
    return Status(StatusCode::kVersionMismatch,
                  "protocol version " + m.v + " is not supported: this side speaks " +
                      protocolVersionString() + " (major versions must match)",
                  "v");
  }
  std::string type;
  RETURN_IF_ERROR(r.str("type", type));
  size_t index = kTypeNames.size();
  for (size_t i = 0; i < kTypeNames.size(); ++i) {
    if (kTypeNames[i] == type) index = i;
  }
  if (index == kTypeNames.size()) {
    return invalidArgument("unknown message type \"" + type + "\"", "type");
  }
  RETURN_IF_ERROR(r.str("msg_id", m.msg_id));
  if (m.msg_id.empty()) return invalidArgument("msg_id must not be empty", "msg_id");
  RETURN_IF_ERROR(r.str("site", m.site));
  RETURN_IF_ERROR(r.time("sent_at", m.sent_at));
  const json::value* body = nullptr;
  RETURN_IF_ERROR(r.value("body", body));
  const json::object* body_object = nullptr;
  RETURN_IF_ERROR(requireObject(*body, "body", body_object));
  return decodeBody(index, FieldReader(*body_object, "body"), m.body);
}

}  // namespace

std::string protocolVersionString() {
  return std::to_string(kProtocolMajor) + "." + std::to_string(kProtocolMinor);
}

std::string_view messageTypeName(const Body& body) {
  return kTypeNames[body.index()];
}

Message makeMessage(std::string site, std::string msg_id, Time sent_at, Body body) {
  return Message{.v = protocolVersionString(),
                 .msg_id = std::move(msg_id),
                 .site = std::move(site),
                 .sent_at = sent_at,
                 .body = std::move(body)};
}

std::string encodeMessage(const Message& message) {
  json::object o;
  o["v"] = message.v;
  o["type"] = messageTypeName(message.body);
  o["msg_id"] = message.msg_id;
  o["site"] = message.site;
  o["sent_at"] = toMillis(message.sent_at);
  o["body"] = std::visit([](const auto& body) { return bodyToJson(body); }, message.body);
  return json::serialize(o);
}

std::variant<Message, DecodeFailure> decodeMessage(std::string_view frame) {
  DecodeFailure failure;
  boost::system::error_code ec;
  json::value root = json::parse(frame, ec);
  if (ec) {
    failure.status = invalidArgument("malformed JSON: " + ec.message());
    return failure;
  }
  if (!root.is_object()) {
    failure.status = invalidArgument("malformed JSON: a message must be a JSON object");
    return failure;
  }
  const json::object& object = root.get_object();
  if (const json::value* id = object.if_contains("msg_id"); id && id->is_string()) {
    failure.msg_id = std::string(id->get_string());
  }
  if (const json::value* v = object.if_contains("v"); v && v->is_string()) {
    failure.peer_version = std::string(v->get_string());
  }
  Message message;
  if (Status s = decodeEnvelope(object, message); !s.ok()) {
    failure.status = std::move(s);
    return failure;
  }
  return message;
}

ErrorReply errorFor(const DecodeFailure& failure) {
  ErrorReply reply;
  const Status& s = failure.status;
  if (s.code() == StatusCode::kVersionMismatch) {
    reply.code = "version_mismatch";
  } else if (s.message().starts_with(kMissingFieldPrefix)) {
    reply.code = "missing_field";
  } else {
    reply.code = "bad_message";
  }
  reply.message = s.message();
  reply.field = s.field();
  reply.ref_msg_id = failure.msg_id;
  return reply;
}

}  // namespace aifed
