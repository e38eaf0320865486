// The site agent's durable state in one SQLite file (WAL): every dispatch it accepted
// (the idempotency record: written *before* the job is handed to the local scheduler),
// the outbox of messages not yet acknowledged by the coordinator, and the capacity epoch.
//
//   auto store = AgentStore::open(path);
//   if (auto known = (*store)->findDispatch(tag); known.ok() && *known) reAck(**known);
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/status.h"
#include "protocol/types.h"
#include "site-agent/backends/backend.h"

namespace aifed::agent {

struct DispatchRecord {
  JobTag tag;
  JobSpec spec;
  bool accepted = false;
  std::string reason;    // rejection reason when !accepted
  std::string local_id;  // empty until the backend accepted it
  JobState state = JobState::kPending;
  Time received_at{};
  Time updated_at{};
  bool operator==(const DispatchRecord&) const = default;
};

struct OutboxEntry {
  std::string msg_id;
  std::string frame;  // the encoded message, sent again verbatim
  Time created_at{};
  bool operator==(const OutboxEntry&) const = default;
};

class AgentStore {
 public:
  virtual ~AgentStore() = default;
  static Result<std::unique_ptr<AgentStore>> open(const std::string& path);

  virtual Result<std::optional<DispatchRecord>> findDispatch(const JobTag& tag) = 0;
  // Inserts or replaces the record for record.tag.
  virtual Status saveDispatch(const DispatchRecord& record) = 0;
  // Accepted dispatches whose state is not terminal.
  virtual Result<std::vector<DispatchRecord>> activeDispatches() = 0;
  // Finds the accepted dispatch holding this local id.
  virtual Result<std::optional<DispatchRecord>> findByLocalId(const std::string& local_id) = 0;

  virtual Status enqueueOutbox(const OutboxEntry& entry) = 0;
  // Removes the entry; unknown ids are ignored (acknowledgements may repeat).
  virtual Status acknowledgeOutbox(const std::string& msg_id) = 0;
  // Oldest first.
  virtual Result<std::vector<OutboxEntry>> pendingOutbox() = 0;

  // The capacity epoch survives restarts so it only ever increases.
  virtual Result<uint64_t> loadEpoch() = 0;
  virtual Status saveEpoch(uint64_t epoch) = 0;
};

}  // namespace aifed::agent
