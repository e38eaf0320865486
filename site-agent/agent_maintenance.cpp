// The agent's half of maintenance windows (docs/operations.md, "Maintenance windows"):
// MAINTENANCE carries the site's whole list; the agent makes it durable, pauses its job
// lease by it (agent_lease.h) and only then acknowledges, so the coordinator's lease
// stops pausing for a cancelled window only once this agent has stopped too.
#include <spdlog/spdlog.h>

#include "protocol/maintenance.h"
#include "site-agent/agent.h"

namespace aifed::agent {

Status SiteAgent::restoreMaintenance() {
  Result<Maintenance> m = store_.loadMaintenance();
  if (!m.ok()) return m.status();
  if (!m->windows.empty()) {
    spdlog::info("{} maintenance window(s) held from before the restart", m->windows.size());
  }
  lease_.setMaintenance(std::move(m->windows), m->grace);
  return Status::Ok();
}

void SiteAgent::onMaintenance(const Message& m, const Maintenance& body, Instant now) {
  if (Status s = store_.saveMaintenance(body); !s.ok()) {
    // Not durable: no ACK, so the coordinator sends it again.
    logError("cannot keep the maintenance windows: " + s.toString());
    return;
  }
  if (lease_.maintenance() != body.windows) {
    for (const MaintenanceWindow& w : body.windows) {
      spdlog::info("maintenance window {} from {} to {} (grace {} s): {}", w.id, formatUtc(w.start),
                   formatUtc(w.end),
                   std::chrono::duration_cast<std::chrono::seconds>(body.grace).count(), w.reason);
    }
    if (body.windows.empty()) spdlog::info("maintenance windows: none");
  }
  lease_.observe(now);  // the stretch until now is judged by the windows held until now
  lease_.setMaintenance(body.windows, body.grace);
  send(Ack{m.msg_id}, now);
}

}  // namespace aifed::agent
