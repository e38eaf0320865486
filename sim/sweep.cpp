#include "sim/sweep.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <span>
#include <sstream>

#include "common/files.h"
#include "common/strings.h"
#include "sim/metrics.h"
#include "sim/swf.h"
#include "site-agent/backends/local_scheduler.h"

extern char** environ;

namespace aifed::sim {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::string absolute(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

Result<std::vector<broker::PolicySpec>> loadPolicies(const RunArgs& args) {
  std::vector<broker::PolicySpec> policies = broker::builtinPolicies();
  if (!args.policy_file.empty()) {
    Result<std::vector<broker::PolicySpec>> file = broker::loadPolicyFile(args.policy_file);
    if (!file.ok()) return file.status();
    policies = broker::mergePolicies(std::move(policies), *file);
  }
  return policies;
}

// Quoted for a POSIX shell.
std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> splitCsv(std::string_view line) {
  std::vector<std::string_view> cells = common::split(line, ',');
  return {cells.begin(), cells.end()};
}

// A CSV cell as JSON: the number as written when it is a JSON number, else a string.
std::string jsonCell(const std::string& cell) {
  static const std::regex kNumber(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
  if (std::regex_match(cell, kNumber)) return cell;
  return json::serialize(json::value(cell));
}

// The shortest text that reads back as `v` ("0.8", "60"), a valid JSON number for
// finite values (Boost.JSON would write "8E-1").
std::string jsonNumber(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "0";
}

}  // namespace

// ---- run inputs ----------------------------------------------------------------------

Result<RunInputs> loadRunInputs(const RunArgs& a) {
  RunInputs in;
  Result<Federation> fed = loadFederationFile(a.federation);
  if (!fed.ok()) return fed.status();
  in.federation = std::move(*fed);
  int sources = !a.trace.empty() + !a.jsonl.empty() + (a.synthetic > 0);
  if (sources != 1) {
    return invalidArgument("give exactly one workload: --trace, --jsonl or --synthetic N");
  }
  if (!a.trace.empty()) {
    Result<SwfTrace> t = readSwfFile(a.trace);
    if (!t.ok()) return t.status();
    SwfMapping mapping;
    mapping.gpus_per_node = a.gpus_per_node;
    Result<Workload> w = mapSwfToFederation(*t, in.federation, mapping);
    if (!w.ok()) return w.status();
    in.workload = std::move(*w);
  } else if (!a.jsonl.empty()) {
    Result<Workload> w = readJsonlWorkload(a.jsonl);
    if (!w.ok()) return w.status();
    in.workload = std::move(*w);
  } else {
    SyntheticOptions so;
    so.jobs = a.synthetic;
    so.seed = a.seed;
    so.load = a.load;
    Result<Workload> w = generateSynthetic(in.federation, so);
    if (!w.ok()) return w.status();
    in.workload = std::move(*w);
  }
  Result<std::vector<broker::PolicySpec>> policies = loadPolicies(a);
  if (!policies.ok()) return policies.status();
  in.policies = std::move(*policies);
  return in;
}

Result<EngineOptions> engineOptionsFor(const RunArgs& a, const RunInputs& in) {
  EngineOptions o;
  o.policy = a.policy;
  o.policies = in.policies;
  if (Status s = checkPolicy(o.policy, o.policies); !s.ok()) return s;
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
  Time first = in.workload.jobs.empty() ? Time{} : in.workload.jobs.front().submit;
  for (const std::string& spec : a.outages) {
    std::istringstream is(spec);
    std::string site, from, to;
    std::getline(is, site, ':');
    std::getline(is, from, ':');
    std::getline(is, to, ':');
    std::optional<double> f = common::parseDouble(from), t = common::parseDouble(to);
    if (site.empty() || !f || !t) {
      return invalidArgument("outage '" + spec + "' is not site:from_hours:to_hours");
    }
    Outage out;
    out.site = site;
    out.from = first + Duration(static_cast<int64_t>(*f * 3'600'000));
    out.to = first + Duration(static_cast<int64_t>(*t * 3'600'000));
    o.outages.push_back(out);
  }
  return o;
}

// ---- the manifest --------------------------------------------------------------------

Result<SweepManifest> makeManifest(RunArgs base, std::vector<SweepAxis> axes) {
  for (std::string* p : {&base.federation, &base.trace, &base.jsonl, &base.policy_file}) {
    *p = absolute(*p);
  }
  SweepManifest m;
  m.base = std::move(base);
  m.axes = std::move(axes);
  Result<std::vector<SweepPoint>> points = expandGrid(m.axes);
  if (!points.ok()) return points.status();
  m.points = std::move(*points);
  Result<std::vector<broker::PolicySpec>> policies = loadPolicies(m.base);
  if (!policies.ok()) return policies.status();
  for (const SweepPoint& p : m.points) {
    RunArgs args = m.base;
    std::vector<broker::PolicySpec> specs = *policies;
    if (Status s = applyParams(p.params, args, specs); !s.ok()) return s;
    if (Status s = checkPolicy(args.policy, specs); !s.ok()) return s;
  }
  return m;
}

std::string manifestJson(const SweepManifest& m) {
  const RunArgs& b = m.base;
  // Written by hand, in this order, so that numbers keep their plain form.
  std::string base = "{";
  auto field = [&](const char* key, const std::string& raw) {
    base += std::string(base.size() > 1 ? "," : "") + "\"" + key + "\":" + raw;
  };
  auto str = [](const std::string& s) { return json::serialize(json::value(s)); };
  field("federation", str(b.federation));
  field("trace", str(b.trace));
  field("jsonl", str(b.jsonl));
  field("synthetic", std::to_string(b.synthetic));
  field("seed", std::to_string(b.seed));
  field("load", jsonNumber(b.load));
  field("gpus_per_node", std::to_string(b.gpus_per_node));
  field("sched", str(b.sched));
  field("report_interval_s", jsonNumber(b.report_interval_s));
  field("report_delay_s", jsonNumber(b.report_delay_s));
  field("report_loss", jsonNumber(b.report_loss));
  field("placement_cycle_s", jsonNumber(b.placement_cycle_s));
  json::array outages;
  for (const std::string& o : b.outages) outages.emplace_back(o);
  field("outages", json::serialize(outages));
  field("skip_unplaceable", b.skip_unplaceable ? "true" : "false");
  field("policy", str(b.policy));
  field("policy_file", str(b.policy_file));
  base += "}";
  std::string out =
      "{\n  \"format\": \"aifed-sim-sweep/1\",\n  \"base\": " + base + ",\n  \"axes\": [";
  for (size_t i = 0; i < m.axes.size(); ++i) {
    json::object a;
    a["name"] = m.axes[i].name;
    json::array values;
    for (const std::string& v : m.axes[i].values) values.emplace_back(v);
    a["values"] = std::move(values);
    out += (i ? ",\n    " : "\n    ") + json::serialize(a);
  }
  out += m.axes.empty() ? "],\n  \"points\": [" : "\n  ],\n  \"points\": [";
  for (size_t i = 0; i < m.points.size(); ++i) {
    json::object p;
    p["id"] = m.points[i].id;
    json::object params;
    for (const auto& [k, v] : m.points[i].params) params[k] = v;
    p["params"] = std::move(params);
    out += (i ? ",\n    " : "\n    ") + json::serialize(p);
  }
  out += m.points.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

Result<SweepManifest> parseManifest(std::string_view text, std::string_view source_name) {
  const std::string src(source_name);
  std::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) return invalidArgument(src + ": not JSON: " + ec.message());
  auto bad = [&](const std::string& what) { return invalidArgument(src + ": " + what); };
  const json::object* obj = root.if_object();
  if (!obj) return bad("not a JSON object");
  const json::value* format = obj->if_contains("format");
  if (!format || !format->is_string() || format->get_string() != "aifed-sim-sweep/1") {
    return bad("not an aifed-sim sweep manifest (format aifed-sim-sweep/1)");
  }
  SweepManifest m;
  try {
    const json::object& b = obj->at("base").as_object();
    m.base.federation = json::value_to<std::string>(b.at("federation"));
    m.base.trace = json::value_to<std::string>(b.at("trace"));
    m.base.jsonl = json::value_to<std::string>(b.at("jsonl"));
    m.base.synthetic = b.at("synthetic").to_number<int64_t>();
    m.base.seed = b.at("seed").to_number<uint64_t>();
    m.base.load = b.at("load").to_number<double>();
    m.base.gpus_per_node = b.at("gpus_per_node").to_number<int>();
    m.base.sched = json::value_to<std::string>(b.at("sched"));
    m.base.report_interval_s = b.at("report_interval_s").to_number<double>();
    m.base.report_delay_s = b.at("report_delay_s").to_number<double>();
    m.base.report_loss = b.at("report_loss").to_number<double>();
    m.base.placement_cycle_s = b.at("placement_cycle_s").to_number<double>();
    m.base.outages = json::value_to<std::vector<std::string>>(b.at("outages"));
    m.base.skip_unplaceable = b.at("skip_unplaceable").as_bool();
    m.base.policy = json::value_to<std::string>(b.at("policy"));
    m.base.policy_file = json::value_to<std::string>(b.at("policy_file"));
    const json::array& axes = obj->at("axes").as_array();
    for (const json::value& a : axes) {
      const json::object& ao = a.as_object();
      m.axes.push_back({json::value_to<std::string>(ao.at("name")),
                        json::value_to<std::vector<std::string>>(ao.at("values"))});
    }
    const json::array& points = obj->at("points").as_array();
    for (const json::value& p : points) {
      const json::object& po = p.as_object();
      SweepPoint point;
      point.index = m.points.size();
      point.id = json::value_to<std::string>(po.at("id"));
      const json::object& params = po.at("params").as_object();
      for (const auto& kv : params) {
        point.params.emplace_back(std::string(kv.key()), json::value_to<std::string>(kv.value()));
      }
      m.points.push_back(std::move(point));
    }
  } catch (const std::exception& e) {
    return bad(std::string("malformed manifest: ") + e.what());
  }
  std::set<std::string> ids;
  for (const SweepPoint& p : m.points) {
    if (p.id.empty() || p.id.find_first_of("/\\.") != std::string::npos ||
        !ids.insert(p.id).second) {
      return bad("point id '" + p.id + "' is empty, repeated or not a plain name");
    }
  }
  return m;
}

Result<SweepManifest> loadManifest(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, common::readFile(path));
  return parseManifest(text, path);
}

Status writeManifest(const SweepManifest& manifest, const std::string& path) {
  std::error_code ec;
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) return invalidArgument("cannot create " + parent.string() + ": " + ec.message());
  return common::writeFileAtomically(path, manifestJson(manifest));
}

