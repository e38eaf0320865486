#include "sim/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace aifed::sim {
namespace {

constexpr double kHourMs = 3'600'000.0;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
std::string num(double v) {
  return fmt("%.6g", v);
}

double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  double pos = q * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(sorted.size() - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

std::string jsonEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    o += c;
  }
  return o;
}
std::string htmlEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else if (c == '"')
      o += "&quot;";
    else
      o += c;
  }
  return o;
}

const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
const char* colour(size_t i) {
  return kColours[i % 10];
}

}  // namespace

double nodePowerKw(const NodeType& type) {
  // Accelerator board power (TDP, kW) plus 0.5 kW for the rest of the node.
  double tdp = 0.5;
  const std::string& a = type.accelerator;
  if (a == "h100" || a == "h200")
    tdp = 0.7;
  else if (a == "a100")
    tdp = 0.4;
  else if (a == "mi250x")
    tdp = 0.5;
  else if (a == "mi300a")
    tdp = 0.55;
  else if (a == "gh200")
    tdp = 0.9;
  return 0.5 + tdp * type.accelerators_per_node;
}

Metrics computeMetrics(const RunResult& run, const Federation& fed) {
  Metrics m;
  m.policy = run.policy;
  m.jobs = static_cast<int64_t>(run.jobs.size());
  m.rejected = run.rejected;
  m.events = run.events;
  m.messages = run.messages;
  m.wall_seconds = run.wall_seconds;
  int64_t t0 = run.start_ms, t1 = std::max(run.end_ms, run.start_ms + 1);
  m.makespan_s = static_cast<double>(t1 - t0) / 1000.0;
  size_t hours = static_cast<size_t>(std::ceil(static_cast<double>(t1 - t0) / kHourMs)) + 1;

  m.sites.resize(fed.sites.size());
  std::vector<double> total_nodes(fed.sites.size(), 0), power(fed.sites.size(), 0);
  std::vector<std::vector<double>> busy(fed.sites.size(), std::vector<double>(hours, 0));
  for (size_t i = 0; i < fed.sites.size(); ++i) {
    m.sites[i].id = fed.sites[i].id;
    double watts = 0;
    for (const PartitionConfig& p : fed.sites[i].partitions) {
      total_nodes[i] += p.nodes;
      watts += p.nodes * nodePowerKw(p.node_type);
    }
    // Partitions are nearly always one node type; a node-weighted mean covers the rest.
    power[i] = total_nodes[i] > 0 ? watts / total_nodes[i] : 0;
  }
  std::vector<double> waits, queue_delta(hours + 1, 0);
  std::vector<double> project_bsld(run.projects.size(), 0), project_n(run.projects.size(), 0);
  double bsld_sum = 0;
  waits.reserve(run.jobs.size());
  for (const JobOutcome& o : run.jobs) {
    if (o.rejected) continue;
    if (!o.completed || o.start_ms < 0 || o.end_ms < 0 || o.site < 0) {
      ++m.lost;
      continue;
    }
    ++m.completed;
    double wait = static_cast<double>(o.start_ms - o.submit_ms) / 1000.0;
    double run_s = static_cast<double>(o.end_ms - o.start_ms) / 1000.0;
    double bsld = std::max(1.0, (wait + run_s) / std::max(10.0, run_s));
    waits.push_back(wait);
    bsld_sum += bsld;
    if (o.project >= 0) {
      project_bsld[static_cast<size_t>(o.project)] += bsld;
      project_n[static_cast<size_t>(o.project)] += 1;
    }
    m.data_staged_gb += o.staged_gb;
    SiteMetrics& s = m.sites[static_cast<size_t>(o.site)];
    s.jobs++;
    double nh = o.nodes * run_s / 3600.0;
    s.node_hours += nh;
    // Spread the busy node-time over the hours it covers.
    double a = static_cast<double>(o.start_ms - t0), b = static_cast<double>(o.end_ms - t0);
    for (size_t h = static_cast<size_t>(a / kHourMs); h < hours && h * kHourMs < b; ++h) {
      double lo = std::max(a, h * kHourMs), hi = std::min(b, (h + 1) * kHourMs);
      busy[static_cast<size_t>(o.site)][h] += o.nodes * (hi - lo);
    }
    size_t qa = static_cast<size_t>(std::ceil(static_cast<double>(o.submit_ms - t0) / kHourMs));
    size_t qb = static_cast<size_t>(std::ceil(static_cast<double>(o.start_ms - t0) / kHourMs));
    if (qa < qb) {  // waiting at every whole hour in [submit, start)
      queue_delta[std::min(qa, hours)] += 1;
      queue_delta[std::min(qb, hours)] -= 1;
    }
  }
  std::sort(waits.begin(), waits.end());
  double n = std::max<double>(1, static_cast<double>(waits.size()));
  double wsum = 0;
  for (double w : waits) wsum += w;
  m.wait_mean_s = wsum / n;
  m.wait_median_s = quantile(waits, 0.5);
  m.wait_p95_s = quantile(waits, 0.95);
  m.wait_max_s = waits.empty() ? 0 : waits.back();
  m.bounded_slowdown = bsld_sum / n;
  for (int q = 0; q <= 200; ++q)
    m.wait_cdf_s.push_back(static_cast<float>(quantile(waits, q / 200.0)));

  double busy_all = 0, nodes_all = 0;
  for (size_t i = 0; i < fed.sites.size(); ++i) {
    SiteMetrics& s = m.sites[i];
    double capacity_h = total_nodes[i] * m.makespan_s / 3600.0;
    s.utilisation = capacity_h > 0 ? s.node_hours / capacity_h : 0;
    s.energy_mwh = s.node_hours * power[i] * fed.sites[i].pue / 1000.0;
    s.cost_eur = s.energy_mwh * fed.sites[i].energy_price_eur_mwh;
    s.carbon_t = s.energy_mwh * 1000.0 * fed.sites[i].carbon_g_kwh / 1e6;
    m.energy_mwh += s.energy_mwh;
    m.cost_eur += s.cost_eur;
    m.carbon_t += s.carbon_t;
    busy_all += s.node_hours;
    nodes_all += total_nodes[i];
    s.hourly_utilisation.resize(hours);
    for (size_t h = 0; h < hours; ++h) {
      s.hourly_utilisation[h] =
          static_cast<float>(total_nodes[i] > 0 ? busy[i][h] / (total_nodes[i] * kHourMs) : 0);
    }
  }
  m.utilisation = nodes_all > 0 ? busy_all / (nodes_all * m.makespan_s / 3600.0) : 0;
  double q = 0;
  m.hourly_queue.resize(hours);
  for (size_t h = 0; h < hours; ++h) {
    q += queue_delta[h];
    m.hourly_queue[h] = static_cast<float>(q);
  }
  // Jain's index over the projects' mean bounded slowdowns: 1 when all projects are
  // served alike, 1/n when one project takes all the delay.
  double sx = 0, sxx = 0, np = 0;
  for (size_t p = 0; p < project_bsld.size(); ++p) {
    if (project_n[p] == 0) continue;
    double x = project_bsld[p] / project_n[p];
    sx += x;
    sxx += x * x;
    np += 1;
  }
  m.jain_fairness = sxx > 0 ? sx * sx / (np * sxx) : 1;
  return m;
}

