// The skeleton's placement policy, `earliest-start`: filter the sites that cannot take a
// job now, estimate when each remaining site would start it from its last capacity
// report minus what the broker already reserved there, and pick the earliest start.
//
// Pure functions over a snapshot: the broker builds one SiteView per federation site
// and asks for a decision; the same inputs always give the same decision.
//
//   std::vector<SiteView> views = ...;           // federation order
//   PlacementDecision d = decide(job, views, now, "earliest-start");
//   if (!d.chosen_site.empty()) dispatch(d.chosen_site, d.verdicts[i].partition);
#pragma once

#include <map>
#include <string>
#include <vector>

#include "coordinator/broker/broker.h"

namespace aifed::broker {

// Everything placement may know about one site.
struct SiteView {
  const SiteConfig* config = nullptr;
  const SiteRecord* record = nullptr;
  SiteState liveness = SiteState::kUnknown;           // without the drain overlay
  std::map<std::string, int> reserved_nodes;          // partition -> nodes reserved
  std::map<std::string, double> reserved_node_hours;  // partition -> node-hours reserved
};

// Whether a node type can run one node's worth of the job.
bool nodeTypeMatches(const NodeType& type, const JobSpec& spec);

// "4 x h100, 64 cores, 512 GiB": how a node type reads in reasons.
std::string describeNodeType(const NodeType& type);
// "2 nodes x 4 h100": what a job asks for per node, in reasons.
std::string describeRequest(const JobSpec& spec);

// The residency filter: the job's own allowed sites/countries and its project's
// allowed countries. Returns an empty string when allowed, else the reason.
std::string residencyReason(const JobSpec& spec, const SiteConfig& site,
                            const ProjectConfig* project);

// One placement decision for `job` over `sites` (federation order). The chosen site
// is the feasible one with the earliest estimated start; ties go to the site with the
// most free nodes left, then to federation order.
PlacementDecision decide(const JobRecord& job, const std::vector<SiteView>& sites,
                         const Federation& federation, Time now, const std::string& policy);

}  // namespace aifed::broker