// ---- running and merging -------------------------------------------------------------

Status runPoint(const SweepManifest& m, const std::string& dir, size_t index) {
  if (index >= m.points.size()) {
    return invalidArgument("point index " + std::to_string(index) + " is outside 0.." +
                               std::to_string(m.points.size() == 0 ? 0 : m.points.size() - 1),
                           "index");
  }
  const SweepPoint& p = m.points[index];
  RunArgs args = m.base;
  Result<std::vector<broker::PolicySpec>> policies = loadPolicies(args);
  if (!policies.ok()) return policies.status();
  if (Status s = applyParams(p.params, args, *policies); !s.ok()) return s;
  Result<RunInputs> inputs = loadRunInputs(args);
  if (!inputs.ok()) return inputs.status();
  inputs->policies = std::move(*policies);
  Result<EngineOptions> options = engineOptionsFor(args, *inputs);
  if (!options.ok()) return options.status();
  Result<RunResult> run = runFederation(inputs->federation, inputs->workload, *options);
  if (!run.ok()) return run.status();
  Metrics metrics = computeMetrics(*run, inputs->federation);
  return writeOutputs({metrics}, inputs->federation, dir + "/points/" + p.id,
                      inputs->workload.source);
}

Status mergeSweep(const SweepManifest& m, const std::string& dir) {
  std::vector<std::string> missing;
  std::string header;
  std::vector<std::vector<std::string>> rows;  // summary.csv's row of each point
  for (const SweepPoint& p : m.points) {
    std::string path = dir + "/points/" + p.id + "/summary.csv";
    Result<std::string> text = common::readFile(path);
    if (!text.ok()) {
      missing.push_back(p.id);
      continue;
    }
    std::vector<std::string> lines = splitLines(*text);
    if (lines.size() != 2) return failedPrecondition(path + ": expected a header and one row");
    if (header.empty()) header = lines[0];
    if (lines[0] != header) {
      return failedPrecondition(path + ": columns differ from the first point's");
    }
    rows.push_back(splitCsv(lines[1]));
  }
  if (!missing.empty()) {
    std::string list =
        common::join(std::span(missing).first(std::min<size_t>(missing.size(), 20)), ", ");
    if (missing.size() > 20) list += ", ...";
    return failedPrecondition(std::to_string(missing.size()) + " of " +
                              std::to_string(m.points.size()) +
                              " points have no summary.csv yet: " + list);
  }
  std::vector<std::string> columns = splitCsv(header);
  // An axis named like a summary column ("policy") is that column already.
  std::vector<bool> axis_column;
  for (const SweepAxis& a : m.axes) {
    axis_column.push_back(std::find(columns.begin(), columns.end(), a.name) == columns.end());
  }
  // Points in id order (ids sort as their indices, but sort anyway: the manifest may be
  // hand-edited).
  std::vector<size_t> order(m.points.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return m.points[a].id < m.points[b].id; });

  std::string csv = "point";
  for (size_t k = 0; k < m.axes.size(); ++k) {
    if (axis_column[k]) csv += "," + m.axes[k].name;
  }
  csv += "," + header + "\n";
  std::string js = "{\n  \"format\": \"aifed-sim-sweep-results/1\",\n  \"axes\": [";
  for (size_t k = 0; k < m.axes.size(); ++k) {
    js += (k ? ", " : "") + json::serialize(json::value(m.axes[k].name));
  }
  js += "],\n  \"points\": [";
  for (size_t n = 0; n < order.size(); ++n) {
    const SweepPoint& p = m.points[order[n]];
    const std::vector<std::string>& row = rows[order[n]];
    if (row.size() != columns.size()) {
      return failedPrecondition(dir + "/points/" + p.id + "/summary.csv: row and header differ");
    }
    csv += p.id;
    for (size_t k = 0; k < p.params.size(); ++k) {
      if (k < axis_column.size() && axis_column[k]) csv += "," + p.params[k].second;
    }
    for (const std::string& cell : row) csv += "," + cell;
    csv += "\n";
    json::object params;
    for (const auto& [k, v] : p.params) params[k] = v;
    js += std::string(n ? "," : "") + "\n    {\"id\": " + json::serialize(json::value(p.id)) +
          ", \"params\": " + json::serialize(params) + ",\n     \"metrics\": {";
    for (size_t c = 0; c < columns.size(); ++c) {
      js += (c ? ", " : "") + json::serialize(json::value(columns[c])) + ": " + jsonCell(row[c]);
    }
    js += "}}";
  }
  js += order.empty() ? "]\n}\n" : "\n  ]\n}\n";
  RETURN_IF_ERROR(common::writeFileAtomically(dir + "/sweep.csv", csv));
  return common::writeFileAtomically(dir + "/sweep.json", js);
}

