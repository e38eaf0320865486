// The filter plugins every policy runs (docs/placement.md, "Filters"). Each answers with
// a code in filter(); reason() builds the sentence a user reads, only when asked.
#include <algorithm>
#include <cstdio>

#include "coordinator/broker/placement.h"
#include "protocol/maintenance.h"

namespace aifed::broker {
namespace {

double hours(Duration d) {
  return std::chrono::duration<double>(d).count() / 3600.0;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::string formatNumber(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Only sites that talk, are healthy, have said what they have and are not inside a
// declared maintenance window (judged at the decision's time).
class SiteStateFilter final : public FilterPlugin {
 public:
  std::string_view name() const override { return "site-state"; }
  PluginCode filter(const PlacementInput& in, Candidate& c) const override {
    const SiteRecord& r = *c.view->record;
    if (c.view->liveness != SiteState::kUp || r.degraded || !r.capacity ||
        activeWindow(r.maintenance, in.now)) {
      return PluginCode::kUnschedulable;
    }
    return PluginCode::kSuccess;
  }
  std::string reason(const PlacementInput& in, const Candidate& c) const override {
    const SiteRecord& r = *c.view->record;
    if (const MaintenanceWindow* w = activeWindow(r.maintenance, in.now)) {
      return "site is in maintenance window " + w->id + " until " + formatUtc(w->end) + ": " +
             w->reason;
    }
    if (c.view->liveness != SiteState::kUp) {
      return "site is " + std::string(siteStateName(c.view->liveness));
    }
    if (r.degraded) return "site is degraded: " + r.degraded_reason;
    return "no capacity report yet";
  }
};

class DrainingFilter final : public FilterPlugin {
 public:
  std::string_view name() const override { return "draining"; }
  PluginCode filter(const PlacementInput&, Candidate& c) const override {
    return c.view->record->drained ? PluginCode::kUnschedulable : PluginCode::kSuccess;
  }
  std::string reason(const PlacementInput&, const Candidate& c) const override {
    const SiteRecord& r = *c.view->record;
    std::string why = "drained";
    if (!r.drained_by.empty()) why += " by " + r.drained_by;
    if (r.drained_at) why += " at " + formatUtc(*r.drained_at);
    return why + (r.drain_reason.empty() ? "" : ": " + r.drain_reason);
  }
};

// Sites that refused or lost an earlier attempt of this job.
class ExcludedFilter final : public FilterPlugin {
 public:
  std::string_view name() const override { return "excluded"; }
  PluginCode filter(const PlacementInput& in, Candidate& c) const override {
    return contains(in.job.excluded_sites, c.view->config->id)
               ? PluginCode::kUnschedulableAndUnresolvable
               : PluginCode::kSuccess;
  }
  std::string reason(const PlacementInput&, const Candidate&) const override {
    return "an earlier attempt was refused or lost here, or withdrawn from it";
  }
};

// The rules the site published (protocol/site_rules.h): a job the site would refuse is not
// sent there. The agent checks them again on DISPATCH, with its identity mapping.
class SiteRulesFilter final : public FilterPlugin {
 public:
  std::string_view name() const override { return "site-rules"; }
  PluginCode filter(const PlacementInput& in, Candidate& c) const override {
    const std::optional<SiteRules>& rules = c.view->record->rules;
    return rules && checkSiteRules(*rules, in.job.spec) ? PluginCode::kUnschedulableAndUnresolvable
                                                        : PluginCode::kSuccess;
  }
  std::string reason(const PlacementInput& in, const Candidate& c) const override {
    const std::optional<SiteRules>& rules = c.view->record->rules;
    std::optional<RuleRefusal> no = rules ? checkSiteRules(*rules, in.job.spec) : std::nullopt;
    return no ? "the site's rule " + no->rule + ": " + no->reason : std::string();
  }
};

class ResidencyFilter final : public FilterPlugin {
 public:
  std::string_view name() const override { return "residency"; }
  PluginCode filter(const PlacementInput& in, Candidate& c) const override {
    return residencyAllows(in.job.spec, *c.view->config, in.project)
               ? PluginCode::kSuccess
               : PluginCode::kUnschedulableAndUnresolvable;
  }
  std::string reason(const PlacementInput& in, const Candidate& c) const override {
    return residencyReason(in.job.spec, *c.view->config, in.project);
  }
};

// The site has the accelerator model at all (whatever the node counts).
class AcceleratorFilter final : public FilterPlugin {
 public:
  std::string_view name() const override { return "accelerator"; }
  PluginCode filter(const PlacementInput& in, Candidate& c) const override {
    const JobSpec& spec = in.job.spec;
    if (spec.gpus_per_node <= 0) return PluginCode::kSuccess;
    for (const PartitionCapacity& p : c.view->record->capacity->partitions) {
      const std::string& a = p.node_type.accelerator;
      if (!a.empty() && (spec.gpu_type.empty() || a == spec.gpu_type)) {
        return PluginCode::kSuccess;
      }
    }
    return PluginCode::kUnschedulableAndUnresolvable;
  }
  // Lists the models on offer.
  std::string reason(const PlacementInput& in, const Candidate& c) const override {
    const JobSpec& spec = in.job.spec;
    const std::vector<PartitionCapacity>& parts = c.view->record->capacity->partitions;
    std::string why = "needs ";
    why += spec.gpu_type.empty() ? "accelerators" : spec.gpu_type;
    size_t listed = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      const std::string& a = parts[i].node_type.accelerator;
      if (a.empty()) continue;
      bool seen = false;
      for (size_t k = 0; k < i && !seen; ++k) seen = parts[k].node_type.accelerator == a;
      if (seen) continue;
      why += listed++ == 0 ? "; the site offers " : ", ";
      why += a;
    }
    if (listed == 0) why += "; the site has no accelerators";
    return why;
  }
};

// "Never fits": no partition has the node type in enough nodes. Picks the partition: the
// first, in the agent's report order, whose node type matches and which is large
// enough (the rule the local scheduler uses), and estimates the queue wait there.
class FitsFilter final : public FilterPlugin {
 public:
  std::string_view name() const override { return "fits"; }
  PluginCode filter(const PlacementInput& in, Candidate& c) const override {
    const JobSpec& spec = in.job.spec;
    for (const PartitionCapacity& p : c.view->record->capacity->partitions) {
      if (nodeTypeMatches(p.node_type, spec) && p.nodes_total >= spec.nodes) {
        c.partition = &p;
        estimate(p, *c.view, spec, c, in.now);
        return PluginCode::kSuccess;
      }
    }
    return PluginCode::kUnschedulableAndUnresolvable;
  }
  // Says per partition what is missing.
  std::string reason(const PlacementInput& in, const Candidate& c) const override {
    const JobSpec& spec = in.job.spec;
    std::string mismatch;
    for (const PartitionCapacity& p : c.view->record->capacity->partitions) {
      if (!mismatch.empty()) mismatch += "; ";
      if (!nodeTypeMatches(p.node_type, spec)) {
        mismatch += p.name + ": " + describeNodeType(p.node_type);
      } else {
        mismatch += p.name + " has " + std::to_string(p.nodes_total) + " nodes";
      }
    }
    return "needs " + describeRequest(spec) + "; " + (mismatch.empty() ? "no partitions" : mismatch);
  }

 private:
  // Starts now if enough nodes are free after reservations and nobody waits there;
  // otherwise after the backlog (pending plus reserved node-hours spread over the usable
  // nodes) and, when not enough nodes are free, after the missing nodes have each run
  // one walltime of this job. A heuristic: a site does not report when its jobs end.
  //
  // When the site measured start estimates for probe shapes (a Slurm site asks
  // `sbatch --test-only`), the smallest probe shape that covers the job replaces the
  // heuristic: its estimate, less the report's age, plus the reserved node-hours the
  // site had not seen yet spread over its usable nodes.
  static void estimate(const PartitionCapacity& p, const SiteView& view, const JobSpec& spec,
                       Candidate& c, Time now) {
    auto rn = view.reserved_nodes.find(p.name);
    auto rh = view.reserved_node_hours.find(p.name);
    int reserved = rn == view.reserved_nodes.end() ? 0 : rn->second;
    double reserved_hours = rh == view.reserved_node_hours.end() ? 0 : rh->second;
    c.free_nodes = p.nodes_idle - reserved;
    c.usable_nodes = std::max(1, p.nodes_total - p.nodes_down - p.nodes_draining);
    c.queue_wait_s = 0;
    for (const StartEstimate& e : p.start_estimates) {
      if (e.nodes < spec.nodes || e.gpus_per_node < spec.gpus_per_node) continue;
      double age_s = 0;
      if (view.record->last_report) {
        age_s = std::chrono::duration<double>(now - *view.record->last_report).count();
      }
      c.queue_wait_s =
          std::max(0.0, e.start_in_s - age_s) + reserved_hours * 3600.0 / c.usable_nodes;
      return;
    }
    if (c.free_nodes >= spec.nodes && p.pending_jobs == 0) return;
    double wait_h = (p.pending_node_hours + reserved_hours) / c.usable_nodes;
    if (c.free_nodes < spec.nodes) {
      wait_h += (spec.nodes - std::max(0, c.free_nodes)) * hours(spec.walltime) / c.usable_nodes;
    }
    c.queue_wait_s = wait_h * 3600.0;
  }
};

// The project's allocation at the site (federation file) is not used up. A project
// with allocations may use only the sites it has one at; one without is not limited.
class AllocationFilter final : public FilterPlugin {
 public:
  std::string_view name() const override { return "allocation"; }
  PluginCode filter(const PlacementInput& in, Candidate& c) const override {
    if (!in.project || in.project->allocations.empty()) return PluginCode::kSuccess;
    auto it = in.project->allocations.find(c.view->config->id);
    if (it == in.project->allocations.end()) return PluginCode::kUnschedulableAndUnresolvable;
    if (used(in, c) + need(in) > it->second) return PluginCode::kUnschedulable;
    return PluginCode::kSuccess;
  }
  std::string reason(const PlacementInput& in, const Candidate& c) const override {
    auto it = in.project->allocations.find(c.view->config->id);
    if (it == in.project->allocations.end()) {
      return "project " + in.project->id + " has no allocation here";
    }
    return "allocation of project " + in.project->id + " exhausted: " + formatNumber(used(in, c)) +
           " of " + formatNumber(it->second) + " GPU-h used, the job needs " +
           formatNumber(need(in));
  }

 private:
  static double used(const PlacementInput& in, const Candidate& c) {
    if (!in.allocations) return 0;
    auto p = in.allocations->find(in.project->id);
    if (p == in.allocations->end()) return 0;
    auto s = p->second.find(c.view->config->id);
    return s == p->second.end() ? 0 : s->second;
  }
  static double need(const PlacementInput& in) {
    return allocationCharge(in.job.spec, hours(in.job.spec.walltime));
  }
};

}  // namespace

const std::vector<const FilterPlugin*>& defaultFilters() {
  static const SiteStateFilter site_state;
  static const DrainingFilter draining;
  static const ExcludedFilter excluded;
  static const SiteRulesFilter site_rules;
  static const ResidencyFilter residency;
  static const AcceleratorFilter accelerator;
  static const FitsFilter fits;
  static const AllocationFilter allocation;
  static const std::vector<const FilterPlugin*> filters = {
      &site_state, &draining, &excluded, &site_rules, &residency, &accelerator, &fits, &allocation};
  return filters;
}

bool residencyAllows(const JobSpec& spec, const SiteConfig& site, const ProjectConfig* project) {
  if (!spec.allowed_sites.empty() && !contains(spec.allowed_sites, site.id)) return false;
  if (!spec.allowed_countries.empty() && !contains(spec.allowed_countries, site.country)) {
    return false;
  }
  return !project || project->allowed_countries.empty() ||
         contains(project->allowed_countries, site.country);
}

std::string residencyReason(const JobSpec& spec, const SiteConfig& site,
                            const ProjectConfig* project) {
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

}  // namespace aifed::broker
