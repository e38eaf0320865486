#include "protocol/types.h"

#include <array>
#include <cmath>
#include <string>
#include <utility>

namespace aifed {
namespace {

constexpr size_t kMaxNameLength = 128;

bool isLowerIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

// Project and user names end up in Slurm arguments, SQLite rows and log lines: keep
// them to characters that need no quoting anywhere.
bool isAccountChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '@';
}

// A job name is free text for humans, but no control characters (they would break
// log lines and terminal output). Bytes >= 0x80 pass so UTF-8 names are fine.
bool isJobNameChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x20 && u != 0x7f;
}

bool isEnvKeyChar(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  return !first && c >= '0' && c <= '9';
}

Status checkName(const std::string& value, const char* field, bool (*allowed)(char)) {
  if (value.size() > kMaxNameLength) {
    return invalidArgument(
        std::string(field) + " must be at most " + std::to_string(kMaxNameLength) + " characters",
        field);
  }
  for (char c : value) {
    if (!allowed(c)) {
      return invalidArgument(std::string(field) + " contains a character that is not allowed",
                             field);
    }
  }
  return Status::Ok();
}

bool isCountryCode(const std::string& value) {
  return value.size() == 2 && value[0] >= 'A' && value[0] <= 'Z' && value[1] >= 'A' &&
         value[1] <= 'Z';
}

constexpr std::array<std::pair<JobState, std::string_view>, 10> kJobStateNames = {{
    {JobState::kQueued, "queued"},
    {JobState::kDispatched, "dispatched"},
    {JobState::kPending, "pending"},
    {JobState::kRunning, "running"},
    {JobState::kCompleted, "completed"},
    {JobState::kFailed, "failed"},
    {JobState::kCancelled, "cancelled"},
    {JobState::kTimeout, "timeout"},
    {JobState::kNodeFail, "node_fail"},
    {JobState::kLost, "lost"},
}};

constexpr std::array<std::pair<SiteState, std::string_view>, 5> kSiteStateNames = {{
    {SiteState::kUnknown, "unknown"},
    {SiteState::kUp, "up"},
    {SiteState::kSuspect, "suspect"},
    {SiteState::kUnreachable, "unreachable"},
    {SiteState::kDraining, "draining"},
}};

constexpr std::array<std::pair<DependencyCondition, std::string_view>, 3> kConditionNames = {{
    {DependencyCondition::kAfterOk, "afterok"},
    {DependencyCondition::kAfterAny, "afterany"},
    {DependencyCondition::kAfterNotOk, "afternotok"},
}};

bool isJobId(const std::string& id) {
  if (id.size() < 3 || id.size() > 21 || id.rfind("j-", 0) != 0 || id[2] == '0') return false;
  for (size_t i = 2; i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return false;
  }
  return true;
}

Status checkDependencies(const std::vector<JobDependency>& deps) {
  if (deps.size() > kMaxDependencies) {
    return invalidArgument(
        "at most " + std::to_string(kMaxDependencies) + " dependencies per job", "dependencies");
  }
  for (size_t i = 0; i < deps.size(); ++i) {
    if (!isJobId(deps[i].job)) {
      // The field is "dependencies" for every dependency error (the REST contract).
      return invalidArgument("dependencies[" + std::to_string(i) + "]: \"" + deps[i].job +
                                 "\" is not a job id (j-<n> or <n>)",
                             "dependencies");
    }
  }
  return Status::Ok();
}

}  // namespace

std::string_view dependencyConditionName(DependencyCondition condition) {
  for (const auto& [c, name] : kConditionNames) {
    if (c == condition) return name;
  }
  return "unknown";
}

std::optional<DependencyCondition> parseDependencyCondition(std::string_view name) {
  for (const auto& [c, n] : kConditionNames) {
    if (n == name) return c;
  }
  return std::nullopt;
}

Status validateOutputName(const std::string& name, const char* field) {
  if (name.size() > 255) {
    return invalidArgument(std::string(field) + " must be at most 255 bytes", field);
  }
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return invalidArgument(std::string(field) + " must not contain control characters", field);
    }
  }
  if (!name.empty() && name[0] == '/') {
    return invalidArgument(std::string(field) +
                               " must be a file name relative to the site's output directory, "
                               "not an absolute path",
                           field);
  }
  // No component may climb out of the output directory the site chose.
  for (size_t start = 0; start <= name.size();) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    if (name.compare(start, end - start, "..") == 0) {
      return invalidArgument(std::string(field) + " must not contain \"..\"", field);
    }
    start = end + 1;
  }
  return Status::Ok();
}

