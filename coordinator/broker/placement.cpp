#include "coordinator/broker/placement.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

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

// --- Filters ---------------------------------------------------------------------------

// Only sites that talk, are healthy and have said what they have.
class SiteStateFilter final : public FilterPlugin {
 public:
  std::string_view name() const override { return "site-state"; }
  PluginStatus filter(const PlacementInput&, Candidate& c) const override {
    const SiteRecord& r = *c.view->record;
    if (c.view->liveness != SiteState::kUp) {
      return PluginStatus::unschedulable("site is " + std::string(siteStateName(c.view->liveness)));
    }
    if (r.degraded) return PluginStatus::unschedulable("site is degraded: " + r.degraded_reason);
    if (!r.capacity) return PluginStatus::unschedulable("no capacity report yet");
    return PluginStatus::success();
  }
};

class DrainingFilter final : public FilterPlugin {
 public:
  std::string_view name() const override { return "draining"; }
  PluginStatus filter(const PlacementInput&, Candidate& c) const override {
    if (c.view->record->drained) return PluginStatus::unschedulable("an admin drained the site");
    return PluginStatus::success();
  }
};

// Sites that refused or lost an earlier attempt of this job.
class ExcludedFilter final : public FilterPlugin {
 public:
  std::string_view name() const override { return "excluded"; }
  PluginStatus filter(const PlacementInput& in, Candidate& c) const override {
    if (contains(in.job.excluded_sites, c.view->config->id)) {
      return PluginStatus::unresolvable(
          "an earlier attempt was refused or lost here, or withdrawn from it");
    }
    return PluginStatus::success();
  }
};

class ResidencyFilter final : public FilterPlugin {
 public:
  std::string_view name() const override { return "residency"; }
  PluginStatus filter(const PlacementInput& in, Candidate& c) const override {
    std::string why = residencyReason(in.job.spec, *c.view->config, in.project);
    if (!why.empty()) return PluginStatus::unresolvable(std::move(why));
    return PluginStatus::success();
  }
};

// The site has the accelerator model at all (whatever the node counts).
class AcceleratorFilter final : public FilterPlugin {
 public:
  std::string_view name() const override { return "accelerator"; }
  PluginStatus filter(const PlacementInput& in, Candidate& c) const override {
    const JobSpec& spec = in.job.spec;
    if (spec.gpus_per_node <= 0) return PluginStatus::success();
    const std::vector<PartitionCapacity>& parts = c.view->record->capacity->partitions;
    for (const PartitionCapacity& p : parts) {
      const std::string& a = p.node_type.accelerator;
      if (!a.empty() && (spec.gpu_type.empty() || a == spec.gpu_type)) {
        return PluginStatus::success();
      }
    }
    if (!in.explain) return PluginStatus::unresolvable({});
    // Rejected: the reason lists the models on offer (built only now, it is the slow part).
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
    return PluginStatus::unresolvable(std::move(why));
  }
};