void printTable(const std::vector<Metrics>& runs, std::ostream& out) {
  char line[512];
  std::snprintf(line, sizeof line, "%-18s %9s %10s %10s %10s %9s %7s %11s %6s\n", "policy", "jobs",
                "wait mean", "wait p95", "wait max", "bsld", "util", "makespan", "Jain");
  out << line;
  for (const Metrics& m : runs) {
    std::snprintf(line, sizeof line,
                  "%-18s %9lld %9.0fs %9.0fs %9.0fs %9.2f %6.1f%% %10.1fh %6.3f\n",
                  m.policy.c_str(), static_cast<long long>(m.completed), m.wait_mean_s,
                  m.wait_p95_s, m.wait_max_s, m.bounded_slowdown, 100 * m.utilisation,
                  m.makespan_s / 3600.0, m.jain_fairness);
    out << line;
  }
}

namespace {

void writeCsv(const std::vector<Metrics>& runs, std::ostream& o) {
  o << "policy,jobs,completed,rejected,lost,wait_mean_s,wait_median_s,wait_p95_s,wait_max_s,"
       "bounded_slowdown,utilisation,makespan_s,data_staged_gb,energy_mwh,cost_eur,carbon_t,"
       "jain_fairness";
  if (!runs.empty()) {
    for (const SiteMetrics& s : runs[0].sites) {
      o << ",jobs_" << s.id << ",node_hours_" << s.id << ",utilisation_" << s.id;
    }
  }
  o << "\n";
  for (const Metrics& m : runs) {
    o << m.policy << ',' << m.jobs << ',' << m.completed << ',' << m.rejected << ',' << m.lost
      << ',' << num(m.wait_mean_s) << ',' << num(m.wait_median_s) << ',' << num(m.wait_p95_s) << ','
      << num(m.wait_max_s) << ',' << num(m.bounded_slowdown) << ',' << num(m.utilisation) << ','
      << num(m.makespan_s) << ',' << num(m.data_staged_gb) << ',' << num(m.energy_mwh) << ','
      << num(m.cost_eur) << ',' << num(m.carbon_t) << ',' << num(m.jain_fairness);
    for (const SiteMetrics& s : m.sites) {
      o << ',' << s.jobs << ',' << num(s.node_hours) << ',' << num(s.utilisation);
    }
    o << "\n";
  }
}

void writeJson(const std::vector<Metrics>& runs, const std::string& workload, std::ostream& o) {
  o << "{\n  \"workload\": \"" << jsonEscape(workload) << "\",\n  \"policies\": [";
  for (size_t r = 0; r < runs.size(); ++r) {
    const Metrics& m = runs[r];
    o << (r ? "," : "") << "\n    {\"policy\": \"" << jsonEscape(m.policy)
      << "\", \"jobs\": " << m.jobs << ", \"completed\": " << m.completed
      << ", \"rejected\": " << m.rejected << ", \"lost\": " << m.lost
      << ",\n     \"wait_s\": {\"mean\": " << num(m.wait_mean_s)
      << ", \"median\": " << num(m.wait_median_s) << ", \"p95\": " << num(m.wait_p95_s)
      << ", \"max\": " << num(m.wait_max_s)
      << "},\n     \"bounded_slowdown\": " << num(m.bounded_slowdown)
      << ", \"utilisation\": " << num(m.utilisation) << ", \"makespan_s\": " << num(m.makespan_s)
      << ", \"data_staged_gb\": " << num(m.data_staged_gb)
      << ",\n     \"energy_mwh\": " << num(m.energy_mwh) << ", \"cost_eur\": " << num(m.cost_eur)
      << ", \"carbon_t\": " << num(m.carbon_t) << ", \"jain_fairness\": " << num(m.jain_fairness)
      << ",\n     \"sites\": [";
    for (size_t i = 0; i < m.sites.size(); ++i) {
      const SiteMetrics& s = m.sites[i];
      o << (i ? "," : "") << "\n       {\"site\": \"" << jsonEscape(s.id)
        << "\", \"jobs\": " << s.jobs << ", \"node_hours\": " << num(s.node_hours)
        << ", \"utilisation\": " << num(s.utilisation) << ", \"energy_mwh\": " << num(s.energy_mwh)
        << ", \"cost_eur\": " << num(s.cost_eur) << ", \"carbon_t\": " << num(s.carbon_t) << "}";
    }
    o << "]}";
  }
  o << "\n  ]\n}\n";
}

// A line chart as an SVG <path>; x and y already in plot coordinates.
std::string pathOf(const std::vector<std::pair<double, double>>& pts) {
  std::string d;
  for (size_t i = 0; i < pts.size(); ++i) {
    d += (i ? " L" : "M") + fmt("%.1f", pts[i].first) + "," + fmt("%.1f", pts[i].second);
  }
  return d;
}

constexpr double kW = 640, kH = 300, kL = 60, kR = 20, kT = 20, kB = 40;

std::string axes(const std::string& xlabel, const std::string& ylabel) {
  std::string s = "<line x1=\"" + num(kL) + "\" y1=\"" + num(kH - kB) + "\" x2=\"" + num(kW - kR) +
                  "\" y2=\"" + num(kH - kB) + "\" stroke=\"#333\"/>";
  s += "<line x1=\"" + num(kL) + "\" y1=\"" + num(kT) + "\" x2=\"" + num(kL) + "\" y2=\"" +
       num(kH - kB) + "\" stroke=\"#333\"/>";
  s += "<text x=\"" + num((kL + kW - kR) / 2) + "\" y=\"" + num(kH - 8) +
       "\" text-anchor=\"middle\" font-size=\"12\">" + htmlEscape(xlabel) + "</text>";
  s += "<text x=\"14\" y=\"" + num((kT + kH - kB) / 2) +
       "\" font-size=\"12\" transform=\"rotate(-90 14 " + num((kT + kH - kB) / 2) +
       ")\" text-anchor=\"middle\">" + htmlEscape(ylabel) + "</text>";
  return s;
}

std::string legend(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    double y = kT + 14 * static_cast<double>(i);
    s += "<rect x=\"" + num(kW - kR - 150) + "\" y=\"" + num(y) +
         "\" width=\"10\" height=\"10\" fill=\"" + colour(i) + "\"/><text x=\"" +
         num(kW - kR - 136) + "\" y=\"" + num(y + 9) + "\" font-size=\"11\">" +
         htmlEscape(names[i]) + "</text>";
  }
  return s;
}

