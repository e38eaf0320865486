#include "coordinator/broker/placement.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace aifed::broker {
namespace {

struct Estimate {
  std::string partition;
  double start_s = 0;
  int free_nodes = 0;  // after reservations, before this job
};

double hours(Duration d) {
  return std::chrono::duration<double>(d).count() / 3600.0;
}

std::string formatSeconds(double s) {
  char buf[64];
  if (s < 1) return "now";
  if (s < 120) {
    std::snprintf(buf, sizeof buf, "in %.0f s", s);
  } else if (s < 7200) {
    std::snprintf(buf, sizeof buf, "in %.0f min", s / 60);
  } else {
    std::snprintf(buf, sizeof buf, "in %.1f h", s / 3600);
  }
  return buf;
}

// When the job would start in partition `p`: now if enough nodes are free after
// reservations and nobody waits there; otherwise after the queued backlog (pending plus
// reserved node-hours spread over the usable nodes) and, if not enough nodes are free,
// after the missing nodes have each run one walltime of this job's length. A heuristic
// for the skeleton: the placement engine replaces it with the site's own estimates.
Estimate estimate(const PartitionCapacity& p, const SiteView& view, const JobSpec& spec) {
  Estimate e;
  e.partition = p.name;
  auto rn = view.reserved_nodes.find(p.name);
  auto rh = view.reserved_node_hours.find(p.name);
  int reserved = rn == view.reserved_nodes.end() ? 0 : rn->second;
  double reserved_hours = rh == view.reserved_node_hours.end() ? 0 : rh->second;
  e.free_nodes = p.nodes_idle - reserved;
  int usable = std::max(1, p.nodes_total - p.nodes_down - p.nodes_draining);
  if (e.free_nodes >= spec.nodes && p.pending_jobs == 0) return e;
  double backlog = p.pending_node_hours + reserved_hours;
  double wait_h = backlog / usable;
  if (e.free_nodes < spec.nodes) {
    wait_h += (spec.nodes - std::max(0, e.free_nodes)) * hours(spec.walltime) / usable;
  }
  e.start_s = wait_h * 3600.0;
  return e;
}

}  // namespace

bool nodeTypeMatches(const NodeType& type, const JobSpec& spec) {
  if (spec.gpus_per_node > 0) {
    if (type.accelerator.empty()) return false;
    if (!spec.gpu_type.empty() && type.accelerator != spec.gpu_type) return false;
    if (type.accelerators_per_node < spec.gpus_per_node) return false;
  }
  if (spec.cores_per_node > 0 && type.cores < spec.cores_per_node) return false;
  if (spec.memory_gib_per_node > 0 && type.memory_gib < spec.memory_gib_per_node) return false;
  return true;
}

std::string describeNodeType(const NodeType& type) {
  std::ostringstream o;
  if (type.accelerator.empty()) {
    o << "no accelerators";
  } else {
    o << type.accelerators_per_node << " x " << type.accelerator;
  }
  o << ", " << type.cores << " cores, " << type.memory_gib << " GiB";
  return o.str();
}

std::string describeRequest(const JobSpec& spec) {
  std::ostringstream o;
  o << spec.nodes << (spec.nodes == 1 ? " node" : " nodes");
  if (spec.gpus_per_node > 0) {
    o << " x " << spec.gpus_per_node << " " << (spec.gpu_type.empty() ? "any-gpu" : spec.gpu_type);
  }
  if (spec.cores_per_node > 0) o << ", " << spec.cores_per_node << " cores";
  if (spec.memory_gib_per_node > 0) o << ", " << spec.memory_gib_per_node << " GiB";
  return o.str();
}

std::string residencyReason(const JobSpec& spec, const SiteConfig& site,
                            const ProjectConfig* project) {
  auto contains = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  if (!spec.allowed_sites.empty() && !contains(spec.allowed_sites, site.id)) {
    return "the job may run only at its allowed sites";
  }
  if (!spec.allowed_countries.empty() && !contains(spec.allowed_countries, site.country)) {
    return "the job may not run in " + site.country;
  }
  if (project && !project->allowed_countries.empty() &&
      !contains(project->allowed_countries, site.country)) {
    return "project " + project->id + " may not run in " + site.country;
  }
  return {};
}

