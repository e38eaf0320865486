// Workloads for federation mode: what arrives when, and how long it really runs.
//
// Three sources, all giving the same SimJob list sorted by submit time:
//   - JSONL: one aifed job spec per line with its submit time and actual runtime;
//   - SWF: a Parallel Workloads Archive trace mapped onto federation jobs
//     (mapSwfToFederation; the mapping is in docs/simulator.md);
//   - the synthetic AI-factory generator (generateSynthetic), deterministic from a seed.
//
//   Result<Workload> w = generateSynthetic(federation, {.jobs = 100000, .seed = 7});
//   Result<Workload> t = mapSwfToFederation(*readSwfFile("lublin_256.swf"), federation, {});
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/clock.h"
#include "protocol/federation.h"
#include "protocol/status.h"
#include "protocol/types.h"
#include "sim/swf.h"

namespace aifed::sim {

struct SimJob {
  Time submit{};
  Duration runtime{0};  // how long it really runs (the site caps it at the walltime)
  JobSpec spec;         // spec.simulated_runtime is set to runtime
  std::string origin;   // "line 42" of the input, for error messages
};

struct Workload {
  std::string source;        // for the report
  std::vector<SimJob> jobs;  // sorted by submit time (stable: input order on ties)
};

// {"submit_s": 0, "runtime_s": 3600, "spec": {...aifed job spec JSON...}} per line;
// blank lines and lines starting with '#' are ignored. Errors name file and line.
Result<Workload> readJsonlWorkload(const std::string& path);
// The inverse, for `aifed-sim generate`.
std::string toJsonl(const Workload& workload);

struct SwfMapping {
  int gpus_per_node = 4;  // SWF processors per federation node: nodes = ceil(procs / this)
  std::string gpu_type;   // "" (any accelerator model) unless set
};
// Rules as single mode for procs, runtime and requested time; jobs the single mode
// would skip (runtime < 0, procs <= 0) are skipped. user u -> project "swf-u<u>", with a
// home country chosen from the federation's site countries by u (documented).
Result<Workload> mapSwfToFederation(const SwfTrace& trace, const Federation& federation,
                                    const SwfMapping& mapping);

// The synthetic AI-factory workload. docs/simulator.md documents every parameter.
struct SyntheticOptions {
  int64_t jobs = 10000;
  uint64_t seed = 1;
  double load = 0.8;             // offered node-hours / federation node-hours over the span
  int projects = 60;             // each with a home country (a site's) and maybe a dataset
  double training_share = 0.02;  // large training: 16-512 nodes x 4 GPUs, 12 h - 4 days
  double finetune_share = 0.28;  // fine-tuning: 1-8 nodes x 4 GPUs, 1-12 h
  // the rest: evaluation / inference: 1 node, 1-4 GPUs, 2-60 min
  double residency_share = 0.1;  // projects whose jobs must stay in their home country
  double daily_amplitude = 0.5;  // arrival rate x (1 + a sin(...)) over the day
  double weekend_factor = 0.6;   // arrival rate x this on Saturday and Sunday
};
Result<Workload> generateSynthetic(const Federation& federation, const SyntheticOptions& options);

}  // namespace aifed::sim
