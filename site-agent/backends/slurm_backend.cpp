#include "site-agent/backends/slurm_backend.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iterator>
#include <ranges>
#include <tuple>

#include "common/strings.h"

namespace aifed::agent {
namespace json = boost::json;

namespace {

// Field access that tolerates what differs between Slurm releases: a missing key, a
// JSON null, or (24.x) a number wrapped as {"set":true,"number":N}.
const json::value* field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return nullptr;
  return &it->value();
}
std::optional<int64_t> intField(const json::object& o, std::string_view key) {
  const json::value* v = field(o, key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->as_double());
  if (v->is_object()) {
    const json::object& w = v->as_object();
    auto set = w.find("set");
    if (set != w.end() && set->value().is_bool() && !set->value().as_bool()) return std::nullopt;
    if (w.contains("number")) return intField(w, "number");
  }
  return std::nullopt;
}
std::string stringField(const json::object& o, std::string_view key) {
  const json::value* v = field(o, key);
  if (!v) return {};
  if (v->is_string()) return std::string(v->as_string());
  // 23.02+: some states became arrays of names; the first is the base state.
  if (v->is_array() && !v->as_array().empty() && v->as_array()[0].is_string()) {
    return std::string(v->as_array()[0].as_string());
  }
  return {};
}
std::vector<std::string> stringList(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  const json::value* v = field(o, key);
  if (!v) return out;
  if (v->is_array()) {
    for (const json::value& e : v->as_array()) {
      if (e.is_string()) out.emplace_back(e.as_string());
    }
  } else if (v->is_string()) {
    std::string s(v->as_string());
    size_t start = 0;
    while (start <= s.size()) {
      size_t comma = s.find(',', start);
      if (comma == std::string::npos) comma = s.size();
      if (comma > start) out.push_back(s.substr(start, comma - start));
      start = comma + 1;
    }
  }
  return out;
}
std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}
bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

Result<json::object> parseObject(const std::string& text, const std::string& what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return internalError(what + " printed no valid JSON: " + ec.message());
  if (!v.is_object()) return internalError(what + " printed JSON that is not an object");
  json::object& o = v.as_object();
  // Slurm reports its own failures inside the document too.
  if (const json::value* errors = field(o, "errors"); errors && errors->is_array()) {
    for (const json::value& e : errors->as_array()) {
      if (!e.is_object()) continue;
      std::string msg = stringField(e.as_object(), "error");
      if (msg.empty()) msg = stringField(e.as_object(), "description");
      if (!msg.empty()) return unavailable(what + ": " + msg);
    }
  }
  return std::move(o);
}

// Slurm's messages that mean "the controller is not answering", as opposed to "the
// controller answered no".
bool controllerUnreachable(const std::string& err) {
  static const std::array<std::string_view, 10> kSigns = {
      "Unable to contact slurm controller",
      "Socket timed out",
      "Connection refused",
      "Zero Bytes were transmitted",
      "Communication connection failure",
      "Slurm temporarily unable",
      "Resource temporarily unavailable",
      "Transport endpoint",
      "Munge",
      "munge",
  };
  return std::any_of(kSigns.begin(), kSigns.end(),
                     [&](std::string_view s) { return contains(err, s); });
}

// "sbatch: error: Batch job submission failed: Invalid account ..." -> the part after
// the last "error: ", which is Slurm's reason.
std::string slurmReason(const std::string& err) {
  std::string text = trim(err);
  size_t last_line = text.rfind('\n');
  std::string line = last_line == std::string::npos ? text : text.substr(last_line + 1);
  size_t e = line.rfind("error: ");
  return e == std::string::npos ? line : line.substr(e + 7);
}

Time fromUnixSeconds(int64_t s) {
  return Time(std::chrono::seconds(s));
}

bool validEnvName(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// "gpu:h100:4(S:0-1),nic:1" -> {"h100", 4}; untyped "gpu:4" -> {"gpu", 4}.
std::pair<std::string, int> parseGpuGres(const std::string& gres) {
  std::string best_type;
  int total = 0;
  size_t start = 0;
  while (start < gres.size()) {
    size_t comma = gres.find(',', start);
    if (comma == std::string::npos) comma = gres.size();
    std::string item = gres.substr(start, comma - start);
    start = comma + 1;
    if (size_t paren = item.find('('); paren != std::string::npos) item.resize(paren);
    if (item.rfind("gpu", 0) != 0) continue;
    std::vector<std::string> parts;
    size_t p = 0;
    while (p <= item.size()) {
      size_t colon = item.find(':', p);
      if (colon == std::string::npos) colon = item.size();
      parts.push_back(item.substr(p, colon - p));
      p = colon + 1;
    }
    int count = 0;
    std::string type = "gpu";
    try {
      if (parts.size() == 2) {
        count = std::stoi(parts[1]);
      } else if (parts.size() >= 3) {
        type = lower(parts[1]);
        count = std::stoi(parts[2]);
      }
    } catch (const std::exception&) {
      continue;
    }
    if (best_type.empty()) best_type = type;
    if (type == best_type) total += count;
  }
  return {best_type, total};
}

}  // namespace

int decodeSlurmExitCode(int64_t raw) {
  int status = static_cast<int>(raw);
  if ((status & 0x7f) == 0) return (status >> 8) & 0xff;  // exited
  return 128 + (status & 0x7f);                           // killed by a signal
}

