// What a broker keeps and reports beyond what it needs to decide, chosen by its owner
// and injected at construction. The broker's logic and the placement plugins are the
// same whichever is chosen; only what leaves in Effects and what stays in memory differ.
//
// keepEverything() (the daemon, the default): every changed job and site record and every
// decision that says something new goes into the Effects for the store; decisions carry
// their explanation (every site's rejection reason or score terms); ended jobs stay in
// memory for the REST API; lastDecision() answers "why here" for every job.
//
// keepOutcomesOnly() (the simulator): only the messages and the final record of each job
// that ended leave in the Effects; no site records, no decisions, no explanations; ended
// jobs are dropped from memory at the end of the call that ended them, so memory grows
// with the active jobs only. A later message about a dropped job is answered as before.
//
//   Broker daemon_broker(federation, config);                        // keepEverything()
//   Broker sim_broker(federation, config, keepOutcomesOnly());
#pragma once

#include <memory>
#include <string>

#include "coordinator/broker/records.h"

namespace aifed::broker {

class RecordKeeping {
 public:
  virtual ~RecordKeeping() = default;

  // Whether decisions carry their explanation: rejection reasons, score terms and the
  // summary of a waiting job. Without, a decision holds only the choice and its numbers.
  virtual bool explains() const = 0;
  // Whether ended jobs stay in memory (findJob, listJobs, countJobs, lastDecision).
  virtual bool keepsEndedJobs() const = 0;

  // A job's record changed.
  virtual void jobChanged(const JobRecord& job, Effects& fx) = 0;
  // A site's record changed.
  virtual void siteChanged(const SiteRecord& site, Effects& fx) = 0;
  // A decision was made. May take `d` (leaving it valid with unspecified contents): the
  // caller refills it for the next decision.
  virtual void decided(PlacementDecision& d, Effects& fx) = 0;
  // The latest decision kept for a job, or null.
  virtual const PlacementDecision* lastDecision(const std::string& job_id) const = 0;
  // Drops what is kept of a job's decisions (a policy switch, a dropped job).
  virtual void forgetDecisions(const std::string& job_id) = 0;
};

std::unique_ptr<RecordKeeping> keepEverything();
std::unique_ptr<RecordKeeping> keepOutcomesOnly();

}  // namespace aifed::broker