// "Never fits": no partition has the node type in enough nodes. Picks the partition: the
// first, in the agent's report order, whose node type matches and which is large
// enough (the rule the local scheduler uses), and estimates the queue wait there.
class FitsFilter final : public FilterPlugin {
 public:
  std::string_view name() const override { return "fits"; }
  PluginStatus filter(const PlacementInput& in, Candidate& c) const override {
    const JobSpec& spec = in.job.spec;
    const std::vector<PartitionCapacity>& parts = c.view->record->capacity->partitions;
    for (const PartitionCapacity& p : parts) {
      if (nodeTypeMatches(p.node_type, spec) && p.nodes_total >= spec.nodes) {
        c.partition = &p;
        estimate(p, *c.view, spec, c, in.now);
        return PluginStatus::success();
      }
    }
    if (!in.explain) return PluginStatus::unresolvable({});
    // Rejected: say per partition what is missing (built only now, it is the slow part).
    std::string mismatch;
    for (const PartitionCapacity& p : parts) {
      if (!mismatch.empty()) mismatch += "; ";
      if (!nodeTypeMatches(p.node_type, spec)) {
        mismatch += p.name + ": " + describeNodeType(p.node_type);
      } else {
        mismatch += p.name + " has " + std::to_string(p.nodes_total) + " nodes";
      }
    }
    return PluginStatus::unresolvable("needs " + describeRequest(spec) + "; " +
                                      (mismatch.empty() ? "no partitions" : mismatch));
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
  PluginStatus filter(const PlacementInput& in, Candidate& c) const override {
    if (!in.project || in.project->allocations.empty()) return PluginStatus::success();
    const std::string& site = c.view->config->id;
    auto it = in.project->allocations.find(site);
    if (it == in.project->allocations.end()) {
      if (!in.explain) return PluginStatus::unresolvable({});
      return PluginStatus::unresolvable("project " + in.project->id + " has no allocation here");
    }
    double used = 0;
    if (in.allocations) {
      if (auto p = in.allocations->find(in.project->id); p != in.allocations->end()) {
        if (auto s = p->second.find(site); s != p->second.end()) used = s->second;
      }
    }
    double need = allocationCharge(in.job.spec, hours(in.job.spec.walltime));
    if (used + need > it->second) {
      if (!in.explain) return PluginStatus::unschedulable({});
      return PluginStatus::unschedulable(
          "allocation of project " + in.project->id + " exhausted: " + formatNumber(used) + " of " +
          formatNumber(it->second) + " GPU-h used, the job needs " + formatNumber(need));
    }
    return PluginStatus::success();
  }
};

// --- Scores ----------------------------------------------------------------------------

double clamp100(double v) {
  return std::clamp(v, 0.0, 100.0);
}

// Lower raw is better, scored against the other feasible sites: best 100, worst 0.
double lowerIsBetter(double raw, const RawRange& range) {
  if (range.max - range.min <= 1e-12) return 100;
  return clamp100(100.0 * (range.max - raw) / (range.max - range.min));
}

// Queue wait + staging. 100 at "now", 50 at the policy's half-life, toward 0 after.
class EstimatedStartScore final : public ScorePlugin {
 public:
  explicit EstimatedStartScore(double half_life_s) : half_life_s_(half_life_s) {}
  std::string_view name() const override { return "estimated-start"; }
  double raw(const PlacementInput&, const Candidate& c) const override { return c.start_s(); }
  double normalize(double raw, const RawRange&) const override {
    return clamp100(100.0 * half_life_s_ / (half_life_s_ + std::max(0.0, raw)));
  }

 private:
  double half_life_s_;
};

// Busy fraction of the chosen partition's usable nodes after reservations.
class LoadScore final : public ScorePlugin {
 public:
  std::string_view name() const override { return "load"; }
  double raw(const PlacementInput&, const Candidate& c) const override {
    double free = std::max(0, c.free_nodes);
    return std::clamp(1.0 - free / c.usable_nodes, 0.0, 1.0);
  }
  double normalize(double raw, const RawRange&) const override {
    return clamp100(100.0 * (1.0 - raw));
  }
};

// Energy price times PUE: what a MWh of IT load costs there.
class EnergyScore final : public ScorePlugin {
 public:
  std::string_view name() const override { return "energy"; }
  double raw(const PlacementInput&, const Candidate& c) const override {
    return c.view->config->energy_price_eur_mwh * c.view->config->pue;
  }
  double normalize(double raw, const RawRange& range) const override {
    return lowerIsBetter(raw, range);
  }
};

// Carbon intensity times PUE: grams of CO2 per kWh of IT load.
class CarbonScore final : public ScorePlugin {
 public:
  std::string_view name() const override { return "carbon"; }
  double raw(const PlacementInput&, const Candidate& c) const override {
    return c.view->config->carbon_g_kwh * c.view->config->pue;
  }
  double normalize(double raw, const RawRange& range) const override {
    return lowerIsBetter(raw, range);
  }
};

// Fraction of the project's allocation at the site left after this job: spend where
// plenty is left. 1 for projects without allocations.
class AllocationScore final : public ScorePlugin {
 public:
  std::string_view name() const override { return "allocation"; }
  double raw(const PlacementInput& in, const Candidate& c) const override {
    if (!in.project || in.project->allocations.empty()) return 1;
    const std::string& site = c.view->config->id;
    auto it = in.project->allocations.find(site);
    if (it == in.project->allocations.end() || it->second <= 0) return 0;
    double used = 0;
    if (in.allocations) {
      if (auto p = in.allocations->find(in.project->id); p != in.allocations->end()) {
        if (auto s = p->second.find(site); s != p->second.end()) used = s->second;
      }
    }
    double need = allocationCharge(in.job.spec, hours(in.job.spec.walltime));
    return std::clamp((it->second - used - need) / it->second, 0.0, 1.0);
  }
  double normalize(double raw, const RawRange&) const override { return clamp100(100.0 * raw); }
};

// 1 at a site the user listed in preferred_sites, else 0.
class PreferenceScore final : public ScorePlugin {
 public:
  std::string_view name() const override { return "preference"; }
  double raw(const PlacementInput& in, const Candidate& c) const override {
    return contains(in.job.spec.preferred_sites, c.view->config->id) ? 1 : 0;
  }
  double normalize(double raw, const RawRange&) const override { return 100.0 * raw; }
};

double datasetSize(const DatasetRef& ref, const Federation& fed) {
  if (ref.size_gb > 0) return ref.size_gb;
  for (const DatasetConfig& d : fed.datasets) {
    if (d.id == ref.id) return d.size_gb;
  }
  return 0;
}

bool heldAt(const std::string& dataset, const std::string& site, const Federation& fed) {
  for (const DatasetConfig& d : fed.datasets) {
    if (d.id == dataset && d.site == site) return true;
  }
  return false;
}

// Fraction of the job's input bytes already at the site (1 when the job reads none).
class DataLocalityScore final : public ScorePlugin {
 public:
  std::string_view name() const override { return "data-locality"; }
  double raw(const PlacementInput& in, const Candidate& c) const override {
    double total = 0, local = 0;
    for (const DatasetRef& ref : in.job.spec.datasets) {
      double size = datasetSize(ref, in.federation);
      total += size;
      if (heldAt(ref.id, c.view->config->id, in.federation)) local += size;
    }
    return total > 0 ? local / total : 1;
  }
  double normalize(double raw, const RawRange&) const override { return clamp100(100.0 * raw); }
};

}  // namespace

