// Wire messages of protocol v1 (1.2) between a site agent and the coordinator.
//
// Every message is one ZeroMQ frame holding a JSON object: an envelope (v, type,
// msg_id, site, sent_at) and a `body` whose shape depends on `type`. docs/protocol.md
// is the normative description; tests/golden/ pins the exact bytes.
//
//   Message m = makeMessage("mimer", "m-1", clock.now(), Heartbeat{.epoch = 7});
//   std::string frame = encodeMessage(m);
//   Result<Message> back = decodeMessage(frame);   // back->body holds a Heartbeat
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/agent_health.h"
#include "protocol/clock.h"
#include "protocol/site_rules.h"
#include "protocol/status.h"
#include "protocol/types.h"

namespace aifed {

inline constexpr int kProtocolMajor = 1;
inline constexpr int kProtocolMinor = 2;
// "1.2": what this build writes in every envelope's `v`. 1.1 added optional fields (HELLO
// incarnation and per-job seq, WELCOME job_lease, JOB_STATUS incarnation and seq, the
// `lost` state in JOB_STATUS); 1.2 adds the site's rules in HELLO, the local account and
// output paths in DISPATCH_ACK, and four messages: JOB_USAGE, LOG_REQUEST, LOG_DATA,
// MAINTENANCE. An older peer ignores the fields and never receives the messages (the
// coordinator sends them only to an agent that said 1.2 in HELLO).
std::string protocolVersionString();

// Agent -> coordinator, first message on every (re)connection. Carries every job the
// agent knows so the coordinator can reconcile after either side restarted.
struct JobReport {
  std::string job_id;
  int attempt = 0;
  std::string local_id;
  JobState state = JobState::kPending;
  // (1.1) The sequence number of the attempt's latest JOB_STATUS; 0: unknown.
  uint64_t seq = 0;
  bool operator==(const JobReport&) const = default;
};
struct Hello {
  std::string agent_version;
  std::string backend;  // "simulated" | "slurm"
  std::vector<JobReport> jobs;
  // (1.1) The agent's run: 1 + the number of times it started before, durable. A
  // JOB_STATUS from an earlier run about a job this HELLO leaves out is stale. 0: unknown.
  uint64_t incarnation = 0;
  // (1.2) The rules the site admits jobs by (site_rules.h); absent: none published.
  std::optional<SiteRules> rules{};
  bool operator==(const Hello&) const = default;
};

// Coordinator -> agent, the answer to HELLO: the session's parameters.
struct Welcome {
  std::string coordinator_version;
  std::string protocol_version;  // the version both sides now speak
  Duration heartbeat_interval{0};
  Duration capacity_interval{0};  // longest gap between CAPACITY reports
  // (1.1) The job lease: cut off from the coordinator this long, the agent stops the jobs
  // that may be re-placed (their requeue_on_site_loss), before the coordinator re-places
  // them elsewhere. 0: no lease (an older coordinator).
  Duration job_lease{0};
  bool operator==(const Welcome&) const = default;
};

// Agent -> coordinator: capacity, on change and at least every capacity_interval.
struct Capacity {
  SiteCapacity capacity;
  bool degraded = false;  // the local scheduler is not answering
  std::string degraded_reason;
  // (within 1.2) The agent's own health (agent_health.h); absent: an agent that does not
  // report it. Unknown to an older coordinator, which ignores it.
  std::optional<AgentHealth> health{};
  bool operator==(const Capacity&) const = default;
};

// Agent -> coordinator, every heartbeat_interval.
struct Heartbeat {
  uint64_t epoch = 0;  // latest capacity epoch sent
  int running_jobs = 0;
  int pending_jobs = 0;
  // (within 1.2) The agent's own health, as in CAPACITY.
  std::optional<AgentHealth> health{};
  bool operator==(const Heartbeat&) const = default;
};

// Coordinator -> agent: run this job. (job_id, attempt) is the idempotency key.
struct Dispatch {
  std::string job_id;
  int attempt = 1;
  JobSpec spec;
  bool operator==(const Dispatch&) const = default;
};

// Agent -> coordinator: the answer to one DISPATCH; repeated for a repeated DISPATCH.
struct DispatchAck {
  std::string job_id;
  int attempt = 1;
  bool accepted = false;
  std::string reason;    // why it was rejected
  std::string local_id;  // the local scheduler's id when accepted
  // (1.2) When refused by a site rule: which one (RuleRefusal::rule); empty otherwise.
  std::string rule{};
  // (1.2) When accepted: the local account the job runs as, the Slurm account charged,
  // and where its output goes at the site. Empty when the backend has none.
  std::string local_user{};
  std::string account{};
  std::string stdout_path{};
  std::string stderr_path{};
  bool operator==(const DispatchAck&) const = default;
};

// Agent -> coordinator: a job changed state. Acknowledged with ACK.
struct JobStatus {
  std::string job_id;
  int attempt = 1;
  std::string local_id;
  JobState state = JobState::kPending;
  std::optional<Time> submitted_at;
  std::optional<Time> started_at;
  std::optional<Time> ended_at;
  std::optional<int> exit_code;
  std::string reason;
  // (1.1) The agent run that sent it first (a resend keeps it) and its place among the
  // attempt's statuses (1, 2, ...): a status older than what the coordinator knows for the
  // attempt is acknowledged and ignored. 0: unknown (an older agent).
  uint64_t incarnation = 0;
  uint64_t seq = 0;
  bool operator==(const JobStatus&) const = default;
};

// Coordinator -> agent: cancel this attempt. Acknowledged with ACK; the resulting
// state change arrives as JOB_STATUS.
struct Cancel {
  std::string job_id;
  int attempt = 1;
  std::string reason;
  // Withdrawal: cancel only while the local job is still pending; a job that started
  // keeps running (the agent ACKs either way, JOB_STATUS tells the outcome). On the wire
  // only when true; absent means false. An agent that predates the field ignores it and
  // cancels outright.
  bool only_if_pending = false;
  bool operator==(const Cancel&) const = default;
};

// Either direction: the message with this msg_id was received and made durable.
struct Ack {
  std::string ack_msg_id;
  bool operator==(const Ack&) const = default;
};

// Either direction: the message could not be processed.
struct ErrorReply {
  std::string code;        // "bad_message", "missing_field", "version_mismatch", ...
  std::string message;     // human readable, names what was wrong
  std::string field;       // the offending field, when one is to blame
  std::string ref_msg_id;  // msg_id of the offending message, when it could be read
  bool operator==(const ErrorReply&) const = default;
};

// (1.2) Agent -> coordinator: what an ended attempt really used, from the site's own
// accounting (Slurm: sacct), sent once the accounting has the record (it can lag the
// end by seconds). Acknowledged with ACK; sent from the outbox like JOB_STATUS. The
// coordinator charges the project's allocation from it instead of its own estimate.
struct JobUsage {
  std::string job_id{};
  int attempt = 1;
  std::string local_id{};
  std::string source{};  // "sacct" | "scheduler" (a backend without accounting)
  Duration elapsed{0};
  int nodes = 0;     // allocated
  int gpus = 0;      // allocated, all nodes
  std::string tres{};  // the accounting's allocated TRES, as it wrote it (for the record)
  std::optional<int> exit_code{};
  std::string state{};  // the accounting's final state ("COMPLETED", "CANCELLED", ...)
  std::string local_user{};
  std::string account{};
  bool operator==(const JobUsage&) const = default;
};

// (1.2) Coordinator -> agent: send part of an attempt's output. Not acknowledged and not
// kept: the agent answers with one LOG_DATA, and a lost request is asked again.
struct LogRequest {
  std::string request_id{};
  std::string job_id{};
  int attempt = 1;
  std::string stream = "stdout";  // "stdout" | "stderr"
  // From this byte on; absent: the last `max_bytes` of the file (a tail).
  std::optional<uint64_t> offset{};
  uint64_t max_bytes = 0;
  bool operator==(const LogRequest&) const = default;
};

// (1.2) Agent -> coordinator: the answer to one LOG_REQUEST. `data` is text: bytes that
// are not UTF-8 arrive as U+FFFD. Not acknowledged.
struct LogData {
  std::string request_id{};
  std::string job_id{};
  int attempt = 1;
  std::string stream{};
  std::string path{};     // the file at the site
  uint64_t size = 0;    // its size now
  uint64_t offset = 0;  // where `data` starts
  std::string data{};
  // The byte after the last one `data` stands for: the offset to ask from next. Not
  // offset + data's length when bytes were replaced by U+FFFD or a character cut by the
  // read was left for the next one. Absent on the wire (an agent that does not write it):
  // offset + data's length.
  uint64_t end = 0;
  // Why there is no data: "not_found" (no such attempt here), "no_output" (the backend
  // keeps none), "unreadable" (the file cannot be read); empty when `data` is the answer.
  std::string error{};
  std::string message{};  // the error in words
  bool operator==(const LogData&) const = default;
};

// (1.2) Coordinator -> agent: the site's maintenance windows, the whole list each time
// (an empty list clears them), sent after WELCOME and whenever it changes. Acknowledged
// with ACK. Inside a window plus `grace` the agent does not run its jobs' lease out.
struct Maintenance {
  std::vector<MaintenanceWindow> windows{};
  Duration grace{0};
  bool operator==(const Maintenance&) const = default;
};

using Body = std::variant<Hello, Welcome, Capacity, Heartbeat, Dispatch, DispatchAck, JobStatus,
                          Cancel, Ack, ErrorReply, JobUsage, LogRequest, LogData, Maintenance>;

// The wire name of a body type: "HELLO", "CAPACITY", "DISPATCH_ACK", ...
std::string_view messageTypeName(const Body& body);

struct Message {
  std::string v;  // "major.minor"
  std::string msg_id;
  std::string site;
  Time sent_at{};
  Body body;
  bool operator==(const Message&) const = default;
};

Message makeMessage(std::string site, std::string msg_id, Time sent_at, Body body);

std::string encodeMessage(const Message& message);

// What decoding learnt even when it failed, so the ERROR reply can refer to the
// message (ref_msg_id) and the peer's version.
struct DecodeFailure {
  Status status;       // kInvalidArgument (with field) or kVersionMismatch
  std::string msg_id;  // empty if unreadable
  std::string peer_version;
};

// Parses one frame. Unknown fields are ignored; an unknown type, a missing or mistyped
// field, or an unknown major version is a failure naming the field ("body.epoch").
std::variant<Message, DecodeFailure> decodeMessage(std::string_view frame);

// The ERROR reply for a failed decode.
ErrorReply errorFor(const DecodeFailure& failure);

}  // namespace aifed
