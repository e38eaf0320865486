// aifed-sim: the policy analyst's offline simulator. docs/simulator.md is the manual.
//
//   aifed-sim single  --trace T.swf --sched fcfs|easy|conservative [--size N] [--jobs-out FILE]
//   aifed-sim run     [workload options] [--policy P] [--out DIR]
//   aifed-sim compare [workload options] --policies a,b,c [--out DIR]
//   aifed-sim sweep   [workload options] --grid K=v1,v2 ... (--local | --slurm-script F)
//   aifed-sim sweep run-point --manifest M --index I
//   aifed-sim sweep merge --manifest M
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "coordinator/broker/broker.h"
#include "protocol/federation.h"
#include "sim/engine.h"
#include "sim/metrics.h"
#include "sim/single.h"
#include "sim/sweep.h"
#include "sim/swf.h"
#include "sim/workload.h"

#ifndef AIFED_DEFAULT_FEDERATION
#define AIFED_DEFAULT_FEDERATION "config/federation-7.toml"
#endif

namespace {

using namespace aifed;
using namespace aifed::sim;

int fail(const std::string& message) {
  std::cerr << "aifed-sim: " << message << "\n";
  return 2;
}

int runSingleCommand(const std::string& trace_path, const std::string& sched,
                     std::optional<int> size, const std::string& jobs_out) {
  SingleOptions options;
  Result<agent::SchedulerMode> mode = agent::parseSchedulerMode(sched);
  if (!mode.ok()) return fail(mode.status().message());
  options.mode = *mode;
  options.size = size;
  auto t0 = std::chrono::steady_clock::now();
  Result<SwfTrace> trace = readSwfFile(trace_path);
  if (!trace.ok()) return fail(trace.status().message());
  Result<SingleRun> run = runSingle(*trace, options);
  if (!run.ok()) return fail(run.status().message());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!jobs_out.empty()) {
    std::ofstream out(jobs_out);
    if (!out) return fail("cannot write " + jobs_out);
    writeSingleJobsCsv(*run, out);
  }
  double wait_sum = 0, bsld_sum = 0;
  int64_t makespan = 0, first = run->jobs.empty() ? 0 : run->jobs.front().submit_ms;
  for (const SingleJob& j : run->jobs) {
    double wait = static_cast<double>(j.start_ms - j.submit_ms) / 1000.0;
    double runtime = static_cast<double>(j.end_ms - j.start_ms) / 1000.0;
    wait_sum += wait;
    bsld_sum += std::max(1.0, (wait + runtime) / std::max(10.0, runtime));
    makespan = std::max(makespan, j.end_ms - first);
  }
  double n = std::max<double>(1, static_cast<double>(run->jobs.size()));
  std::cout << "trace      " << trace_path << "\n"
            << "scheduler  " << sched << " on " << run->size << " processors\n"
            << "jobs       " << run->jobs.size() << " (" << run->skipped << " skipped)\n"
            << "mean wait  " << wait_sum / n << " s\n"
            << "mean bsld  " << bsld_sum / n << " (threshold 10 s)\n"
            << "makespan   " << formatSeconds(makespan) << " s\n"
            << "wall time  " << secs << " s\n";
  return 0;
}

// Options shared by run, compare, generate and sweep: a run's options (RunArgs) plus
// what only the command line has.
struct FederationArgs {
  RunArgs run;
  bool progress = false;
  std::string out = "aifed-sim-out";
};