// --- Framework -------------------------------------------------------------------------

std::string_view scoreUnit(std::string_view plugin) {
  if (plugin == "estimated-start") return "s";
  if (plugin == "load") return "busy fraction";
  if (plugin == "energy") return "EUR/MWh x PUE";
  if (plugin == "carbon") return "gCO2/kWh x PUE";
  if (plugin == "allocation") return "fraction left";
  if (plugin == "preference") return "preferred (1/0)";
  if (plugin == "data-locality") return "fraction of input local";
  return "";
}

const std::vector<const FilterPlugin*>& defaultFilters() {
  static const SiteStateFilter site_state;
  static const DrainingFilter draining;
  static const ExcludedFilter excluded;
  static const ResidencyFilter residency;
  static const AcceleratorFilter accelerator;
  static const FitsFilter fits;
  static const AllocationFilter allocation;
  static const std::vector<const FilterPlugin*> filters = {
      &site_state, &draining, &excluded, &residency, &accelerator, &fits, &allocation};
  return filters;
}

Result<std::unique_ptr<ScorePlugin>> makeScorePlugin(std::string_view name,
                                                     const PolicySpec& spec) {
  if (name == "estimated-start") {
    if (!(spec.start_half_life_s > 0)) {
      return invalidArgument("start_half_life_s must be positive", "start_half_life_s");
    }
    return std::unique_ptr<ScorePlugin>(
        std::make_unique<EstimatedStartScore>(spec.start_half_life_s));
  }
  if (name == "load") return std::unique_ptr<ScorePlugin>(std::make_unique<LoadScore>());
  if (name == "energy") return std::unique_ptr<ScorePlugin>(std::make_unique<EnergyScore>());
  if (name == "carbon") return std::unique_ptr<ScorePlugin>(std::make_unique<CarbonScore>());
  if (name == "allocation") {
    return std::unique_ptr<ScorePlugin>(std::make_unique<AllocationScore>());
  }
  if (name == "preference") {
    return std::unique_ptr<ScorePlugin>(std::make_unique<PreferenceScore>());
  }
  if (name == "data-locality") {
    return std::unique_ptr<ScorePlugin>(std::make_unique<DataLocalityScore>());
  }
  return notFound("no score plugin \"" + std::string(name) + "\"");
}

