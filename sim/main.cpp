// aifed-sim: the policy analyst's offline simulator. docs/simulator.md is the manual.
//
//   aifed-sim single  --trace T.swf --sched fcfs|easy|conservative [--size N] [--jobs-out FILE]
//   aifed-sim run     [workload options] [--policy P] [--out DIR]
//   aifed-sim compare [workload options] --policies a,b,c [--out DIR]
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "coordinator/broker/broker.h"
#include "protocol/federation.h"
#include "sim/engine.h"
#include "sim/metrics.h"
#include "sim/single.h"
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

// Options shared by run, compare and generate.
struct FederationArgs {
  std::string federation = AIFED_DEFAULT_FEDERATION;
  std::string trace, jsonl;
  int64_t synthetic = 0;
  uint64_t seed = 1;
  double load = 0.8;
  int gpus_per_node = 4;
  std::string sched = "easy";
  double report_interval_s = 60, report_delay_s = 0, report_loss = 0, placement_cycle_s = 0;
  std::vector<std::string> outages;  // site:from_h:to_h
  bool skip_unplaceable = false;
  bool progress = false;
  std::string out = "aifed-sim-out";
};

void addFederationOptions(CLI::App* c, FederationArgs& a) {
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
  c->add_flag("--skip-unplaceable", a.skip_unplaceable, "count and skip jobs the broker refuses");
  c->add_flag("--progress", a.progress, "progress bar on stderr (default: when a terminal)");
  c->add_option("--out", a.out, "output directory")->default_val(a.out);
}

struct Loaded {
  Federation federation;
  Workload workload;
};

Result<Loaded> load(const FederationArgs& a) {
  Loaded l;
  Result<Federation> fed = loadFederationFile(a.federation);
  if (!fed.ok()) return fed.status();
  l.federation = std::move(*fed);
  int sources = !a.trace.empty() + !a.jsonl.empty() + (a.synthetic > 0);
  if (sources != 1) {
    return invalidArgument("give exactly one workload: --trace, --jsonl or --synthetic N");
  }
  if (!a.trace.empty()) {
    Result<SwfTrace> t = readSwfFile(a.trace);
    if (!t.ok()) return t.status();
    SwfMapping mapping;
    mapping.gpus_per_node = a.gpus_per_node;
    Result<Workload> w = mapSwfToFederation(*t, l.federation, mapping);
    if (!w.ok()) return w.status();
    l.workload = std::move(*w);
  } else if (!a.jsonl.empty()) {
    Result<Workload> w = readJsonlWorkload(a.jsonl);
    if (!w.ok()) return w.status();
    l.workload = std::move(*w);
  } else {
    SyntheticOptions so;
    so.jobs = a.synthetic;
    so.seed = a.seed;
    so.load = a.load;
    Result<Workload> w = generateSynthetic(l.federation, so);
    if (!w.ok()) return w.status();
    l.workload = std::move(*w);
  }
  return l;
}

Result<EngineOptions> engineOptions(const FederationArgs& a, const Loaded& l) {
  EngineOptions o;
  Result<agent::SchedulerMode> mode = agent::parseSchedulerMode(a.sched);
  if (!mode.ok()) return mode.status();
  o.scheduler = *mode;
  if (!(a.report_interval_s > 0) || a.report_delay_s < 0 || a.report_loss < 0 ||
      a.report_loss >= 1) {
    return invalidArgument("report interval must be > 0, delay >= 0, loss within [0, 1)");
  }
  o.report_interval = Duration(static_cast<int64_t>(a.report_interval_s * 1000));
  o.report_delay = Duration(static_cast<int64_t>(a.report_delay_s * 1000));
  o.report_loss = a.report_loss;
  if (a.placement_cycle_s < 0) return invalidArgument("placement cycle must be >= 0");
  o.placement_cycle = Duration(static_cast<int64_t>(a.placement_cycle_s * 1000));
  o.seed = a.seed;
  o.skip_unplaceable = a.skip_unplaceable;
  Time first = l.workload.jobs.empty() ? Time{} : l.workload.jobs.front().submit;
  for (const std::string& spec : a.outages) {
    std::istringstream in(spec);
    std::string site, from, to;
    std::getline(in, site, ':');
    std::getline(in, from, ':');
    std::getline(in, to, ':');
    try {
      Outage out;
      out.site = site;
      out.from = first + Duration(static_cast<int64_t>(std::stod(from) * 3'600'000));
      out.to = first + Duration(static_cast<int64_t>(std::stod(to) * 3'600'000));
      o.outages.push_back(out);
    } catch (const std::exception&) {
      return invalidArgument("outage '" + spec + "' is not site:from_hours:to_hours");
    }
  }
  return o;
}

int runPolicies(const FederationArgs& a, std::vector<std::string> policies) {
  for (const std::string& p : policies) {
    if (Status s = checkPolicy(p); !s.ok()) return fail(s.message());
  }
  Result<Loaded> l = load(a);
  if (!l.ok()) return fail(l.status().message());
  Result<EngineOptions> base = engineOptions(a, *l);
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
    Result<Loaded> l = load(fa);
    if (!l.ok()) return fail(l.status().message());
    std::ofstream out(generate_out, std::ios::binary);
    if (!out) return fail("cannot write " + generate_out);
    out << toJsonl(l->workload);
    return 0;
  }
  if (policies_cmd->parsed()) {
    for (const std::string& p : broker::knownPolicies()) std::cout << p << "\n";
  }
  return 0;
}
