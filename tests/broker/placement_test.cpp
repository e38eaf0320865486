// The placement framework: every filter and score plugin on hand-built snapshots, the
// built-in policies' choices, policy files, and properties over random federations.
#include "coordinator/broker/placement.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "coordinator/broker/broker.h"
#include "coordinator/broker/policy.h"

namespace aifed::broker {
namespace {

using ::testing::HasSubstr;

// One explained decision, returned.
PlacementDecision decided(const Policy& policy, const PlacementInput& in,
                          const std::vector<SiteView>& views) {
  PlacementDecision d;
  policy.decide(in, views, d);
  return d;
}

// --- Fluent builders -------------------------------------------------------------------

class MakeJob {
 public:
  MakeJob() {
    j_.id = "j-1";
    j_.spec.name = "train";
    j_.spec.project = "demo";
    j_.spec.nodes = 1;
    j_.spec.walltime = std::chrono::hours(1);
  }
  MakeJob& nodes(int n) {
    j_.spec.nodes = n;
    return *this;
  }
  MakeJob& gpus(int per_node, std::string type = "") {
    j_.spec.gpus_per_node = per_node;
    j_.spec.gpu_type = std::move(type);
    return *this;
  }
  MakeJob& hours(int h) {
    j_.spec.walltime = std::chrono::hours(h);
    return *this;
  }
  MakeJob& project(std::string p) {
    j_.spec.project = std::move(p);
    return *this;
  }
  MakeJob& country(std::string c) {
    j_.spec.allowed_countries.push_back(std::move(c));
    return *this;
  }
  MakeJob& prefers(std::string site) {
    j_.spec.preferred_sites.push_back(std::move(site));
    return *this;
  }
  MakeJob& reads(std::string dataset, double gb = 0) {
    j_.spec.datasets.push_back({std::move(dataset), gb});
    return *this;
  }
  MakeJob& excluded(std::string site) {
    j_.excluded_sites.push_back(std::move(site));
    return *this;
  }
  JobRecord build() const { return j_; }

 private:
  JobRecord j_;
};

class MakeSite {
 public:
  explicit MakeSite(std::string id) {
    config_.id = id;
    config_.name = id;
    config_.country = "FI";
    config_.energy_price_eur_mwh = 60;
    config_.carbon_g_kwh = 100;
    config_.pue = 1.0;
    record_.id = std::move(id);
    record_.state = SiteState::kUp;
    record_.capacity = SiteCapacity{1, {}};
  }
  // A partition of `total` nodes with `per_node` accelerators of `acc` ("" for CPU).
  MakeSite& partition(std::string name, std::string acc, int per_node, int total, int idle) {
    PartitionCapacity p;
    p.name = std::move(name);
    p.node_type = NodeType{std::move(acc), per_node, 64, 512};
    p.nodes_total = total;
    p.nodes_idle = idle;
    p.nodes_allocated = total - idle;
    record_.capacity->partitions.push_back(p);
    PartitionConfig pc;
    pc.name = p.name;
    pc.nodes = total;
    pc.node_type = p.node_type;
    config_.partitions.push_back(pc);
    return *this;
  }
  MakeSite& gpu(int total, int idle, std::string acc = "h100") {
    return partition("gpu", std::move(acc), 4, total, idle);
  }
  MakeSite& pending(int jobs, double node_hours) {
    record_.capacity->partitions.back().pending_jobs = jobs;
    record_.capacity->partitions.back().pending_node_hours = node_hours;
    return *this;
  }
  MakeSite& country(std::string c) {
    config_.country = std::move(c);
    return *this;
  }
  MakeSite& energy(double eur_mwh, double pue = 1.0) {
    config_.energy_price_eur_mwh = eur_mwh;
    config_.pue = pue;
    return *this;
  }
  MakeSite& carbon(double g_kwh) {
    config_.carbon_g_kwh = g_kwh;
    return *this;
  }
  MakeSite& liveness(SiteState s) {
    liveness_ = s;
    return *this;
  }
  MakeSite& drained() {
    record_.drained = true;
    return *this;
  }
  // An admin's drain with who and why.
  MakeSite& drainedBy(std::string who, std::string why) {
    record_.drained = true;
    record_.drained_by = std::move(who);
    record_.drain_reason = std::move(why);
    record_.drained_at = Time{} - std::chrono::hours(1);
    return *this;
  }
  // A maintenance window from `start_s` to `end_s` seconds around the decision's time.
  MakeSite& maintenance(int64_t start_s, int64_t end_s, std::string reason) {
    int n = static_cast<int>(record_.maintenance.size()) + 1;
    record_.maintenance.push_back({"mw-" + std::to_string(n), Time{} + std::chrono::seconds(start_s),
                                   Time{} + std::chrono::seconds(end_s), std::move(reason),
                                   "ops"});
    return *this;
  }
  MakeSite& degraded(std::string why) {
    record_.degraded = true;
    record_.degraded_reason = std::move(why);
    return *this;
  }
  // The site's own start estimates for probe shapes, measured `age_s` before decisions.
  MakeSite& estimates(std::vector<StartEstimate> e, int64_t age_s = 0) {
    record_.capacity->partitions.back().start_estimates = std::move(e);
    record_.last_report = Time{} - std::chrono::seconds(age_s);
    return *this;
  }
  MakeSite& noReport() {
    record_.capacity.reset();
    return *this;
  }
  MakeSite& reserved(int nodes) {
    reserved_ = nodes;
    return *this;
  }