Result<Policy> Policy::make(const PolicySpec& spec) {
  if (Status s = validatePolicy(spec); !s.ok()) return s;
  Policy p;
  p.spec_ = spec;
  for (const PolicyWeight& w : spec.weights) {
    Result<std::unique_ptr<ScorePlugin>> plugin = makeScorePlugin(w.plugin, spec);
    if (!plugin.ok()) return plugin.status();
    p.scorers_.push_back(std::shared_ptr<const ScorePlugin>(std::move(*plugin)));
  }
  return p;
}

PlacementDecision Policy::decide(const PlacementInput& in,
                                 const std::vector<SiteView>& sites) const {
  PlacementDecision d;
  decideInto(in, sites, d);
  return d;
}

void Policy::decideInto(const PlacementInput& in_arg, const std::vector<SiteView>& sites,
                        PlacementDecision& d) const {
  PlacementInput in = in_arg;
  if (!in.project) in.project = in.federation.findProject(in.job.spec.project);
  d.job_id = in.job.id;
  d.attempt = 0;
  d.decided_at = in.now;
  d.policy = spec_.name;
  d.policy_version = spec_.version;
  d.chosen_site.clear();
  d.summary.clear();
  d.verdicts.resize(sites.size());
  // Scratch kept per thread: one decision per queued job per tick must not allocate.
  thread_local std::vector<Candidate> candidates;
  thread_local std::vector<size_t> feasible;
  thread_local std::vector<double> raws;
  candidates.assign(sites.size(), Candidate{});
  feasible.clear();
  const std::vector<const FilterPlugin*>& filters = defaultFilters();
  for (size_t i = 0; i < sites.size(); ++i) {
    SiteVerdict& v = d.verdicts[i];
    Candidate& c = candidates[i];
    c.view = &sites[i];
    v.site = sites[i].config->id;
    v.feasible = false;
    v.rejected_by.clear();
    v.reason.clear();
    v.partition.clear();
    v.estimated_start_s = 0;
    v.free_nodes = 0;
    v.score = 0;
    v.queue_wait_s = 0;
    v.staging_s = 0;
    v.scores.clear();
    bool passed = true;
    for (const FilterPlugin* f : filters) {
      PluginStatus st = f->filter(in, c);
      if (st.ok()) continue;
      if (in.explain) {
        v.rejected_by = f->name();
        v.reason =
            st.code == PluginCode::kError ? "plugin error: " + st.reason : std::move(st.reason);
      }
      passed = false;
      break;
    }
    if (!passed) continue;
    if (!in.job.spec.datasets.empty()) {
      c.staging_s = stagingSeconds(in.job.spec, *sites[i].config, in.federation);
    }
    v.feasible = true;
    v.partition = c.partition->name;
    v.free_nodes = c.free_nodes;
    v.queue_wait_s = c.queue_wait_s;
    v.staging_s = c.staging_s;
    v.estimated_start_s = c.start_s();
    feasible.push_back(i);
  }

  // Scores: raw inputs first (some normalisers compare sites), then normalise and weigh.
  double weight_sum = 0;
  for (const PolicyWeight& w : spec_.weights) weight_sum += w.weight;
  raws.resize(feasible.size());
  for (size_t k = 0; k < scorers_.size(); ++k) {
    RawRange range;
    for (size_t j = 0; j < feasible.size(); ++j) {
      raws[j] = scorers_[k]->raw(in, candidates[feasible[j]]);
      if (j == 0 || raws[j] < range.min) range.min = raws[j];
      if (j == 0 || raws[j] > range.max) range.max = raws[j];
    }
    for (size_t j = 0; j < feasible.size(); ++j) {
      SiteVerdict& v = d.verdicts[feasible[j]];
      double score = scorers_[k]->normalize(raws[j], range);
      if (in.explain) {
        if (k == 0) v.scores.reserve(scorers_.size());
        v.scores.push_back({spec_.weights[k].plugin, raws[j], score, spec_.weights[k].weight});
      }
      v.score += spec_.weights[k].weight * score / weight_sum;
    }
  }

  // Choice: first fit without scores; else the highest total, then more free nodes,
  // then federation order.
  int best = -1;
  for (size_t i : feasible) {
    if (best < 0) {
      best = static_cast<int>(i);
      if (scorers_.empty()) break;
      continue;
    }
    const SiteVerdict& b = d.verdicts[static_cast<size_t>(best)];
    const SiteVerdict& v = d.verdicts[i];
    bool higher = v.score > b.score + 1e-9;
    bool same = std::fabs(v.score - b.score) <= 1e-9;
    if (higher || (same && v.free_nodes > b.free_nodes)) best = static_cast<int>(i);
  }

  // Plain appends: a string stream here cost as much as a filter pass (one per decision).
  std::string& s = d.summary;
  if (best >= 0) {
    const SiteVerdict& b = d.verdicts[static_cast<size_t>(best)];
    d.chosen_site = b.site;
    s.reserve(96);
    s.append("placed on ").append(b.site).append("/").append(b.partition).append(": starts ");
    s.append(formatStart(b.estimated_start_s)).append(" (");
    s.append(std::to_string(std::max(0, b.free_nodes))).append(" nodes free before this job)");
  } else if (in.explain) {
    std::map<std::string, int> by_filter;
    for (const SiteVerdict& v : d.verdicts) by_filter[v.rejected_by]++;
    s = "waiting: no site can take it now (";
    bool first = true;
    for (const auto& [filter, n] : by_filter) {
      s.append(first ? "" : ", ").append(std::to_string(n)).append(" rejected by ").append(filter);
      first = false;
    }
    s += ")";
  }
}

