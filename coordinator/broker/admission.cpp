#include "coordinator/broker/admission.h"

#include <algorithm>
#include <set>

#include "common/strings.h"
#include "coordinator/broker/placement.h"

namespace aifed::broker {
namespace {

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
        return std::find(spec.allowed_countries.begin(), spec.allowed_countries.end(), s.country) !=
               spec.allowed_countries.end();
      })) {
    return invalidArgument("no federation site is in any allowed country (" +
                               common::join(spec.allowed_countries, ", ") + ")",
                           "allowed_countries");
  }
  return Status::Ok();
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

// Partitions have the node type, but none at a site the job may use.
Status noAllowedSite(const JobSpec& spec, const ProjectConfig* project) {
  // Name what restricted it: the job's own lists, else its project's residency.
  std::string field = !spec.allowed_countries.empty() ? "allowed_countries"
                      : !spec.allowed_sites.empty()   ? "allowed_sites"
                                                      : "project";
  std::string why = "no site the job may use has nodes it fits on";
  if (field == "project" && project && !project->allowed_countries.empty()) {
    why += ": project " + project->id + " may run only in " +
           common::join(project->allowed_countries, ", ");
  }
  return invalidArgument(why, field);
}

}  // namespace

Status checkAgainstFederation(const JobSpec& spec, const Federation& fed) {
  if (Status s = checkNames(spec, fed); !s.ok()) return s;
  const ProjectConfig* project = fed.findProject(spec.project);
  bool type_anywhere = false, type_allowed = false;
  int largest = 0;
  std::string largest_where;
  for (const SiteConfig& s : fed.sites) {
    bool allowed = residencyAllows(spec, s, project);
    for (const PartitionConfig& p : s.partitions) {
      if (!nodeTypeMatches(p.node_type, spec)) continue;
      type_anywhere = true;
      if (!allowed) continue;
      type_allowed = true;
      if (p.nodes >= spec.nodes) return Status::Ok();
      if (p.nodes > largest) {
        largest = p.nodes;
        largest_where = s.id + "/" + p.name;
      }
    }
  }
  if (!type_anywhere) return noNodeType(spec);
  if (!type_allowed) return noAllowedSite(spec, project);
  return invalidArgument("the job needs " + std::to_string(spec.nodes) +
                             " nodes; the largest partition it may use has " +
                             std::to_string(largest) + " (" + largest_where + ")",
                         "nodes");
}

}  // namespace aifed::broker
