#include "coordinator/broker/admission.h"

#include <algorithm>
#include <set>

#include "common/strings.h"
#include "coordinator/broker/placement.h"

namespace aifed::broker {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// The job's accelerator model, allowed sites and allowed countries name something the
// federation has.
Status checkNames(const JobSpec& spec, const Federation& fed) {
  if (!spec.gpu_type.empty() && !fed.offersAccelerator(spec.gpu_type)) {
    std::set<std::string> offered;
    for (const SiteConfig& s : fed.sites) {
      for (const PartitionConfig& p : s.partitions) {
        if (!p.node_type.accelerator.empty()) offered.insert(p.node_type.accelerator);
      }
    }
    return invalidArgument("no site offers accelerator \"" + spec.gpu_type +
                               "\"; the federation offers: " + common::join(offered, ", "),
                           "gpu_type");
  }
  for (const std::string& a : spec.allowed_sites) {
    if (!fed.findSite(a)) {
      return invalidArgument("allowed site \"" + a + "\" is not in the federation",
                             "allowed_sites");
    }
  }
  // A list of allowed countries is a whitelist: countries without a site are harmless,
  // but at least one must have a site.
  if (!spec.allowed_countries.empty() &&
      std::none_of(fed.sites.begin(), fed.sites.end(), [&](const SiteConfig& s) {
        return contains(spec.allowed_countries, s.country);
      })) {
    return invalidArgument("no federation site is in any allowed country (" +
                               common::join(spec.allowed_countries, ", ") + ")",
                           "allowed_countries");
  }
  return Status::Ok();
}

// "h100 nodes", "accelerator nodes", "nodes with 64 cores, 512 GiB": the kind of node the
// job needs, in refusals.
std::string nodeWords(const JobSpec& spec) {
  if (spec.gpus_per_node > 0)
    return (spec.gpu_type.empty() ? "accelerator" : spec.gpu_type) + " nodes";
  std::vector<std::string> per_node;
  if (spec.cores_per_node > 0) per_node.push_back(std::to_string(spec.cores_per_node) + " cores");
  if (spec.memory_gib_per_node > 0) {
    per_node.push_back(std::to_string(spec.memory_gib_per_node) + " GiB");
  }
  return per_node.empty() ? "nodes" : "nodes with " + common::join(per_node, ", ");
}

// No partition anywhere has the node type.
Status noNodeType(const JobSpec& spec) {
  std::vector<std::string> per_node;
  if (spec.gpus_per_node > 0) {
    per_node.push_back(std::to_string(spec.gpus_per_node) + " x " +
                       (spec.gpu_type.empty() ? "any accelerator" : spec.gpu_type));
  }
  if (spec.cores_per_node > 0) per_node.push_back(std::to_string(spec.cores_per_node) + " cores");
  if (spec.memory_gib_per_node > 0) {
    per_node.push_back(std::to_string(spec.memory_gib_per_node) + " GiB");
  }
  return invalidArgument("no site has nodes with " + common::join(per_node, ", ") + " per node",
                         spec.gpus_per_node > 0 ? "gpus_per_node" : "cores_per_node");
}

// What the scan over every partition with the job's node type found.
struct Scan {
  bool type_anywhere = false;
  bool in_countries = false;  // ...at a site in the job's allowed countries (or no list)
  bool in_sites = false;      // ...at one of its allowed sites (or no list)
  bool own_lists = false;     // ...at a site both lists allow
  bool allowed = false;       // ...and its project's residency allows
  bool fits = false;          // ...with enough nodes
  int largest = 0;            // the largest allowed partition, when none fits
  std::string largest_where;
  std::set<std::string> fit_sites;  // sites where it is allowed and fits
};

Scan scan(const JobSpec& spec, const Federation& fed, const ProjectConfig* project) {
  Scan r;
  for (const SiteConfig& s : fed.sites) {
    bool country = spec.allowed_countries.empty() || contains(spec.allowed_countries, s.country);
    bool site = spec.allowed_sites.empty() || contains(spec.allowed_sites, s.id);
    bool allowed = residencyAllows(spec, s, project);
    for (const PartitionConfig& p : s.partitions) {
      if (!nodeTypeMatches(p.node_type, spec)) continue;
      r.type_anywhere = true;
      r.in_countries |= country;
      r.in_sites |= site;
      r.own_lists |= country && site;
      if (!allowed) continue;
      r.allowed = true;
      if (p.nodes >= spec.nodes) {
        r.fits = true;
        r.fit_sites.insert(s.id);
      } else if (p.nodes > r.largest) {
        r.largest = p.nodes;
        r.largest_where = s.id + "/" + p.name;
      }
    }
  }
  return r;
}

// The job's own lists, or its project's residency, leave no site with its node type.
Status residencyRefusal(const JobSpec& spec, const Scan& r, const ProjectConfig* project) {
  std::string words = nodeWords(spec);
  if (!r.in_countries) {
    return invalidArgument("allowed countries " + common::join(spec.allowed_countries, ", ") +
                               " exclude every site with " + words,
                           "allowed_countries");
  }
  if (!r.own_lists) {
    return invalidArgument("allowed sites " + common::join(spec.allowed_sites, ", ") +
                               (spec.allowed_countries.empty() ? "" : " in the allowed countries") +
                               " exclude every site with " + words,
                           "allowed_sites");
  }
  std::string only = project ? common::join(project->allowed_countries, ", ") : "";
  return invalidArgument("project " + spec.project + " may run only in " + only +
                             ", and no site there the job may use has " + words,
                         "project");
}

// The project has allocations, but none at a site where the job is allowed and fits.
Status allocationRefusal(const Scan& r, const ProjectConfig& project) {
  std::vector<std::string> at;
  for (const auto& [site, hours] : project.allocations) at.push_back(site);
  return invalidArgument("project " + project.id + " has no allocation at any site that can run " +
                             "the job (" + common::join(r.fit_sites, ", ") +
                             "); its allocations are at " + common::join(at, ", "),
                         "project");
}

}  // namespace

Status checkAgainstFederation(const JobSpec& spec, const Federation& fed) {
  if (Status s = checkNames(spec, fed); !s.ok()) return s;
  const ProjectConfig* project = fed.findProject(spec.project);
  Scan r = scan(spec, fed, project);
  if (!r.type_anywhere) return noNodeType(spec);
  if (!r.allowed) return residencyRefusal(spec, r, project);
  if (!r.fits) {
    return invalidArgument("the job needs " + std::to_string(spec.nodes) +
                               " nodes; the largest partition it may use has " +
                               std::to_string(r.largest) + " (" + r.largest_where + ")",
                           "nodes");
  }
  if (project && !project->allocations.empty() &&
      std::none_of(r.fit_sites.begin(), r.fit_sites.end(),
                   [&](const std::string& s) { return project->allocations.count(s) > 0; })) {
    return allocationRefusal(r, *project);
  }
  return Status::Ok();
}

}  // namespace aifed::broker
