// One row of the audit log (docs/security.md): a state-changing REST request, allowed or
// refused. The REST layer makes these; the broker never does. A row travels beside the
// broker's Effects of the same request and the store writes both in one transaction
// (CoordinatorStore::apply), so a change is never durable without its row.
#pragma once

#include <cstdint>
#include <string>

#include "protocol/clock.h"

namespace aifed::identity {

struct AuditRecord {
  int64_t id = 0;  // assigned by the store
  Time at{};
  std::string actor;       // token id ("" when no token was recognised)
  std::string actor_name;  // the token's name
  std::string role;
  // The user the action was done for when that is not the actor's own user: an admin or
  // portal submitting a job for someone else (job.submit), "" otherwise.
  std::string on_behalf_of;
  std::string action;  // "job.submit", "site.drain", "session.login", ...
  std::string target;  // job, site, token or policy id
  std::string remote_address;
  std::string outcome;  // "ok", "denied" or "error"
  std::string detail;
  bool operator==(const AuditRecord&) const = default;
};

}  // namespace aifed::identity