void addFederationOptions(CLI::App* c, FederationArgs& f) {
  RunArgs& a = f.run;
  c->add_option("--federation", a.federation, "federation file")->default_val(a.federation);
  c->add_option("--trace", a.trace, "SWF workload (.swf or .swf.gz), mapped per docs/simulator.md");
  c->add_option("--jsonl", a.jsonl, "JSONL workload of aifed job specs");
  c->add_option("--synthetic", a.synthetic, "generate this many synthetic AI-factory jobs");
  c->add_option("--seed", a.seed, "seed of the synthetic generator and of report loss");
  c->add_option("--load", a.load, "synthetic offered load (fraction of GPU nodes)");
  c->add_option("--gpus-per-node", a.gpus_per_node, "SWF processors per node");
  c->add_option("--sched", a.sched, "site scheduler: fcfs | easy | conservative")
      ->default_val("easy");
  c->add_option("--report-interval", a.report_interval_s, "seconds between CAPACITY reports");
  c->add_option("--report-delay", a.report_delay_s, "seconds a CAPACITY report is in transit");
  c->add_option("--report-loss", a.report_loss, "probability a CAPACITY report is lost");
  c->add_option("--placement-cycle", a.placement_cycle_s,
                "seconds between placement rounds (0: after every event, as the daemon)");
  c->add_option("--outage", a.outages, "site:from_h:to_h, hours from the first submission");
  c->add_option("--policy-file", a.policy_file,
                "[[policy]] TOML file merged over the built-in policies (docs/placement.md)");
  c->add_flag("--skip-unplaceable", a.skip_unplaceable, "count and skip jobs the broker refuses");
  c->add_flag("--progress", f.progress, "progress bar on stderr (default: when a terminal)");
  c->add_option("--out", f.out, "output directory")->default_val(f.out);
}

int runPolicies(const FederationArgs& a, std::vector<std::string> policies) {
  Result<RunInputs> l = loadRunInputs(a.run);
  if (!l.ok()) return fail(l.status().message());
  for (const std::string& p : policies) {
    if (Status s = checkPolicy(p, l->policies); !s.ok()) return fail(s.message());
  }
  FederationArgs first = a;
  first.run.policy = policies.front();
  Result<EngineOptions> base = engineOptionsFor(first.run, *l);
  if (!base.ok()) return fail(base.status().message());
  bool progress = a.progress || isatty(STDERR_FILENO);
  std::vector<Result<RunResult>> results(policies.size(), Status(invalidArgument("not run")));
  // Runs are independent (one broker and one set of sites each): run them in parallel
  // where cores allow. Outputs are ordered by the policy list, so they do not depend
  // on which run finishes first.
  size_t width = std::max(1u, std::thread::hardware_concurrency());
  for (size_t begin = 0; begin < policies.size(); begin += width) {
    std::vector<std::thread> threads;
    for (size_t k = begin; k < std::min(policies.size(), begin + width); ++k) {
      threads.emplace_back([&, k] {
        EngineOptions o = *base;
        o.policy = policies[k];
        if (progress && k == begin) {
          o.progress = [](int64_t done, int64_t total) {
            int pct = static_cast<int>(100 * done / std::max<int64_t>(1, total));
            std::cerr << "\r[" << std::string(static_cast<size_t>(pct / 2), '#')
                      << std::string(static_cast<size_t>(50 - pct / 2), ' ') << "] " << pct << "% "
                      << done << "/" << total << std::flush;
          };
        }
        results[k] = runFederation(l->federation, l->workload, o);
      });
    }
    for (std::thread& t : threads) t.join();
  }
  if (progress) std::cerr << "\n";
  std::vector<Metrics> metrics;
  for (Result<RunResult>& r : results) {
    if (!r.ok()) return fail(r.status().message());
    metrics.push_back(computeMetrics(*r, l->federation));
  }
  if (Status s = writeOutputs(metrics, l->federation, a.out, l->workload.source); !s.ok()) {
    return fail(s.message());
  }
  printTable(metrics, std::cout);
  for (const Metrics& m : metrics) {
    std::cerr << m.policy << ": " << m.events << " events, " << m.messages << " messages in "
              << m.wall_seconds << " s ("
              << static_cast<int64_t>(static_cast<double>(m.jobs) / std::max(1e-9, m.wall_seconds))
              << " jobs/s)\n";
  }
  std::cout << "wrote " << a.out << "/summary.csv, summary.json, timeseries.csv, report.html\n";
  return 0;
}

struct SweepArgs {
  FederationArgs fed;
  std::vector<std::string> grids;
  std::string grid_file;
  bool local = false;
  int parallel = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  SlurmScriptOptions slurm;
};

std::string selfPath() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("aifed-sim");
}

std::string manifestDir(const std::string& manifest_path) {
  std::filesystem::path parent = std::filesystem::path(manifest_path).parent_path();
  return parent.empty() ? "." : parent.string();
}