PlacementDecision decide(const JobRecord& job, const std::vector<SiteView>& sites,
                         const Federation& federation, Time now, const std::string& policy) {
  PlacementDecision d;
  d.job_id = job.id;
  d.decided_at = now;
  d.policy = policy;
  const ProjectConfig* project = federation.findProject(job.spec.project);
  int best = -1;
  int rejected = 0;
  for (size_t i = 0; i < sites.size(); ++i) {
    const SiteView& v = sites[i];
    SiteVerdict verdict;
    verdict.site = v.config->id;
    auto reject = [&](const char* filter, std::string reason) {
      verdict.rejected_by = filter;
      verdict.reason = std::move(reason);
      ++rejected;
    };
    const SiteRecord& r = *v.record;
    if (v.liveness != SiteState::kUp) {
      reject("site-state", "site is " + std::string(siteStateName(v.liveness)));
    } else if (r.drained) {
      reject("draining", "an admin drained the site");
    } else if (r.degraded) {
      reject("site-state", "site is degraded: " + r.degraded_reason);
    } else if (!r.capacity) {
      reject("site-state", "no capacity report yet");
    } else if (std::find(job.excluded_sites.begin(), job.excluded_sites.end(), r.id) !=
               job.excluded_sites.end()) {
      reject("excluded", "an earlier attempt was refused or lost here");
    } else if (std::string why = residencyReason(job.spec, *v.config, project); !why.empty()) {
      reject("residency", why);
    } else {
      // The first partition of a matching node type that is large enough: the same
      // partition the site's local scheduler will pick.
      const PartitionCapacity* chosen = nullptr;
      std::string mismatch;
      for (const PartitionCapacity& p : r.capacity->partitions) {
        if (!nodeTypeMatches(p.node_type, job.spec)) {
          if (!mismatch.empty()) mismatch += "; ";
          mismatch += p.name + ": " + describeNodeType(p.node_type);
          continue;
        }
        if (p.nodes_total < job.spec.nodes) {
          if (!mismatch.empty()) mismatch += "; ";
          mismatch += p.name + " has " + std::to_string(p.nodes_total) + " nodes";
          continue;
        }
        chosen = &p;
        break;
      }
      if (!chosen) {
        reject("fits", "needs " + describeRequest(job.spec) + "; " +
                           (mismatch.empty() ? "no partitions" : mismatch));
      } else {
        Estimate e = estimate(*chosen, v, job.spec);
        verdict.feasible = true;
        verdict.partition = e.partition;
        verdict.estimated_start_s = e.start_s;
        verdict.free_nodes = e.free_nodes;
        verdict.score = -e.start_s;
        if (best < 0) {
          best = static_cast<int>(i);
        } else {
          const SiteVerdict& b = d.verdicts[static_cast<size_t>(best)];
          bool earlier = e.start_s < b.estimated_start_s - 1e-9;
          bool same = std::fabs(e.start_s - b.estimated_start_s) <= 1e-9;
          if (earlier || (same && e.free_nodes > b.free_nodes)) best = static_cast<int>(i);
        }
      }
    }
    d.verdicts.push_back(std::move(verdict));
  }
  if (best >= 0) {
    const SiteVerdict& b = d.verdicts[static_cast<size_t>(best)];
    d.chosen_site = b.site;
    std::ostringstream s;
    s << "placed on " << b.site << "/" << b.partition << ": starts "
      << formatSeconds(b.estimated_start_s) << " (" << std::max(0, b.free_nodes)
      << " nodes free before this job)";
    d.summary = s.str();
  } else {
    std::map<std::string, int> by_filter;
    for (const SiteVerdict& v : d.verdicts) by_filter[v.rejected_by]++;
    std::ostringstream s;
    s << "waiting: no site can take it now (";
    bool first = true;
    for (const auto& [filter, n] : by_filter) {
      s << (first ? "" : ", ") << n << " rejected by " << filter;
      first = false;
    }
    s << ")";
    d.summary = s.str();
  }
  (void)rejected;
  return d;
}

}  // namespace aifed::broker
