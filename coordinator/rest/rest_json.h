// The REST API's JSON renderings of the broker's records and identity rows (docs/api.md):
// one function per object, shared by the routes, the event stream and the tests.
#pragma once

#include <boost/json.hpp>
#include <optional>

#include "coordinator/broker/broker.h"
#include "coordinator/identity/audit_record.h"
#include "coordinator/identity/tokens.h"

namespace aifed::coordinator {

// `now` gives a running job's elapsed_s; without it, the job's last update does.
boost::json::object jobJson(const broker::JobRecord& job, const broker::PlacementDecision* last,
                            std::optional<Time> now = std::nullopt);
// GET /api/v1/jobs/{id}/explain: the decision with every site's verdict and breakdown.
boost::json::object explainJson(const broker::JobRecord& job,
                                const broker::PlacementDecision* decision);
boost::json::object policyJson(const broker::PolicySpec& policy);
// A job array (GET /api/v1/arrays/{id}): the record with its tasks counted by state and
// by site (every state and site with at least one task; the counts add up to "tasks").
boost::json::object arrayJson(const broker::ArrayRecord& array,
                              const std::vector<const broker::JobRecord*>& tasks);
// A token without its secret hash (GET /api/v1/tokens).
boost::json::object tokenJson(const identity::TokenRecord& token);
boost::json::object auditJson(const identity::AuditRecord& row);
boost::json::object policyChangeJson(const broker::PolicyChange& change);
// GET /api/v1/quarantine: an attempt an agent reported that the coordinator had no record of.
boost::json::object quarantinedJson(const broker::QuarantinedJob& q);
// A maintenance window: id, start_at, end_at (ms), reason, declared_by.
boost::json::object maintenanceWindowJson(const MaintenanceWindow& w);
// A site; "stale" (siteIsStale) needs the heartbeat interval the liveness rules use.
boost::json::object siteJson(const broker::SiteRecord& site, const SiteConfig& config,
                             int reserved_nodes, Time now,
                             Duration heartbeat_interval = std::chrono::seconds(5));
// The site's `agent` member: its agent's own health as last reported, null until one
// carried it; `stale` when that report is older than three heartbeat intervals.
boost::json::value agentHealthJson(const broker::SiteRecord& site, Time now,
                                   Duration heartbeat_interval);
// Whether a site's figures are not current: it is unreachable or unknown and its last
// capacity report (if any) is older than three heartbeat intervals. The console greys
// them and says when the site was last heard.
bool siteIsStale(const broker::SiteRecord& site, Time now, Duration heartbeat_interval);

}  // namespace aifed::coordinator