Status validateJobSpec(const JobSpec& spec) {
  if (Status s = checkName(spec.name, "name", isJobNameChar); !s.ok()) return s;
  if (Status s = checkName(spec.project, "project", isAccountChar); !s.ok()) return s;
  if (Status s = checkName(spec.user, "user", isAccountChar); !s.ok()) return s;
  if (Status s = checkName(spec.partition, "partition", isAccountChar); !s.ok()) return s;
  if (spec.nodes < 1) return invalidArgument("nodes must be at least 1", "nodes");
  if (spec.gpus_per_node < 0) {
    return invalidArgument("gpus_per_node must not be negative", "gpus_per_node");
  }
  for (char c : spec.gpu_type) {
    if (!isLowerIdentChar(c)) {
      return invalidArgument(
          "gpu_type must be a lower-case accelerator model name ([a-z0-9-]), got \"" +
              spec.gpu_type + "\"",
          "gpu_type");
    }
  }
  if (spec.gpu_type.size() > kMaxNameLength) {
    return invalidArgument("gpu_type is too long", "gpu_type");
  }
  if (!spec.gpu_type.empty() && spec.gpus_per_node == 0) {
    return invalidArgument("gpu_type \"" + spec.gpu_type + "\" given but gpus_per_node is 0",
                           "gpu_type");
  }
  if (spec.cores_per_node < 0) {
    return invalidArgument("cores_per_node must not be negative", "cores_per_node");
  }
  if (spec.memory_gib_per_node < 0) {
    return invalidArgument("memory_gib_per_node must not be negative", "memory_gib_per_node");
  }
  if (spec.walltime <= Duration::zero()) {
    return invalidArgument("walltime must be positive", "walltime_s");
  }
  if (spec.walltime > kMaxWalltime) {
    return invalidArgument("walltime must be at most 365 days (31536000 s); no site runs longer",
                           "walltime_s");
  }
  // Text handed to a batch system must not hide a NUL: C strings stop at it, so the
  // script a site runs would not be the one that was checked.
  if (spec.script.find('\0') != std::string::npos) {
    return invalidArgument("script must not contain NUL bytes", "script");
  }
  if (spec.workdir.find('\0') != std::string::npos) {
    return invalidArgument("workdir must not contain NUL bytes", "workdir");
  }
  for (size_t i = 0; i < spec.allowed_sites.size(); ++i) {
    const std::string& site = spec.allowed_sites[i];
    bool ok = !site.empty() && site.size() <= kMaxNameLength;
    for (char c : site) ok = ok && isLowerIdentChar(c);
    if (!ok) {
      return invalidArgument("allowed site id \"" + site + "\" is not a site id ([a-z0-9-])",
                             "allowed_sites[" + std::to_string(i) + "]");
    }
  }
  for (size_t i = 0; i < spec.allowed_countries.size(); ++i) {
    if (!isCountryCode(spec.allowed_countries[i])) {
      return invalidArgument("allowed country \"" + spec.allowed_countries[i] +
                                 "\" is not an ISO 3166 alpha-2 code (two upper-case letters)",
                             "allowed_countries[" + std::to_string(i) + "]");
    }
  }
  for (size_t i = 0; i < spec.preferred_sites.size(); ++i) {
    const std::string& site = spec.preferred_sites[i];
    bool ok = !site.empty() && site.size() <= kMaxNameLength;
    for (char c : site) ok = ok && isLowerIdentChar(c);
    if (!ok) {
      return invalidArgument("preferred site id \"" + site + "\" is not a site id ([a-z0-9-])",
                             "preferred_sites[" + std::to_string(i) + "]");
    }
  }
  for (size_t i = 0; i < spec.datasets.size(); ++i) {
    const DatasetRef& d = spec.datasets[i];
    const std::string field = "datasets[" + std::to_string(i) + "]";
    if (d.id.empty() || d.id.size() > kMaxNameLength) {
      return invalidArgument(
          "dataset id must be 1 to " + std::to_string(kMaxNameLength) + " characters",
          field + ".id");
    }
    if (!(d.size_gb >= 0) || d.size_gb > 1e12) {
      return invalidArgument("dataset size_gb must be a number from 0 to 1e12", field + ".size_gb");
    }
  }
  for (const auto& [key, value] : spec.env) {
    bool ok = !key.empty();
    for (size_t i = 0; i < key.size(); ++i) ok = ok && isEnvKeyChar(key[i], i == 0);
    if (!ok) {
      return invalidArgument("environment variable name \"" + key + "\" is not valid",
                             "env." + key);
    }
    if (value.find('\0') != std::string::npos) {
      return invalidArgument("environment variable " + key + " must not contain NUL bytes",
                             "env." + key);
    }
  }
  if (Status s = checkDependencies(spec.dependencies); !s.ok()) return s;
  if (Status s = validateOutputName(spec.stdout_name, "stdout"); !s.ok()) return s;
  if (Status s = validateOutputName(spec.stderr_name, "stderr"); !s.ok()) return s;
  if (spec.simulated_runtime && *spec.simulated_runtime < Duration::zero()) {
    return invalidArgument("simulated runtime must not be negative", "simulated_runtime_s");
  }
  return Status::Ok();
}

std::string_view jobStateName(JobState state) {
  for (const auto& [s, name] : kJobStateNames) {
    if (s == state) return name;
  }
  return "unknown";
}

