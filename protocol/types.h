// Domain value types shared by the coordinator, the site agent and the simulator:
// what a job asks for, what a site has, and the states a job moves through.
//
// These are plain values with no behaviour beyond validation. The JSON codec
// (protocol/codec.h) maps them to and from the wire; docs/protocol.md is normative.
//
//   JobSpec spec;
//   spec.nodes = 4; spec.gpus_per_node = 8; spec.gpu_type = "h200";
//   spec.walltime = std::chrono::hours(12); spec.project = "nordic-llm";
//   if (Status s = validateJobSpec(spec); !s.ok()) reject(s);
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/clock.h"
#include "protocol/status.h"

namespace aifed {

// One kind of node in a partition. Accelerator model names are lower-case
// ("h100", "mi250x"); an empty name means a CPU-only node.
struct NodeType {
  std::string accelerator;
  int accelerators_per_node = 0;
  int cores = 0;
  int memory_gib = 0;

  bool operator==(const NodeType&) const = default;
};

// The site's own answer to "when would a job of this shape start if submitted now?"
// (Slurm: `sbatch --test-only`), measured for the probe shapes its agent is configured
// with. `start_in_s` counts from the capacity report that carries it.
struct StartEstimate {
  int nodes = 1;
  int gpus_per_node = 0;
  double start_in_s = 0;

  bool operator==(const StartEstimate&) const = default;
};

// What a partition has, as last measured by the site's agent. Node counts partition
// the whole: total == idle + allocated + down + draining + (mixed counted as allocated).
struct PartitionCapacity {
  std::string name;
  NodeType node_type;
  int nodes_total = 0;
  int nodes_idle = 0;
  int nodes_allocated = 0;
  int nodes_down = 0;
  int nodes_draining = 0;
  int pending_jobs = 0;
  double pending_node_hours = 0;  // sum over pending jobs of nodes x requested hours
  int running_jobs = 0;
  // Optional: the site's start estimates for probe shapes (smallest shape first).
  std::vector<StartEstimate> start_estimates;

  bool operator==(const PartitionCapacity&) const = default;
};

// A site's capacity at one instant. `epoch` increases with every change the agent
// reports, so the coordinator can tell a newer report from a late duplicate.
struct SiteCapacity {
  uint64_t epoch = 0;
  std::vector<PartitionCapacity> partitions;

  bool operator==(const SiteCapacity&) const = default;
};

// Bounds of a capacity report (docs/protocol.md, CAPACITY): no real site comes near
// them, and below them every federation total fits in an int64.
inline constexpr int kMaxReportedPartitions = 256;
inline constexpr int kMaxPartitionNodes = 1'000'000;
inline constexpr int kMaxAcceleratorsPerNode = 1024;
inline constexpr uint64_t kMaxCapacityEpoch = uint64_t{1} << 53;  // exact in every JSON reader

// Checks what a capacity report can be checked for alone: counts not negative and within
// the bounds above, the nodes of a partition adding up to at most its total, unique
// partition names, finite non-negative hours and estimates, an epoch of at most
// kMaxCapacityEpoch. kInvalidArgument naming the field ("partitions[1].nodes_idle").
Status validateCapacity(const SiteCapacity& capacity);

// One input data set a job reads, by the federation file's dataset id. `size_gb` is
// what must be staged to a site that does not hold it (0: take the federation's size).
struct DatasetRef {
  std::string id;
  double size_gb = 0;

  bool operator==(const DatasetRef&) const = default;
};

// When a job that depends on another may start (Slurm's --dependency types): after the
// other one completed (exit 0), ended any way, or ended other than completed.
enum class DependencyCondition { kAfterOk, kAfterAny, kAfterNotOk };

std::string_view dependencyConditionName(DependencyCondition condition);
std::optional<DependencyCondition> parseDependencyCondition(std::string_view name);

// One dependency of a job: the coordinator holds the job queued until `job` ("j-<n>")
// ended the way `condition` asks (docs/placement.md, "Dependencies"). Coordinator-only:
// never sent to a site.
struct JobDependency {
  std::string job;
  DependencyCondition condition = DependencyCondition::kAfterOk;

