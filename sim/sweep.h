// aifed-sim sweep: a grid of policy weights and run parameters, expanded into points
// with stable ids, stored in a manifest, and run either locally (a few processes in
// parallel) or as a Slurm job array followed by a merge step. docs/simulator.md
// ("Sweeps") is the manual.
//
// The options of one federation run (what `aifed-sim run` takes) are data here too,
// RunArgs, so that a manifest can store them and each point can override some.
//
//   std::vector<SweepAxis> axes = {*parseGridOption("earliest-start.weight.load=0,0.5,1"),
//                                  *parseGridOption("report_interval_s=30,300")};
//   Result<SweepManifest> m = makeManifest(base, axes);           // 6 points, p0000..p0005
//   writeManifest(*m, "out/manifest.json");
//   runPoint(*m, "out", 4);                                        // out/points/p0004/...
//   mergeSweep(*m, "out");                                         // out/sweep.csv, sweep.json
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coordinator/broker/policy.h"
#include "protocol/federation.h"
#include "protocol/status.h"
#include "sim/engine.h"
#include "sim/workload.h"

namespace aifed::sim {

// The options of one federation run (aifed-sim run / compare / sweep).
struct RunArgs {
  std::string federation;  // federation file
  std::string trace;       // SWF workload, or
  std::string jsonl;       // JSONL workload, or
  int64_t synthetic = 0;   // this many synthetic jobs
  uint64_t seed = 1;
  double load = 0.8;
  int gpus_per_node = 4;
  std::string sched = "easy";  // fcfs | easy | conservative
  double report_interval_s = 60, report_delay_s = 0, report_loss = 0, placement_cycle_s = 0;
  std::vector<std::string> outages;  // site:from_h:to_h
  bool skip_unplaceable = false;
  std::string policy = "earliest-start";
  std::string policy_file;  // [[policy]] TOML merged over the built-in policies
};

// What a run reads: the federation, the workload and the policies on offer.
struct RunInputs {
  Federation federation;
  Workload workload;
  std::vector<broker::PolicySpec> policies;  // built-ins, merged with policy_file
};

// kInvalidArgument naming the file and line for unreadable inputs, and unless exactly
// one workload source is given.
Result<RunInputs> loadRunInputs(const RunArgs& args);
// Checks the ranges of the numeric options and parses outages and the scheduler.
Result<EngineOptions> engineOptionsFor(const RunArgs& args, const RunInputs& inputs);

// ---- the grid ------------------------------------------------------------------------

// One parameter and the values it takes. Names (docs/simulator.md lists them):
//   run options:  sched, seed, load, gpus_per_node, policy, report_interval_s,
//                 report_delay_s, report_loss, placement_cycle_s
//   policy knobs: <policy>.weight.<plugin> (0 drops the plugin), <policy>.binding,
//                 <policy>.bind_within_s, <policy>.start_half_life_s,
//                 <policy>.withdraw_after_s
struct SweepAxis {
  std::string name;
  std::vector<std::string> values;  // as given (numbers in their written form)
};

struct SweepPoint {
  std::string id;  // "p" + the index, zero-padded to at least 4 digits: sorts by index
  size_t index = 0;
  std::vector<std::pair<std::string, std::string>> params;  // axis order
};

// "name=v1,v2,...": kInvalidArgument for a missing '=', an empty or repeated value.
Result<SweepAxis> parseGridOption(std::string_view text);
// A TOML grid file: a [grid] table of arrays, one axis per key, in key order
// (e.g. `"earliest-start.weight.load" = [0, 0.5, 1]`, `sched = ["easy", "conservative"]`).
Result<std::vector<SweepAxis>> parseGridFile(std::string_view toml_text,
                                             std::string_view source_name);
Result<std::vector<SweepAxis>> loadGridFile(const std::string& path);

// The Cartesian product, first axis slowest: point i of a 3 x 2 grid takes value i / 2
// of the first axis and i % 2 of the second. No axes: one point with no parameters.
// kInvalidArgument for a repeated axis name or more than 100,000 points.
Result<std::vector<SweepPoint>> expandGrid(const std::vector<SweepAxis>& axes);

// `args` and `policies` with a point's parameters applied. kInvalidArgument naming the
// parameter for an unknown name, an unknown policy or plugin, or a bad value.
Status applyParams(const std::vector<std::pair<std::string, std::string>>& params, RunArgs& args,
                   std::vector<broker::PolicySpec>& policies);

// ---- the manifest --------------------------------------------------------------------

// Everything a point needs, so that a point runs anywhere the files are: the base run
// options (paths absolute), the axes and the points. Outputs are relative to the
// manifest's directory: points/<id>/ for each point, sweep.csv and sweep.json merged.
struct SweepManifest {
  RunArgs base;
  std::vector<SweepAxis> axes;
  std::vector<SweepPoint> points;
};

// Expands the grid and checks every point against the built-in policies and
// base.policy_file (names, values), so a bad grid fails before anything runs.
Result<SweepManifest> makeManifest(RunArgs base, std::vector<SweepAxis> axes);

std::string manifestJson(const SweepManifest& manifest);  // deterministic, indented
Result<SweepManifest> parseManifest(std::string_view json_text, std::string_view source_name);
Result<SweepManifest> loadManifest(const std::string& path);
Status writeManifest(const SweepManifest& manifest, const std::string& path);

// Runs point `index` and writes summary.csv, summary.json, timeseries.csv and
// report.html into <dir>/points/<id>/. kInvalidArgument for an index out of range.
Status runPoint(const SweepManifest& manifest, const std::string& dir, size_t index);

// Writes <dir>/sweep.csv (point, one column per axis, then summary.csv's columns) and
// <dir>/sweep.json, one row per point in id order. Byte-identical for the same point
// outputs. kFailedPrecondition naming the points whose summary.csv is missing.
Status mergeSweep(const SweepManifest& manifest, const std::string& dir);

// Runs every point as `sim_binary sweep run-point ...`, up to `parallel` processes at
// once (each point's stdout and stderr go to points/<id>/log.txt), then merges.
// kInternal naming the points that failed (merge is then not run).
Status runLocal(const SweepManifest& manifest, const std::string& dir,
                const std::string& sim_binary, int parallel);

// ---- Slurm ---------------------------------------------------------------------------

struct SlurmScriptOptions {
  std::string script;  // the job-array script; the others are written beside it
  std::string sim_binary;
  std::string job_name = "aifed-sweep";
  std::vector<std::string> sbatch_options;  // extra "#SBATCH <option>" lines, e.g. --time=1:00:00
  int array_parallel = 0;                   // > 0: at most this many tasks at once (%K)
};

struct SlurmScripts {
  std::string array_script;   // #SBATCH --array=0-(N-1): one point per task
  std::string merge_script;   // <stem>-merge.sbatch: aifed-sim sweep merge
  std::string submit_script;  // <stem>-submit.sh: sbatch both, merge afterok the array
};

// Writes the three scripts (the submit script executable) and creates <dir>/logs.
Result<SlurmScripts> writeSlurmScripts(const SweepManifest& manifest, const std::string& dir,
                                       const SlurmScriptOptions& options);

}  // namespace aifed::sim