int sweepCommand(SweepArgs& a) {
  std::vector<SweepAxis> axes;
  if (!a.grid_file.empty()) {
    Result<std::vector<SweepAxis>> file = loadGridFile(a.grid_file);
    if (!file.ok()) return fail(file.status().message());
    axes = std::move(*file);
  }
  for (const std::string& g : a.grids) {
    Result<SweepAxis> axis = parseGridOption(g);
    if (!axis.ok()) return fail(axis.status().message());
    axes.push_back(std::move(*axis));
  }
  if (a.local && !a.slurm.script.empty()) return fail("give --local or --slurm-script, not both");
  Result<SweepManifest> m = makeManifest(a.fed.run, std::move(axes));
  if (!m.ok()) return fail(m.status().message());
  const std::string& dir = a.fed.out;
  std::string manifest_path = dir + "/manifest.json";
  // Point outputs are named by id: a different sweep in the same directory would mix
  // its points with the old ones. The same sweep again (a rerun) is fine.
  if (Result<SweepManifest> old = loadManifest(manifest_path);
      old.ok() && manifestJson(*old) != manifestJson(*m)) {
    return fail(manifest_path + " belongs to another sweep; choose another --out or remove " + dir);
  }
  if (Status s = writeManifest(*m, manifest_path); !s.ok()) return fail(s.message());
  std::cout << "wrote " << manifest_path << " (" << m->points.size()
            << (m->points.size() == 1 ? " point, " : " points, ") << m->axes.size()
            << (m->axes.size() == 1 ? " axis)\n" : " axes)\n");
  if (a.local) {
    auto t0 = std::chrono::steady_clock::now();
    if (Status s = runLocal(*m, dir, selfPath(), a.parallel); !s.ok()) return fail(s.message());
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "ran " << m->points.size() << " points in " << secs << " s (" << a.parallel
              << " at once); wrote " << dir << "/sweep.csv, sweep.json\n";
  } else if (!a.slurm.script.empty()) {
    if (a.slurm.sim_binary.empty()) a.slurm.sim_binary = selfPath();
    Result<SlurmScripts> scripts = writeSlurmScripts(*m, dir, a.slurm);
    if (!scripts.ok()) return fail(scripts.status().message());
    std::cout << "wrote " << scripts->array_script << " (array of " << m->points.size()
              << " tasks), " << scripts->merge_script << "\nsubmit with: " << scripts->submit_script
              << "\n";
  } else {
    std::cout << "run a point with: aifed-sim sweep run-point --manifest " << manifest_path
              << " --index I; then aifed-sim sweep merge --manifest " << manifest_path << "\n";
  }
  return 0;
}

int runPointCommand(const std::string& manifest_path, size_t index) {
  Result<SweepManifest> m = loadManifest(manifest_path);
  if (!m.ok()) return fail(m.status().message());
  if (index < m->points.size()) {
    std::cerr << "point " << m->points[index].id;
    for (const auto& [k, v] : m->points[index].params) std::cerr << " " << k << "=" << v;
    std::cerr << "\n";
  }
  if (Status s = runPoint(*m, manifestDir(manifest_path), index); !s.ok()) {
    return fail(s.message());
  }
  return 0;
}

int mergeCommand(const std::string& manifest_path) {
  Result<SweepManifest> m = loadManifest(manifest_path);
  if (!m.ok()) return fail(m.status().message());
  std::string dir = manifestDir(manifest_path);
  if (Status s = mergeSweep(*m, dir); !s.ok()) return fail(s.message());
  std::cout << "wrote " << dir << "/sweep.csv, sweep.json (" << m->points.size() << " points)\n";
  return 0;
}