std::optional<JobState> SlurmBackend::mapState(const std::string& slurm_state) {
  std::string s = upper(slurm_state);
  if (s == "PENDING" || s == "CONFIGURING" || s == "REQUEUED" || s == "REQUEUE_HOLD" ||
      s == "REQUEUE_FED" || s == "RESV_DEL_HOLD") {
    return JobState::kPending;
  }
  if (s == "RUNNING" || s == "COMPLETING" || s == "SUSPENDED" || s == "STOPPED" ||
      s == "RESIZING" || s == "SIGNALING" || s == "STAGE_OUT") {
    return JobState::kRunning;
  }
  if (s == "COMPLETED") return JobState::kCompleted;
  if (s == "FAILED" || s == "OUT_OF_MEMORY" || s == "SPECIAL_EXIT") return JobState::kFailed;
  if (s == "CANCELLED" || s == "PREEMPTED" || s == "REVOKED") return JobState::kCancelled;
  if (s == "TIMEOUT" || s == "DEADLINE") return JobState::kTimeout;
  if (s == "NODE_FAIL" || s == "BOOT_FAIL") return JobState::kNodeFail;
  return std::nullopt;
}

namespace {

// The job objects of a `squeue --json` or `sacct --json` document that carry a job id,
// with the fields both tools spell alike filled in; `read` fills the rest.
template <typename Read>
Result<std::vector<SlurmBackend::SlurmJob>> readJobs(const std::string& json_text,
                                                     const std::string& what, Read read) {
  Result<json::object> doc = parseObject(json_text, what);
  if (!doc.ok()) return doc.status();
  const json::value* jobs = field(*doc, "jobs");
  if (!jobs || !jobs->is_array()) return internalError(what + ": no \"jobs\" array");
  std::vector<SlurmBackend::SlurmJob> out;
  for (const json::value& v : jobs->as_array()) {
    if (!v.is_object()) continue;
    const json::object& j = v.as_object();
    std::optional<int64_t> id = intField(j, "job_id");
    if (!id) continue;
    SlurmBackend::SlurmJob job;
    job.id = std::to_string(*id);
    job.name = stringField(j, "name");
    job.partitions = stringList(j, "partition");
    read(j, job);
    out.push_back(std::move(job));
  }
  return out;
}

// sacct's "tres": {"allocated": [{"type": "gres", "name": "gpu", "count": 2}, ...]}.
void readAllocatedTres(const json::object& j, SlurmBackend::SlurmJob& job) {
  const json::value* tres = field(j, "tres");
  if (!tres || !tres->is_object()) return;
  const json::value* allocated = field(tres->as_object(), "allocated");
  if (!allocated || !allocated->is_array()) return;
  std::vector<std::string> parts;
  for (const json::value& v : allocated->as_array()) {
    if (!v.is_object()) continue;
    const json::object& t = v.as_object();
    std::string type = stringField(t, "type");
    std::string name = stringField(t, "name");
    int64_t count = intField(t, "count").value_or(0);
    std::string key = name.empty() ? type : type + "/" + name;
    parts.push_back(key + "=" + std::to_string(count));
    if (type == "gres" && (name == "gpu" || name.rfind("gpu:", 0) == 0) && name.find(':') == std::string::npos) {
      job.alloc_gpus = static_cast<int>(count);
    }
    if (type == "node" && job.alloc_nodes == 0) job.alloc_nodes = static_cast<int>(count);
  }
  job.alloc_tres = common::join(parts, ",");
}

}  // namespace

Result<std::vector<SlurmBackend::SlurmJob>> SlurmBackend::parseSqueue(
    const std::string& json_text) {
  return readJobs(json_text, "squeue --json", [](const json::object& j, SlurmJob& job) {
    job.comment = stringField(j, "comment");
    job.state = stringField(j, "job_state");
    job.reason = stringField(j, "state_reason");
    if (job.reason == "None") job.reason.clear();
    if (std::string d = stringField(j, "state_description"); !d.empty()) job.reason = d;
    job.node_count = static_cast<int>(intField(j, "node_count").value_or(0));
    job.time_limit_min = intField(j, "time_limit");
    job.submit_time = intField(j, "submit_time").value_or(0);
    job.start_time = intField(j, "start_time").value_or(0);
    job.end_time = intField(j, "end_time").value_or(0);
    std::optional<JobState> state = mapState(job.state);
    if (state && isTerminal(*state)) {
      if (std::optional<int64_t> raw = intField(j, "exit_code")) {
        job.exit_code = decodeSlurmExitCode(*raw);
      }
    }
    // sbatch leaves a FAILED record behind for a job it refused: it never had a host.
    job.refused = upper(job.state) == "FAILED" && stringField(j, "batch_host").empty() &&
                  stringField(j, "nodes").empty();
  });
}