Status runLocal(const SweepManifest& m, const std::string& dir, const std::string& sim_binary,
                int parallel) {
  parallel = std::max(1, parallel);
  std::string manifest = absolute(dir + "/manifest.json");
  std::map<pid_t, size_t> running;
  std::vector<std::string> failed;
  size_t next = 0, done = 0;
  auto reap = [&]() {
    int status = 0;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) return;
    auto it = running.find(pid);
    if (it == running.end()) return;  // not one of ours
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok) failed.push_back(m.points[it->second].id);
    ++done;
    std::cerr << m.points[it->second].id << (ok ? " done" : " FAILED") << " (" << done << "/"
              << m.points.size() << ")\n";
    running.erase(it);
  };
  while (next < m.points.size() || !running.empty()) {
    while (next < m.points.size() && static_cast<int>(running.size()) < parallel) {
      const SweepPoint& p = m.points[next];
      std::string point_dir = dir + "/points/" + p.id;
      std::error_code ec;
      fs::create_directories(point_dir, ec);
      if (ec) return invalidArgument("cannot create " + point_dir + ": " + ec.message());
      std::string log = point_dir + "/log.txt";
      std::string index = std::to_string(next);
      std::vector<std::string> argv_s = {sim_binary, "sweep",   "run-point", "--manifest",
                                         manifest,   "--index", index};
      std::vector<char*> argv;
      for (std::string& a : argv_s) argv.push_back(a.data());
      argv.push_back(nullptr);
      posix_spawn_file_actions_t actions;
      posix_spawn_file_actions_init(&actions);
      posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                       O_WRONLY | O_CREAT | O_TRUNC, 0644);
      posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
      pid_t pid = 0;
      int rc = posix_spawn(&pid, sim_binary.c_str(), &actions, nullptr, argv.data(), environ);
      posix_spawn_file_actions_destroy(&actions);
      if (rc != 0) {
        while (!running.empty()) reap();
        return internalError("cannot run " + sim_binary + ": " + std::strerror(rc));
      }
      running[pid] = next++;
    }
    if (!running.empty()) reap();
  }
  if (!failed.empty()) {
    std::sort(failed.begin(), failed.end());
    return internalError(std::to_string(failed.size()) + " points failed (see " + dir +
                         "/points/<id>/log.txt): " + common::join(failed, ", "));
  }
  return mergeSweep(m, dir);
}

