#include "cli/demo.h"

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "cli/http_client.h"
#include "cli/local_federation.h"
#include "common/files.h"
#include "protocol/codec.h"
#include "protocol/federation.h"

namespace aifed::cli {
namespace json = boost::json;
namespace {

std::atomic<bool> g_stop{false};
extern "C" void onDemoSignal(int) {
  g_stop = true;
}

struct DemoOptions {
  std::string bin_dir;
  std::string federation_file = "config/federation-7.toml";
  std::string state_dir = ".aifed-demo";
  int duration_s = 0;  // 0: until Ctrl-C
  double rate = 4;     // jobs per second; 0: no sample jobs
  double speedup = 120;
  uint64_t seed = 1;
  bool table = true;
  std::string ready_file;  // written once every site is up (for scripts and tests)
  std::string history_interval = "10s";  // the coordinator's: charts fill within a minute
};

// A stream of AI-factory jobs: mostly short evaluation and fine-tuning runs, some
// large training runs. Sizes stay within what the smallest sites can take for the
// common classes, so every job is placeable somewhere.
class SampleJobs {
 public:
  SampleJobs(const Federation& fed, uint64_t seed) : rng_(seed), fed_(fed) {
    for (const ProjectConfig& p : fed_.projects) projects_.push_back(&p);
  }