std::string svgOpen(const std::string& cls) {
  return "<svg class=\"" + cls + "\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(kW) +
         "\" height=\"" + num(kH) + "\" viewBox=\"0 0 " + num(kW) + " " + num(kH) + "\">";
}

std::string waitCdf(const std::vector<Metrics>& runs) {
  // x: log10(1 + wait in s), y: fraction of jobs.
  double xmax = 1;
  for (const Metrics& m : runs) {
    if (!m.wait_cdf_s.empty()) xmax = std::max(xmax, std::log10(1.0 + m.wait_cdf_s.back()));
  }
  std::string s = svgOpen("wait-cdf") + axes("wait (log10(1 + seconds))", "fraction of jobs");
  std::vector<std::string> names;
  for (size_t r = 0; r < runs.size(); ++r) {
    std::vector<std::pair<double, double>> pts;
    const auto& cdf = runs[r].wait_cdf_s;
    for (size_t q = 0; q < cdf.size(); ++q) {
      double x = kL + (kW - kL - kR) * std::log10(1.0 + cdf[q]) / xmax;
      double y = kH - kB - (kH - kT - kB) * static_cast<double>(q) / (cdf.size() - 1);
      pts.emplace_back(x, y);
    }
    s += "<path d=\"" + pathOf(pts) + "\" fill=\"none\" stroke=\"" + colour(r) +
         "\" stroke-width=\"2\"/>";
    names.push_back(runs[r].policy);
  }
  for (int tick = 0; tick <= static_cast<int>(xmax); ++tick) {
    double x = kL + (kW - kL - kR) * tick / xmax;
    s += "<text x=\"" + num(x) + "\" y=\"" + num(kH - kB + 14) +
         "\" font-size=\"10\" text-anchor=\"middle\">1e" + std::to_string(tick) + "</text>";
  }
  return s + legend(names) + "</svg>";
}