// ---- Slurm ---------------------------------------------------------------------------

Result<SlurmScripts> writeSlurmScripts(const SweepManifest& m, const std::string& dir,
                                       const SlurmScriptOptions& o) {
  if (m.points.empty()) return invalidArgument("the sweep has no points");
  std::string abs_dir = absolute(dir);
  // #SBATCH lines are not shell-parsed: a path with blanks would be cut there.
  for (const std::string& path : {abs_dir, absolute(o.script)}) {
    if (path.find_first_of(" \t\n'\"") != std::string::npos) {
      return invalidArgument("Slurm scripts need paths without blanks or quotes: '" + path + "'");
    }
  }
  std::string manifest = abs_dir + "/manifest.json";
  fs::path script = absolute(o.script);
  std::string stem = script.stem().string();
  fs::path parent = script.parent_path();
  SlurmScripts out;
  out.array_script = script.string();
  out.merge_script = (parent / (stem + "-merge.sbatch")).string();
  out.submit_script = (parent / (stem + "-submit.sh")).string();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (!ec) fs::create_directories(abs_dir + "/logs", ec);
  if (ec) return invalidArgument("cannot create directories for the scripts: " + ec.message());
  for (const std::string& opt : o.sbatch_options) {
    if (opt.find('\n') != std::string::npos) {
      return invalidArgument("sbatch option '" + opt + "' contains a line break");
    }
  }
  if (o.job_name.empty() || o.job_name.find_first_of(" \n'\"") != std::string::npos) {
    return invalidArgument("job name '" + o.job_name + "' must be one word");
  }
  std::string extra;
  for (const std::string& opt : o.sbatch_options) extra += "#SBATCH " + opt + "\n";
  std::string sim = shellQuote(absolute(o.sim_binary));
  std::string n = std::to_string(m.points.size());

  std::string array = "#!/bin/bash\n";
  array += "# Written by aifed-sim sweep: one array task per point of " + manifest + " (" + n +
           " points).\n";
  array += "#SBATCH --job-name=" + o.job_name + "\n";
  array += "#SBATCH --array=0-" + std::to_string(m.points.size() - 1) +
           (o.array_parallel > 0 ? "%" + std::to_string(o.array_parallel) : "") + "\n";
  array += "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n";
  array += "#SBATCH --output=" + abs_dir + "/logs/%A_%a.out\n";
  array += "#SBATCH --chdir=" + abs_dir + "\n";
  array += extra;
  array += "set -eu\nexec " + sim + " sweep run-point --manifest " + shellQuote(manifest) +
           " --index \"$SLURM_ARRAY_TASK_ID\"\n";

  std::string merge = "#!/bin/bash\n";
  merge += "# Written by aifed-sim sweep: merges the points of " + manifest +
           " into sweep.csv and sweep.json.\n";
  merge += "#SBATCH --job-name=" + o.job_name + "-merge\n";
  merge += "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n";
  merge += "#SBATCH --output=" + abs_dir + "/logs/merge-%j.out\n";
  merge += "#SBATCH --chdir=" + abs_dir + "\n";
  merge += extra;
  merge += "set -eu\nexec " + sim + " sweep merge --manifest " + shellQuote(manifest) + "\n";

  std::string submit = "#!/bin/sh\n";
  submit += "# Written by aifed-sim sweep: submits the job array (" + n +
            " points), then the merge step to run once every task succeeded.\n";
  submit += "set -eu\n";
  submit += "array=$(sbatch --parsable " + shellQuote(out.array_script) + ")\n";
  submit += "array=${array%%;*}\n";
  submit += "merge=$(sbatch --parsable --dependency=afterok:\"$array\" " +
            shellQuote(out.merge_script) + ")\n";
  submit += "merge=${merge%%;*}\n";
  submit += "echo \"array=$array merge=$merge\"\n";

  RETURN_IF_ERROR(common::writeFileAtomically(out.array_script, array));
  RETURN_IF_ERROR(common::writeFileAtomically(out.merge_script, merge));
  RETURN_IF_ERROR(common::writeFileAtomically(out.submit_script, submit));
  fs::permissions(out.submit_script, fs::perms::owner_exec | fs::perms::group_exec,
                  fs::perm_options::add, ec);
  return out;
}

}  // namespace aifed::sim
