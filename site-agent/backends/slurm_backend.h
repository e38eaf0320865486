// SlurmBackend: a real Slurm cluster behind the Backend interface, driven through the
// commands a site operator knows (sinfo, squeue, sbatch, scancel, sacct) and their
// JSON output (Slurm 22.05+, data_parser v0.0.38). docs/slurm.md has the full mapping.
//
// * Capacity: `sinfo --json` (nodes: state, flags, partitions, CPUs, memory, GRES)
//   grouped by partition, plus pending/running jobs and pending node-hours per
//   partition from `squeue --json`.
// * Submission: `sbatch --parsable` with the script on stdin; the job carries the tag
//   `--comment=<tag_prefix>:<job_id>:<attempt>`. Before the first submission after a
//   start, and after any sbatch whose outcome is unknown (timeout, controller lost),
//   the backend reads squeue and returns the local id of an existing tagged job instead
//   of submitting again.
// * Status: every tracked job is followed in `squeue --json` (in 22.05 it lists the
//   jobs slurmctld still holds, finished ones included, for MinJobAge seconds); a job
//   that has left it is looked up in `sacct --json` when accounting is configured.
// * Errors: Slurm's own message, with kUnavailable when the controller does not
//   answer (the agent then reports the site degraded and retries), and
//   kInvalidArgument / kFailedPrecondition when Slurm refuses a job.
//
//   SlurmOptions o;
//   o.gpu_partitions = {{"h100", "gpu"}};
//   o.cpu_partition = "cpu";
//   auto slurm = SlurmBackend::create(o, std::make_unique<ProcessRunner>());
//   Result<SubmittedJob> job = (*slurm)->submit({"job-1", 1}, spec, {}, clock.now());  // "4711"
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "site-agent/backends/backend.h"
#include "site-agent/backends/process.h"

namespace aifed::agent {

struct SlurmOptions {
  // Partitions to report, in this order (empty: every partition sinfo shows).
  std::vector<std::string> partitions;
  // GPU model (aifed's lower-case name, as in spec.gpu_type) -> Slurm partition.
  std::map<std::string, std::string> gpu_partitions;
  // GPU model -> GRES type in --gres=gpu:TYPE:N, when the site's name differs.
  std::map<std::string, std::string> gres_types;
  std::string gpu_partition;  // GPU jobs of a model not in gpu_partitions (empty: refuse)
  std::string cpu_partition;  // jobs without GPUs (empty: refuse them)
  // aifed project -> Slurm account (--account); unmapped projects use default_account,
  // or no --account at all (the user's default) when that is empty too.
  std::map<std::string, std::string> accounts;
  std::string default_account;
  std::string bin_dir;     // directory of sbatch, squeue, ... (empty: look them up in PATH)
  std::string slurm_conf;  // SLURM_CONF for every command (empty: Slurm's default)
  std::string workdir;     // --chdir for jobs that name none (empty: the agent's cwd)
  // --output pattern, used as it is (the agent cannot name the files for `aifed logs`).
  // Empty: aifed-<job>.<attempt>.out and .err in output_dir.
  std::string output;
  // Where job output goes ({user} and {home}: the local user's); empty: the job's
  // working directory, else the mapped user's home, else `workdir`, else the agent's.
  std::string output_dir;
  std::string job_path = "/usr/local/bin:/usr/bin:/bin";  // PATH inside jobs
  std::string tag_prefix = "aifed";
  bool use_sacct = false;  // look up jobs that left squeue in accounting
  Duration command_timeout = std::chrono::seconds(20);
  Duration refresh = std::chrono::seconds(5);  // read squeue/sinfo at most this often
  // Job shapes whose start time is asked of Slurm (`sbatch --test-only`) and reported
  // with the capacity as the partition's start estimates (the coordinator's
  // estimated-start plugin prefers them to its own heuristic). Empty: none.
  struct ProbeShape {
    std::string gpu_type;  // "" with gpus_per_node 0: a CPU job
    int nodes = 1;
    int gpus_per_node = 0;
    Duration walltime = std::chrono::hours(1);
  };
  std::vector<ProbeShape> probes;
  Duration probe_interval = std::chrono::seconds(60);  // ask again at most this often
};

// A job's output file name (JobSpec::stdout_name / stderr_name) with the federation's
// values for what Slurm cannot know: %j the federation job id, %a the array index
// (AIFED_ARRAY_TASK_ID, 0 outside arrays), %A the array id (AIFED_ARRAY_ID, else the job
// id), %u the federation user, %x the job name, %% a percent sign; other %-sequences are
// left for sbatch. A value's "/" becomes "_". Nullopt for an empty pattern or one whose
// result would leave the output directory (the site's default names are used then).
std::optional<std::string> expandOutputName(const std::string& pattern, const JobTag& tag,
                                            const JobSpec& spec);

class SlurmBackend final : public Backend {
 public:
  // kInvalidArgument if the options contradict themselves (empty tag prefix, a
  // non-positive timeout). Does not contact Slurm: a controller that is down at start
  // is a degraded site, not a failed agent.
  static Result<std::unique_ptr<SlurmBackend>> create(SlurmOptions options,
                                                      std::unique_ptr<CommandRunner> runner);

  // The sbatch arguments for a job (without the script). kInvalidArgument when the
  // spec cannot be expressed at this site (no partition for its GPU model, no script).
  Result<std::vector<std::string>> sbatchArguments(const JobTag& tag, const JobSpec& spec) const;
  std::string tagComment(const JobTag& tag) const;

