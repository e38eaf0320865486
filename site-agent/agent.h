// The site agent's logic: session with the coordinator (HELLO/WELCOME), capacity
// reports with a strictly increasing epoch, heartbeats, dispatch handling with
// exactly-once effect, job status reporting through a durable outbox.
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
#include "site-agent/agent_store.h"
#include "site-agent/backends/backend.h"
#include "site-agent/job_commands.h"

namespace aifed::agent {

struct SiteAgentOptions {
  std::string site;
  std::string agent_version = "dev";
  Duration hello_retry = std::chrono::seconds(2);            // resend HELLO until WELCOME
  Duration capacity_check = std::chrono::milliseconds(500);  // poll backend capacity
  Duration retry_interval = std::chrono::seconds(3);         // resend unacknowledged outbox
  Duration backend_poll = std::chrono::seconds(1);           // poll backend for job changes
  Time boot_time{};                                          // makes msg_ids unique across restarts
};

class SiteAgent {
 public:
  // Sends one encoded frame; a failure means "not delivered now" (the outbox retries).
  using SendFn = std::function<Status(const std::string& frame)>;

  SiteAgent(SiteAgentOptions options, Backend& backend, AgentStore& store, SendFn send);

  // Loads the epoch, forgets local records of jobs the backend no longer holds (a
  // simulated site restarted: the coordinator learns it through reconciliation), and
  // sends HELLO. Fails only if the store cannot be read.
  Status start(Time now);

  // Handles one frame from the coordinator. Never throws; bad frames get ERROR replies.
  void onFrame(const std::string& frame, Time now);

  // The transport reconnected: the coordinator may have restarted, so say HELLO again.
  void onReconnected(Time now);

  // Polls the backend, reports job changes and capacity, heartbeats, retries.
  void tick(Time now);

  // When tick() next has something to do.
  Time nextWakeup(Time now) const;

  bool hasSession() const { return session_; }
  uint64_t epoch() const { return epoch_; }
  // DISPATCHes received, repeated and refused.
  const JobCommands::Stats& dispatchStats() const { return commands_.stats(); }
  uint64_t errorsReceived() const { return errors_received_; }
  const std::string& lastError() const { return last_error_; }

 private:
  std::string nextMsgId();
  Message envelope(Body body, Time now);
  void send(Body body, Time now);
  // Persists the message in the outbox, then sends it.
  void sendDurably(Body body, Time now);
  void sendHello(Time now);
  void sendCapacity(Time now, bool force);
  void handleDispatch(const Message& m, const Dispatch& d, Time now);
  void handleCancel(const Message& m, const Cancel& c, Time now);
  void reportUpdates(Time now);
  void flushOutbox(Time now, bool all);
  void logError(const std::string& what);

  SiteAgentOptions options_;
  Backend& backend_;
  AgentStore& store_;
  SendFn send_;

  bool session_ = false;
  Duration heartbeat_interval_ = std::chrono::seconds(5);
  Duration capacity_interval_ = std::chrono::seconds(30);
  uint64_t epoch_ = 0;
  uint64_t msg_counter_ = 0;
  std::optional<SiteCapacity> last_capacity_;  // as last sent, epoch cleared
  bool last_degraded_ = false;
  Time last_hello_{};
  Time last_heartbeat_{};
  Time last_capacity_sent_{};
  Time last_capacity_check_{};
  Time last_outbox_flush_{};
  Time last_backend_poll_{};
  uint64_t errors_received_ = 0;
  std::string last_error_;
  JobCommands commands_;
};

}  // namespace aifed::agent