  // Accelerator models a job of `project` can find: at sites in its allowed countries
  // and, when the project has allocations, at sites where it has one.
  std::vector<std::string> typesFor(const ProjectConfig* project) const {
    std::vector<std::string> out;
    for (const SiteConfig& s : fed_.sites) {
      if (project) {
        const auto& allowed = project->allowed_countries;
        if (!allowed.empty() &&
            std::find(allowed.begin(), allowed.end(), s.country) == allowed.end()) {
          continue;
        }
        if (!project->allocations.empty()) {
          auto it = project->allocations.find(s.id);
          if (it == project->allocations.end() || it->second <= 0) continue;
        }
      }
      for (const PartitionConfig& p : s.partitions) {
        const std::string& t = p.node_type.accelerator;
        if (!t.empty() && std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
      }
    }
    return out;
  }

  JobSpec next() {
    JobSpec spec;
    const ProjectConfig* project = projects_.empty() ? nullptr : projects_[pick(projects_.size())];
    if (project) {
      spec.project = project->id;
      spec.allowed_countries = project->allowed_countries;
    }
    double r = uniform(0, 1);
    double runtime_min;
    if (r < 0.08) {  // pre-training / large training run
      spec.name = "train-" + std::to_string(++count_);
      spec.nodes = static_cast<int>(uniform(16, 64));
      spec.gpus_per_node = 4;
      runtime_min = uniform(120, 480);
    } else if (r < 0.45) {  // fine-tuning
      spec.name = "finetune-" + std::to_string(++count_);
      spec.nodes = static_cast<int>(uniform(1, 9));
      spec.gpus_per_node = 4;
      std::vector<std::string> types = typesFor(project);
      if (!types.empty() && uniform(0, 1) < 0.5) spec.gpu_type = types[pick(types.size())];
      runtime_min = uniform(15, 120);
    } else {  // evaluation / inference
      spec.name = "eval-" + std::to_string(++count_);
      spec.nodes = 1;
      spec.gpus_per_node = static_cast<int>(uniform(1, 5));
      runtime_min = uniform(2, 20);
    }
    spec.user = "demo";
    spec.simulated_runtime = Duration(static_cast<int64_t>(runtime_min * 60'000));
    // Users over-ask for time, as they do.
    spec.walltime = std::chrono::duration_cast<Duration>(
        std::chrono::minutes(static_cast<int64_t>(runtime_min * uniform(1.2, 2.0)) + 1));
    spec.script = "#!/bin/bash\nsrun python train.py --config " + spec.name + ".yaml\n";
    return spec;
  }

 private:
  double uniform(double lo, double hi) { return std::uniform_real_distribution<>(lo, hi)(rng_); }
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  std::mt19937_64 rng_;
  std::vector<const ProjectConfig*> projects_;
  const Federation& fed_;
  int count_ = 0;
};

std::string pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string ageText(const json::value& ms) {
  if (!ms.is_int64()) return "-";
  double s = static_cast<double>(ms.as_int64()) / 1000.0;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fs", s);
  return buf;
}

int64_t num(const json::object& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_number() ? it->value().to_number<int64_t>() : 0;
}

std::string renderDemoTable(const json::object& fed, const json::array& sites,
                            const std::string& rest, int64_t submitted, double elapsed) {
  std::ostringstream out;
  const json::object& jobs = fed.at("jobs").as_object();
  out << "aifed demo: " << json::value_to<std::string>(fed.at("name")) << "    "
      << num(fed, "sites_up") << "/" << num(fed, "sites_total") << " sites up    "
      << static_cast<int>(elapsed) << " s    REST " << rest << "\n";
  out << "jobs: submitted " << submitted << "  queued "
      << num(jobs, "queued") + num(jobs, "dispatched") << "  pending " << num(jobs, "pending")
      << "  running " << num(jobs, "running") << "  completed " << num(jobs, "completed")
      << "  failed " << num(jobs, "failed") + num(jobs, "timeout") << "  lost " << num(jobs, "lost")
      << "\n\n";
  out << pad("SITE", 13) << pad("CC", 4) << pad("STATE", 13) << pad("REPORT", 8) << pad("ACCEL", 8)
      << pad("FREE/TOTAL", 14) << pad("RUNNING", 9) << pad("QUEUED", 8) << "PLACED\n";
  for (const json::value& v : sites) {
    const json::object& s = v.as_object();
    std::string types;
    for (const json::value& t : s.at("accelerator_types").as_array()) {
      if (!types.empty()) types += ',';
      types += json::value_to<std::string>(t);
    }
    out << pad(json::value_to<std::string>(s.at("id")), 13)
        << pad(json::value_to<std::string>(s.at("country")), 4)
        << pad(json::value_to<std::string>(s.at("state")), 13)
        << pad(ageText(s.at("report_age_ms")), 8) << pad(types, 8)
        << pad(std::to_string(num(s, "accelerators_free")) + "/" +
                   std::to_string(num(s, "accelerators_total")),
               14)
        << pad(std::to_string(num(s, "running_jobs")), 9)
        << pad(std::to_string(num(s, "pending_jobs")), 8) << num(s, "jobs_placed") << "\n";
  }
  out << "\nCtrl-C stops the federation.\n";
  return out.str();
}

std::string defaultBinDir() {
  // The aifed binary lives in <build>/cli/aifed.
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "build/release";
  return self.parent_path().parent_path().string();
}

}  // namespace

int runDemo(int argc, char** argv) {
  DemoOptions o;
  o.bin_dir = defaultBinDir();
  CLI::App app{"aifed demo: a local federation of simulated AI factories"};
  app.name("aifed demo");
  app.add_option("--bin-dir", o.bin_dir, "build directory holding the daemons");
  app.add_option("--federation", o.federation_file, "federation file (keys are added)");
  app.add_option("--state-dir", o.state_dir, "keys, configs, databases and logs");
  app.add_option("--duration", o.duration_s, "run N seconds, then print a JSON summary")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--rate", o.rate, "sample jobs submitted per second (0: none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--speedup", o.speedup, "simulated sites run this much faster than job figures")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", o.seed, "seed of the sample job stream");
  app.add_flag("!--no-table", o.table, "print status lines instead of the live table");
  app.add_option("--ready-file", o.ready_file,
                 "once every site is up, write a JSON file with the REST base URL and the "
                 "console URL");
  app.add_option("--history-interval", o.history_interval,
                 "how often the coordinator samples the sites for the console's charts "
                 "(\"10s\"; the coordinator's own default is 60s)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  struct sigaction sa = {};
  sa.sa_handler = onDemoSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  Result<Federation> fed = loadFederationFile(o.federation_file);
  if (!fed.ok()) {
    std::cerr << "aifed demo: " << fed.status().toString() << "\n";
    return 2;
  }
  LocalFederationOptions lo;
  lo.bin_dir = o.bin_dir;
  lo.federation_file = o.federation_file;
  lo.state_dir = o.state_dir;
  lo.speedup = o.speedup;
  lo.history_interval = o.history_interval;
  lo.log_level = "info";
  auto local = LocalFederation::prepare(lo);
  if (!local.ok()) {
    std::cerr << "aifed demo: " << local.status().toString() << "\n";
    return 2;
  }
  LocalFederation& lf = **local;
  std::cerr << "aifed demo: keys, configs and logs in " << lf.stateDir() << "\n";
  if (Status s = lf.startCoordinator(); !s.ok()) {
    std::cerr << "aifed demo: " << s.toString() << "\n";
    return 1;
  }
  for (const std::string& site : lf.sites()) {
    if (Status s = lf.startAgent(site); !s.ok()) {
      std::cerr << "aifed demo: " << s.toString() << "\n";
      return 1;
    }
  }
  std::string rest = lf.baseUrl();
  HttpClient client(rest, lf.clientOptions());
  std::cerr << "aifed demo: coordinator REST API at " << rest << "\n"
            << "aifed demo: TLS certificate SHA-256 fingerprint: " << lf.tlsFingerprint() << "\n"
            << "aifed demo: try: aifed --server " << rest << " --fingerprint "
            << lf.tlsFingerprint() << " --token-file " << lf.stateDir()
            << "/db/admin.token sites\n";

  auto fetch = [&](const std::string& target) -> std::optional<json::value> {
    Result<HttpResult> r = client.request("GET", target, "");
    if (!r.ok() || r->status != 200) return std::nullopt;
    try {
      return json::parse(r->body);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  };

  // Wait for every site to register before the job stream starts.
  auto start = std::chrono::steady_clock::now();
  size_t total_sites = lf.sites().size();
  while (!g_stop && std::chrono::steady_clock::now() - start < std::chrono::seconds(30)) {
    auto f = fetch("/api/v1/federation");
    if (f && num(f->as_object(), "sites_up") == static_cast<int64_t>(total_sites)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  std::string console = rest + "/console/";
  // The coordinator writes its bootstrap admin token next to its database.
  std::string token_file = lf.stateDir() + "/db/admin.token";
  std::cerr << "aifed demo: web console at " << console << "\n"
            << "aifed demo: log in to it with the admin token in " << token_file
            << " (paste the file's content; the browser warns once about the self-signed "
               "certificate: compare the fingerprint above)\n";
  if (!o.ready_file.empty()) {
    json::object ready{{"base_url", rest},
                       {"console_url", console},
                       {"tls_fingerprint", lf.tlsFingerprint()},
                       {"admin_token_file", token_file},
                       {"state_dir", lf.stateDir()},
                       {"sites_total", total_sites}};
    if (Status s = common::writeFileAtomically(o.ready_file, json::serialize(ready) + "\n");
        !s.ok()) {
      std::cerr << "aifed demo: " << s.toString() << "\n";
      return 1;
    }
  }

  SampleJobs jobs(*fed, o.seed);
  int64_t submitted = 0, refused = 0;
  std::string last_refusal;
  auto begin = std::chrono::steady_clock::now();
  // With --rate 0 nothing is submitted: the next submission is never due.
  auto next_submit = o.rate > 0 ? begin : begin + std::chrono::hours(24 * 365);
  auto next_render = begin;
  auto interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(o.rate > 0 ? 1.0 / o.rate : 3600.0));
  bool tty = o.table && isatty(STDOUT_FILENO);
  while (!g_stop) {
    auto now = std::chrono::steady_clock::now();
    double elapsed = std::chrono::duration<double>(now - begin).count();
    if (o.duration_s > 0 && elapsed >= o.duration_s) break;
    if (now >= next_submit) {
      Result<HttpResult> r =
          client.request("POST", "/api/v1/jobs", json::serialize(toJson(jobs.next())));
      if (r.ok() && r->status == 201) {
        ++submitted;
      } else {
        ++refused;
        last_refusal = r.ok() ? r->body : r.status().toString();
      }
      next_submit += interval;
    }
    if (now >= next_render) {
      auto f = fetch("/api/v1/federation");
      auto s = fetch("/api/v1/sites");
      if (f && s) {
        std::string table =
            renderDemoTable(f->as_object(), s->at("sites").as_array(), rest, submitted, elapsed);
        if (tty) {
          std::cout << "\033[H\033[2J" << table << std::flush;
        } else if (static_cast<int>(elapsed) % 5 == 0) {
          const json::object& j = f->at("jobs").as_object();
          std::cout << "[" << static_cast<int>(elapsed) << " s] sites up "
                    << num(f->as_object(), "sites_up") << "/" << total_sites << ", submitted "
                    << submitted << ", running " << num(j, "running") << ", completed "
                    << num(j, "completed") << ", lost " << num(j, "lost") << std::endl;
        }
      }
      next_render += std::chrono::seconds(1);
    }
    std::this_thread::sleep_for(std::min(next_submit, next_render) -
                                std::chrono::steady_clock::now());
  }

  auto final_fed = fetch("/api/v1/federation");
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  lf.stopAll();
  if (!final_fed) {
    std::cerr << "aifed demo: the coordinator did not answer at the end; see "
              << lf.logPath("coordinator") << "\n";
    return 1;
  }
  const json::object& f = final_fed->as_object();
  const json::object& j = f.at("jobs").as_object();
  json::object summary{
      {"sites_up", num(f, "sites_up")},
      {"sites_total", total_sites},
      {"jobs_submitted", submitted},
      {"jobs_refused", refused},
      {"jobs_queued", num(j, "queued") + num(j, "dispatched")},
      {"jobs_pending", num(j, "pending")},
      {"jobs_running", num(j, "running")},
      {"jobs_completed", num(j, "completed")},
      {"jobs_failed", num(j, "failed")},
      {"jobs_timeout", num(j, "timeout")},
      {"jobs_cancelled", num(j, "cancelled")},
      {"jobs_lost", num(j, "lost")},
      {"duration_s", static_cast<int64_t>(elapsed)},
      {"speedup", o.speedup == std::floor(o.speedup) ? json::value(static_cast<int64_t>(o.speedup))
                                                     : json::value(o.speedup)}};
  if (refused > 0) std::cerr << "aifed demo: last refusal: " << last_refusal << "\n";
  std::cout << json::serialize(summary) << std::endl;
  bool ok = num(f, "sites_up") == static_cast<int64_t>(total_sites) && num(j, "lost") == 0 &&
            refused == 0;
  return ok ? 0 : 1;
}

}  // namespace aifed::cli