std::vector<std::string> splitList(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"aifed-sim: replay workloads through aifed's placement code offline"};
  app.set_version_flag("--version", std::string("aifed-sim ") + AIFED_VERSION,
                       "print the version and exit");
  app.require_subcommand(1);

  std::string trace, sched = "easy", jobs_out;
  std::optional<int> size;
  CLI::App* single = app.add_subcommand(
      "single", "single-site reference mode: FCFS, EASY or conservative on one SWF trace");
  single->add_option("--trace", trace, "SWF trace (.swf or .swf.gz)")->required();
  single->add_option("--sched", sched, "fcfs | easy | conservative")->default_val("easy");
  single->add_option("--size", size, "processors (default: MaxProcs, else MaxNodes)");
  single->add_option("--jobs-out", jobs_out, "write job_id,submit,start,end,procs here");

  FederationArgs fa;
  fa.run.federation = AIFED_DEFAULT_FEDERATION;
  std::string policy = "earliest-start", policies;
  CLI::App* run = app.add_subcommand("run", "federation mode: one policy");
  addFederationOptions(run, fa);
  run->add_option("--policy", policy, "placement policy")->default_val(policy);
  CLI::App* compare =
      app.add_subcommand("compare", "federation mode: several policies side by side");
  addFederationOptions(compare, fa);
  compare->add_option("--policies", policies, "comma-separated policy names")->required();
  std::string generate_out;
  CLI::App* generate = app.add_subcommand("generate", "write the synthetic workload as JSONL");
  addFederationOptions(generate, fa);
  generate->add_option("--jsonl-out", generate_out, "JSONL file to write")->required();
  CLI::App* policies_cmd = app.add_subcommand("policies", "list the broker's placement policies");

  SweepArgs sw;
  sw.fed.run.federation = AIFED_DEFAULT_FEDERATION;
  CLI::App* sweep = app.add_subcommand(
      "sweep", "expand a grid of policy weights or run parameters; run it here or on Slurm");
  addFederationOptions(sweep, sw.fed);
  sweep->get_option("--out")->default_val("aifed-sim-sweep");
  sweep->add_option("--policy", sw.fed.run.policy, "placement policy of every point")
      ->default_val(sw.fed.run.policy);
  sweep->add_option("--grid", sw.grids, "name=v1,v2,... (repeatable; docs/simulator.md)");
  sweep->add_option("--grid-file", sw.grid_file, "TOML file with a [grid] table of arrays");
  sweep->add_flag("--local", sw.local, "run every point here, then merge");
  sweep->add_option("-j,--parallel", sw.parallel, "points run at once with --local")
      ->default_val(sw.parallel);
  sweep->add_option("--slurm-script", sw.slurm.script,
                    "write a Slurm job-array script here (plus <stem>-merge.sbatch and "
                    "<stem>-submit.sh beside it)");
  sweep->add_option("--sbatch-option", sw.slurm.sbatch_options,
                    "extra #SBATCH line for both scripts, e.g. --time=02:00:00 (repeatable)");
  sweep->add_option("--array-parallel", sw.slurm.array_parallel,
                    "at most this many array tasks at once (0: no limit)");
  sweep->add_option("--job-name", sw.slurm.job_name, "Slurm job name")
      ->default_val(sw.slurm.job_name);
  sweep->add_option("--sim-binary", sw.slurm.sim_binary,
                    "aifed-sim path the scripts run (default: this binary)");
  sweep->require_subcommand(0, 1);
  std::string manifest_path;
  size_t point_index = 0;
  CLI::App* run_point =
      sweep->add_subcommand("run-point", "run one point of a sweep manifest (an array task)");
  run_point->add_option("--manifest", manifest_path, "manifest.json of the sweep")->required();
  run_point->add_option("--index", point_index, "point index, 0..N-1")->required();
  CLI::App* merge =
      sweep->add_subcommand("merge", "merge the points' summaries into sweep.csv and sweep.json");
  merge->add_option("--manifest", manifest_path, "manifest.json of the sweep")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (single->parsed()) return runSingleCommand(trace, sched, size, jobs_out);
  if (run->parsed()) return runPolicies(fa, {policy});
  if (compare->parsed()) {
    std::vector<std::string> list = splitList(policies);
    if (list.empty()) return fail("--policies needs at least one policy name");
    return runPolicies(fa, list);
  }
  if (generate->parsed()) {
    Result<RunInputs> l = loadRunInputs(fa.run);
    if (!l.ok()) return fail(l.status().message());
    std::ofstream out(generate_out, std::ios::binary);
    if (!out) return fail("cannot write " + generate_out);
    out << toJsonl(l->workload);
    return 0;
  }
  if (run_point->parsed()) return runPointCommand(manifest_path, point_index);
  if (merge->parsed()) return mergeCommand(manifest_path);
  if (sweep->parsed()) return sweepCommand(sw);
  if (policies_cmd->parsed()) {
    for (const std::string& p : broker::knownPolicies()) std::cout << p << "\n";
  }
  return 0;
}