Result<std::vector<SlurmBackend::SlurmJob>> SlurmBackend::parseSacct(const std::string& json_text) {
  return readJobs(json_text, "sacct --json", [](const json::object& j, SlurmJob& job) {
    if (const json::value* c = field(j, "comment"); c && c->is_object()) {
      job.comment = stringField(c->as_object(), "job");
    } else {
      job.comment = stringField(j, "comment");
    }
    if (const json::value* s = field(j, "state"); s && s->is_object()) {
      job.state = stringField(s->as_object(), "current");
      job.reason = stringField(s->as_object(), "reason");
      if (job.reason == "None") job.reason.clear();
    }
    job.user = stringField(j, "user");
    job.account = stringField(j, "account");
    job.alloc_nodes = static_cast<int>(intField(j, "allocation_nodes").value_or(0));
    readAllocatedTres(j, job);
    if (const json::value* t = field(j, "time"); t && t->is_object()) {
      const json::object& time = t->as_object();
      job.elapsed_s = intField(time, "elapsed").value_or(0);
      job.submit_time = intField(time, "submission").value_or(0);
      job.start_time = intField(time, "start").value_or(0);
      job.end_time = intField(time, "end").value_or(0);
      job.time_limit_min = intField(time, "limit");
    }
    if (const json::value* e = field(j, "exit_code"); e && e->is_object()) {
      const json::object& ec = e->as_object();
      std::optional<int64_t> rc = intField(ec, "return_code");
      std::optional<int64_t> sig;
      if (const json::value* s = field(ec, "signal"); s && s->is_object()) {
        sig = intField(s->as_object(), "signal_id");
        if (!sig) sig = intField(s->as_object(), "id");
      }
      if (sig && *sig > 0) {
        job.exit_code = 128 + static_cast<int>(*sig);
      } else if (rc) {
        job.exit_code = static_cast<int>(*rc);
      }
    }
  });
}

Result<SiteCapacity> SlurmBackend::parseCapacity(const std::string& sinfo_json,
                                                 const std::vector<SlurmJob>& jobs,
                                                 const std::vector<std::string>& partitions) {
  Result<json::object> doc = parseObject(sinfo_json, "sinfo --json");
  if (!doc.ok()) return doc.status();
  const json::value* nodes = field(*doc, "nodes");
  if (!nodes || !nodes->is_array()) return internalError("sinfo --json: no \"nodes\" array");

  std::vector<PartitionCapacity> order;  // in report order
  std::map<std::string, size_t> index;
  std::map<std::string, std::map<std::string, int>> types_seen;  // partition -> type key -> nodes
  auto slot = [&](const std::string& name) -> PartitionCapacity* {
    auto it = index.find(name);
    if (it != index.end()) return &order[it->second];
    if (!partitions.empty()) return nullptr;  // not one we report
    index[name] = order.size();
    order.emplace_back();
    order.back().name = name;
    return &order.back();
  };
  for (const std::string& p : partitions) {
    index[p] = order.size();
    order.emplace_back();
    order.back().name = p;
  }
  // A node type per partition: the most common one among its nodes.
  std::map<std::string, std::map<std::string, std::pair<NodeType, int>>> node_types;
  std::set<std::string> seen_nodes;
  for (const json::value& v : nodes->as_array()) {
    if (!v.is_object()) continue;
    const json::object& n = v.as_object();
    std::string name = stringField(n, "name");
    // A node in several partitions is listed once per partition by some releases.
    std::string state = lower(stringField(n, "state"));
    std::vector<std::string> flags = stringList(n, "state_flags");
    for (std::string& f : flags) f = upper(f);
    // 23.02+: "state" is a list of names: base state first, then flags.
    if (const json::value* s = field(n, "state"); s && s->is_array()) {
      for (size_t i = 1; i < s->as_array().size(); ++i) {
        if (s->as_array()[i].is_string())
          flags.push_back(upper(std::string(s->as_array()[i].as_string())));
      }
    }
    auto has = [&](std::string_view f) {
      return std::find(flags.begin(), flags.end(), f) != flags.end();
    };
    bool drain = has("DRAIN");
    bool unreachable = has("NOT_RESPONDING") || has("POWERED_DOWN") || has("POWER_DOWN");
    NodeType type;
    type.cores = static_cast<int>(intField(n, "cpus").value_or(0));
    type.memory_gib = static_cast<int>(intField(n, "real_memory").value_or(0) / 1024);
    auto [gpu_type, gpus] = parseGpuGres(stringField(n, "gres"));
    if (gpus > 0) {
      type.accelerator = gpu_type;
      type.accelerators_per_node = gpus;
    }
    std::string type_key = type.accelerator + ":" + std::to_string(type.accelerators_per_node) +
                           ":" + std::to_string(type.cores) + ":" + std::to_string(type.memory_gib);
    for (const std::string& part : stringList(n, "partitions")) {
      if (!seen_nodes.insert(part + "/" + name).second) continue;
      PartitionCapacity* p = slot(part);
      if (!p) continue;
      p->nodes_total++;
      auto& nt = node_types[part][type_key];
      nt.first = type;
      nt.second++;
      if (state == "down" || state == "unknown" || state == "future" || state == "error" ||
          unreachable) {
        p->nodes_down++;
      } else if (drain && (state == "idle" || state == "planned")) {
        p->nodes_down++;  // drained: out of service until an admin resumes it
      } else if (drain) {
        p->nodes_draining++;  // still running jobs, takes no new ones
      } else if (state == "idle" || state == "planned") {
        p->nodes_idle++;
      } else {
        p->nodes_allocated++;  // allocated, mixed, completing, reserved
      }
    }
  }
  for (PartitionCapacity& p : order) {
    int best = 0;
    for (const auto& [key, nt] : node_types[p.name]) {
      if (nt.second > best) {
        best = nt.second;
        p.node_type = nt.first;
      }
    }
  }
  for (const SlurmJob& j : jobs) {
    std::optional<JobState> s = mapState(j.state);
    if (!s || (*s != JobState::kPending && *s != JobState::kRunning)) continue;
    for (const std::string& part : j.partitions) {
      auto it = index.find(part);
      if (it == index.end()) continue;
      PartitionCapacity& p = order[it->second];
      if (*s == JobState::kRunning) {
        p.running_jobs++;
      } else {
        p.pending_jobs++;
        p.pending_node_hours +=
            std::max(1, j.node_count) * static_cast<double>(j.time_limit_min.value_or(0)) / 60.0;
      }
    }
  }
  SiteCapacity cap;
  cap.partitions = std::move(order);
  return cap;
}

