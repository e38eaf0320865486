#include "sim/workload.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <numbers>
#include <set>
#include <sstream>

#include "protocol/codec.h"

namespace aifed::sim {
namespace {

// SplitMix64: tiny, fast, and the same numbers on every platform and standard library
// (std:: distributions are not), so a seed means the same workload everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  double logUniform(double a, double b) { return std::exp(uniform(std::log(a), std::log(b))); }
  int logUniformInt(int a, int b) {
    return std::clamp(static_cast<int>(std::floor(logUniform(a, b + 1.0))), a, b);
  }
  double exponential(double rate) { return -std::log(1.0 - uniform()) / rate; }
  size_t index(size_t n) { return static_cast<size_t>(next() % n); }

 private:
  uint64_t s_;
};

// Synthetic and SWF workloads start on Monday 2025-01-06 00:00 UTC, so daily and
// weekly cycles fall on real weekdays in reports.
constexpr int64_t kOriginMs = 1736121600000LL;

Duration seconds(double s) {
  return Duration(static_cast<int64_t>(std::llround(s * 1000.0)));
}

void sortBySubmit(Workload& w) {
  std::stable_sort(w.jobs.begin(), w.jobs.end(),
                   [](const SimJob& a, const SimJob& b) { return a.submit < b.submit; });
}

std::vector<std::string> siteCountries(const Federation& f) {
  std::set<std::string> c;
  for (const SiteConfig& s : f.sites) c.insert(s.country);
  return {c.begin(), c.end()};
}

}  // namespace

Result<Workload> readJsonlWorkload(const std::string& path) {
  std::ifstream in(path);
  if (!in) return notFound("cannot open " + path);
  Workload w;
  w.source = path;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string where = path + ":" + std::to_string(line_no) + ": ";
    size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) return invalidArgument(where + "not a JSON object");
    const boost::json::object& o = v.as_object();
    auto number = [&](const char* key, double& out) -> Status {
      const boost::json::value* f = o.if_contains(key);
      if (!f || !f->is_number())
        return invalidArgument(where + "missing number '" + key + "'", key);
      out = f->to_number<double>();
      if (out < 0) return invalidArgument(where + "'" + key + "' is negative", key);
      return Status::Ok();
    };
    double submit = 0, runtime = 0;
    if (Status s = number("submit_s", submit); !s.ok()) return s;
    if (Status s = number("runtime_s", runtime); !s.ok()) return s;
    const boost::json::value* spec = o.if_contains("spec");
    if (!spec) return invalidArgument(where + "missing object 'spec'", "spec");
    Result<JobSpec> parsed = jobSpecFromJson(*spec, "spec");
    if (!parsed.ok()) return invalidArgument(where + parsed.status().toString(), "spec");
    SimJob j;
    j.submit = fromMillis(kOriginMs) + seconds(submit);
    j.runtime = seconds(runtime);
    j.spec = std::move(*parsed);
    j.spec.simulated_runtime = j.runtime;
    j.origin = "line " + std::to_string(line_no);
    w.jobs.push_back(std::move(j));
  }
  sortBySubmit(w);
  return w;
}

std::string toJsonl(const Workload& workload) {
  std::string out;
  for (const SimJob& j : workload.jobs) {
    boost::json::object o;
    o["submit_s"] = static_cast<double>(toMillis(j.submit) - kOriginMs) / 1000.0;
    o["runtime_s"] = static_cast<double>(j.runtime.count()) / 1000.0;
    JobSpec spec = j.spec;
    spec.simulated_runtime.reset();
    o["spec"] = toJson(spec);
    out += boost::json::serialize(o);
    out += '\n';
  }
  return out;
}

Result<Workload> mapSwfToFederation(const SwfTrace& trace, const Federation& federation,
                                    const SwfMapping& mapping) {
  if (mapping.gpus_per_node < 1) {
    return invalidArgument("gpus per node must be at least 1", "gpus_per_node");
  }
  std::vector<std::string> countries = siteCountries(federation);
  if (countries.empty()) return invalidArgument("the federation has no sites");
  Workload w;
  w.source = trace.source;
  w.jobs.reserve(trace.jobs.size());
  for (const SwfJob& s : trace.jobs) {
    int64_t procs = s.allocated_procs != -1 ? s.allocated_procs : s.requested_procs;
    if (s.run_time < 0 || procs <= 0) continue;
    double requested = s.requested_time < 0 ? s.run_time : s.requested_time;
    SimJob j;
    j.submit = fromMillis(kOriginMs) + seconds(s.submit_time);
    // The walltime is at least one second: aifed refuses a zero walltime.
    j.spec.walltime = std::max(seconds(requested), Duration(1000));
    j.runtime = std::min(seconds(std::min(s.run_time, requested)), j.spec.walltime);
    j.spec.nodes = static_cast<int>((procs + mapping.gpus_per_node - 1) / mapping.gpus_per_node);
    j.spec.gpus_per_node = static_cast<int>(std::min<int64_t>(procs, mapping.gpus_per_node));
    j.spec.gpu_type = mapping.gpu_type;
    j.spec.name = "swf-" + std::to_string(s.job_number);
    j.spec.user = s.user_id < 0 ? "unknown" : "u" + std::to_string(s.user_id);
    j.spec.project = "swf-" + j.spec.user;
    j.spec.simulated_runtime = j.runtime;
    j.origin = trace.source + ":" + std::to_string(s.line);
    w.jobs.push_back(std::move(j));
  }
  sortBySubmit(w);
  return w;
}