  SiteConfig config_;
  SiteRecord record_;
  SiteState liveness_ = SiteState::kUp;
  int reserved_ = 0;
};

// A federation snapshot that owns what its SiteViews point to.
struct World {
  Federation fed;
  std::vector<SiteRecord> records;
  std::vector<SiteState> live;
  std::vector<int> reserved;
  AllocationUsage ledger;

  explicit World(std::vector<MakeSite> sites) {
    fed.name = "test";
    fed.default_bandwidth_gbps = 20;
    for (MakeSite& s : sites) {
      fed.sites.push_back(s.config_);
      records.push_back(s.record_);
      live.push_back(s.liveness_);
      reserved.push_back(s.reserved_);
    }
  }
  std::vector<SiteView> views() const {
    std::vector<SiteView> v;
    for (size_t i = 0; i < records.size(); ++i) {
      SiteView sv;
      sv.config = &fed.sites[i];
      sv.record = &records[i];
      sv.liveness = live[i];
      if (reserved[i] > 0 && records[i].capacity && !records[i].capacity->partitions.empty()) {
        sv.reserved_nodes[records[i].capacity->partitions[0].name] = reserved[i];
      }
      v.push_back(std::move(sv));
    }
    return v;
  }
  PlacementDecision decide(const JobRecord& job, const PolicySpec& spec, Time now = Time{}) const {
    Result<Policy> p = Policy::make(spec);
    EXPECT_TRUE(p.ok()) << p.status().toString();
    PlacementInput in{job, fed, now, &ledger};
    return decided(*p, in, views());
  }
  PlacementDecision decide(const JobRecord& job, const std::string& policy) const {
    return decide(job, builtin(policy));
  }
  static PolicySpec builtin(const std::string& name) {
    for (const PolicySpec& p : builtinPolicies()) {
      if (p.name == name) return p;
    }
    ADD_FAILURE() << "no built-in policy " << name;
    return {};
  }
};

PolicySpec only(const std::string& plugin, double half_life_s = 3600) {
  PolicySpec p;
  p.name = "only-" + plugin;
  p.weights = {{plugin, 1}};
  p.start_half_life_s = half_life_s;
  return p;
}

const SiteVerdict::ScoreTerm& term(const SiteVerdict& v, const std::string& plugin) {
  for (const SiteVerdict::ScoreTerm& t : v.scores) {
    if (t.plugin == plugin) return t;
  }
  static SiteVerdict::ScoreTerm none;
  ADD_FAILURE() << v.site << " has no " << plugin << " term";
  return none;
}

// --- Filters ---------------------------------------------------------------------------

struct FilterCase {
  std::string name;
  MakeSite site;
  JobRecord job;
  std::string rejected_by;  // "" = feasible
  std::string reason_has;
};

class FilterTest : public ::testing::TestWithParam<FilterCase> {};

TEST_P(FilterTest, RejectsWithTheFilterAndAHumanReason) {
  const FilterCase& c = GetParam();
  World w({c.site});
  ProjectConfig alloc;
  alloc.id = "alloc";
  alloc.allocations = {{"other", 1000}};
  ProjectConfig small;
  small.id = "small";
  small.allocations = {{"s", 10}};
  w.fed.projects = {alloc, small};
  w.ledger["small"]["s"] = 6;
  PlacementDecision d = w.decide(c.job, "earliest-start");
  ASSERT_EQ(d.verdicts.size(), 1u);
  const SiteVerdict& v = d.verdicts[0];
  EXPECT_EQ(v.rejected_by, c.rejected_by);
  EXPECT_EQ(v.feasible, c.rejected_by.empty());
  EXPECT_THAT(v.reason, HasSubstr(c.reason_has));
  EXPECT_EQ(d.chosen_site.empty(), !v.feasible);
}

INSTANTIATE_TEST_SUITE_P(
    Filters, FilterTest,
    ::testing::Values(
        FilterCase{"feasible", MakeSite("s").gpu(16, 16), MakeJob().gpus(4, "h100").build(), "",
                   ""},
        FilterCase{"unreachable", MakeSite("s").gpu(16, 16).liveness(SiteState::kUnreachable),
                   MakeJob().build(), "site-state", "unreachable"},
        FilterCase{"suspect", MakeSite("s").gpu(16, 16).liveness(SiteState::kSuspect),
                   MakeJob().build(), "site-state", "suspect"},
        FilterCase{"degraded", MakeSite("s").gpu(16, 16).degraded("slurmctld down"),
                   MakeJob().build(), "site-state", "slurmctld down"},
        FilterCase{"no_report", MakeSite("s").noReport(), MakeJob().build(), "site-state",
                   "no capacity report"},
        FilterCase{"drained", MakeSite("s").gpu(16, 16).drained(), MakeJob().build(), "draining",
                   "drained"},
        FilterCase{"drained_by", MakeSite("s").gpu(16, 16).drainedBy("alice", "disk swap"),
                   MakeJob().build(), "draining",
                   "drained by alice at 1969-12-31 23:00:00Z: disk swap"},
        // Inside [start, end): the window and its end are named (what `aifed explain` shows).
        FilterCase{"in_maintenance",
                   MakeSite("s").gpu(16, 16).maintenance(-3600, 7200, "Slurm upgrade"),
                   MakeJob().build(), "site-state",
                   "maintenance window mw-1 until 1970-01-01 02:00:00Z: Slurm upgrade"},
        // It starts at the decision's very time: already in force.
        FilterCase{"maintenance_starts_now", MakeSite("s").gpu(16, 16).maintenance(0, 60, "x"),
                   MakeJob().build(), "site-state", "maintenance window mw-1"},
        // Before the start and from the end on, the site takes jobs (the grace only
        // extends the lease, not the refusal).
        FilterCase{"maintenance_later", MakeSite("s").gpu(16, 16).maintenance(1, 7200, "later"),
                   MakeJob().build(), "", ""},
        FilterCase{"maintenance_over", MakeSite("s").gpu(16, 16).maintenance(-7200, 0, "over"),
                   MakeJob().build(), "", ""},
        // A window says more than the liveness it causes.
        FilterCase{"unreachable_in_maintenance",
                   MakeSite("s").gpu(16, 16).liveness(SiteState::kUnreachable).maintenance(
                       -60, 60, "power work"),
                   MakeJob().build(), "site-state", "maintenance window mw-1"},
        FilterCase{"excluded", MakeSite("s").gpu(16, 16), MakeJob().excluded("s").build(),
                   "excluded", "refused or lost"},
        FilterCase{"residency", MakeSite("s").gpu(16, 16).country("IT"),
                   MakeJob().country("SE").build(), "residency", "may not run in IT"},
        FilterCase{"wrong_accelerator", MakeSite("s").gpu(16, 16, "a100"),
                   MakeJob().gpus(4, "h100").build(), "accelerator", "offers a100"},
        FilterCase{"cpu_only_site", MakeSite("s").partition("cpu", "", 0, 100, 100),
                   MakeJob().gpus(1).build(), "accelerator", "no accelerators"},
        // The type exists but never in enough nodes: 32 > 16 in total (not just idle).
        FilterCase{"never_fits_nodes", MakeSite("s").gpu(16, 16),
                   MakeJob().nodes(32).gpus(4, "h100").build(), "fits", "gpu has 16 nodes"},
        FilterCase{"never_fits_per_node", MakeSite("s").gpu(16, 16),
                   MakeJob().gpus(8, "h100").build(), "fits", "4 x h100"},
        // Busy but large enough: feasible, it just waits.
        FilterCase{"busy_still_fits", MakeSite("s").gpu(16, 0), MakeJob().nodes(16).build(), "",
                   ""},
        FilterCase{"no_allocation_here", MakeSite("s").gpu(16, 16),
                   MakeJob().project("alloc").build(), "allocation", "no allocation here"},
        // 6 of 10 GPU-h used; 1 node x 4 GPUs x 1 h = 4 fits exactly, 2 nodes (8) do not.
        FilterCase{"allocation_fits_exactly", MakeSite("s").gpu(16, 16),
                   MakeJob().project("small").gpus(4).build(), "", ""},
        FilterCase{"allocation_exhausted", MakeSite("s").gpu(16, 16),
                   MakeJob().project("small").nodes(2).gpus(4).build(), "allocation",
                   "6 of 10 GPU-h used, the job needs 8"}),
    [](const ::testing::TestParamInfo<FilterCase>& info) { return info.param.name; });

TEST(FilterOrder, TheFirstRejectingFilterIsNamed) {
  // Down *and* drained *and* the wrong type: site-state comes first.
  World w({MakeSite("s").gpu(16, 16, "a100").liveness(SiteState::kSuspect).drained()});
  PlacementDecision d = w.decide(MakeJob().gpus(4, "h100").build(), "earliest-start");
  EXPECT_EQ(d.verdicts[0].rejected_by, "site-state");
  std::vector<std::string> names;
  for (const FilterPlugin* f : defaultFilters()) names.emplace_back(f->name());
  EXPECT_EQ(names, (std::vector<std::string>{"site-state", "draining", "excluded", "site-rules",
                                             "residency", "accelerator", "fits", "allocation"}));
}

// --- Score plugins ---------------------------------------------------------------------

TEST(EstimatedStartScore, QueueWaitAndStagingWorkedOut) {
  // a: 16 idle, nothing pending -> starts now: raw 0 s, score 100.
  // b: 16 usable, 16 node-hours pending -> waits 16/16 h = 3600 s; with a half-life of
  //    3600 s the score is 100 * 3600 / (3600 + 3600) = 50.
  World w({MakeSite("a").gpu(16, 16), MakeSite("b").gpu(16, 16).pending(2, 16)});
  PlacementDecision d = w.decide(MakeJob().build(), only("estimated-start"));
  EXPECT_DOUBLE_EQ(term(d.verdicts[0], "estimated-start").raw, 0);
  EXPECT_DOUBLE_EQ(term(d.verdicts[0], "estimated-start").score, 100);
  EXPECT_DOUBLE_EQ(d.verdicts[1].queue_wait_s, 3600);
  EXPECT_DOUBLE_EQ(term(d.verdicts[1], "estimated-start").score, 50);
  EXPECT_EQ(d.chosen_site, "a");
}

TEST(EstimatedStartScore, TheSitesOwnEstimateForTheCoveringProbeShapeWins) {
  // Both sites look idle, but the Slurm site b says a 4-node x 4-GPU job would start in
  // 2 h (its report is 600 s old: 6600 s left); the 1-node probe does not cover the job.
  // Site a has no estimates: the heuristic (idle, nothing pending) says now.
  World w({MakeSite("a").gpu(16, 16),
           MakeSite("b").gpu(16, 16).estimates({{1, 4, 0}, {4, 4, 7200}, {16, 4, 9000}}, 600)});
  PlacementDecision d = w.decide(MakeJob().nodes(4).build(), only("estimated-start"));
  EXPECT_DOUBLE_EQ(d.verdicts[0].queue_wait_s, 0);
  EXPECT_DOUBLE_EQ(d.verdicts[1].queue_wait_s, 6600);
  EXPECT_EQ(d.chosen_site, "a");
  // A 2-node job is covered by the 4-node probe; a job no probe covers would fall back
  // to the heuristic.
  PlacementDecision two = w.decide(MakeJob().nodes(2).build(), only("estimated-start"));
  EXPECT_DOUBLE_EQ(two.verdicts[1].queue_wait_s, 6600);
}

TEST(EstimatedStartScore, StagingIsSizeOverBandwidthFromTheBestHolder) {
  // 900 GB held at b. To a over the default 20 Gbit/s: 900 * 8 / 20 = 360 s.
  // To c over a 100 Gbit/s link: 72 s. At b: 0.
  World w({MakeSite("a").gpu(16, 16), MakeSite("b").gpu(16, 16), MakeSite("c").gpu(16, 16)});
  w.fed.datasets = {{"corpus", "b", 900}};
  w.fed.links = {{"b", "c", 100}};
  PlacementDecision d = w.decide(MakeJob().reads("corpus").build(), only("estimated-start"));
  EXPECT_DOUBLE_EQ(d.verdicts[0].staging_s, 360);
  EXPECT_DOUBLE_EQ(d.verdicts[1].staging_s, 0);
  EXPECT_DOUBLE_EQ(d.verdicts[2].staging_s, 72);
  EXPECT_DOUBLE_EQ(d.verdicts[2].estimated_start_s, 72);
  EXPECT_EQ(d.chosen_site, "b");
  // A data set the federation does not list comes at the default bandwidth everywhere,
  // with the size the job gives: 50 GB * 8 / 20 = 20 s.
  PlacementDecision e = w.decide(MakeJob().reads("private", 50).build(), only("estimated-start"));
  EXPECT_DOUBLE_EQ(e.verdicts[1].staging_s, 20);
}

TEST(LoadScore, BusyFractionAfterReservations) {
  // a: 4 of 16 idle -> busy 0.75 -> 25. b: 16 idle but 8 reserved -> busy 0.5 -> 50.
  World w({MakeSite("a").gpu(16, 4), MakeSite("b").gpu(16, 16).reserved(8)});
  PlacementDecision d = w.decide(MakeJob().build(), only("load"));
  EXPECT_DOUBLE_EQ(term(d.verdicts[0], "load").raw, 0.75);
  EXPECT_DOUBLE_EQ(term(d.verdicts[0], "load").score, 25);
  EXPECT_DOUBLE_EQ(term(d.verdicts[1], "load").score, 50);
  EXPECT_EQ(d.chosen_site, "b");
}

TEST(EnergyScore, PriceTimesPueScoredBetweenCheapestAndDearest) {
  // Effective prices 50*1.2 = 60, 80*1.0 = 80, 100*1.0 = 100: 100, 50, 0.
  World w({MakeSite("a").gpu(16, 16).energy(50, 1.2), MakeSite("b").gpu(16, 16).energy(80),
           MakeSite("c").gpu(16, 16).energy(100)});
  PlacementDecision d = w.decide(MakeJob().build(), only("energy"));
  EXPECT_DOUBLE_EQ(term(d.verdicts[0], "energy").raw, 60);
  EXPECT_DOUBLE_EQ(term(d.verdicts[0], "energy").score, 100);
  EXPECT_DOUBLE_EQ(term(d.verdicts[1], "energy").score, 50);
  EXPECT_DOUBLE_EQ(term(d.verdicts[2], "energy").score, 0);
  EXPECT_EQ(d.chosen_site, "a");
}

TEST(CarbonScore, LowestIntensityWinsAndEqualSitesAllScore100) {
  World w({MakeSite("a").gpu(16, 16).carbon(300), MakeSite("b").gpu(16, 16).carbon(40)});
  PlacementDecision d = w.decide(MakeJob().build(), only("carbon"));
  EXPECT_DOUBLE_EQ(term(d.verdicts[0], "carbon").score, 0);
  EXPECT_DOUBLE_EQ(term(d.verdicts[1], "carbon").score, 100);
  EXPECT_EQ(d.chosen_site, "b");
  World same({MakeSite("a").gpu(16, 16), MakeSite("b").gpu(16, 16)});
  PlacementDecision e = same.decide(MakeJob().build(), only("carbon"));
  EXPECT_DOUBLE_EQ(term(e.verdicts[0], "carbon").score, 100);
  EXPECT_DOUBLE_EQ(term(e.verdicts[1], "carbon").score, 100);
}

TEST(AllocationScore, FractionLeftAfterTheJob) {
  // Project p: 1000 GPU-h at a (200 used), 100 at b. The job charges 2 x 4 x 1 = 8.
  // a: (1000 - 200 - 8) / 1000 = 0.792 -> 79.2.  b: (100 - 8) / 100 = 0.92 -> 92.
  World w({MakeSite("a").gpu(16, 16), MakeSite("b").gpu(16, 16)});
  ProjectConfig p;
  p.id = "p";
  p.allocations = {{"a", 1000}, {"b", 100}};
  w.fed.projects = {p};
  w.ledger["p"]["a"] = 200;
  PlacementDecision d =
      w.decide(MakeJob().project("p").nodes(2).gpus(4).build(), only("allocation"));
  EXPECT_NEAR(term(d.verdicts[0], "allocation").score, 79.2, 1e-9);
  EXPECT_NEAR(term(d.verdicts[1], "allocation").score, 92, 1e-9);
  EXPECT_EQ(d.chosen_site, "b");
}

TEST(PreferenceScore, PreferredSitesScore100) {
  World w({MakeSite("a").gpu(16, 16), MakeSite("b").gpu(16, 16)});
  PlacementDecision d = w.decide(MakeJob().prefers("b").build(), only("preference"));
  EXPECT_DOUBLE_EQ(term(d.verdicts[0], "preference").score, 0);
  EXPECT_DOUBLE_EQ(term(d.verdicts[1], "preference").score, 100);
  EXPECT_EQ(d.chosen_site, "b");
}

TEST(DataLocalityScore, ShareOfInputBytesAlreadyThere) {
  // 300 GB at a, 100 GB at b: a holds 0.75 of the input, b 0.25.
  World w({MakeSite("a").gpu(16, 16), MakeSite("b").gpu(16, 16)});
  w.fed.datasets = {{"x", "a", 300}, {"y", "b", 100}};
  PlacementDecision d = w.decide(MakeJob().reads("x").reads("y").build(), only("data-locality"));
  EXPECT_DOUBLE_EQ(term(d.verdicts[0], "data-locality").score, 75);
  EXPECT_DOUBLE_EQ(term(d.verdicts[1], "data-locality").score, 25);
}

TEST(Totals, WeightedMeanOfTheTerms) {
  // green = carbon x3 + energy x1 + estimated-start x1. Site a: carbon 100, energy 0,
  // start 100 -> (300 + 0 + 100) / 5 = 80. Site b: carbon 0, energy 100, start 100 -> 40.
  World w({MakeSite("a").gpu(16, 16).carbon(40).energy(90),
           MakeSite("b").gpu(16, 16).carbon(300).energy(50)});
  PlacementDecision d = w.decide(MakeJob().build(), "green");
  EXPECT_DOUBLE_EQ(d.verdicts[0].score, 80);
  EXPECT_DOUBLE_EQ(d.verdicts[1].score, 40);
  EXPECT_EQ(d.chosen_site, "a");
  EXPECT_EQ(d.policy, "green");
  EXPECT_EQ(d.policy_version, 1);
  ASSERT_EQ(d.verdicts[0].scores.size(), 3u);
  EXPECT_EQ(d.verdicts[0].scores[0].plugin, "carbon");
  EXPECT_DOUBLE_EQ(d.verdicts[0].scores[0].weight, 3);
}

// --- Policies --------------------------------------------------------------------------

TEST(BuiltinPolicies, EachPicksWhatItIsFor) {
  // a: first, busy (2 of 16 idle) and dirty. b: idle, green, expensive.
  // c: holds the data, half idle.
  World w({MakeSite("a").gpu(16, 2).carbon(400).energy(40),
           MakeSite("b").gpu(16, 16).carbon(20).energy(120),
           MakeSite("c").gpu(16, 8).carbon(200).energy(60)});
  w.fed.datasets = {{"big", "c", 50000}};
  JobRecord job = MakeJob().nodes(2).build();
  EXPECT_EQ(w.decide(job, "first-fit").chosen_site, "a");
  EXPECT_EQ(w.decide(job, "least-loaded").chosen_site, "b");
  EXPECT_EQ(w.decide(job, "earliest-start").chosen_site, "b");  // tie at "now": more free
  EXPECT_EQ(w.decide(job, "green").chosen_site, "b");
  JobRecord data = MakeJob().nodes(2).reads("big").build();
  EXPECT_EQ(w.decide(data, "data-gravity").chosen_site, "c");
  EXPECT_EQ(w.decide(data, "earliest-start").chosen_site, "c");  // staging 5.6 h elsewhere
  EXPECT_EQ(knownPolicies(),
            (std::vector<std::string>{"first-fit", "least-loaded", "earliest-start", "green",
                                      "data-gravity", "balanced"}));
  for (const PolicySpec& p : builtinPolicies()) {
    EXPECT_TRUE(validatePolicy(p).ok()) << p.name;
    EXPECT_FALSE(p.description.empty()) << p.name;
  }
}

TEST(BuiltinPolicies, TiesGoToMoreFreeNodesThenFederationOrder) {
  World w({MakeSite("a").gpu(16, 8), MakeSite("b").gpu(16, 12), MakeSite("c").gpu(16, 12)});
  // All start now (score 100): b and c have 12 free; b comes first.
  EXPECT_EQ(w.decide(MakeJob().build(), "earliest-start").chosen_site, "b");
}

TEST(PolicyFile, OverridesAndAddsPolicies) {
  auto parsed = parsePolicies(R"(
[[policy]]
name = "green"
version = 2
description = "carbon only"
[policy.weights]
carbon = 1

[[policy]]
name = "night-batch"
binding = "late"
bind_within_s = 1800
start_half_life_s = 7200
[policy.weights]
energy = 2
estimated-start = 1.5
)",
                              "policies.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().toString();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[1].binding, BindingMode::kLate);
  EXPECT_EQ((*parsed)[1].bind_within, std::chrono::seconds(1800));
  EXPECT_DOUBLE_EQ((*parsed)[1].start_half_life_s, 7200);
  EXPECT_EQ((*parsed)[1].weights,
            (std::vector<PolicyWeight>{{"energy", 2}, {"estimated-start", 1.5}}));
  std::vector<PolicySpec> all = mergePolicies(builtinPolicies(), *parsed);
  ASSERT_EQ(all.size(), 7u);
  EXPECT_EQ(all[3].name, "green");
  EXPECT_EQ(all[3].version, 2);
  EXPECT_EQ(all[6].name, "night-batch");
}

struct BadPolicyCase {
  std::string name;
  std::string toml;
  std::string message_has;
};

class PolicyFileErrors : public ::testing::TestWithParam<BadPolicyCase> {};

TEST_P(PolicyFileErrors, NameTheSourceAndWhatIsWrong) {
  auto parsed = parsePolicies(GetParam().toml, "p.toml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), HasSubstr("p.toml"));
  EXPECT_THAT(parsed.status().message(), HasSubstr(GetParam().message_has));
}

INSTANTIATE_TEST_SUITE_P(
    Policies, PolicyFileErrors,
    ::testing::Values(
        BadPolicyCase{"unknown_plugin", "[[policy]]\nname='x'\n[policy.weights]\nluck=1\n",
                      "unknown score plugin \"luck\""},
        BadPolicyCase{"negative_weight", "[[policy]]\nname='x'\n[policy.weights]\nload=-1\n",
                      "must be positive"},
        BadPolicyCase{"bad_binding", "[[policy]]\nname='x'\nbinding='soon'\n",
                      "\"immediate\" or \"late\""},
        BadPolicyCase{"unknown_key", "[[policy]]\nname='x'\ncolour='red'\n", "unknown key"},
        BadPolicyCase{"no_name", "[[policy]]\nversion=2\n", "name: is required"},
        BadPolicyCase{"twice", "[[policy]]\nname='x'\n[[policy]]\nname='x'\n", "defined twice"},
        BadPolicyCase{"bad_toml", "[[policy]\n", "p.toml:1"},
        BadPolicyCase{"bad_name", "[[policy]]\nname='Not OK'\n", "[a-z0-9-]"}),
    [](const ::testing::TestParamInfo<BadPolicyCase>& info) { return info.param.name; });

// --- Properties over random federations ------------------------------------------------

World randomWorld(std::mt19937& rng) {
  static const char* kTypes[] = {"h100", "a100", "mi250x", ""};
  static const char* kCountries[] = {"FI", "SE", "IT", "ES", "DE"};
  std::vector<MakeSite> sites;
  int n = 1 + static_cast<int>(rng() % 12);
  for (int i = 0; i < n; ++i) {
    MakeSite s("s" + std::to_string(i));
    int parts = static_cast<int>(rng() % 3);
    for (int p = 0; p < parts; ++p) {
      const char* type = kTypes[rng() % 4];
      int total = 1 + static_cast<int>(rng() % 64);
      s.partition("p" + std::to_string(p), type, *type ? 4 : 0, total,
                  static_cast<int>(rng() % (total + 1)));
      if (rng() % 3 == 0) s.pending(1 + static_cast<int>(rng() % 5), rng() % 200);
    }
    s.country(kCountries[rng() % 5])
        .carbon(static_cast<double>(rng() % 500))
        .energy(static_cast<double>(20 + rng() % 150), 1.0 + (rng() % 30) / 100.0);
    if (rng() % 6 == 0) s.liveness(SiteState::kSuspect);
    if (rng() % 8 == 0) s.drained();
    if (rng() % 10 == 0) s.noReport();
    if (rng() % 4 == 0) s.reserved(static_cast<int>(rng() % 8));
    sites.push_back(std::move(s));
  }
  World w(std::move(sites));
  w.fed.datasets = {{"d0", "s0", 1000}, {"d1", "s" + std::to_string(n - 1), 40}};
  ProjectConfig p;
  p.id = "capped";
  p.allocations = {{"s0", 100}, {"s1", 5}};
  w.fed.projects = {p};
  return w;
}

JobRecord randomJob(std::mt19937& rng) {
  static const char* kTypes[] = {"h100", "a100", "mi250x", ""};
  MakeJob j;
  j.nodes(1 + static_cast<int>(rng() % 20)).hours(1 + static_cast<int>(rng() % 24));
  if (rng() % 4 != 0) j.gpus(1 + static_cast<int>(rng() % 4), kTypes[rng() % 4]);
  if (rng() % 5 == 0) j.country(rng() % 2 ? "FI" : "SE");
  if (rng() % 4 == 0) j.reads(rng() % 2 ? "d0" : "d1");
  if (rng() % 4 == 0) j.prefers("s" + std::to_string(rng() % 4));
  if (rng() % 5 == 0) j.project("capped");
  if (rng() % 7 == 0) j.excluded("s" + std::to_string(rng() % 4));
  return j.build();
}

// Never on a rejected site; the choice is the best total (first feasible for
// first-fit); every score is in 0..100; the same inputs give the same decision.
TEST(PlacementProperty, RandomFederationsNeverPlaceOnRejectedSitesAndAreDeterministic) {
  std::vector<Policy> policies;
  for (const PolicySpec& spec : builtinPolicies()) policies.push_back(*Policy::make(spec));
  int placed = 0, waited = 0;
  for (int seed = 1; seed <= 300; ++seed) {
    std::mt19937 rng(seed);
    World w = randomWorld(rng);
    std::vector<SiteView> views = w.views();
    for (int k = 0; k < 10; ++k) {
      JobRecord job = randomJob(rng);
      PlacementInput in{job, w.fed, Time{}, &w.ledger};
      for (const Policy& policy : policies) {
        PlacementDecision d = decided(policy, in, views);
        ASSERT_EQ(d, decided(policy, in, w.views())) << "seed " << seed;
        ASSERT_EQ(d.verdicts.size(), views.size());
        const SiteVerdict* chosen = chosenVerdict(d);
        bool any_feasible = false;
        for (const SiteVerdict& v : d.verdicts) {
          EXPECT_EQ(v.feasible, v.rejected_by.empty());
          EXPECT_GE(v.score, -1e-9);
          EXPECT_LE(v.score, 100 + 1e-9);
          for (const SiteVerdict::ScoreTerm& t : v.scores) {
            EXPECT_GE(t.score, 0) << t.plugin;
            EXPECT_LE(t.score, 100) << t.plugin;
          }
          if (!v.feasible) continue;
          any_feasible = true;
          if (chosen && !policy.spec().weights.empty()) {
            EXPECT_LE(v.score, chosen->score + 1e-9) << "seed " << seed << " " << d.policy;
          }
        }
        EXPECT_EQ(any_feasible, chosen != nullptr) << "seed " << seed;
        if (chosen) {
          ++placed;
          ASSERT_TRUE(chosen->feasible) << "placed on a rejected site, seed " << seed;
          if (policy.spec().weights.empty()) {
            for (const SiteVerdict& v : d.verdicts) {
              if (&v == chosen) break;
              EXPECT_FALSE(v.feasible) << "first-fit skipped a feasible site, seed " << seed;
            }
          }
        } else {
          ++waited;
        }
      }
    }
  }
  EXPECT_GT(placed, 1000);  // the generator exercises both outcomes
  EXPECT_GT(waited, 1000);
}

TEST(Decide, WithoutExplainTheSameChoiceWithoutReasonsAndAReusedDecisionIsRefilled) {
  // a: wrong accelerator (rejected), b: busy, c: idle.
  World w({MakeSite("a").gpu(16, 16, "a100"), MakeSite("b").gpu(16, 16).pending(2, 16),
           MakeSite("c").gpu(16, 16)});
  Result<Policy> policy = Policy::make(World::builtin("balanced"));
  ASSERT_TRUE(policy.ok());
  std::vector<SiteView> views = w.views();
  JobRecord job = MakeJob().gpus(4, "h100").build();
  PlacementInput full{job, w.fed, Time{}, &w.ledger};
  PlacementDecision explained = decided(*policy, full, views);

  DecisionBuffers buffers;
  DecideOptions lean{.explain = false, .buffers = &buffers};
  PlacementDecision d;
  // A decision left from a job no site could take: every field must be overwritten.
  JobRecord huge = MakeJob().nodes(64).gpus(4, "h100").build();
  PlacementInput waiting{huge, w.fed, Time{}, &w.ledger};
  policy->decide(waiting, views, d, lean);
  EXPECT_TRUE(d.chosen_site.empty());
  EXPECT_TRUE(d.summary.empty());  // no waiting summary without explain
  policy->decide(full, views, d, lean);

  EXPECT_EQ(d.chosen_site, "c");
  EXPECT_EQ(d.chosen_site, explained.chosen_site);
  EXPECT_EQ(d.summary, explained.summary);  // a placed decision keeps its summary
  ASSERT_EQ(d.verdicts.size(), explained.verdicts.size());
  for (size_t i = 0; i < d.verdicts.size(); ++i) {
    const SiteVerdict& v = d.verdicts[i];
    const SiteVerdict& e = explained.verdicts[i];
    EXPECT_EQ(v.site, e.site);
    EXPECT_EQ(v.feasible, e.feasible);
    EXPECT_EQ(v.partition, e.partition);
    EXPECT_DOUBLE_EQ(v.estimated_start_s, e.estimated_start_s);
    EXPECT_EQ(v.free_nodes, e.free_nodes);
    EXPECT_DOUBLE_EQ(v.score, e.score);
    EXPECT_TRUE(v.rejected_by.empty());
    EXPECT_TRUE(v.reason.empty());
    EXPECT_TRUE(v.scores.empty());
  }
  EXPECT_EQ(explained.verdicts[0].rejected_by, "accelerator");
  EXPECT_FALSE(explained.verdicts[0].reason.empty());

  // With explain, a reused decision (and reused buffers) equals a fresh one.
  policy->decide(full, views, d, {.explain = true, .buffers = &buffers});
  EXPECT_EQ(d, explained);
}

}  // namespace
}  // namespace aifed::broker