std::string utilisationChart(const Metrics& m) {
  std::string s = svgOpen("utilisation") + axes("day", "utilisation (daily mean)");
  std::vector<std::string> names;
  for (size_t i = 0; i < m.sites.size(); ++i) {
    const auto& h = m.sites[i].hourly_utilisation;
    size_t days = std::max<size_t>(1, (h.size() + 23) / 24);
    std::vector<std::pair<double, double>> pts;
    for (size_t d = 0; d < days; ++d) {
      double sum = 0;
      size_t k = 0;
      for (; k < 24 && d * 24 + k < h.size(); ++k) sum += h[d * 24 + k];
      double u = k ? sum / static_cast<double>(k) : 0;
      double x = kL + (kW - kL - kR) * (days > 1 ? static_cast<double>(d) / (days - 1) : 0.5);
      pts.emplace_back(x, kH - kB - (kH - kT - kB) * std::min(1.0, u));
    }
    if (pts.size() == 1) pts.emplace_back(pts[0].first + 1, pts[0].second);
    s += "<path d=\"" + pathOf(pts) + "\" fill=\"none\" stroke=\"" + colour(i) +
         "\" stroke-width=\"1.5\"/>";
    names.push_back(m.sites[i].id);
  }
  return s + legend(names) + "</svg>";
}

