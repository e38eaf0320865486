// Metrics of one federation run and the outputs that compare runs: summary.csv,
// summary.json, a self-contained report.html with SVG plots, and a terminal table.
// All number formatting is fixed (printf-style), so the same runs give the same bytes.
//
//   Metrics m = computeMetrics(run, federation);
//   writeOutputs({m1, m2, m3}, federation, "out/", workload.source);
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "protocol/federation.h"
#include "protocol/status.h"
#include "sim/engine.h"

namespace aifed::sim {

struct SiteMetrics {
  std::string id;
  int64_t jobs = 0;
  double node_hours = 0;
  double utilisation = 0;  // busy node-hours / (nodes x span)
  double energy_mwh = 0;   // busy nodes only, facility energy (x PUE)
  double cost_eur = 0;
  double carbon_t = 0;
  std::vector<float> hourly_utilisation;  // per hour of the span
};

struct Metrics {
  std::string policy;
  int64_t jobs = 0;       // in the workload
  int64_t completed = 0;  // ran to the end at some site
  int64_t rejected = 0;
  int64_t lost = 0;
  double wait_mean_s = 0, wait_median_s = 0, wait_p95_s = 0, wait_max_s = 0;
  double bounded_slowdown = 0;  // mean, threshold 10 s
  double utilisation = 0;       // over all sites
  double makespan_s = 0;        // first submission to last end
  double data_staged_gb = 0;
  double energy_mwh = 0, cost_eur = 0, carbon_t = 0;
  double jain_fairness = 0;  // over projects' mean bounded slowdown
  int64_t events = 0, messages = 0;
  double wall_seconds = 0;
  std::vector<SiteMetrics> sites;   // federation order
  std::vector<float> hourly_queue;  // jobs submitted and not started, at each hour
  std::vector<float> wait_cdf_s;    // wait at quantiles 0, 1/200, ..., 1
};

// Power model for energy figures (docs/simulator.md): kW per busy node.
double nodePowerKw(const NodeType& type);

Metrics computeMetrics(const RunResult& run, const Federation& federation);

// Writes summary.csv, summary.json, timeseries.csv (hourly waiting jobs and utilisation
// per site) and report.html into `dir` (created if missing).
Status writeOutputs(const std::vector<Metrics>& runs, const Federation& federation,
                    const std::string& dir, const std::string& workload_name);
void printTable(const std::vector<Metrics>& runs, std::ostream& out);

}  // namespace aifed::sim