  // When Slurm would start a job of this shape if it were submitted now
  // (`sbatch --test-only`; nothing is submitted). For the estimated-start figure of
  // probe shapes (probeEstimates(), reported in CAPACITY as start_estimates).
  // kFailedPrecondition / kInvalidArgument with Slurm's reason if the shape cannot run
  // here at all; kUnavailable if Slurm is not answering.
  Result<Time> estimateStart(const JobSpec& shape);
  // Asks Slurm about every probe shape (at most every probe_interval) and returns the
  // estimates by partition, smallest shape first. Shapes Slurm refuses are left out.
  const std::map<std::string, std::vector<StartEstimate>>& probeEstimates(Time now);

  // Backend
  std::string_view kind() const override { return "slurm"; }
  Result<SubmittedJob> submit(const JobTag& tag, const JobSpec& spec, const LocalIdentity& as,
                              Time now) override;
  Status cancel(const std::string& local_id, Time now) override;
  std::vector<LocalJobUpdate> poll(Time now) override;
  Result<SiteCapacity> capacity(Time now) override;
  std::vector<LocalJobUpdate> activeJobs() const override;
  std::optional<Time> nextEventTime() const override { return std::nullopt; }
  bool adopt(const JobTag& tag, const std::string& local_id) override;
  bool keepsAccounting() const override { return options_.use_sacct; }
  // Down when the last Slurm command could not run or found the controller unreachable
  // (a command Slurm answered "no" to, such as an sbatch it refused, counts as success).
  // `now` is not used: the times are those of the calls that ran the commands.
  BackendHealth health(Time now) const override {
    (void)now;
    return health_;
  }
  // `sacct --json -X -j ID`: elapsed, allocated nodes and GPUs (TRES), state, exit code,
  // user and account, once the job's record there has ended.
  Result<std::optional<LocalUsage>> usage(const std::string& local_id, Time now) override;

  // One job as squeue or sacct shows it.
  struct SlurmJob {
    std::string id;
    std::string name;
    std::string comment;
    std::string state;  // JOB_STATE as Slurm spells it: PENDING, RUNNING, COMPLETED...
    std::string reason;
    std::vector<std::string> partitions;
    int node_count = 0;
    std::optional<int64_t> time_limit_min;
    int64_t submit_time = 0, start_time = 0, end_time = 0;  // Unix seconds, 0: not yet
    std::optional<int> exit_code;                           // decoded, when ended
    bool refused = false;  // a record sbatch left behind for a job it refused
    // From accounting (sacct) only:
    int64_t elapsed_s = 0;
    int alloc_nodes = 0;
    int alloc_gpus = 0;
    std::string alloc_tres;  // "cpu=2,gres/gpu=2,node=1"
    std::string user;
    std::string account;
  };
  // Parses `squeue --json` (Slurm 22.05+). kInternal with the parser's message if the
  // text is not what 22.05 prints.
  static Result<std::vector<SlurmJob>> parseSqueue(const std::string& json_text);
  // Parses `sacct --json`.
  static Result<std::vector<SlurmJob>> parseSacct(const std::string& json_text);
  // Parses `sinfo --json` and the jobs into per-partition capacity.
  static Result<SiteCapacity> parseCapacity(const std::string& sinfo_json,
                                            const std::vector<SlurmJob>& jobs,
                                            const std::vector<std::string>& partitions);
  // What an aifed job state is for a Slurm state name; nullopt for states that say
  // nothing new (e.g. an unknown future state name).
  static std::optional<JobState> mapState(const std::string& slurm_state);

 private:
  // Sets the arguments the site's rules and mapping decide (partition, QOS, account,
  // --uid/--gid) and the output files, whose paths it returns.
  SubmittedJob applyIdentity(const JobTag& tag, const JobSpec& spec, const LocalIdentity& as,
                             std::vector<std::string>& args) const;

  struct Tracked {
    JobTag tag;
    std::string local_id;
    LocalJobUpdate current;  // the last state reported through poll()
    bool reported = false;   // current has been reported at least once
    bool terminal = false;   // a terminal state has been reported: no longer followed
  };

  SlurmBackend(SlurmOptions options, std::unique_ptr<CommandRunner> runner);

  // Runs one Slurm command and records its outcome in health_ (at now_).
  Result<CommandOutput> runSlurm(const std::string& tool, std::vector<std::string> args,
                                 const std::string& input = {},
                                 const std::map<std::string, std::string>& env = {});
  // squeue --json, at most every options_.refresh unless `fresh`.
  Status refreshJobs(Time now, bool fresh);
  void indexTags(const std::vector<SlurmJob>& jobs);
  std::optional<JobTag> parseTag(const std::string& comment) const;
  LocalJobUpdate updateFor(const Tracked& t, const SlurmJob& job) const;

  SlurmOptions options_;
  std::unique_ptr<CommandRunner> runner_;
  std::map<std::string, Tracked> tracked_;                     // by local id
  std::map<std::pair<std::string, int>, std::string> by_tag_;  // tag -> local id
  // Jobs as last read from squeue, and when.
  std::vector<SlurmJob> jobs_;
  std::optional<Time> jobs_at_;
  bool tags_known_ = false;  // squeue was read since start and after every unsure sbatch
  std::map<std::string, std::vector<StartEstimate>> estimates_;  // by partition
  std::optional<Time> estimates_at_;
  std::optional<Time> capacity_at_;
  std::optional<SiteCapacity> capacity_;
  // The `now` of the public call in progress (every call that runs commands takes one),
  // for the time of health_'s last success.
  Time now_{};
  BackendHealth health_{.ok = true, .error = {}, .last_ok_at = std::nullopt};
};

// Decodes Slurm's exit_code (a wait(2) status) into an exit code; 128+N for signal N.
int decodeSlurmExitCode(int64_t raw);

}  // namespace aifed::agent