std::optional<JobState> parseJobState(std::string_view name) {
  for (const auto& [s, n] : kJobStateNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

bool isTerminal(JobState state) {
  switch (state) {
    case JobState::kCompleted:
    case JobState::kFailed:
    case JobState::kCancelled:
    case JobState::kTimeout:
    case JobState::kNodeFail:
    case JobState::kLost:
      return true;
    default:
      return false;
  }
}

bool isSiteReportable(JobState state) {
  switch (state) {
    case JobState::kLost:  // protocol 1.1: the site no longer holds it (it did not end there)
    case JobState::kPending:
    case JobState::kRunning:
    case JobState::kCompleted:
    case JobState::kFailed:
    case JobState::kCancelled:
    case JobState::kTimeout:
    case JobState::kNodeFail:
      return true;
    default:
      return false;
  }
}

std::string_view siteStateName(SiteState state) {
  for (const auto& [s, name] : kSiteStateNames) {
    if (s == state) return name;
  }
  return "unknown";
}

std::optional<SiteState> parseSiteState(std::string_view name) {
  for (const auto& [s, n] : kSiteStateNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

namespace {

Status capacityError(const std::string& field, const std::string& what) {
  return invalidArgument(field + " " + what, field);
}

Status checkCount(const std::string& field, int64_t v, int64_t max) {
  if (v < 0) return capacityError(field, "must not be negative");
  if (v > max) return capacityError(field, "must be at most " + std::to_string(max));
  return Status::Ok();
}

Status checkPartition(const PartitionCapacity& p, const std::string& at) {
  if (p.name.empty() || p.name.size() > kMaxNameLength) {
    return capacityError(at + ".name", "must be 1 to 128 characters");
  }
  const std::pair<const char*, int> counts[] = {
      {"nodes_total", p.nodes_total},         {"nodes_idle", p.nodes_idle},
      {"nodes_allocated", p.nodes_allocated}, {"nodes_down", p.nodes_down},
      {"nodes_draining", p.nodes_draining},   {"pending_jobs", p.pending_jobs},
      {"running_jobs", p.running_jobs}};
  for (const auto& [name, v] : counts) {
    int64_t max = std::string_view(name).starts_with("nodes") ? kMaxPartitionNodes : 100'000'000;
    if (Status s = checkCount(at + "." + name, v, max); !s.ok()) return s;
  }
  int64_t accounted = int64_t{p.nodes_idle} + p.nodes_allocated + p.nodes_down + p.nodes_draining;
  if (accounted > p.nodes_total) {
    return capacityError(at + ".nodes_idle",
                         "idle + allocated + down + draining nodes (" + std::to_string(accounted) +
                             ") exceed nodes_total (" + std::to_string(p.nodes_total) + ")");
  }
  if (Status s = checkCount(at + ".node_type.accelerators_per_node",
                            p.node_type.accelerators_per_node, kMaxAcceleratorsPerNode);
      !s.ok()) {
    return s;
  }
  if (Status s = checkCount(at + ".node_type.cores", p.node_type.cores, 1'000'000); !s.ok()) {
    return s;
  }
  if (Status s = checkCount(at + ".node_type.memory_gib", p.node_type.memory_gib, 100'000'000);
      !s.ok()) {
    return s;
  }
  if (!std::isfinite(p.pending_node_hours) || p.pending_node_hours < 0 ||
      p.pending_node_hours > 1e12) {
    return capacityError(at + ".pending_node_hours", "must be a finite number from 0 to 1e12");
  }
  if (p.start_estimates.size() > 64) {
    return capacityError(at + ".start_estimates", "must hold at most 64 estimates");
  }
  for (size_t k = 0; k < p.start_estimates.size(); ++k) {
    const StartEstimate& e = p.start_estimates[k];
    std::string f = at + ".start_estimates[" + std::to_string(k) + "]";
    if (e.nodes < 1 || e.nodes > kMaxPartitionNodes) {
      return capacityError(f + ".nodes", "must be 1 to " + std::to_string(kMaxPartitionNodes));
    }
    if (Status s = checkCount(f + ".gpus_per_node", e.gpus_per_node, kMaxAcceleratorsPerNode);
        !s.ok()) {
      return s;
    }
    if (!std::isfinite(e.start_in_s) || e.start_in_s < 0 || e.start_in_s > 1e9) {
      return capacityError(f + ".start_in_s", "must be a finite number of seconds from 0 to 1e9");
    }
  }
  return Status::Ok();
}

}  // namespace

Status validateCapacity(const SiteCapacity& capacity) {
  if (capacity.epoch > kMaxCapacityEpoch) {
    return capacityError("epoch", "must be at most 2^53");
  }
  if (capacity.partitions.size() > static_cast<size_t>(kMaxReportedPartitions)) {
    return capacityError("partitions", "must hold at most " +
                                           std::to_string(kMaxReportedPartitions) + " partitions");
  }
  for (size_t i = 0; i < capacity.partitions.size(); ++i) {
    const std::string at = "partitions[" + std::to_string(i) + "]";
    if (Status s = checkPartition(capacity.partitions[i], at); !s.ok()) return s;
    for (size_t k = 0; k < i; ++k) {
      if (capacity.partitions[k].name == capacity.partitions[i].name) {
        return capacityError(at + ".name",
                             "repeats partition \"" + capacity.partitions[i].name + "\"");
      }
    }
  }
  return Status::Ok();
}

}  // namespace aifed
