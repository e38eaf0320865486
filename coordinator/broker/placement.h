// The placement framework, in the style of the Kubernetes scheduler framework: a policy
// is a pipeline of filter plugins (which sites *can* take the job) followed by weighted
// score plugins (which feasible site is *best*).
//
// Pure functions over a snapshot: the broker builds one SiteView per federation site and
// asks a compiled Policy for a decision; plugins judge only what they are given, never
// look anything up and never read a clock, so the same inputs give the same decision.
// A filter answers with a code only; the framework asks it for the human reason of a
// rejection when the caller wants explanations (the daemon does, the simulator not),
// so no plugin builds a string nobody reads and none branches on who is asking.
//
//   Result<Policy> policy = Policy::make(spec);          // validates the spec
//   std::vector<SiteView> views = ...;                    // federation order
//   PlacementInput in{job, federation, now};
//   PlacementDecision d;
//   policy->decide(in, views, d);
//   if (!d.chosen_site.empty()) dispatch(d.chosen_site, chosenVerdict(d)->partition);
//
// Filters, in order: site-state, draining, excluded, residency, accelerator, fits,
// allocation. The first that rejects a site names it in the decision.
// Scores are 0..100 per plugin; the total is their weighted mean. Ties go to the site
// with more free nodes, then to federation order (the decision's tie_break names the rule
// that decided). A policy without score plugins (first-fit) takes the first feasible site
// in federation order.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/broker/allocation_ledger.h"
#include "coordinator/broker/policy.h"
#include "coordinator/broker/records.h"
#include "coordinator/broker/staging.h"
#include "protocol/federation.h"

namespace aifed::broker {

// Everything placement may know about one site.
struct SiteView {
  const SiteConfig* config = nullptr;
  const SiteRecord* record = nullptr;
  SiteState liveness = SiteState::kUnknown;           // without the drain overlay
  std::map<std::string, int> reserved_nodes;          // partition -> nodes reserved
  std::map<std::string, double> reserved_node_hours;  // partition -> node-hours reserved
};

// What one decision judges besides the sites.
struct PlacementInput {
  const JobRecord& job;
  const Federation& federation;
  Time now;
  const AllocationUsage* allocations = nullptr;  // null: nothing charged yet
  const ProjectConfig* project = nullptr;        // the job's project; decide() fills it
};

// How a plugin answered. Separates "cannot place here (now)" from "broke".
enum class PluginCode {
  kSuccess,
  kUnschedulable,                 // may change: the site is down, full, drained...
  kUnschedulableAndUnresolvable,  // will not change for this job: wrong type, residency
  kError,                         // the plugin failed; the site is skipped
};

// A site as the pipeline works on it: filters fill in the partition and estimate.
struct Candidate {
  const SiteView* view = nullptr;
  const PartitionCapacity* partition = nullptr;  // set by the `fits` filter
  int free_nodes = 0;                            // in that partition, after reservations
  int usable_nodes = 1;                          // neither down nor draining
  double queue_wait_s = 0;
  double staging_s = 0;
  double start_s() const { return queue_wait_s + staging_s; }
};

class FilterPlugin {
 public:
  virtual ~FilterPlugin() = default;
  virtual std::string_view name() const = 0;
  // kSuccess, or why not as a code. May fill `c`. Builds no strings.
  virtual PluginCode filter(const PlacementInput& in, Candidate& c) const = 0;
  // The reason a user reads for the rejection filter() just gave for `c` (called only
  // then, and only when the decision is explained).
  virtual std::string reason(const PlacementInput& in, const Candidate& c) const = 0;
};

// The spread of a plugin's raw inputs over the feasible sites, for normalisers that
// compare sites with each other.
struct RawRange {
  double min = 0;
  double max = 0;
};

class ScorePlugin {
 public:
  virtual ~ScorePlugin() = default;
  virtual std::string_view name() const = 0;
  // The plugin's input for this site, in scoreUnit(name()).
  virtual double raw(const PlacementInput& in, const Candidate& c) const = 0;
  // Maps a raw input to 0..100 (higher is better). `range` spans every feasible site.
  virtual double normalize(double raw, const RawRange& range) const = 0;
};

// The unit a score plugin's raw input is expressed in ("s", "EUR/MWh", ...).
std::string_view scoreUnit(std::string_view plugin);

// The filters every policy runs, in order.
const std::vector<const FilterPlugin*>& defaultFilters();
// A score plugin by name (scorePluginNames()); kNotFound for an unknown name.
Result<std::unique_ptr<ScorePlugin>> makeScorePlugin(std::string_view name, const PolicySpec& spec);

// Scratch space for decisions, kept by a caller that decides often so a decision does
// not allocate.
struct DecisionBuffers {
  std::vector<Candidate> candidates;
  std::vector<size_t> feasible;
  std::vector<double> raws;
};

// How a decision is made beyond its inputs, chosen by the caller.
struct DecideOptions {
  // False: the choice without its explanation. Rejected sites get neither `rejected_by`
  // nor a reason, feasible sites no score terms, a waiting decision no summary; the
  // choice, feasibility, partitions, estimates, free nodes, total scores and a placed
  // decision's summary are as with true.
  bool explain = true;
  DecisionBuffers* buffers = nullptr;  // null: the call's own
};

// A policy ready to decide: its spec with the plugins built.
class Policy {
 public:
  // Validates the spec (validatePolicy) and builds its plugins.
  static Result<Policy> make(const PolicySpec& spec);

  const PolicySpec& spec() const { return spec_; }
  // One decision for `in.job` over `sites` (federation order) into `d`: a verdict per
  // site. Every field of `d` is overwritten; its strings and vectors are reused.
  void decide(const PlacementInput& in, const std::vector<SiteView>& sites, PlacementDecision& d,
              DecideOptions options = {}) const;

 private:
  void filterSites(const PlacementInput& in, const std::vector<SiteView>& sites,
                   PlacementDecision& d, bool explain, DecisionBuffers& b) const;
  void scoreSites(const PlacementInput& in, PlacementDecision& d, bool explain,
                  DecisionBuffers& b) const;
  std::string_view tieBreak(const PlacementDecision& d, const std::vector<size_t>& feasible,
                            size_t best) const;

  PolicySpec spec_;
  std::vector<std::shared_ptr<const ScorePlugin>> scorers_;  // parallel to spec_.weights
};

// The verdict of the chosen site, or null while the job waits.
const SiteVerdict* chosenVerdict(const PlacementDecision& d);

// Whether a node type can run one node's worth of the job.
bool nodeTypeMatches(const NodeType& type, const JobSpec& spec);

// "4 x h100, 64 cores, 512 GiB": how a node type reads in reasons.
std::string describeNodeType(const NodeType& type);
// "2 nodes x 4 h100": what a job asks for per node, in reasons.
std::string describeRequest(const JobSpec& spec);
// 0 -> "now", 90 -> "in 90 s", 5400 -> "in 90 min", 9000 -> "in 2.5 h".
std::string formatStart(double seconds);

// The residency rule: the job's own allowed sites/countries and its project's allowed
// countries. residencyReason() is empty when allowed, else the reason.
bool residencyAllows(const JobSpec& spec, const SiteConfig& site, const ProjectConfig* project);
std::string residencyReason(const JobSpec& spec, const SiteConfig& site,
                            const ProjectConfig* project);

}  // namespace aifed::broker
