// Placement throughput and latency (docs/benchmarks.md).
//
//   BM_Place/sites:N           one decision of the default policy (every filter, every
//                              score plugin, every site) for the next of 10,000 queued
//                              jobs over a fixed snapshot of N sites. items_per_second =
//                              decisions per second; p50_us / p99_us per decision.
//   BM_PlaceBalanced/sites:N   the same with `balanced` (all seven score plugins).
//   BM_TickQueue/sites:N       Broker::tick placing a queue of 10,000 jobs in one go,
//                              reservations and effects included; items = decisions.
//   BM_IntakeTick/backlog:N    the coordinator's REST intake: a batch of 128 submissions
//                              and the one tick its group commit runs, with N jobs already
//                              waiting and no site open (no site has reported yet, or all
//                              are down or drained); items = submissions. Should not grow
//                              with N: only undecided jobs are examined then.
//
// Run: ./build/release/bench/placement_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "common/ids.h"
#include "coordinator/broker/broker.h"
#include "coordinator/broker/placement.h"

namespace aifed::broker {
namespace {

constexpr int kQueuedJobs = 10'000;
const char* kTypes[] = {"h100", "a100", "mi250x", "h200", "gh200"};
const char* kCountries[] = {"FI", "SE", "ES", "IT", "DE", "LU", "GR", "FR", "PL", "CZ"};

// N sites, each with a GPU partition (one of five models) and a CPU partition, spread
// over ten countries, with varied prices, carbon, load and backlog.
Federation makeFederation(int n) {
  std::mt19937 rng(42);
  Federation f;
  f.name = "bench";
  f.default_bandwidth_gbps = 20;
  for (int i = 0; i < n; ++i) {
    SiteConfig s;
    s.id = "site-" + std::to_string(i);
    s.name = s.id;
    s.country = kCountries[i % 10];
    s.energy_price_eur_mwh = 40 + rng() % 100;
    s.carbon_g_kwh = 20 + rng() % 400;
    s.pue = 1.0 + (rng() % 30) / 100.0;
    PartitionConfig gpu{"gpu", 64 + static_cast<int>(rng() % 2000),
                        NodeType{kTypes[i % 5], 4, 64, 512}};
    PartitionConfig cpu{"cpu", 256, NodeType{"", 0, 128, 256}};
    s.partitions = {gpu, cpu};
    f.sites.push_back(std::move(s));
  }
  f.datasets = {{"corpus", "site-1", 40000}, {"era5", "site-3", 250000}};
  f.links = {{"site-0", "site-1", 100}};
  ProjectConfig p;
  p.id = "capped";
  for (int i = 0; i < n; i += 2) p.allocations["site-" + std::to_string(i)] = 1e7;
  f.projects = {p};
  return f;
}

std::vector<JobRecord> makeQueue() {
  std::mt19937 rng(7);
  std::vector<JobRecord> jobs;
  for (int i = 0; i < kQueuedJobs; ++i) {
    JobRecord j;
    j.id = common::formatJobId(i + 1);
    j.spec.name = "job";
    j.spec.project = rng() % 4 == 0 ? "capped" : "open";
    j.spec.nodes = 1 + static_cast<int>(rng() % 32);
    j.spec.walltime = std::chrono::hours(1 + rng() % 24);
    if (rng() % 5 != 0) {
      j.spec.gpus_per_node = 1 + static_cast<int>(rng() % 4);
      if (rng() % 3 != 0) j.spec.gpu_type = kTypes[rng() % 5];
    }
    if (rng() % 10 == 0) j.spec.allowed_countries = {kCountries[rng() % 10]};
    if (rng() % 8 == 0) j.spec.datasets = {{rng() % 2 ? "corpus" : "era5", 0}};
    if (rng() % 8 == 0) j.spec.preferred_sites = {"site-" + std::to_string(rng() % 7)};
    jobs.push_back(std::move(j));
  }
  return jobs;
}

Capacity capacityOf(const SiteConfig& s, std::mt19937& rng) {
  Capacity c;
  c.capacity.epoch = 1;
  for (const PartitionConfig& pc : s.partitions) {
    PartitionCapacity p;
    p.name = pc.name;
    p.node_type = pc.node_type;
    p.nodes_total = pc.nodes;
    p.nodes_idle = static_cast<int>(rng() % (pc.nodes + 1));
    p.nodes_allocated = pc.nodes - p.nodes_idle;
    p.pending_jobs = static_cast<int>(rng() % 20);
    p.pending_node_hours = p.pending_jobs * (rng() % 500);
    c.capacity.partitions.push_back(p);
  }
  return c;
}

std::vector<SiteRecord> makeRecords(const Federation& f) {
  std::mt19937 rng(11);
  std::vector<SiteRecord> records;
  for (const SiteConfig& s : f.sites) {
    SiteRecord r;
    r.id = s.id;
    r.state = rng() % 20 == 0 ? SiteState::kSuspect : SiteState::kUp;
    r.capacity = capacityOf(s, rng).capacity;
    records.push_back(std::move(r));
  }
  return records;
}

PolicySpec builtin(const std::string& name) {
  for (const PolicySpec& p : builtinPolicies()) {
    if (p.name == name) return p;
  }
  return builtinPolicies().front();
}

void reportLatency(benchmark::State& state, std::vector<double>& ns) {
  if (ns.empty()) return;
  std::sort(ns.begin(), ns.end());
  auto pct = [&](double q) { return ns[static_cast<size_t>(q * (ns.size() - 1))] / 1000.0; };
  state.counters["p50_us"] = pct(0.50);
  state.counters["p99_us"] = pct(0.99);
}

void placeBench(benchmark::State& state, const std::string& policy_name) {
  const int n = static_cast<int>(state.range(0));
  Federation fed = makeFederation(n);
  std::vector<SiteRecord> records = makeRecords(fed);
  std::vector<SiteView> views;
  for (size_t i = 0; i < records.size(); ++i) {
    SiteView v;
    v.config = &fed.sites[i];
    v.record = &records[i];
    v.liveness = records[i].state;
    if (i % 3 == 0) v.reserved_nodes["gpu"] = 8;
    views.push_back(std::move(v));
  }
  std::vector<JobRecord> queue = makeQueue();
  Result<Policy> policy = Policy::make(builtin(policy_name));
  AllocationUsage ledger;
  ledger["capped"]["site-0"] = 5e6;
  DecisionBuffers buffers;  // as the broker keeps them from decision to decision
  std::vector<double> ns;
  ns.reserve(1 << 20);
  size_t next = 0;
  int64_t placed = 0;
  for (auto _ : state) {
    const JobRecord& job = queue[next];
    next = next + 1 == queue.size() ? 0 : next + 1;
    auto t0 = std::chrono::steady_clock::now();
    PlacementInput in{job, fed, Time{}, &ledger};
    PlacementDecision d;
    policy->decide(in, views, d, {.explain = true, .buffers = &buffers});
    benchmark::DoNotOptimize(d);
    auto t1 = std::chrono::steady_clock::now();
    placed += !d.chosen_site.empty();
    if (ns.size() < ns.capacity()) {
      ns.push_back(static_cast<double>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["placed_frac"] =
      static_cast<double>(placed) / static_cast<double>(std::max<int64_t>(1, state.iterations()));
  reportLatency(state, ns);
}
// The default policy, earliest-start.
void BM_Place(benchmark::State& state) {
  placeBench(state, std::string(kDefaultPolicy));
}
BENCHMARK(BM_Place)->ArgName("sites")->Arg(7)->Arg(1000)->Unit(benchmark::kMicrosecond);

// The heaviest built-in policy: all seven score plugins.
void BM_PlaceBalanced(benchmark::State& state) {
  placeBench(state, "balanced");
}
BENCHMARK(BM_PlaceBalanced)->ArgName("sites")->Arg(7)->Arg(1000)->Unit(benchmark::kMicrosecond);

// The whole broker: 10,000 queued jobs placed by one tick (reservations, effects).
void BM_TickQueue(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Federation fed = makeFederation(n);
  std::vector<JobRecord> queue = makeQueue();
  Time t = fromMillis(1'800'000'000'000);
  int64_t decisions = 0;
  for (auto _ : state) {
    state.PauseTiming();
    BrokerConfig cfg;
    cfg.heartbeat_interval = std::chrono::hours(1000);
    auto broker = std::make_unique<Broker>(fed, cfg);
    std::mt19937 rng(11);
    for (const SiteConfig& s : fed.sites) {
      Effects fx;
      broker->onMessage(*broker->siteIndex(s.id), makeMessage(s.id, "h", t, Hello{"b", "simulated", {}}), t, fx);
      broker->onMessage(*broker->siteIndex(s.id), makeMessage(s.id, "c", t, capacityOf(s, rng)), t, fx);
    }
    Effects fx;
    for (const JobRecord& j : queue) {
      JobSpec spec = j.spec;
      spec.project = "open";
      (void)broker->submit(spec, t, fx);
    }
    fx.clear();
    state.ResumeTiming();
    broker->tick(t, fx);
    decisions += static_cast<int64_t>(fx.decisions.size());
    benchmark::DoNotOptimize(fx);
    state.PauseTiming();
    broker.reset();
    fx.clear();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(decisions);
}
BENCHMARK(BM_TickQueue)->ArgName("sites")->Arg(7)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_IntakeTick(benchmark::State& state) {
  const int64_t backlog = state.range(0);
  constexpr int kBatch = 128;
  Federation fed = makeFederation(7);
  std::vector<JobRecord> queue = makeQueue();
  Time t = fromMillis(1'800'000'000'000);
  BrokerConfig cfg;
  cfg.heartbeat_interval = std::chrono::hours(1000);
  Broker broker(fed, cfg);
  Effects fx;
  auto spec = [&](int64_t i) {
    JobSpec s = queue[static_cast<size_t>(i) % queue.size()].spec;
    s.project = "open";
    return s;
  };
  for (int64_t i = 0; i < backlog; ++i) (void)broker.submit(spec(i), t, fx);
  broker.tick(t, fx);
  fx.clear();
  int64_t submitted = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) (void)broker.enqueue(spec(submitted + i), t, fx);
    broker.tick(t, fx);
    submitted += kBatch;
    benchmark::DoNotOptimize(fx);
    fx.clear();
  }
  state.SetItemsProcessed(submitted);
}
BENCHMARK(BM_IntakeTick)
    ->ArgName("backlog")
    ->Arg(1'000)
    ->Arg(100'000)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace aifed::broker

BENCHMARK_MAIN();
