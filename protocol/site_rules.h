// The rules a site admits federation jobs by. They are the site's own: set in its agent's
// config (docs/operations.md, "Site administrator's guide"), published to the coordinator
// in HELLO (protocol 1.2), used by the broker's `site-rules` filter so a job is not sent
// where it would be refused, and enforced again by the agent on every DISPATCH: the
// federation proposes, the site decides.
//
//   SiteRules rules;
//   rules.projects = {"llm-eu"};
//   rules.max_gpus = 64;
//   if (std::optional<RuleRefusal> no = checkSiteRules(rules, spec)) {
//     // no->rule: "max_gpus"; no->reason: "the job asks for 128 GPUs; the site admits at most 64"
//   }
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/types.h"

namespace aifed {

// What a site does with `#SBATCH` lines in a job's script (they would override what the
// agent sets: account, partition, QOS, user).
enum class DirectivePolicy {
  kRefuse,  // the job is refused, naming the first such line
  kStrip,   // the lines are removed before submission (and the agent logs it)
};
std::string_view directivePolicyName(DirectivePolicy p);
std::optional<DirectivePolicy> parseDirectivePolicy(std::string_view name);

struct SiteRules {
  // Projects the site admits; empty: any.
  std::vector<std::string> projects;
  // Federation users the site maps to local accounts, as patterns ('*' matches any run of
  // characters): "*" for anyone, "*@csc.fi", "alice". Empty: the site decides at
  // dispatch only (its mapping is a command), so the broker cannot pre-filter users.
  std::vector<std::string> users;
  // Per-job limits; 0: none.
  int max_nodes = 0;
  int max_gpus = 0;  // nodes x gpus_per_node
  Duration max_walltime{0};
  double max_gpu_hours = 0;  // nodes x gpus_per_node x walltime
  // The partitions each project may ask for; the key "*" covers projects not listed. The
  // first entry is the one a job that names none gets. No entry: any partition.
  std::map<std::string, std::vector<std::string>> partitions;
  // The Slurm QOS each project's jobs run under; the key "*" covers projects not listed.
  // No entry: the account's default QOS.
  std::map<std::string, std::string> qos;
  DirectivePolicy directives = DirectivePolicy::kRefuse;
  bool operator==(const SiteRules&) const = default;
};

// Which rule refused a job and why, in words a user can act on.
struct RuleRefusal {
  std::string rule;  // "project", "user", "max_nodes", "max_gpus", "max_walltime",
                     // "max_gpu_hours", "partition", "sbatch_directive", "unmapped_user"
  std::string reason;
  bool operator==(const RuleRefusal&) const = default;
};

// The first rule `spec` breaks, or nothing. A user outside `users` is refused here only
// when `users` is not empty; the site's mapping has the last word (unmapped_user).
std::optional<RuleRefusal> checkSiteRules(const SiteRules& rules, const JobSpec& spec);

// The partition the job runs in under `rules`: its own, else the first its project may
// use; empty when the rules name none (the scheduler's default).
std::string partitionFor(const SiteRules& rules, const JobSpec& spec);

// The QOS the job runs under at this site (empty: the scheduler's default).
std::string qosFor(const SiteRules& rules, const JobSpec& spec);

// '*' matches any run of characters (none included); everything else matches itself.
bool globMatch(std::string_view pattern, std::string_view text);

// The `#SBATCH` lines of a batch script (Slurm reads them up to the first command line;
// every such line counts here, as a user would read the script), 1-based line numbers.
struct DirectiveLine {
  int line = 0;
  std::string text;
};
std::vector<DirectiveLine> sbatchDirectives(std::string_view script);
// The script without its `#SBATCH` lines (each replaced by a comment saying so, so line
// numbers in the user's error messages still match).
std::string stripSbatchDirectives(std::string_view script);

}  // namespace aifed