Result<Workload> generateSynthetic(const Federation& federation, const SyntheticOptions& o) {
  if (o.jobs < 1) return invalidArgument("jobs must be at least 1", "jobs");
  if (!(o.load > 0)) return invalidArgument("load must be positive", "load");
  if (o.projects < 1) return invalidArgument("projects must be at least 1", "projects");
  if (federation.sites.empty()) return invalidArgument("the federation has no sites");
  Rng rng(o.seed);

  // Largest GPU partition (nodes with >= 4 accelerators) per country and overall.
  std::map<std::string, int> largest_in;
  int largest = 0;
  double total_nodes = 0;
  for (const SiteConfig& s : federation.sites) {
    for (const PartitionConfig& p : s.partitions) {
      if (p.node_type.accelerators_per_node < 4) continue;
      largest_in[s.country] = std::max(largest_in[s.country], p.nodes);
      largest = std::max(largest, p.nodes);
      total_nodes += p.nodes;
    }
  }
  if (largest == 0) return invalidArgument("no site has GPU nodes with 4 or more accelerators");

  struct Project {
    std::string id;
    std::string country;
    bool resident = false;
    std::string dataset;
    int users = 1;
    int max_nodes = 0;
  };
  std::vector<Project> projects;
  for (int i = 0; i < o.projects; ++i) {
    const SiteConfig& home = federation.sites[rng.index(federation.sites.size())];
    Project p;
    p.country = home.country;
    std::string lower = p.country;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    p.id = "p" + std::to_string(i + 1) + "-" + lower;
    p.resident = rng.uniform() < o.residency_share && largest_in.count(p.country);
    p.max_nodes = p.resident ? largest_in[p.country] : largest;
    if (!federation.datasets.empty() && rng.uniform() < 0.5) {
      p.dataset = federation.datasets[rng.index(federation.datasets.size())].id;
    }
    p.users = 1 + static_cast<int>(rng.index(8));
    projects.push_back(std::move(p));
  }

  Workload w;
  w.source = "synthetic(seed=" + std::to_string(o.seed) + ", jobs=" + std::to_string(o.jobs) + ")";
  w.jobs.resize(static_cast<size_t>(o.jobs));
  double node_ms = 0;
  for (int64_t i = 0; i < o.jobs; ++i) {
    SimJob& j = w.jobs[static_cast<size_t>(i)];
    // Projects are not equally active: a few big ones submit most jobs (Zipf-like).
    const Project& p = projects[std::min<size_t>(
        projects.size() - 1, static_cast<size_t>(rng.logUniform(1, projects.size() + 1)) - 1)];
    double cls = rng.uniform();
    double runtime_s = 0, walltime_s = 0;
    JobSpec& s = j.spec;
    if (cls < o.training_share) {
      s.name = "train";
      s.nodes = std::min(rng.logUniformInt(16, 512), p.max_nodes);
      s.gpus_per_node = 4;
      runtime_s = rng.logUniform(12 * 3600.0, 96 * 3600.0);
      walltime_s = std::ceil(runtime_s * rng.uniform(1.05, 1.5) / 3600.0) * 3600.0;
    } else if (cls < o.training_share + o.finetune_share) {
      s.name = "finetune";
      s.nodes = std::min(rng.logUniformInt(1, 8), p.max_nodes);
      s.gpus_per_node = 4;
      runtime_s = rng.logUniform(3600.0, 12 * 3600.0);
      walltime_s = std::ceil(runtime_s * rng.uniform(1.1, 2.0) / 3600.0) * 3600.0;
    } else {
      s.name = "eval";
      s.nodes = 1;
      s.gpus_per_node = 1 << rng.index(3);
      runtime_s = rng.logUniform(120.0, 3600.0);
      walltime_s = std::ceil(runtime_s * rng.uniform(1.2, 3.0) / 600.0) * 600.0;
    }
    // One job in twenty underestimates and is killed at its walltime.
    if (rng.uniform() < 0.05) runtime_s = walltime_s * rng.uniform(1.0, 2.0);
    s.project = p.id;
    s.user = p.id + "-u" + std::to_string(1 + rng.index(static_cast<size_t>(p.users)));
    s.walltime = seconds(walltime_s);
    if (p.resident) s.allowed_countries = {p.country};
    if (!p.dataset.empty() && s.name != "eval") s.datasets.push_back({p.dataset, 0});
    j.runtime = std::min(seconds(runtime_s), s.walltime * 2);
    s.simulated_runtime = j.runtime;
    j.origin = "synthetic job " + std::to_string(i + 1);
    node_ms +=
        static_cast<double>(s.nodes) * static_cast<double>(std::min(j.runtime, s.walltime).count());
  }

  // Arrivals: a Poisson process whose rate follows the day (peak at 12:00 UTC) and the
  // week (weekend_factor on Saturday and Sunday), scaled so that the offered load over
  // the span is `load` of the federation's GPU nodes. Thinning (Lewis-Shedler).
  double span_ms = node_ms / (o.load * total_nodes);
  double mean_f = (5.0 + 2.0 * o.weekend_factor) / 7.0;
  double rate = static_cast<double>(o.jobs) / (span_ms * mean_f);  // per ms at f = 1
  double f_max = 1.0 + o.daily_amplitude;
  double t = 0;
  for (SimJob& j : w.jobs) {
    for (;;) {
      t += rng.exponential(rate * f_max);
      double hour = std::fmod(t / 3'600'000.0, 24.0);
      int day = static_cast<int>(std::fmod(t / 86'400'000.0, 7.0));  // 0 = Monday
      double f = (1.0 + o.daily_amplitude * std::sin(2 * std::numbers::pi * (hour - 6) / 24)) *
                 (day >= 5 ? o.weekend_factor : 1.0);
      if (rng.uniform() * f_max <= f) break;
    }
    j.submit = fromMillis(kOriginMs + static_cast<int64_t>(t));
  }
  return w;
}

}  // namespace aifed::sim
