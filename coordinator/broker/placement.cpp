#include "coordinator/broker/placement.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace aifed::broker {

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

// Which rule chose `best` among the feasible sites of its score (see PlacementDecision).
std::string_view Policy::tieBreak(const PlacementDecision& d, const std::vector<size_t>& feasible,
                                  size_t best) const {
  const SiteVerdict& bv = d.verdicts[best];
  std::string_view rule;
  for (size_t i : feasible) {
    if (i == best) continue;
    const SiteVerdict& v = d.verdicts[i];
    if (!scorers_.empty() && std::fabs(v.score - bv.score) > 1e-9) continue;
    // First fit takes the first feasible site; equal scores with equal free nodes go to
    // the earlier site; otherwise the chosen site had more free nodes.
    if (scorers_.empty() || v.free_nodes == bv.free_nodes) return "federation order";
    rule = "more free nodes";
  }
  return rule;
}

void Policy::decide(const PlacementInput& in_arg, const std::vector<SiteView>& sites,
                    PlacementDecision& d, DecideOptions options) const {
  PlacementInput in = in_arg;
  if (!in.project) in.project = in.federation.findProject(in.job.spec.project);
  DecisionBuffers local;
  DecisionBuffers& b = options.buffers ? *options.buffers : local;
  d.job_id = in.job.id;
  d.attempt = 0;
  d.decided_at = in.now;
  d.policy = spec_.name;
  d.policy_version = spec_.version;
  d.chosen_site.clear();
  d.summary.clear();
  d.tie_break.clear();
  filterSites(in, sites, d, options.explain, b);
  scoreSites(in, d, options.explain, b);

  // Choice: first fit without scores; else the highest total, then more free nodes,
  // then federation order.
  int best = -1;
  for (size_t i : b.feasible) {
    if (best < 0) {
      best = static_cast<int>(i);
      if (scorers_.empty()) break;
      continue;
    }
    const SiteVerdict& bv = d.verdicts[static_cast<size_t>(best)];
    const SiteVerdict& v = d.verdicts[i];
    bool higher = v.score > bv.score + 1e-9;
    bool same = std::fabs(v.score - bv.score) <= 1e-9;
    if (higher || (same && v.free_nodes > bv.free_nodes)) best = static_cast<int>(i);
  }
  if (best >= 0) d.tie_break = tieBreak(d, b.feasible, static_cast<size_t>(best));

  // Plain appends: a string stream here cost as much as a filter pass (one per decision).
  std::string& s = d.summary;
  if (best >= 0) {
    const SiteVerdict& bv = d.verdicts[static_cast<size_t>(best)];
    d.chosen_site = bv.site;
    s.reserve(96);
    s.append("placed on ").append(bv.site).append("/").append(bv.partition).append(": starts ");
    s.append(formatStart(bv.estimated_start_s)).append(" (");
    s.append(std::to_string(std::max(0, bv.free_nodes))).append(" nodes free before this job)");
  } else if (options.explain) {
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

// Runs the filters over every site: a verdict per site, the feasible ones listed in
// `b.feasible` with their estimates.
void Policy::filterSites(const PlacementInput& in, const std::vector<SiteView>& sites,
                         PlacementDecision& d, bool explain, DecisionBuffers& b) const {
  d.verdicts.resize(sites.size());
  b.candidates.assign(sites.size(), Candidate{});
  b.feasible.clear();
  const std::vector<const FilterPlugin*>& filters = defaultFilters();
  for (size_t i = 0; i < sites.size(); ++i) {
    SiteVerdict& v = d.verdicts[i];
    Candidate& c = b.candidates[i];
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
      PluginCode code = f->filter(in, c);
      if (code == PluginCode::kSuccess) continue;
      if (explain) {
        v.rejected_by = f->name();
        v.reason = code == PluginCode::kError ? "plugin error: " + f->reason(in, c)
                                              : f->reason(in, c);
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
    b.feasible.push_back(i);
  }
}

// Scores the feasible sites: raw inputs first (some normalisers compare sites), then
// normalise and weigh.
void Policy::scoreSites(const PlacementInput& in, PlacementDecision& d, bool explain,
                        DecisionBuffers& b) const {
  double weight_sum = 0;
  for (const PolicyWeight& w : spec_.weights) weight_sum += w.weight;
  b.raws.resize(b.feasible.size());
  for (size_t k = 0; k < scorers_.size(); ++k) {
    RawRange range;
    for (size_t j = 0; j < b.feasible.size(); ++j) {
      b.raws[j] = scorers_[k]->raw(in, b.candidates[b.feasible[j]]);
      if (j == 0 || b.raws[j] < range.min) range.min = b.raws[j];
      if (j == 0 || b.raws[j] > range.max) range.max = b.raws[j];
    }
    for (size_t j = 0; j < b.feasible.size(); ++j) {
      SiteVerdict& v = d.verdicts[b.feasible[j]];
      double score = scorers_[k]->normalize(b.raws[j], range);
      if (explain) {
        if (k == 0) v.scores.reserve(scorers_.size());
        v.scores.push_back({spec_.weights[k].plugin, b.raws[j], score, spec_.weights[k].weight});
      }
      v.score += spec_.weights[k].weight * score / weight_sum;
    }
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

}  // namespace aifed::broker