SlurmBackend::SlurmBackend(SlurmOptions options, std::unique_ptr<CommandRunner> runner)
    : options_(std::move(options)), runner_(std::move(runner)) {}

Result<std::unique_ptr<SlurmBackend>> SlurmBackend::create(SlurmOptions options,
                                                           std::unique_ptr<CommandRunner> runner) {
  if (!runner) return invalidArgument("the Slurm backend needs a command runner");
  if (options.tag_prefix.empty() || contains(options.tag_prefix, ":")) {
    return invalidArgument("slurm.tag_prefix must be non-empty and contain no ':'",
                           "slurm.tag_prefix");
  }
  if (options.command_timeout.count() <= 0) {
    return invalidArgument("slurm.command_timeout_s must be positive", "slurm.command_timeout_s");
  }
  if (options.refresh.count() < 0) {
    return invalidArgument("slurm.refresh_s must not be negative", "slurm.refresh_s");
  }
  return std::unique_ptr<SlurmBackend>(new SlurmBackend(std::move(options), std::move(runner)));
}

std::string SlurmBackend::tagComment(const JobTag& tag) const {
  return options_.tag_prefix + ":" + tag.job_id + ":" + std::to_string(tag.attempt);
}

std::optional<JobTag> SlurmBackend::parseTag(const std::string& comment) const {
  std::string prefix = options_.tag_prefix + ":";
  if (comment.rfind(prefix, 0) != 0) return std::nullopt;
  size_t last = comment.rfind(':');
  if (last == std::string::npos || last < prefix.size()) return std::nullopt;
  try {
    return JobTag{comment.substr(prefix.size(), last - prefix.size()),
                  std::stoi(comment.substr(last + 1))};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Result<CommandOutput> SlurmBackend::runSlurm(const std::string& tool, std::vector<std::string> args,
                                             const std::string& input,
                                             const std::map<std::string, std::string>& env) {
  Command cmd;
  cmd.argv.push_back(
      options_.bin_dir.empty() ? tool : (std::filesystem::path(options_.bin_dir) / tool).string());
  cmd.argv.insert(cmd.argv.end(), args.begin(), args.end());
  cmd.input = input;
  cmd.env = env;
  if (!options_.slurm_conf.empty()) cmd.env["SLURM_CONF"] = options_.slurm_conf;
  cmd.timeout = options_.command_timeout;
  Result<CommandOutput> out = runner_->run(cmd);
  if (out.ok() && out->exit_code != 0) {
    spdlog::debug("{} exited {}: {}", describeCommand(cmd.argv), out->exit_code, trim(out->err));
  }
  if (!out.ok()) {
    health_.ok = false;
    health_.error = tool + ": " + out.status().message();
  } else if (out->exit_code != 0 && controllerUnreachable(out->err)) {
    health_.ok = false;
    health_.error = tool + ": " + slurmReason(out->err);
  } else {
    health_.ok = true;
    health_.error.clear();
    health_.last_ok_at = now_;
  }
  return out;
}

Result<std::vector<std::string>> SlurmBackend::sbatchArguments(const JobTag& tag,
                                                               const JobSpec& spec) const {
  if (trim(spec.script).empty()) {
    return invalidArgument("a Slurm site needs a batch script (spec.script is empty)",
                           "spec.script");
  }
  std::vector<std::string> args = {"--parsable"};
  args.push_back("--job-name=" + (spec.name.empty() ? "aifed-" + tag.job_id : spec.name));
  args.push_back("--comment=" + tagComment(tag));
  std::string partition;
  if (spec.gpus_per_node > 0) {
    std::string type = lower(spec.gpu_type);
    auto it = options_.gpu_partitions.find(type);
    if (it != options_.gpu_partitions.end()) {
      partition = it->second;
    } else if (!options_.gpu_partition.empty()) {
      partition = options_.gpu_partition;
    } else if (type.empty() && options_.gpu_partitions.size() == 1) {
      partition = options_.gpu_partitions.begin()->second;
    } else {
      // Not std::views::keys: clang 14 (the fuzz build) cannot use libstdc++ 12's ranges.
      std::string offered = common::join(options_.gpu_partitions, ", ",
                                         [](const auto& entry) { return entry.first; });
      return invalidArgument("this site has no partition for GPU model \"" + spec.gpu_type +
                                 "\" (it maps: " + (offered.empty() ? "none" : offered) + ")",
                             "spec.gpu_type");
    }
    std::string gres = "gpu:";
    if (!type.empty()) {
      auto g = options_.gres_types.find(type);
      gres += (g != options_.gres_types.end() ? g->second : type) + ":";
    }
    args.push_back("--gres=" + gres + std::to_string(spec.gpus_per_node));
  } else {
    if (options_.cpu_partition.empty()) {
      return invalidArgument("this site takes no CPU-only jobs (no slurm.cpu_partition)",
                             "spec.gpus_per_node");
    }
    partition = options_.cpu_partition;
  }
  args.push_back("--partition=" + partition);
  std::string account = options_.default_account;
  if (auto a = options_.accounts.find(spec.project); a != options_.accounts.end()) {
    account = a->second;
  }
  if (!account.empty()) args.push_back("--account=" + account);
  args.push_back("--nodes=" + std::to_string(spec.nodes));
  if (spec.cores_per_node > 0) {
    args.push_back("--ntasks-per-node=1");
    args.push_back("--cpus-per-task=" + std::to_string(spec.cores_per_node));
  }
  if (spec.memory_gib_per_node > 0)
    args.push_back("--mem=" + std::to_string(spec.memory_gib_per_node) + "G");
  // Slurm counts whole minutes; round up so the job gets at least what it asked for.
  int64_t minutes = std::max<int64_t>(
      1, (std::chrono::duration_cast<std::chrono::seconds>(spec.walltime).count() + 59) / 60);
  args.push_back("--time=" + std::to_string(minutes));
  std::string workdir = spec.workdir.empty() ? options_.workdir : spec.workdir;
  if (!workdir.empty()) args.push_back("--chdir=" + workdir);
  if (!options_.output.empty()) args.push_back("--output=" + options_.output);
  // The federation decides about retries; Slurm must not requeue on its own.
  args.push_back("--no-requeue");
  std::string exports = "PATH,AIFED_JOB_ID,AIFED_ATTEMPT";
  for (const auto& [k, v] : spec.env) {
    if (!validEnvName(k)) {
      return invalidArgument("environment variable name \"" + k + "\" is not valid", "spec.env");
    }
    if (k != "PATH") exports += "," + k;
  }
  // Names only: the values travel in sbatch's own environment, so commas and quotes in
  // them need no escaping, and nothing else of the agent's environment leaks into jobs.
  args.push_back("--export=" + exports);
  return args;
}

Result<Time> SlurmBackend::estimateStart(const JobSpec& shape) {
  JobSpec probe = shape;
  if (trim(probe.script).empty()) probe.script = "#!/bin/sh\ntrue\n";
  Result<std::vector<std::string>> args = sbatchArguments({"probe", 0}, probe);
  if (!args.ok()) return args.status();
  args->insert(args->begin() + 1, "--test-only");
  Result<CommandOutput> out = runSlurm("sbatch", *args, probe.script);
  if (!out.ok()) return out.status();
  if (out->exit_code != 0) {
    std::string reason = slurmReason(out->err);
    if (controllerUnreachable(out->err)) return unavailable("sbatch --test-only: " + reason);
    return failedPrecondition("Slurm would not run this shape: " + reason);
  }
  // "sbatch: Job 3 to start at 2026-11-25T12:55:24 using 1 processors on nodes n1 in
  // partition gpu" (on stderr; local time, as slurmctld prints it).
  std::string text = out->err + out->out;
  size_t at = text.find("to start at ");
  std::tm tm{};
  if (at == std::string::npos ||
      std::sscanf(text.c_str() + at + 12, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return internalError("sbatch --test-only printed no start time: \"" + trim(text) + "\"");
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  std::time_t t = std::mktime(&tm);
  if (t == static_cast<std::time_t>(-1)) return internalError("bad start time in: " + trim(text));
  return fromUnixSeconds(static_cast<int64_t>(t));
}

Status SlurmBackend::refreshJobs(Time now, bool fresh) {
  if (!fresh && jobs_at_ && now - *jobs_at_ < options_.refresh) return Status::Ok();
  Result<CommandOutput> out = runSlurm("squeue", {"--json"});
  if (!out.ok()) return out.status();
  if (out->exit_code != 0) {
    return unavailable("squeue: " + (trim(out->err).empty()
                                         ? "exit " + std::to_string(out->exit_code)
                                         : slurmReason(out->err)));
  }
  Result<std::vector<SlurmJob>> jobs = parseSqueue(out->out);
  if (!jobs.ok()) return jobs.status();
  jobs_ = std::move(*jobs);
  jobs_at_ = now;
  indexTags(jobs_);
  tags_known_ = true;
  return Status::Ok();
}

void SlurmBackend::indexTags(const std::vector<SlurmJob>& jobs) {
  // Rebuilt from what Slurm holds now plus what we follow, so neither grows with the
  // agent's lifetime: ended jobs are the agent store's business (it answers a repeated
  // DISPATCH of a finished attempt itself).
  for (auto it = tracked_.begin(); it != tracked_.end();) {
    it = it->second.terminal ? tracked_.erase(it) : std::next(it);
  }
  by_tag_.clear();
  for (const auto& [id, t] : tracked_) by_tag_[{t.tag.job_id, t.tag.attempt}] = id;
  for (const SlurmJob& j : jobs) {
    if (j.refused) continue;
    std::optional<JobTag> tag = parseTag(j.comment);
    if (!tag) continue;
    by_tag_.try_emplace({tag->job_id, tag->attempt}, j.id);
  }
}

Result<SubmittedJob> SlurmBackend::submit(const JobTag& tag, const JobSpec& spec,
                                          const LocalIdentity& as, Time now) {
  now_ = now;
  Result<std::vector<std::string>> args = sbatchArguments(tag, spec);
  if (!args.ok()) return args.status();
  SubmittedJob paths = applyIdentity(tag, spec, as, *args);
  // Never twice: the tag may already be in Slurm from an earlier run of the agent or
  // from an sbatch whose answer was lost.
  if (!tags_known_) {
    if (Status s = refreshJobs(now, /*fresh=*/true); !s.ok()) return s;
  }
  if (auto it = by_tag_.find({tag.job_id, tag.attempt}); it != by_tag_.end()) {
    spdlog::info("{} attempt {} is already Slurm job {}: not submitting again", tag.job_id,
                 tag.attempt, it->second);
    (void)adopt(tag, it->second);
    paths.local_id = it->second;
    return paths;
  }
  std::string script = spec.script;
  if (script.rfind("#!", 0) != 0) script = "#!/bin/bash\n" + script;
  std::map<std::string, std::string> env = spec.env;
  env.try_emplace("PATH", options_.job_path);
  env["AIFED_JOB_ID"] = tag.job_id;
  env["AIFED_ATTEMPT"] = std::to_string(tag.attempt);
  Result<CommandOutput> out = runSlurm("sbatch", *args, script, env);
  if (!out.ok()) {
    tags_known_ = false;  // it may have been submitted after all: look before the next try
    return out.status();
  }
  if (out->exit_code != 0) {
    std::string reason = slurmReason(out->err);
    if (reason.empty()) reason = "sbatch exited " + std::to_string(out->exit_code);
    if (controllerUnreachable(out->err)) {
      tags_known_ = false;
      return unavailable("sbatch: " + reason);
    }
    std::string l = lower(reason);
    if (contains(l, "invalid") || contains(l, "unrecognized") || contains(l, "not valid")) {
      return invalidArgument("Slurm refused the job: " + reason);
    }
    return failedPrecondition("Slurm refused the job: " + reason);
  }
  std::string id = trim(out->out);
  if (size_t semi = id.find(';'); semi != std::string::npos) id.resize(semi);  // "id;cluster"
  if (id.empty() || !std::all_of(id.begin(), id.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    tags_known_ = false;
    return unavailable("sbatch printed no job id: \"" + trim(out->out) + "\"");
  }
  by_tag_[{tag.job_id, tag.attempt}] = id;
  Tracked t;
  t.tag = tag;
  t.local_id = id;
  t.current.tag = tag;
  t.current.local_id = id;
  t.current.state = JobState::kPending;
  t.current.submitted_at = now;
  tracked_[id] = t;
  jobs_at_.reset();  // the next poll reads squeue again
  capacity_at_.reset();
  spdlog::info("submitted {} attempt {} as Slurm job {}{}", tag.job_id, tag.attempt, id,
               as.user.empty() ? "" : " for local user " + as.user);
  paths.local_id = id;
  return paths;
}

std::optional<std::string> expandOutputName(const std::string& pattern, const JobTag& tag,
                                            const JobSpec& spec) {
  if (pattern.empty()) return std::nullopt;
  auto env = [&spec](const char* key, const std::string& otherwise) {
    auto it = spec.env.find(key);
    return it == spec.env.end() ? otherwise : it->second;
  };
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char next = i + 1 < pattern.size() ? pattern[i + 1] : '\0';
    std::optional<std::string> value;
    if (pattern[i] == '%') {
      switch (next) {
        case 'j': value = tag.job_id; break;
        case 'a': value = env("AIFED_ARRAY_TASK_ID", "0"); break;
        case 'A': value = env("AIFED_ARRAY_ID", tag.job_id); break;
        case 'u': value = spec.user; break;
        case 'x': value = spec.name; break;
        case '%': value = "%"; break;
        default: break;  // Slurm's own (%N, %t, ...): left for sbatch
      }
    }
    if (!value) {
      out += pattern[i];
      continue;
    }
    // A value never adds a directory level.
    std::replace(value->begin(), value->end(), '/', '_');
    out += *value;
    ++i;
  }
  // What the values made must still stay inside the output directory.
  if (!validateOutputName(out, "stdout").ok() || out.empty()) return std::nullopt;
  return out;
}

SubmittedJob SlurmBackend::applyIdentity(const JobTag& tag, const JobSpec& spec,
                                         const LocalIdentity& as,
                                         std::vector<std::string>& args) const {
  auto set = [&args](const std::string& option, const std::string& value) {
    std::string prefix = option + "=";
    std::erase_if(args, [&](const std::string& a) { return a.rfind(prefix, 0) == 0; });
    args.push_back(prefix + value);
  };
  // The site's rules name the partition and QOS; its mapping the account and the user.
  if (!as.partition.empty()) set("--partition", as.partition);
  if (!as.qos.empty()) set("--qos", as.qos);
  if (!as.account.empty()) set("--account", as.account);
  if (as.uid) set("--uid", std::to_string(*as.uid));
  if (as.gid) set("--gid", std::to_string(*as.gid));
  SubmittedJob paths;
  if (!options_.output.empty()) return paths;  // the site's own --output pattern
  // A mapped user's job starts in its own working directory or the user's home, never in
  // the agent's (the site's `workdir` is for jobs run as the agent's account).
  const bool mapped = !as.home.empty();
  if (mapped && spec.workdir.empty()) set("--chdir", as.home);
  // Output where its owner can read it: the site's output_dir, else the job's working
  // directory, else the mapped user's home, else the site's workdir or the agent's.
  std::string dir = options_.output_dir;
  if (dir.empty()) dir = spec.workdir;
  if (dir.empty()) dir = mapped ? as.home : options_.workdir;
  if (dir.empty()) {
    std::error_code ec;
    dir = std::filesystem::current_path(ec).string();
  }
  for (auto [key, value] : {std::pair{"{user}", as.user}, {"{home}", as.home}}) {
    for (size_t at = dir.find(key); at != std::string::npos; at = dir.find(key)) {
      dir.replace(at, std::string_view(key).size(), value);
    }
  }
  std::string base = dir + "/aifed-" + tag.job_id + "." + std::to_string(tag.attempt);
  paths.stdout_path = base + ".out";
  paths.stderr_path = base + ".err";
  // The job's own names (sbatch -o/-e) inside the same directory; -o alone takes both
  // streams, as in sbatch.
  std::optional<std::string> out = expandOutputName(spec.stdout_name, tag, spec);
  std::optional<std::string> err = expandOutputName(spec.stderr_name, tag, spec);
  if (out) paths.stdout_path = dir + "/" + *out;
  if (err) {
    paths.stderr_path = dir + "/" + *err;
  } else if (out) {
    paths.stderr_path = paths.stdout_path;
  }
  set("--output", paths.stdout_path);
  set("--error", paths.stderr_path);
  return paths;
}

Result<std::optional<LocalUsage>> SlurmBackend::usage(const std::string& local_id, Time now) {
  now_ = now;
  if (!options_.use_sacct) return std::optional<LocalUsage>();
  Result<CommandOutput> out = runSlurm("sacct", {"--json", "-X", "-j", local_id});
  if (!out.ok()) return out.status();
  if (out->exit_code != 0) return unavailable("sacct: " + slurmReason(out->err));
  Result<std::vector<SlurmJob>> jobs = parseSacct(out->out);
  if (!jobs.ok()) return jobs.status();
  for (const SlurmJob& j : *jobs) {
    std::optional<JobState> state = mapState(j.state);
    if (j.id != local_id || !state || !isTerminal(*state)) continue;
    LocalUsage u;
    u.elapsed = std::chrono::seconds(std::max<int64_t>(0, j.elapsed_s));
    u.nodes = j.alloc_nodes;
    u.gpus = j.alloc_gpus;
    u.tres = j.alloc_tres;
    u.exit_code = j.exit_code;
    u.state = j.state;
    u.local_user = j.user;
    u.account = j.account;
    return std::optional<LocalUsage>(std::move(u));
  }
  return std::optional<LocalUsage>();  // not (or not yet ended) in accounting
}

bool SlurmBackend::adopt(const JobTag& tag, const std::string& local_id) {
  if (local_id.empty()) return false;
  by_tag_[{tag.job_id, tag.attempt}] = local_id;
  if (tracked_.count(local_id)) return true;
  Tracked t;
  t.tag = tag;
  t.local_id = local_id;
  t.current.tag = tag;
  t.current.local_id = local_id;
  t.current.state = JobState::kPending;
  tracked_[local_id] = t;
  return true;
}

Status SlurmBackend::cancel(const std::string& local_id, Time now) {
  now_ = now;
  auto it = tracked_.find(local_id);
  if (it == tracked_.end())
    return notFound("Slurm job " + local_id + " is not one of this agent's");
  if (it->second.terminal) return Status::Ok();
  Result<CommandOutput> out = runSlurm("scancel", {local_id});
  if (!out.ok()) return out.status();
  jobs_at_.reset();
  if (out->exit_code != 0) {
    if (controllerUnreachable(out->err)) return unavailable("scancel: " + slurmReason(out->err));
    // Finished (or finishing) already: its end arrives through poll().
    if (contains(out->err, "already completing or completed") ||
        contains(out->err, "Invalid job id")) {
      return Status::Ok();
    }
    return failedPrecondition("scancel " + local_id + ": " + slurmReason(out->err));
  }
  (void)now;
  return Status::Ok();
}

LocalJobUpdate SlurmBackend::updateFor(const Tracked& t, const SlurmJob& job) const {
  LocalJobUpdate u;
  u.tag = t.tag;
  u.local_id = t.local_id;
  u.state = mapState(job.state).value_or(t.current.state);
  if (job.submit_time > 0) u.submitted_at = fromUnixSeconds(job.submit_time);
  if (job.start_time > 0 && u.state != JobState::kPending) {
    u.started_at = fromUnixSeconds(job.start_time);
  }
  if (isTerminal(u.state)) {
    if (job.end_time > 0) u.ended_at = fromUnixSeconds(job.end_time);
    u.exit_code = job.exit_code;
  }
  u.reason = job.reason;
  if (!job.state.empty() && upper(job.state) != jobStateName(u.state)) {
    // Keep Slurm's own word where it says more than ours (OUT_OF_MEMORY, PREEMPTED...).
    std::string slurm = upper(job.state);
    if (slurm != "PENDING" && slurm != "RUNNING" && slurm != "COMPLETED" && slurm != "FAILED" &&
        slurm != "CANCELLED" && slurm != "TIMEOUT" && slurm != "NODE_FAIL") {
      u.reason = u.reason.empty() ? slurm : slurm + ": " + u.reason;
    }
  }
  return u;
}

std::vector<LocalJobUpdate> SlurmBackend::poll(Time now) {
  now_ = now;
  std::vector<LocalJobUpdate> updates;
  bool following = std::any_of(tracked_.begin(), tracked_.end(),
                               [](const auto& kv) { return !kv.second.terminal; });
  if (!following) return updates;
  if (Status s = refreshJobs(now, /*fresh=*/false); !s.ok()) {
    spdlog::warn("cannot follow Slurm jobs now: {}", s.message());
    return updates;
  }
  std::map<std::string, const SlurmJob*> by_id;
  for (const SlurmJob& j : jobs_) by_id[j.id] = &j;
  std::vector<std::string> missing;
  auto apply = [&](Tracked& t, const SlurmJob& job) {
    LocalJobUpdate u = updateFor(t, job);
    if (t.reported && u.state == t.current.state) return;
    t.current = u;
    t.reported = true;
    t.terminal = isTerminal(u.state);
    updates.push_back(u);
  };
  for (auto& [id, t] : tracked_) {
    if (t.terminal) continue;
    auto it = by_id.find(id);
    if (it != by_id.end()) {
      apply(t, *it->second);
    } else {
      missing.push_back(id);
    }
  }
  if (missing.empty()) return updates;
  // Left squeue: finished more than MinJobAge ago (the agent was away), or never existed.
  if (options_.use_sacct) {
    Result<CommandOutput> out =
        runSlurm("sacct", {"--json", "-X", "-j", common::join(missing, ",")});
    if (out.ok() && out->exit_code == 0) {
      if (Result<std::vector<SlurmJob>> acct = parseSacct(out->out); acct.ok()) {
        for (const SlurmJob& j : *acct) {
          auto t = tracked_.find(j.id);
          if (t == tracked_.end() || t->second.terminal) continue;
          apply(t->second, j);
          missing.erase(std::remove(missing.begin(), missing.end(), j.id), missing.end());
        }
      } else {
        spdlog::warn("{}", acct.status().message());
      }
    } else {
      spdlog::warn("sacct: {}", out.ok() ? slurmReason(out->err) : out.status().message());
      return updates;  // try again at the next poll
    }
  }
  for (const std::string& id : missing) {
    Tracked& t = tracked_[id];
    // A job submitted a moment ago may not be in the snapshot yet; give it a refresh.
    if (t.current.submitted_at &&
        now - *t.current.submitted_at < 2 * options_.refresh + std::chrono::seconds(10)) {
      continue;
    }
    SlurmJob gone;
    gone.id = id;
    gone.state = "FAILED";
    gone.reason =
        "Slurm no longer knows job " + id +
        (options_.use_sacct ? " (not in squeue nor in accounting)"
                            : " (it ended more than MinJobAge ago and the site has no accounting: "
                              "set slurm.use_sacct or raise MinJobAge)");
    apply(t, gone);
  }
  return updates;
}

Result<SiteCapacity> SlurmBackend::capacity(Time now) {
  now_ = now;
  if (capacity_ && capacity_at_ && now - *capacity_at_ < options_.refresh) return *capacity_;
  Result<CommandOutput> out = runSlurm("sinfo", {"--json"});
  if (!out.ok()) return unavailable("Slurm is not answering: " + out.status().message());
  if (out->exit_code != 0) {
    return unavailable("Slurm is not answering: sinfo: " + slurmReason(out->err));
  }
  if (Status s = refreshJobs(now, /*fresh=*/false); !s.ok()) {
    return unavailable("Slurm is not answering: " + s.message());
  }
  Result<SiteCapacity> cap = parseCapacity(out->out, jobs_, options_.partitions);
  if (!cap.ok()) {
    // sinfo may exit 0 with the failure inside its JSON ("errors"), e.g. while slurmctld
    // shuts down: that is the same outage as a non-zero exit and must read the same.
    if (cap.status().code() == StatusCode::kUnavailable) {
      health_.ok = false;
      health_.error = cap.status().message();
      return unavailable("Slurm is not answering: " + cap.status().message());
    }
    return cap.status();
  }
  for (const PartitionCapacity& p : cap->partitions) {
    if (p.nodes_total == 0) {
      return failedPrecondition("partition \"" + p.name +
                                "\" (slurm.partitions) has no nodes in sinfo: is the name right?");
    }
  }
  for (PartitionCapacity& p : cap->partitions) {
    auto it = probeEstimates(now).find(p.name);
    if (it != estimates_.end()) p.start_estimates = it->second;
  }
  capacity_ = *cap;
  capacity_at_ = now;
  return cap;
}

const std::map<std::string, std::vector<StartEstimate>>& SlurmBackend::probeEstimates(Time now) {
  now_ = now;
  if (options_.probes.empty()) return estimates_;
  if (estimates_at_ && now - *estimates_at_ < options_.probe_interval) return estimates_;
  std::map<std::string, std::vector<StartEstimate>> fresh;
  for (const SlurmOptions::ProbeShape& shape : options_.probes) {
    JobSpec spec;
    spec.name = "aifed-probe";
    spec.nodes = shape.nodes;
    spec.gpus_per_node = shape.gpus_per_node;
    spec.gpu_type = shape.gpu_type;
    spec.walltime = shape.walltime;
    spec.script = "#!/bin/sh\ntrue\n";
    // The partition Slurm would be asked for: the same mapping submissions use.
    Result<std::vector<std::string>> args = sbatchArguments({"probe", 0}, spec);
    if (!args.ok()) continue;
    std::string partition;
    for (const std::string& a : *args) {
      if (a.rfind("--partition=", 0) == 0) partition = a.substr(12);
    }
    Result<Time> start = estimateStart(spec);
    if (!start.ok()) {
      if (start.status().code() == StatusCode::kUnavailable) return estimates_;  // keep old
      continue;  // this shape cannot run here: no estimate for it
    }
    double in_s = std::max(0.0, std::chrono::duration<double>(*start - now).count());
    fresh[partition].push_back({shape.nodes, shape.gpus_per_node, std::floor(in_s)});
  }
  for (auto& [name, list] : fresh) {
    std::sort(list.begin(), list.end(), [](const StartEstimate& a, const StartEstimate& b) {
      return std::tie(a.nodes, a.gpus_per_node) < std::tie(b.nodes, b.gpus_per_node);
    });
  }
  estimates_ = std::move(fresh);
  estimates_at_ = now;
  return estimates_;
}

std::vector<LocalJobUpdate> SlurmBackend::activeJobs() const {
  std::vector<LocalJobUpdate> out;
  for (const auto& [id, t] : tracked_) {
    if (!t.terminal) out.push_back(t.current);
  }
  return out;
}

}  // namespace aifed::agent
