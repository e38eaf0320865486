// Simulator throughput: a synthetic AI-factory workload (default 1,000,000 jobs) across
// the seven sites of config/federation-7.toml, EASY at every site, the broker's default
// policy. Prints jobs/s, events/s, protocol messages/s and peak memory (ru_maxrss, and
// the part reached before the simulation starts: the generated workload).
// Results and the machine they ran on: docs/benchmarks.md.
//
//   sim_bench [--jobs N] [--seed S] [--policy P] [--federation FILE]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "coordinator/broker/broker.h"
#include "protocol/federation.h"
#include "sim/engine.h"
#include "sim/metrics.h"
#include "sim/workload.h"

namespace {

double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double peakMib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux: kilobytes
}

}  // namespace

int main(int argc, char** argv) {
  int64_t jobs = 1'000'000;
  uint64_t seed = 1;
  std::string policy = aifed::broker::BrokerConfig{}.policy;
  std::string federation = AIFED_SOURCE_DIR "/config/federation-7.toml";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--jobs"))
      jobs = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seed"))
      seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--policy"))
      policy = argv[i + 1];
    else if (!std::strcmp(argv[i], "--federation"))
      federation = argv[i + 1];
    else {
      std::fprintf(stderr,
                   "usage: sim_bench [--jobs N] [--seed S] [--policy P] [--federation F]\n");
      return 2;
    }
  }
  auto fed = aifed::loadFederationFile(federation);
  if (!fed.ok()) {
    std::fprintf(stderr, "%s\n", fed.status().toString().c_str());
    return 2;
  }
  aifed::sim::SyntheticOptions so;
  so.jobs = jobs;
  so.seed = seed;
  double c0 = cpuSeconds();
  auto w = aifed::sim::generateSynthetic(*fed, so);
  if (!w.ok()) {
    std::fprintf(stderr, "%s\n", w.status().toString().c_str());
    return 2;
  }
  double gen_cpu = cpuSeconds() - c0;
  double workload_mib = peakMib();  // the generated workload (and the process itself)
  aifed::sim::EngineOptions o;
  o.policy = policy;
  double c1 = cpuSeconds();
  auto wall0 = std::chrono::steady_clock::now();
  auto r = aifed::sim::runFederation(*fed, *w, o);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  double cpu = cpuSeconds() - c1;
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", r.status().toString().c_str());
    return 2;
  }
  aifed::sim::Metrics m = aifed::sim::computeMetrics(*r, *fed);
  std::printf("workload        %s, policy %s, EASY at 7 sites\n", w->source.c_str(),
              policy.c_str());
  std::printf("jobs            %lld (completed %lld, rejected %lld)\n",
              static_cast<long long>(jobs), static_cast<long long>(m.completed),
              static_cast<long long>(m.rejected));
  std::printf("simulated span  %.1f days, utilisation %.1f%%, mean wait %.0f s\n",
              m.makespan_s / 86400, 100 * m.utilisation, m.wait_mean_s);
  std::printf("generate        %.2f s cpu\n", gen_cpu);
  std::printf("simulate        %.2f s cpu, %.2f s wall\n", cpu, wall);
  std::printf("jobs/s          %.0f (per cpu second)\n", static_cast<double>(jobs) / cpu);
  std::printf("events/s        %.0f (%lld events)\n", static_cast<double>(r->events) / cpu,
              static_cast<long long>(r->events));
  std::printf("messages/s      %.0f (%lld messages)\n", static_cast<double>(r->messages) / cpu,
              static_cast<long long>(r->messages));
  std::printf(
      "peak memory     %.0f MiB (ru_maxrss; %.0f MiB of it before the simulation: "
      "the workload)\n",
      peakMib(), workload_mib);
  return 0;
}
