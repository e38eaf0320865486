// The site agent's view of a local batch system. The agent owns identity and
// idempotency (it persists every dispatch before calling submit); a backend only runs
// jobs and reports what happened to them.
//
// Two implementations: SimulatedBackend (an in-process FCFS + EASY scheduler over
// modelled nodes, the demo's and the simulator's sites) and the Slurm backend.
//
//   auto backend = SimulatedBackend::create(site_config.partitions, options);
//   Result<SubmittedJob> job = backend->submit(tag, spec, LocalIdentity{}, clock.now());
//   for (const LocalJobUpdate& u : backend->poll(clock.now())) report(u);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/clock.h"
#include "protocol/status.h"
#include "protocol/types.h"

namespace aifed::agent {

// The federation's name for one attempt of a job; backends tag local jobs with it.
struct JobTag {
  std::string job_id;
  int attempt = 1;
  bool operator==(const JobTag&) const = default;
};

// Who a job runs as at the site and under which terms, as the agent's identity mapping
// and the site's rules decide before submission. Empty fields: the agent's own account
// and the scheduler's defaults (a simulated site ignores all of it).
struct LocalIdentity {
  std::string user{};             // local Unix user
  std::optional<uint32_t> uid{};  // resolved from `user` on this host
  std::optional<uint32_t> gid{};  // the user's primary group
  std::string account{};          // the batch system's account to charge
  std::string partition{};
  std::string qos{};
  // The user's home directory (where a backend puts output when the site names no
  // directory); not kept in the agent's records.
  std::string home{};
  bool operator==(const LocalIdentity&) const = default;
};

// What a backend says about a job it accepted.
struct SubmittedJob {
  std::string local_id{};
  // Where the job's output goes at the site (absolute paths); empty: the backend keeps
  // none it can name.
  std::string stdout_path{};
  std::string stderr_path{};
  bool operator==(const SubmittedJob&) const = default;
};

// One change of a local job's state, as observed by the backend.
struct LocalJobUpdate {
  JobTag tag;
  std::string local_id;
  JobState state = JobState::kPending;  // kPending, kRunning, or a terminal state
  std::optional<Time> submitted_at;
  std::optional<Time> started_at;
  std::optional<Time> ended_at;
  std::optional<int> exit_code;
  std::string reason;
};

// What the site's accounting says an ended job used.
struct LocalUsage {
  Duration elapsed{0};
  int nodes = 0;  // allocated
  int gpus = 0;   // allocated, all nodes
  std::string tres;  // the accounting's allocated TRES, as it spells them
  std::optional<int> exit_code;
  std::string state;  // the accounting's final state ("COMPLETED", ...)
  std::string local_user;
  std::string account;
};

// Whether the local scheduler answers, as the backend last found it (the agent reports it
// in its health, protocol/agent_health.h).
struct BackendHealth {
  bool ok = true;
  std::string error{};  // why not, in the scheduler's words; "" when ok
  // When a command last succeeded; nullopt: none since the backend was created.
  std::optional<Time> last_ok_at{};
};

class Backend {
 public:
  virtual ~Backend() = default;

  // "simulated" or "slurm".
  virtual std::string_view kind() const = 0;

  // Hands a job to the local scheduler, to run as `as`. Returns its local id and output
  // paths. kInvalidArgument / kFailedPrecondition: the site refuses this job for good
  // (the message says why, e.g. "no partition has 8 x h100 per node"); kUnavailable: the
  // scheduler is not answering, try again later. Must not submit a second local job
  // for a tag it already holds: it returns the existing job instead.
  virtual Result<SubmittedJob> submit(const JobTag& tag, const JobSpec& spec,
                                      const LocalIdentity& as, Time now) = 0;

  // Asks the local scheduler to cancel. The resulting kCancelled arrives through poll().
  // kNotFound if the local id is unknown; cancelling a finished job is OK (no effect).
  virtual Status cancel(const std::string& local_id, Time now) = 0;

  // Brings the backend up to `now` and returns every state change since the last poll,
  // in the order they happened.
  virtual std::vector<LocalJobUpdate> poll(Time now) = 0;

  // Current capacity. The epoch is left 0: the agent assigns epochs.
  virtual Result<SiteCapacity> capacity(Time now) = 0;

  // Every job the backend holds that has not reached a terminal state.
  virtual std::vector<LocalJobUpdate> activeJobs() const = 0;

  // When poll() next has something to do on its own (a simulated job ending), if known.
  virtual std::optional<Time> nextEventTime() const = 0;

  // Whether usage() reads a real accounting (Slurm's sacct). Without one the agent reports
  // what its own records say (source "scheduler").
  virtual bool keepsAccounting() const { return false; }
  // The accounting's record of an ended job; nullopt while it has none yet (accounting
  // lags the end by seconds). kUnavailable: the accounting is not answering.
  virtual Result<std::optional<LocalUsage>> usage(const std::string& local_id, Time now) {
    (void)local_id;
    (void)now;
    return std::optional<LocalUsage>();
  }

  // Whether the scheduler answered the backend's last command. A backend that runs no
  // commands (the simulated one) is always healthy: its last success is `now`.
  virtual BackendHealth health(Time now) const {
    return {.ok = true, .error = {}, .last_ok_at = now};
  }

  // After an agent restart: asks the backend to follow a job an earlier run of the
  // agent submitted. True if it will (the job's state then arrives through poll(), and
  // activeJobs() holds it until a terminal state has been reported); false if it cannot
  // know that job (a simulated site forgets everything when the agent stops).
  virtual bool adopt(const JobTag& tag, const std::string& local_id) {
    (void)tag;
    (void)local_id;
    return false;
  }
};

}  // namespace aifed::agent
