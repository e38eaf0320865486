// Wire messages of protocol v1 between a site agent and the coordinator.
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

#include "protocol/clock.h"
#include "protocol/status.h"
#include "protocol/types.h"

namespace aifed {

inline constexpr int kProtocolMajor = 1;
inline constexpr int kProtocolMinor = 1;
// "1.1": what this build writes in every envelope's `v`. 1.1 adds optional fields (HELLO
// incarnation and per-job seq, WELCOME job_lease, JOB_STATUS incarnation and seq, the
// `lost` state in JOB_STATUS); a 1.0 peer ignores them and sends none.
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
  bool operator==(const Capacity&) const = default;
};

// Agent -> coordinator, every heartbeat_interval.
struct Heartbeat {
  uint64_t epoch = 0;  // latest capacity epoch sent
  int running_jobs = 0;
  int pending_jobs = 0;
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

using Body = std::variant<Hello, Welcome, Capacity, Heartbeat, Dispatch, DispatchAck, JobStatus,
                          Cancel, Ack, ErrorReply>;

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