std::string shareChart(const std::vector<Metrics>& runs) {
  // One horizontal stacked bar per policy: each site's share of the jobs.
  double h = kT + 30.0 * static_cast<double>(runs.size()) + kB;
  std::string s = "<svg class=\"share\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(kW) +
                  "\" height=\"" + num(h) + "\" viewBox=\"0 0 " + num(kW) + " " + num(h) + "\">";
  for (size_t r = 0; r < runs.size(); ++r) {
    double total = std::max<double>(1, static_cast<double>(runs[r].completed));
    double x = 130, y = kT + 30.0 * static_cast<double>(r);
    s += "<text x=\"4\" y=\"" + num(y + 15) + "\" font-size=\"11\">" + htmlEscape(runs[r].policy) +
         "</text>";
    for (size_t i = 0; i < runs[r].sites.size(); ++i) {
      double w = (kW - 150) * static_cast<double>(runs[r].sites[i].jobs) / total;
      // A closed path rather than <rect>, so every plot is made of paths.
      s += "<path d=\"M" + fmt("%.1f", x) + "," + num(y) + " h" + fmt("%.1f", w) + " v20 h" +
           fmt("%.1f", -w) + " Z\" fill=\"" + colour(i) + "\"><title>" +
           htmlEscape(runs[r].sites[i].id) + ": " + std::to_string(runs[r].sites[i].jobs) +
           " jobs</title></path>";
      x += w;
    }
  }
  if (!runs.empty()) {
    double x = 130;
    for (size_t i = 0; i < runs[0].sites.size(); ++i) {
      s += "<rect x=\"" + num(x) + "\" y=\"" + num(h - 22) +
           "\" width=\"10\" height=\"10\" fill=\"" + colour(i) + "\"/><text x=\"" + num(x + 13) +
           "\" y=\"" + num(h - 13) + "\" font-size=\"10\">" + htmlEscape(runs[0].sites[i].id) +
           "</text>";
      x += 72;
    }
  }
  return s + "</svg>";
}

