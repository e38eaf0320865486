// The score plugins a policy weighs (docs/placement.md, "Score plugins"): each turns a
// raw input about a feasible site into 0..100, higher is better.
#include <algorithm>
#include <cmath>

#include "coordinator/broker/placement.h"

namespace aifed::broker {
namespace {

double hours(Duration d) {
  return std::chrono::duration<double>(d).count() / 3600.0;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

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

}  // namespace aifed::broker
