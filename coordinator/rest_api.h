// The REST API v1 handlers (docs/api.md): job intake and queries, sites, federation
// summary. They run on the coordinator's event-loop thread and call the broker directly.
#pragma once

#include <boost/json.hpp>
#include <functional>

#include "coordinator/api/http_server.h"
#include "coordinator/broker/broker.h"

namespace aifed::coordinator {

// What the REST layer needs from the daemon.
class JobService {
 public:
  virtual ~JobService() = default;
  virtual broker::Broker& broker() = 0;
  virtual Time now() const = 0;
  // Persists `fx` and sends its messages; an error means nothing was made durable.
  virtual Status commit(broker::Effects& fx) = 0;
  // Group commit for job intake: gives the broker a placement tick, persists `fx` with
  // the tick's effects, sends the messages, then calls `done` with the outcome, possibly
  // later (the daemon batches every submission that arrives while a commit is being
  // written into the next transaction). The default ticks and commits at once.
  virtual void commitAsync(broker::Effects fx, std::function<void(Status)> done) {
    broker().tick(now(), fx);
    Status s = commit(fx);
    if (done) done(s);
  }
  // Per-connection counters for the federation summary.
  virtual boost::json::object transportStats() const = 0;
  // Every decision stored for a job, oldest first; explain falls back to the last one
  // when the broker has none in memory (a job decided before a restart). The default
  // has no store.
  virtual Result<std::vector<broker::PlacementDecision>> storedDecisions(
      const std::string& job_id) {
    (void)job_id;
    return std::vector<broker::PlacementDecision>{};
  }
};

void addRestRoutes(api::Router& router, JobService& service);

boost::json::object jobJson(const broker::JobRecord& job, const broker::PlacementDecision* last);
// GET /api/v1/jobs/{id}/explain: the decision with every site's verdict and breakdown.
boost::json::object explainJson(const broker::JobRecord& job,
                                const broker::PlacementDecision* decision);
boost::json::object policyJson(const broker::PolicySpec& policy);
boost::json::object siteJson(const broker::SiteRecord& site, const SiteConfig& config,
                             int reserved_nodes, Time now);

}  // namespace aifed::coordinator
