// The JSON forms of the domain types (codec.h) and of the protocol v1 messages
// (messages.h). docs/protocol.md is the normative description of what is written here;
// tests/protocol/golden/ pins the exact bytes.
//
// Encoding is deterministic: every object is built field by field in a fixed order and
// Boost.JSON keeps insertion order, so the same value always gives the same frame.
// Decoding is liberal in what it ignores (unknown fields) and strict in what it reads: a
// missing or mistyped field fails with its full path ("body.capacity.epoch") both in
// Status::field() and in the message.
#include "protocol/codec.h"

#include <array>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "protocol/messages.h"

namespace aifed {
namespace {

namespace json = boost::json;

// Every "missing field" message starts with this text; errorFor() relies on it to
// tell a missing field (code missing_field) from any other bad message.
constexpr std::string_view kMissingFieldPrefix = "missing field ";

std::string joinPath(std::string_view path, std::string_view key) {
  std::string out(path);
  if (!out.empty()) out += '.';
  out += key;
  return out;
}

std::string indexPath(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

Status missingField(const std::string& path) {
  return invalidArgument(std::string(kMissingFieldPrefix) + path, path);
}

Status mistyped(const std::string& path, std::string_view expected) {
  return invalidArgument(path + " must be " + std::string(expected), path);
}

Status requireObject(const json::value& value, const std::string& path, const json::object*& out) {
  if (!value.is_object()) {
    if (path.empty()) return invalidArgument("the value must be an object");
    return mistyped(path, "an object");
  }
  out = &value.get_object();
  return Status::Ok();
}

// Reads the fields of one JSON object, naming each by its full path on failure.
// `required == false` leaves `out` untouched when the field is absent (so it keeps its
// default); a field that is present but of the wrong type always fails.
class FieldReader {
 public:
  FieldReader(const json::object& object, std::string path)
      : object_(object), path_(std::move(path)) {}

  std::string path(std::string_view key) const { return joinPath(path_, key); }

  Status find(std::string_view key, bool required, const json::value*& out) const {
    out = object_.if_contains(key);
    if (out == nullptr && required) return missingField(path(key));
    return Status::Ok();
  }

  Status str(std::string_view key, std::string& out, bool required = true) const {
    const json::value* v = nullptr;
    RETURN_IF_ERROR(find(key, required, v));
    if (v == nullptr) return Status::Ok();
    if (!v->is_string()) return mistyped(path(key), "a string");
    out = std::string(v->get_string());
    return Status::Ok();
  }

  Status int64(std::string_view key, int64_t& out, bool required = true) const {
    const json::value* v = nullptr;
    RETURN_IF_ERROR(find(key, required, v));
    if (v == nullptr) return Status::Ok();
    if (v->is_int64()) {
      out = v->get_int64();
      return Status::Ok();
    }
    if (v->is_uint64()) return invalidArgument(path(key) + " is out of range", path(key));
    return mistyped(path(key), "an integer");
  }

  Status integer(std::string_view key, int& out, bool required = true) const {
    int64_t wide = out;
    RETURN_IF_ERROR(int64(key, wide, required));
    if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max()) {
      return invalidArgument(path(key) + " is out of range", path(key));
    }
    out = static_cast<int>(wide);
    return Status::Ok();
  }

  Status uint64(std::string_view key, uint64_t& out, bool required = true) const {
    const json::value* v = nullptr;
    RETURN_IF_ERROR(find(key, required, v));
    if (v == nullptr) return Status::Ok();
    if (v->is_int64() && v->get_int64() >= 0) {
      out = static_cast<uint64_t>(v->get_int64());
    } else if (v->is_uint64()) {
      out = v->get_uint64();
    } else {
      return mistyped(path(key), "a non-negative integer");
    }
    return Status::Ok();
  }

  Status number(std::string_view key, double& out, bool required = true) const {
    const json::value* v = nullptr;
    RETURN_IF_ERROR(find(key, required, v));
    if (v == nullptr) return Status::Ok();
    if (!v->is_number()) return mistyped(path(key), "a number");
    out = v->to_number<double>();
    return Status::Ok();
  }

  Status boolean(std::string_view key, bool& out, bool required = true) const {
    const json::value* v = nullptr;
    RETURN_IF_ERROR(find(key, required, v));
    if (v == nullptr) return Status::Ok();
    if (!v->is_bool()) return mistyped(path(key), "true or false");
    out = v->get_bool();
    return Status::Ok();
  }

  // Integer milliseconds since the Unix epoch.
  Status time(std::string_view key, Time& out) const {
    int64_t ms = 0;
    RETURN_IF_ERROR(int64(key, ms));
    out = fromMillis(ms);
    return Status::Ok();
  }

  Status optionalTime(std::string_view key, std::optional<Time>& out) const {
    if (object_.if_contains(key) == nullptr) return Status::Ok();
    Time t{};
    RETURN_IF_ERROR(time(key, t));
    out = t;
    return Status::Ok();
  }

  // Integer milliseconds.
  Status millis(std::string_view key, Duration& out) const {
    int64_t ms = 0;
    RETURN_IF_ERROR(int64(key, ms));
    out = Duration(ms);
    return Status::Ok();
  }

  // Integer seconds.
  Status seconds(std::string_view key, Duration& out, bool required = true) const {
    int64_t s = 0;
    if (object_.if_contains(key) == nullptr && !required) return Status::Ok();
    RETURN_IF_ERROR(int64(key, s));
    // Beyond this many seconds the milliseconds would overflow int64.
    constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1000;
    if (s > kMaxSeconds || s < -kMaxSeconds) {
      return invalidArgument(path(key) + " is out of range", path(key));
    }
    out = std::chrono::duration_cast<Duration>(std::chrono::seconds(s));
    return Status::Ok();
  }

  Status strings(std::string_view key, std::vector<std::string>& out, bool required = true) const {
    const json::value* v = nullptr;
    RETURN_IF_ERROR(find(key, required, v));
    if (v == nullptr) return Status::Ok();
    if (!v->is_array()) return mistyped(path(key), "an array of strings");
    std::vector<std::string> result;
    const json::array& array = v->get_array();
    for (size_t i = 0; i < array.size(); ++i) {
      if (!array[i].is_string()) return mistyped(indexPath(path(key), i), "a string");
      result.emplace_back(array[i].get_string());
    }
    out = std::move(result);
    return Status::Ok();
  }

  Status stringMap(std::string_view key, std::map<std::string, std::string>& out,
                   bool required = true) const {
    const json::value* v = nullptr;
    RETURN_IF_ERROR(find(key, required, v));
    if (v == nullptr) return Status::Ok();
    if (!v->is_object()) return mistyped(path(key), "an object of strings");
    std::map<std::string, std::string> result;
    for (const auto& entry : v->get_object()) {
      if (!entry.value().is_string()) {
        return mistyped(joinPath(path(key), entry.key()), "a string");
      }
      result[std::string(entry.key())] = std::string(entry.value().get_string());
    }
    out = std::move(result);
    return Status::Ok();
  }

  Status array(std::string_view key, const json::array*& out) const {
    const json::value* v = nullptr;
    RETURN_IF_ERROR(find(key, true, v));
    if (!v->is_array()) return mistyped(path(key), "an array");
    out = &v->get_array();
    return Status::Ok();
  }

  Status value(std::string_view key, const json::value*& out) const { return find(key, true, out); }

  Status jobState(std::string_view key, JobState& out) const {
    std::string name;
    RETURN_IF_ERROR(str(key, name));
    std::optional<JobState> state = parseJobState(name);
    if (!state) {
      return invalidArgument(path(key) + ": unknown job state \"" + name + "\"", path(key));
    }
    out = *state;
    return Status::Ok();
  }

 private:
  const json::object& object_;
  std::string path_;
};

json::array toJsonArray(const std::vector<std::string>& values) {
  json::array out;
  for (const std::string& v : values) out.emplace_back(v);
  return out;
}

int64_t wholeSeconds(Duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

// A double that holds a whole number is written as a JSON integer ("12" rather than
// "1.2E1"); both read back as the same double.
json::value numberToJson(double v) {
  constexpr double kExactIntegerLimit = 9007199254740992.0;  // 2^53
  // Range first: the cast below is only defined for values that fit (NaN fails here too).
  if (v < kExactIntegerLimit && v > -kExactIntegerLimit &&
      v == static_cast<double>(static_cast<int64_t>(v))) {
    return json::value(static_cast<int64_t>(v));
  }
  return json::value(v);
}

// ---- message bodies ----

constexpr std::array<std::string_view, std::variant_size_v<Body>> kTypeNames = {
    "HELLO",        "WELCOME",    "CAPACITY", "HEARTBEAT", "DISPATCH",
    "DISPATCH_ACK", "JOB_STATUS", "CANCEL",   "ACK",       "ERROR",
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
  return o;
}

json::object bodyToJson(const Heartbeat& m) {
  json::object o;
  o["epoch"] = m.epoch;
  o["running_jobs"] = m.running_jobs;
  o["pending_jobs"] = m.pending_jobs;
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

Status bodyFromJson(const FieldReader& r, Capacity& m) {
  const json::value* capacity = nullptr;
  RETURN_IF_ERROR(r.value("capacity", capacity));
  Result<SiteCapacity> site = siteCapacityFromJson(*capacity, r.path("capacity"));
  if (!site.ok()) return site.status();
  m.capacity = std::move(*site);
  RETURN_IF_ERROR(r.boolean("degraded", m.degraded, false));
  RETURN_IF_ERROR(r.str("degraded_reason", m.degraded_reason, false));
  return Status::Ok();
}

Status bodyFromJson(const FieldReader& r, Heartbeat& m) {
  RETURN_IF_ERROR(r.uint64("epoch", m.epoch));
  RETURN_IF_ERROR(r.integer("running_jobs", m.running_jobs));
  RETURN_IF_ERROR(r.integer("pending_jobs", m.pending_jobs));
  return Status::Ok();
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

// ---- codec.h ----

json::object toJson(const JobSpec& spec) {
  json::object o;
  o["name"] = spec.name;
  o["project"] = spec.project;
  o["user"] = spec.user;
  o["nodes"] = spec.nodes;
  o["gpus_per_node"] = spec.gpus_per_node;
  o["gpu_type"] = spec.gpu_type;
  o["cores_per_node"] = spec.cores_per_node;
  o["memory_gib_per_node"] = spec.memory_gib_per_node;
  o["walltime_s"] = wholeSeconds(spec.walltime);
  o["priority"] = spec.priority;
  o["allowed_sites"] = toJsonArray(spec.allowed_sites);
  o["allowed_countries"] = toJsonArray(spec.allowed_countries);
  o["requeue_on_site_loss"] = spec.requeue_on_site_loss;
  json::array datasets;
  for (const DatasetRef& d : spec.datasets) {
    datasets.push_back(json::object{{"id", d.id}, {"size_gb", numberToJson(d.size_gb)}});
  }
  o["datasets"] = std::move(datasets);
  o["preferred_sites"] = toJsonArray(spec.preferred_sites);
  o["script"] = spec.script;
  o["workdir"] = spec.workdir;
  json::object env;
  for (const auto& [key, value] : spec.env) env[key] = value;  // std::map: sorted keys
  o["env"] = std::move(env);
  if (spec.simulated_runtime) o["simulated_runtime_s"] = wholeSeconds(*spec.simulated_runtime);
  o["simulated_exit_code"] = spec.simulated_exit_code;
  return o;
}

Result<JobSpec> jobSpecFromJson(const json::value& value, std::string_view path) {
  const json::object* object = nullptr;
  RETURN_IF_ERROR(requireObject(value, std::string(path), object));
  FieldReader r(*object, std::string(path));
  JobSpec spec;
  RETURN_IF_ERROR(r.str("name", spec.name, false));
  RETURN_IF_ERROR(r.str("project", spec.project, false));
  RETURN_IF_ERROR(r.str("user", spec.user, false));
  RETURN_IF_ERROR(r.integer("nodes", spec.nodes));
  RETURN_IF_ERROR(r.integer("gpus_per_node", spec.gpus_per_node, false));
  RETURN_IF_ERROR(r.str("gpu_type", spec.gpu_type, false));
  RETURN_IF_ERROR(r.integer("cores_per_node", spec.cores_per_node, false));
  RETURN_IF_ERROR(r.integer("memory_gib_per_node", spec.memory_gib_per_node, false));
  RETURN_IF_ERROR(r.seconds("walltime_s", spec.walltime));
  RETURN_IF_ERROR(r.integer("priority", spec.priority, false));
  RETURN_IF_ERROR(r.strings("allowed_sites", spec.allowed_sites, false));
  RETURN_IF_ERROR(r.strings("allowed_countries", spec.allowed_countries, false));
  RETURN_IF_ERROR(r.boolean("requeue_on_site_loss", spec.requeue_on_site_loss, false));
  if (const json::value* datasets = object->if_contains("datasets")) {
    const std::string where = joinPath(path, "datasets");
    if (!datasets->is_array()) return invalidArgument(where + " must be an array", where);
    const json::array& list = datasets->get_array();
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string item_path = where + "[" + std::to_string(i) + "]";
      const json::object* item = nullptr;
      RETURN_IF_ERROR(requireObject(list[i], item_path, item));
      FieldReader dr(*item, item_path);
      DatasetRef d;
      RETURN_IF_ERROR(dr.str("id", d.id));
      RETURN_IF_ERROR(dr.number("size_gb", d.size_gb, false));
      spec.datasets.push_back(std::move(d));
    }
  }
  RETURN_IF_ERROR(r.strings("preferred_sites", spec.preferred_sites, false));
  RETURN_IF_ERROR(r.str("script", spec.script, false));
  RETURN_IF_ERROR(r.str("workdir", spec.workdir, false));
  RETURN_IF_ERROR(r.stringMap("env", spec.env, false));
  if (object->if_contains("simulated_runtime_s") != nullptr) {
    Duration runtime{0};
    RETURN_IF_ERROR(r.seconds("simulated_runtime_s", runtime));
    spec.simulated_runtime = runtime;
  }
  RETURN_IF_ERROR(r.integer("simulated_exit_code", spec.simulated_exit_code, false));
  if (Status s = validateJobSpec(spec); !s.ok()) {
    std::string field = joinPath(path, s.field());
    std::string message = s.message();
    if (!path.empty()) message = field + ": " + message;
    return invalidArgument(std::move(message), std::move(field));
  }
  return spec;
}

json::object toJson(const PartitionCapacity& p) {
  json::object node_type;
  node_type["accelerator"] = p.node_type.accelerator;
  node_type["accelerators_per_node"] = p.node_type.accelerators_per_node;
  node_type["cores"] = p.node_type.cores;
  node_type["memory_gib"] = p.node_type.memory_gib;
  json::object o;
  o["name"] = p.name;
  o["node_type"] = std::move(node_type);
  o["nodes_total"] = p.nodes_total;
  o["nodes_idle"] = p.nodes_idle;
  o["nodes_allocated"] = p.nodes_allocated;
  o["nodes_down"] = p.nodes_down;
  o["nodes_draining"] = p.nodes_draining;
  o["pending_jobs"] = p.pending_jobs;
  o["pending_node_hours"] = numberToJson(p.pending_node_hours);
  o["running_jobs"] = p.running_jobs;
  if (!p.start_estimates.empty()) {  // optional: absent unless the agent measures them
    json::array estimates;
    for (const StartEstimate& e : p.start_estimates) {
      estimates.push_back(json::object{{"nodes", e.nodes},
                                       {"gpus_per_node", e.gpus_per_node},
                                       {"start_in_s", numberToJson(e.start_in_s)}});
    }
    o["start_estimates"] = std::move(estimates);
  }
  return o;
}

Result<PartitionCapacity> partitionFromJson(const json::value& value, std::string_view path) {
  const json::object* object = nullptr;
  RETURN_IF_ERROR(requireObject(value, std::string(path), object));
  FieldReader r(*object, std::string(path));
  PartitionCapacity p;
  RETURN_IF_ERROR(r.str("name", p.name));
  const json::value* node_type_value = nullptr;
  RETURN_IF_ERROR(r.value("node_type", node_type_value));
  const json::object* node_type = nullptr;
  RETURN_IF_ERROR(requireObject(*node_type_value, r.path("node_type"), node_type));
  FieldReader nr(*node_type, r.path("node_type"));
  RETURN_IF_ERROR(nr.str("accelerator", p.node_type.accelerator));
  RETURN_IF_ERROR(nr.integer("accelerators_per_node", p.node_type.accelerators_per_node));
  RETURN_IF_ERROR(nr.integer("cores", p.node_type.cores));
  RETURN_IF_ERROR(nr.integer("memory_gib", p.node_type.memory_gib));
  RETURN_IF_ERROR(r.integer("nodes_total", p.nodes_total));
  RETURN_IF_ERROR(r.integer("nodes_idle", p.nodes_idle));
  RETURN_IF_ERROR(r.integer("nodes_allocated", p.nodes_allocated));
  RETURN_IF_ERROR(r.integer("nodes_down", p.nodes_down));
  RETURN_IF_ERROR(r.integer("nodes_draining", p.nodes_draining));
  RETURN_IF_ERROR(r.integer("pending_jobs", p.pending_jobs));
  RETURN_IF_ERROR(r.number("pending_node_hours", p.pending_node_hours));
  RETURN_IF_ERROR(r.integer("running_jobs", p.running_jobs));
  if (const json::value* estimates = object->if_contains("start_estimates")) {
    const std::string where = r.path("start_estimates");
    if (!estimates->is_array()) return invalidArgument(where + " must be an array", where);
    const json::array& list = estimates->get_array();
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string item_path = indexPath(where, i);
      const json::object* item = nullptr;
      RETURN_IF_ERROR(requireObject(list[i], item_path, item));
      FieldReader er(*item, item_path);
      StartEstimate e;
      RETURN_IF_ERROR(er.integer("nodes", e.nodes));
      RETURN_IF_ERROR(er.integer("gpus_per_node", e.gpus_per_node));
      RETURN_IF_ERROR(er.number("start_in_s", e.start_in_s));
      if (e.nodes < 1)
        return invalidArgument(er.path("nodes") + ": must be at least 1", er.path("nodes"));
      if (e.start_in_s < 0) {
        return invalidArgument(er.path("start_in_s") + ": must not be negative",
                               er.path("start_in_s"));
      }
      p.start_estimates.push_back(e);
    }
  }
  return p;
}

json::object toJson(const SiteCapacity& capacity) {
  json::object o;
  o["epoch"] = capacity.epoch;
  json::array partitions;
  for (const PartitionCapacity& p : capacity.partitions) partitions.emplace_back(toJson(p));
  o["partitions"] = std::move(partitions);
  return o;
}

Result<SiteCapacity> siteCapacityFromJson(const json::value& value, std::string_view path) {
  const json::object* object = nullptr;
  RETURN_IF_ERROR(requireObject(value, std::string(path), object));
  FieldReader r(*object, std::string(path));
  SiteCapacity capacity;
  RETURN_IF_ERROR(r.uint64("epoch", capacity.epoch));
  const json::array* partitions = nullptr;
  RETURN_IF_ERROR(r.array("partitions", partitions));
  for (size_t i = 0; i < partitions->size(); ++i) {
    Result<PartitionCapacity> p =
        partitionFromJson((*partitions)[i], indexPath(r.path("partitions"), i));
    if (!p.ok()) return p.status();
    capacity.partitions.push_back(std::move(*p));
  }
  return capacity;
}

// ---- messages.h ----

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