const SiteVerdict* chosenVerdict(const PlacementDecision& d) {
  if (d.chosen_site.empty()) return nullptr;
  for (const SiteVerdict& v : d.verdicts) {
    if (v.site == d.chosen_site) return &v;
  }
  return nullptr;
}

// --- Helpers ---------------------------------------------------------------------------

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

// Plain appends rather than streams: reasons are built for every rejected site, and at a
// thousand sites a stream per reason dominates a decision.
std::string describeNodeType(const NodeType& type) {
  std::string o;
  o.reserve(48);
  if (type.accelerator.empty()) {
    o += "no accelerators";
  } else {
    o += std::to_string(type.accelerators_per_node);
    o += " x ";
    o += type.accelerator;
  }
  o += ", ";
  o += std::to_string(type.cores);
  o += " cores, ";
  o += std::to_string(type.memory_gib);
  o += " GiB";
  return o;
}

std::string describeRequest(const JobSpec& spec) {
  std::string o = std::to_string(spec.nodes);
  o += spec.nodes == 1 ? " node" : " nodes";
  if (spec.gpus_per_node > 0) {
    o += " x ";
    o += std::to_string(spec.gpus_per_node);
    o += " ";
    o += spec.gpu_type.empty() ? "any-gpu" : spec.gpu_type;
  }
  if (spec.cores_per_node > 0) o += ", " + std::to_string(spec.cores_per_node) + " cores";
  if (spec.memory_gib_per_node > 0) o += ", " + std::to_string(spec.memory_gib_per_node) + " GiB";
  return o;
}

std::string formatStart(double s) {
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

double allocationCharge(const JobSpec& spec, double h) {
  return spec.nodes * std::max(1, spec.gpus_per_node) * h;
}

double stagingSeconds(const JobSpec& spec, const SiteConfig& site, const Federation& federation) {
  double total = 0;
  for (const DatasetRef& ref : spec.datasets) {
    double size = datasetSize(ref, federation);
    if (size <= 0) continue;
    double best_gbps = 0;
    bool listed = false, local = false;
    for (const DatasetConfig& d : federation.datasets) {
      if (d.id != ref.id) continue;
      listed = true;
      if (d.site == site.id) {
        local = true;
        break;
      }
      best_gbps = std::max(best_gbps, federation.bandwidthGbps(d.site, site.id));
    }
    if (local) continue;
    if (!listed) best_gbps = federation.default_bandwidth_gbps;
    if (best_gbps <= 0) best_gbps = 1;
    total += size * 8.0 / best_gbps;  // GB -> Gbit, over Gbit/s
  }
  return total;
}

PlacementDecision decide(const JobRecord& job, const std::vector<SiteView>& sites,
                         const Federation& federation, Time now, const std::string& policy) {
  std::vector<PolicySpec> specs = builtinPolicies();
  const PolicySpec* spec = nullptr;
  for (const PolicySpec& p : specs) {
    if (p.name == policy) spec = &p;
    if (!spec && p.name == kDefaultPolicy) spec = &p;
  }
  // Invariant: built-in policies are valid (checked by the policy tests).
  Result<Policy> compiled = Policy::make(*spec);
  PlacementInput in{job, federation, now};
  return compiled->decide(in, sites);
}

}  // namespace aifed::broker