void writeHtml(const std::vector<Metrics>& runs, const std::string& workload, std::ostream& o) {
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>aifed-sim "
       "report</title>\n"
       "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:"
       "collapse}"
       "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#eee}"
       "td:first-child{text-align:left}</style></head><body>\n"
    << "<h1>aifed-sim report</h1>\n<p>Workload: " << htmlEscape(workload) << "</p>\n"
    << "<h2>Metrics</h2>\n<table id=\"metrics\"><tr><th>policy</th><th>jobs</th><th>rejected</th>"
       "<th>lost</th><th>wait mean (s)</th><th>wait median (s)</th><th>wait p95 (s)</th>"
       "<th>wait max (s)</th><th>bounded slowdown</th><th>utilisation</th><th>makespan (h)</th>"
       "<th>data staged (GB)</th><th>energy (MWh)</th><th>cost (EUR)</th><th>carbon (t)</th>"
       "<th>Jain</th></tr>\n";
  for (const Metrics& m : runs) {
    o << "<tr><td>" << htmlEscape(m.policy) << "</td><td>" << m.completed << "</td><td>"
      << m.rejected << "</td><td>" << m.lost << "</td><td>" << fmt("%.0f", m.wait_mean_s)
      << "</td><td>" << fmt("%.0f", m.wait_median_s) << "</td><td>" << fmt("%.0f", m.wait_p95_s)
      << "</td><td>" << fmt("%.0f", m.wait_max_s) << "</td><td>" << fmt("%.2f", m.bounded_slowdown)
      << "</td><td>" << fmt("%.1f%%", 100 * m.utilisation) << "</td><td>"
      << fmt("%.1f", m.makespan_s / 3600) << "</td><td>" << fmt("%.0f", m.data_staged_gb)
      << "</td><td>" << fmt("%.1f", m.energy_mwh) << "</td><td>" << fmt("%.0f", m.cost_eur)
      << "</td><td>" << fmt("%.1f", m.carbon_t) << "</td><td>" << fmt("%.3f", m.jain_fairness)
      << "</td></tr>\n";
  }
  o << "</table>\n<h2>Per site</h2>\n<table "
       "id=\"sites\"><tr><th>policy</th><th>site</th><th>jobs</th>"
       "<th>node-hours</th><th>utilisation</th><th>energy (MWh)</th><th>carbon (t)</th></tr>\n";
  for (const Metrics& m : runs) {
    for (const SiteMetrics& s : m.sites) {
      o << "<tr><td>" << htmlEscape(m.policy) << "</td><td>" << htmlEscape(s.id) << "</td><td>"
        << s.jobs << "</td><td>" << fmt("%.0f", s.node_hours) << "</td><td>"
        << fmt("%.1f%%", 100 * s.utilisation) << "</td><td>" << fmt("%.1f", s.energy_mwh)
        << "</td><td>" << fmt("%.1f", s.carbon_t) << "</td></tr>\n";
    }
  }
  o << "</table>\n<h2>Wait time CDF per policy</h2>\n"
    << waitCdf(runs) << "\n"
    << "<h2>Share of jobs per site</h2>\n"
    << shareChart(runs) << "\n"
    << "<h2>Utilisation over time per site</h2>\n";
  for (const Metrics& m : runs) {
    o << "<h3>" << htmlEscape(m.policy) << "</h3>\n" << utilisationChart(m) << "\n";
  }
  o << "</body></html>\n";
}

}  // namespace

Status writeOutputs(const std::vector<Metrics>& runs, const Federation&, const std::string& dir,
                    const std::string& workload_name) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return invalidArgument("cannot create " + dir + ": " + ec.message());
  auto write = [&](const std::string& name, auto&& body) -> Status {
    std::ofstream out(dir + "/" + name, std::ios::binary);
    if (!out) return invalidArgument("cannot write " + dir + "/" + name);
    body(out);
    return out ? Status::Ok() : invalidArgument("error writing " + dir + "/" + name);
  };
  if (Status s = write("summary.csv", [&](std::ostream& o) { writeCsv(runs, o); }); !s.ok())
    return s;
  if (Status s = write("summary.json", [&](std::ostream& o) { writeJson(runs, workload_name, o); });
      !s.ok()) {
    return s;
  }
  // Hourly series: waiting jobs (federation) and utilisation per site, per policy.
  Status ts = write("timeseries.csv", [&](std::ostream& o) {
    o << "policy,hour,waiting_jobs";
    if (!runs.empty()) {
      for (const SiteMetrics& s : runs[0].sites) o << ",utilisation_" << s.id;
    }
    o << "\n";
    for (const Metrics& m : runs) {
      for (size_t h = 0; h < m.hourly_queue.size(); ++h) {
        o << m.policy << ',' << h << ',' << num(m.hourly_queue[h]);
        for (const SiteMetrics& s : m.sites) {
          o << ',' << num(h < s.hourly_utilisation.size() ? s.hourly_utilisation[h] : 0);
        }
        o << "\n";
      }
    }
  });
  if (!ts.ok()) return ts;
  return write("report.html", [&](std::ostream& o) { writeHtml(runs, workload_name, o); });
}

}  // namespace aifed::sim
