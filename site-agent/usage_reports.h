// What an ended attempt used, for JOB_USAGE (protocol 1.2): from the site's accounting
// when the backend keeps one (Slurm with use_sacct: `sacct`), else from the agent's own
// record of when the local scheduler started and ended it (source "scheduler"). The
// coordinator charges the project's allocation from it.
//
//   Result<std::optional<JobUsage>> u = usageOf(backend, record, now, std::chrono::hours(1));
//   if (u.ok() && *u) sendDurably(**u);   // nullopt: the accounting has no record yet
#pragma once

#include <optional>

#include "protocol/messages.h"
#include "site-agent/backends/backend.h"
#include "site-agent/job_commands.h"

namespace aifed::agent {

// nullopt while the accounting has no record of the ended attempt yet, until `give_up`
// after its end: then the agent's own record is reported (source "scheduler"), so a job
// the accounting lost is still charged. kUnavailable: the accounting is not answering.
Result<std::optional<JobUsage>> usageOf(Backend& backend, const DispatchRecord& record, Time now,
                                        Duration give_up);

}  // namespace aifed::agent