  bool operator==(const JobDependency&) const = default;
};

// At most this many dependencies per job.
inline constexpr size_t kMaxDependencies = 64;

// What a researcher asks for. Per-node quantities are per node; `nodes` nodes are
// needed at once. An empty gpu_type means "any accelerator model"; gpus_per_node 0
// means a CPU job.
struct JobSpec {
  std::string name;
  std::string project;
  std::string user;
  int nodes = 1;
  int gpus_per_node = 0;
  std::string gpu_type;
  int cores_per_node = 0;       // 0: whatever the node has
  int memory_gib_per_node = 0;  // 0: whatever the node has
  Duration walltime{0};
  int priority = 0;
  std::vector<std::string> allowed_sites;      // empty: any
  std::vector<std::string> allowed_countries;  // empty: any (ISO 3166 alpha-2)
  bool requeue_on_site_loss = true;
  std::vector<DatasetRef> datasets;          // input data, staged where it is not present
  std::vector<std::string> preferred_sites;  // a soft wish, scored by the `preference` plugin
  // (1.2) The site partition the job asks for; empty: the one the site's rules give its
  // project. A site refuses a partition its rules do not allow the project.
  std::string partition{};
  // What to run (the Slurm backend's batch script) and how.
  std::string script;
  std::string workdir;
  std::map<std::string, std::string> env;
  // Jobs that must end first (coordinator-only: a DISPATCH leaves them out).
  std::vector<JobDependency> dependencies{};
  // Output file names (sbatch -o/-e), relative to the output directory the site chooses;
  // %j, %a, %A, %u, %x as in Slurm (federation values). Empty: the site's default names.
  std::string stdout_name{};
  std::string stderr_name{};
  // For simulated sites only: how long the job really runs (capped by walltime).
  // Absent: runs to its walltime.
  std::optional<Duration> simulated_runtime;
  // For simulated sites only: the exit code the job ends with (default 0).
  int simulated_exit_code = 0;

  bool operator==(const JobSpec&) const = default;
};

// A planned maintenance of one site, declared by an admin or the site's own site-admin:
// from `start` no new job goes there, and a site silent inside the window (plus a grace)
// does not run its jobs' leases out, on either side.
struct MaintenanceWindow {
  std::string id{};  // "mw-<n>", unique in the federation
  Time start{};
  Time end{};
  std::string reason{};
  std::string declared_by{};  // the user who declared it
  bool operator==(const MaintenanceWindow&) const = default;
};

// The longest walltime a job may ask for.
inline constexpr Duration kMaxWalltime = std::chrono::hours(24 * 365);

// Checks an output file name (JobSpec::stdout_name / stderr_name): relative, no ".."
// component, no control characters, at most 255 bytes. kInvalidArgument naming `field`.
Status validateOutputName(const std::string& name, const char* field);

// Checks what can be checked without knowing the federation: counts positive,
// walltime in (0, kMaxWalltime], names well formed, no NUL byte in the script, workdir
// or environment. Returns the first problem with its field name.
Status validateJobSpec(const JobSpec& spec);

// Every state a federated job can be in. The coordinator owns kQueued..kDispatched;
// the site reports kPending and later ones through JOB_STATUS.
enum class JobState {
  kQueued,      // accepted by the coordinator, not yet placed
  kDispatched,  // placed and sent to a site, not yet acknowledged
  kPending,     // accepted by the site, waiting in its local queue
  kRunning,
  kCompleted,  // ended with exit code 0
  kFailed,     // ended with a non-zero exit code
  kCancelled,
  kTimeout,   // killed at its walltime
  kNodeFail,  // killed by a node failure at the site
  kLost,      // its site became unreachable for longer than the lease
};

std::string_view jobStateName(JobState state);
std::optional<JobState> parseJobState(std::string_view name);
bool isTerminal(JobState state);
// States a site may report in JOB_STATUS.
bool isSiteReportable(JobState state);

// Liveness of a site as the coordinator sees it.
enum class SiteState {
  kUnknown,  // in the federation file, never heard from
  kUp,
  kSuspect,      // missed some heartbeats: no new jobs
  kUnreachable,  // missed many: no new jobs, running jobs start their lease
  kDraining,     // an admin stopped new placements here
};

std::string_view siteStateName(SiteState state);
std::optional<SiteState> parseSiteState(std::string_view name);

}  // namespace aifed
