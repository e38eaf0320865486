#include "coordinator/broker/admission.h"

#include <algorithm>
#include <set>

#include "coordinator/broker/placement.h"

namespace aifed::broker {

Status checkAgainstFederation(const JobSpec& spec, const Federation& fed) {
  if (!spec.gpu_type.empty() && !fed.offersAccelerator(spec.gpu_type)) {
    std::set<std::string> offered;
    for (const SiteConfig& s : fed.sites) {
      for (const PartitionConfig& p : s.partitions) {
        if (!p.node_type.accelerator.empty()) offered.insert(p.node_type.accelerator);
      }
    }
    std::string list;
    for (const std::string& o : offered) list += (list.empty() ? "" : ", ") + o;
    return invalidArgument(
        "no site offers accelerator \"" + spec.gpu_type + "\"; the federation offers: " + list,
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
  if (!spec.allowed_countries.empty()) {
    bool any = std::any_of(fed.sites.begin(), fed.sites.end(), [&](const SiteConfig& s) {
      return std::find(spec.allowed_countries.begin(), spec.allowed_countries.end(), s.country) !=
             spec.allowed_countries.end();
    });
    if (!any) {
      std::string list;
      for (const std::string& c : spec.allowed_countries) list += (list.empty() ? "" : ", ") + c;
      return invalidArgument("no federation site is in any allowed country (" + list + ")",
                             "allowed_countries");
    }
  }
  const ProjectConfig* project = fed.findProject(spec.project);
  bool type_anywhere = false, type_allowed = false;
  int largest = 0;
  std::string largest_where;
  for (const SiteConfig& s : fed.sites) {
    bool allowed = residencyReason(spec, s, project).empty();
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
  if (!type_anywhere) {
    std::string per_node;
    if (spec.gpus_per_node > 0) {
      per_node = std::to_string(spec.gpus_per_node) + " x " +
                 (spec.gpu_type.empty() ? "any accelerator" : spec.gpu_type);
    }
    if (spec.cores_per_node > 0) {
      per_node += (per_node.empty() ? "" : ", ") + std::to_string(spec.cores_per_node) + " cores";
    }
    if (spec.memory_gib_per_node > 0) {
      per_node +=
          (per_node.empty() ? "" : ", ") + std::to_string(spec.memory_gib_per_node) + " GiB";
    }
    return invalidArgument("no site has nodes with " + per_node + " per node",
                           spec.gpus_per_node > 0 ? "gpus_per_node" : "cores_per_node");
  }
  if (!type_allowed) {
    // Name what restricted it: the job's own lists, else its project's residency.
    std::string field = !spec.allowed_countries.empty() ? "allowed_countries"
                        : !spec.allowed_sites.empty()   ? "allowed_sites"
                                                        : "project";
    std::string why = "no site the job may use has nodes it fits on";
    if (field == "project" && project && !project->allowed_countries.empty()) {
      std::string list;
      for (const std::string& c : project->allowed_countries) {
        list += (list.empty() ? "" : ", ") + c;
      }
      why += ": project " + project->id + " may run only in " + list;
    }
    return invalidArgument(why, field);
  }
  return invalidArgument("the job needs " + std::to_string(spec.nodes) +
                             " nodes; the largest partition it may use has " +
                             std::to_string(largest) + " (" + largest_where + ")",
                         "nodes");
}

}  // namespace aifed::broker
