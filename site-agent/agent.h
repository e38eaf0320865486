// The site agent's logic: session with the coordinator (HELLO/WELCOME), capacity
// reports with a strictly increasing epoch, heartbeats, dispatch handling with
// exactly-once effect, job status reporting through a durable outbox, and the jobs'
// output on request (LOG_REQUEST, job_output.h).
//
// Everything it touches is injected: the Backend (local scheduler), the AgentStore
// (SQLite), the transport (a function that sends one frame) and time (every call takes
// `now`). The daemon (agent_daemon.h) owns the sockets and the event loop.
//
//   SiteAgent agent(options, backend, store, [&](const std::string& f) { return dealer.send(f); });
//   Status s = agent.start(clock.now());
//   loop: for each frame: agent.onFrame(frame, clock.now());
//         agent.tick(clock.now()); sleep until agent.nextWakeup(clock.now());
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "protocol/messages.h"
#include "site-agent/agent_lease.h"
#include "site-agent/agent_store.h"
#include "site-agent/backends/backend.h"
#include "site-agent/job_commands.h"
#include "site-agent/job_output.h"

namespace aifed::agent {

struct SiteAgentOptions {
  std::string site;
  std::string agent_version = "dev";
  Duration hello_retry = std::chrono::seconds(2);            // resend HELLO until WELCOME
  Duration capacity_check = std::chrono::milliseconds(500);  // poll backend capacity
  Duration retry_interval = std::chrono::seconds(3);         // resend unacknowledged outbox
  Duration backend_poll = std::chrono::seconds(1);           // poll backend for job changes
  Duration usage_retry = std::chrono::seconds(15);  // ask the accounting again for usage
  Duration usage_give_up = std::chrono::hours(1);   // then report the agent's own record
  // The site's rules and identity mapping (site_admission.h), checked on every DISPATCH;
  // null: none. With `publish_rules` its rules go to the coordinator in HELLO.
  SiteAdmission* admission = nullptr;
  bool publish_rules = false;
  uint64_t output_max_bytes = 1 << 20;                       // per LOG_DATA (job_output.h)
};

class SiteAgent {
 public:
  // Sends one encoded frame; a failure means "not delivered now" (the outbox retries).
  using SendFn = std::function<Status(const std::string& frame)>;

  SiteAgent(SiteAgentOptions options, Backend& backend, AgentStore& store, SendFn send);

  // Starts a new incarnation (durably), loads the epoch and the job lease, forgets local
  // records of jobs the backend no longer holds (a simulated site restarted: the
  // coordinator learns it through reconciliation), and sends HELLO. Fails only if the
  // store cannot be read or written.
  Status start(Instant now);

  // Handles one frame from the coordinator. Never throws; bad frames get ERROR replies.
  void onFrame(const std::string& frame, Instant now);

  // The transport reconnected: the coordinator may have restarted, so say HELLO again.
  void onReconnected(Instant now);

  // Polls the backend, reports job changes and capacity, heartbeats, retries, and stops
  // re-placeable jobs when the job lease runs out.
  void tick(Instant now);

  // When tick() next has something to do, on the monotonic clock.
  MonoTime nextWakeup(Instant now) const;

  bool hasSession() const { return session_; }
  uint64_t epoch() const { return epoch_; }
  uint64_t incarnation() const { return incarnation_; }
  // DISPATCHes received, repeated and refused.
  const JobCommands::Stats& dispatchStats() const { return commands_.stats(); }
  uint64_t errorsReceived() const { return errors_received_; }
  const std::string& lastError() const { return last_error_; }
  const AgentLease& lease() const { return lease_; }
  // What the agent reports of itself in HEARTBEAT and CAPACITY: the backend's health,
  // the outbox's depth and the version.
  AgentHealth health(Instant now) const;

 private:
  std::string nextMsgId();
  Message envelope(Body body, Instant now);
  // Sends; returns the msg_id.
  std::string send(Body body, Instant now);
  // Persists the message in the outbox, then sends it.
  void sendDurably(Body body, Instant now);
  void sendHello(Instant now);
  void sendHeartbeat(Instant now);
  void sendCapacity(Instant now, bool force);
  void onWelcome(const Welcome& w, Instant now);
  void onError(const ErrorReply& e, Instant now);
  void handleDispatch(const Message& m, const Dispatch& d, Instant now);
  void handleCancel(const Message& m, const Cancel& c, Instant now);
  // MAINTENANCE (agent_maintenance.cpp): persists the windows, pauses the lease, ACKs.
  void onMaintenance(const Message& m, const Maintenance& body, Instant now);
  // At start, before the lease is restored: the windows made durable last.
  Status restoreMaintenance();
  void reportUpdates(Instant now);
  // The status of one update: numbered in its attempt's sequence, its record updated.
  JobStatus numberedStatus(const LocalJobUpdate& u, Instant now);
  void flushOutbox(Instant now, bool all);
  void keepLease(Instant now);
  // JOB_USAGE for ended attempts whose usage the accounting now has (usage_reports.h).
  void reportUsage(Instant now);
  void logError(const std::string& what);

  SiteAgentOptions options_;
  Backend& backend_;
  AgentStore& store_;
  SendFn send_;

  bool session_ = false;
  Duration heartbeat_interval_ = std::chrono::seconds(5);
  Duration capacity_interval_ = std::chrono::seconds(30);
  uint64_t epoch_ = 0;
  uint64_t incarnation_ = 0;
  uint64_t msg_counter_ = 0;
  std::optional<SiteCapacity> last_capacity_;  // as last sent, epoch cleared
  bool last_degraded_ = false;
  MonoTime last_hello_{};
  MonoTime last_heartbeat_{};
  MonoTime last_capacity_sent_{};
  MonoTime last_capacity_check_{};
  MonoTime last_outbox_flush_{};
  MonoTime last_backend_poll_{};
  MonoTime last_usage_check_{};
  uint64_t errors_received_ = 0;
  std::string last_error_;
  JobCommands commands_;
  JobOutputReader output_;
  AgentLease lease_;
  // Attempts found gone at start: every HELLO of this run reports them lost.
  std::vector<JobReport> lost_at_start_;
};

}  // namespace aifed::agent
