// The site agent's durable state in one SQLite file (WAL): every dispatch it accepted
// (the idempotency record: written *before* the job is handed to the local scheduler),
// the outbox of messages not yet acknowledged by the coordinator, the capacity epoch, the
// job lease and the site's maintenance windows.
//
//   auto store = AgentStore::open(path);
//   if (auto known = (*store)->findDispatch(tag); known.ok() && *known) reAck(**known);
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/messages.h"
#include "protocol/status.h"
#include "protocol/types.h"
#include "site-agent/backends/backend.h"
#include "site-agent/job_commands.h"

namespace aifed::agent {

struct OutboxEntry {
  std::string msg_id;
  std::string frame;  // the encoded message, sent again verbatim
  Time created_at{};
  bool operator==(const OutboxEntry&) const = default;
};

// DispatchLedger (findDispatch, saveDispatch), durable.
class AgentStore : public DispatchLedger {
 public:
  static Result<std::unique_ptr<AgentStore>> open(const std::string& path);

  // Accepted dispatches whose state is not terminal.
  virtual Result<std::vector<DispatchRecord>> activeDispatches() = 0;
  // Accepted attempts that ended and whose usage is not reported yet (JOB_USAGE), oldest
  // change first, at most `limit`.
  virtual Result<std::vector<DispatchRecord>> usageDue(size_t limit) = 0;
  // Finds the accepted dispatch holding this local id.
  virtual Result<std::optional<DispatchRecord>> findByLocalId(const std::string& local_id) = 0;

  virtual Status enqueueOutbox(const OutboxEntry& entry) = 0;
  // Removes the entry; unknown ids are ignored (acknowledgements may repeat).
  virtual Status acknowledgeOutbox(const std::string& msg_id) = 0;
  // Oldest first.
  virtual Result<std::vector<OutboxEntry>> pendingOutbox() = 0;
  // How many entries wait for an acknowledgement (the agent's health reports it).
  virtual Result<uint64_t> outboxDepth() = 0;

  // The capacity epoch survives restarts so it only ever increases.
  virtual Result<uint64_t> loadEpoch() = 0;
  virtual Status saveEpoch(uint64_t epoch) = 0;

  // A new run of the agent: 1 + the previous one, durable before it is returned.
  virtual Result<uint64_t> startIncarnation() = 0;

  // The job lease (agent_lease.h): the lease the coordinator gave last (0: none) and the
  // wall time of the last contact made durable.
  struct LeaseState {
    Duration lease{0};
    std::optional<Time> last_contact;
  };
  virtual Result<LeaseState> loadLease() = 0;
  virtual Status saveLease(Duration lease) = 0;
  virtual Status saveLastContact(Time at) = 0;

  // The site's maintenance windows and their grace as the coordinator last sent them
  // (schema 6; none and 0 before the first MAINTENANCE). Saving replaces the whole list
  // in one transaction.
  virtual Result<Maintenance> loadMaintenance() = 0;
  virtual Status saveMaintenance(const Maintenance& m) = 0;
};

}  // namespace aifed::agent
