// buildSubmitRequest: --spec file or defaults, then the script's directives, then the
// command line, into the body of POST /api/v1/jobs.
#include <algorithm>
#include <filesystem>

#include "cli/sbatch_script.h"
#include "cli/submit_options.h"
#include "common/files.h"
#include "common/strings.h"
#include "protocol/codec.h"

namespace aifed::cli {
namespace json = boost::json;
namespace {

// A file named by a flag; a usage error naming the flag when it cannot be read.
Result<std::string> readFlagFile(const std::string& path, const std::string& flag) {
  Result<std::string> text = common::readFile(path);
  if (!text.ok()) return invalidArgument(flag + ": " + text.status().message(), flag);
  return text;
}

// The GPU request of one layer: a count (per node or in total) and a model, each from
// whichever of --gres, --gpus, --gpus-per-node, --gpu-type gave it.
struct GpuLayer {
  std::optional<int> per_node;
  std::optional<int> total;
  std::string count_flag;
  std::optional<std::string> type;
  std::string type_flag;
};

Result<GpuLayer> gpuLayer(const SubmitOptions& o) {
  GpuLayer g;
  auto count = [&](const std::optional<std::string>& text, const char* flag, bool total) -> Status {
    if (!text) return Status::Ok();
    Result<GpuRequest> r =
        std::string(flag) == "--gres" ? parseGres(*text) : parseGpuCount(*text, flag);
    if (!r.ok()) return r.status();
    if (!g.count_flag.empty()) {
      return invalidArgument(g.count_flag + " and " + flag + " both ask for GPUs; give one", flag);
    }
    g.count_flag = flag;
    (total ? g.total : g.per_node) = r->count;
    if (!r->type.empty()) {
      g.type = r->type;
      g.type_flag = flag;
    }
    return Status::Ok();
  };
  if (Status s = count(o.gres, "--gres", false); !s.ok()) return s;
  if (Status s = count(o.gpus, "--gpus", true); !s.ok()) return s;
  if (Status s = count(o.gpus_per_node, "--gpus-per-node", false); !s.ok()) return s;
  if (o.gpu_type) {
    std::string type = lowerCase(*o.gpu_type);
    if (g.type && *g.type != type) {
      return invalidArgument(
          "--gpu-type " + type + " contradicts " + g.type_flag + " (" + *g.type + ")",
          "--gpu-type");
    }
    g.type = type;
    g.type_flag = "--gpu-type";
  }
  return g;
}

// `base` with every setting of `over` on top (lists as a whole; GPUs are merged apart).
SubmitOptions overlay(SubmitOptions base, const SubmitOptions& over) {
  auto take = [](auto& into, const auto& from) {
    if (from) into = from;
  };
  auto list = [](std::vector<std::string>& into, const std::vector<std::string>& from) {
    if (!from.empty()) into = from;
  };
  take(base.nodes, over.nodes);
  take(base.partition, over.partition);
  take(base.cpus_per_task, over.cpus_per_task);
  take(base.mem, over.mem);
  take(base.time, over.time);
  take(base.project, over.project);
  take(base.name, over.name);
  take(base.priority, over.priority);
  list(base.allowed_sites, over.allowed_sites);
  list(base.allowed_countries, over.allowed_countries);
  list(base.preferred_sites, over.preferred_sites);
  list(base.datasets, over.datasets);
  take(base.workdir, over.workdir);
  list(base.env, over.env);
  take(base.export_vars, over.export_vars);
  take(base.stdout_name, over.stdout_name);
  take(base.stderr_name, over.stderr_name);
  take(base.dependency, over.dependency);
  take(base.array, over.array);
  take(base.simulated_runtime, over.simulated_runtime);
  return base;
}

Result<json::object> baseSpec(const SubmitOptions& o) {
  if (o.spec_file.empty()) {
    json::object body = toJson(JobSpec{});
    body.erase("walltime_s");  // no default time: the user must say, as --time
    return body;
  }
  Result<std::string> text = readFlagFile(o.spec_file, "--spec");
  if (!text.ok()) return text.status();
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec)
    return invalidArgument("--spec: " + o.spec_file + " is not JSON: " + ec.message(), "--spec");
  if (!v.is_object()) {
    return invalidArgument("--spec: " + o.spec_file + " must hold a JSON object (a job spec)",
                           "--spec");
  }
  return std::move(v.as_object());
}

// Reads the script (positional or --script), its directives and its arguments.
struct Script {
  std::string path;
  std::string text;  // with the arguments' `set --` line
  SubmitOptions directives;
};
Result<std::optional<Script>> readScript(const SubmitOptions& o) {
  if (o.script_file && !o.script_and_args.empty()) {
    return invalidArgument(
        "--script " + *o.script_file + " and the script " + o.script_and_args[0] + ": give one",
        "--script");
  }
  if (!o.script_file && o.script_and_args.empty()) return std::optional<Script>();
  Script s;
  s.path = o.script_file ? *o.script_file : o.script_and_args[0];
  Result<std::string> text = readFlagFile(s.path, o.script_file ? "--script" : "script");
  if (!text.ok()) return text.status();
  Result<SubmitOptions> directives = directiveOptions(*text);
  if (!directives.ok()) {
    return invalidArgument(s.path + ": " + directives.status().message(), "script");
  }
  s.directives = std::move(*directives);
  std::vector<std::string> args;
  if (!o.script_and_args.empty())
    args.assign(o.script_and_args.begin() + 1, o.script_and_args.end());
  Result<std::string> with_args = withArguments(*text, args);
  if (!with_args.ok())
    return invalidArgument(s.path + ": " + with_args.status().message(), "script");
  s.text = std::move(*with_args);
  return std::optional<Script>(std::move(s));
}

// Sets the GPU fields from the command line's layer over the script's, and -p.
Status applyGpus(const GpuLayer& cmd, const GpuLayer& script, const SubmitOptions& merged,
                 const SubmitContext& ctx, json::object& body, SubmitRequest& request) {
  const GpuLayer& counted = cmd.count_flag.empty() ? script : cmd;
  std::optional<std::string> type = cmd.type ? cmd.type : script.type;
  std::string type_flag = cmd.type ? cmd.type_flag : script.type_flag;
  if (merged.partition) {
    std::string p = lowerCase(*merged.partition);
    std::vector<std::string> models;
    if (ctx.accelerator_models) {
      Result<std::vector<std::string>> m = ctx.accelerator_models();
      if (m.ok()) models = std::move(*m);
    }
    if (std::find(models.begin(), models.end(), p) != models.end()) {
      if (type && *type != p) {
        return invalidArgument(
            "-p " + p + " names an accelerator model, but " + type_flag + " asks for " + *type,
            "--partition");
      }
      type = p;
      request.notes.push_back("-p " + p +
                              ": an accelerator model of the federation, so the job "
                              "asks for " +
                              p + " GPUs (the site picks the partition)");
    } else {
      body["partition"] = *merged.partition;
    }
  }
  if (counted.total) {
    const json::value* n = body.if_contains("nodes");
    int64_t nodes = n && n->is_int64() ? n->as_int64() : 1;
    if (nodes < 1 || *counted.total % nodes != 0) {
      return invalidArgument("--gpus " + std::to_string(*counted.total) + " is not divisible by " +
                                 std::to_string(nodes) +
                                 " nodes: every node gets the same number of GPUs (use "
                                 "--gpus-per-node)",
                             "--gpus");
    }
    body["gpus_per_node"] = *counted.total / nodes;
  } else if (counted.per_node) {
    body["gpus_per_node"] = *counted.per_node;
  }
  if (type) body["gpu_type"] = *type;
  return Status::Ok();
}

// --export, then --env (which wins for the same name), over the spec file's env.
Status applyEnv(const SubmitOptions& o, const SubmitContext& ctx, json::object& body) {
  json::object env;
  if (auto* e = body.if_contains("env"); e && e->is_object()) env = e->as_object();
  if (o.export_vars) {
    Result<json::object> vars = parseExport(*o.export_vars, ctx.env);
    if (!vars.ok()) return vars.status();
    for (auto& kv : *vars) env[kv.key()] = kv.value();
  }
  for (const std::string& kv : o.env) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return invalidArgument("--env: \"" + kv + "\" must look like KEY=VALUE", "--env");
    }
    env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (o.export_vars || !o.env.empty()) body["env"] = std::move(env);
  return Status::Ok();
}

// Every flag whose value is text with a form of its own.
Status applyForms(const SubmitOptions& o, const SubmitContext& ctx, json::object& body,
                  SubmitRequest& request) {
  auto seconds = [](Duration d) {
    return std::chrono::duration_cast<std::chrono::seconds>(d).count();
  };
  if (o.time) {
    Result<Duration> t = parseSlurmTime(*o.time, "--time");
    if (!t.ok()) return t.status();
    body["walltime_s"] = seconds(*t);
  }
  if (o.simulated_runtime) {
    Result<Duration> t = parseSlurmTime(*o.simulated_runtime, "--simulated-runtime");
    if (!t.ok()) return t.status();
    body["simulated_runtime_s"] = seconds(*t);
  }
  if (o.mem) {
    Result<int> gib = parseMemGiB(*o.mem, "--mem");
    if (!gib.ok()) return gib.status();
    body["memory_gib_per_node"] = *gib;
  }
  if (!o.datasets.empty()) {
    json::array list;
    for (const std::string& d : o.datasets) {
      Result<json::object> one = parseDataset(d);
      if (!one.ok()) return one.status();
      list.push_back(std::move(*one));
    }
    body["datasets"] = std::move(list);
  }
  for (auto [name, flag, key] : {std::tuple{&o.stdout_name, "--output", "stdout"},
                                 std::tuple{&o.stderr_name, "--error", "stderr"}}) {
    if (!*name) continue;
    if (Status s = checkOutputName(**name, flag); !s.ok()) return s;
    body[key] = **name;
  }
  if (o.dependency) {
    Result<json::array> deps = parseDependency(*o.dependency);
    if (!deps.ok()) return deps.status();
    body["dependencies"] = std::move(*deps);
  }
  if (o.array) {
    Result<ArrayRequest> a = parseArray(*o.array);
    if (!a.ok()) return a.status();
    request.array = *a;
    body["array"] = json::object{{"indices", a->indices}, {"max_running", a->max_running}};
  }
  return applyEnv(o, ctx, body);
}

// The plain fields: numbers and names as given.
void applyPlain(const SubmitOptions& o, json::object& body) {
  if (o.nodes) body["nodes"] = *o.nodes;
  if (o.cpus_per_task) body["cores_per_node"] = *o.cpus_per_task;
  if (o.project) body["project"] = *o.project;
  if (o.name) body["name"] = *o.name;
  if (o.priority) body["priority"] = *o.priority;
  if (!o.allowed_sites.empty()) body["allowed_sites"] = listFlag(o.allowed_sites, false);
  if (!o.allowed_countries.empty()) body["allowed_countries"] = listFlag(o.allowed_countries, true);
  if (!o.preferred_sites.empty()) body["preferred_sites"] = listFlag(o.preferred_sites, false);
  if (o.workdir) body["workdir"] = *o.workdir;
}

// Checks the spec as the server will, so a mistake is reported before anything is sent.
Status checkSpec(const json::object& body) {
  Result<JobSpec> spec = jobSpecFromJson(body);
  if (spec.ok()) return Status::Ok();
  const Status& s = spec.status();
  std::string field = s.field();
  std::string flag = field.empty() ? "" : flagForField(field);
  std::string hint = flag.empty() || flag == field ? "" : " (set it with " + flag + ")";
  if (field == "walltime_s" && !body.contains("walltime_s")) {
    return invalidArgument("the job needs a time limit: pass --time (e.g. --time 2:00:00)",
                           "--time");
  }
  if (field == "gpu_type" && s.message().find("gpus_per_node is 0") != std::string::npos) {
    return invalidArgument("invalid job: " + s.message() +
                               " (say how many per node with --gpus-per-node N, "
                               "--gres=gpu:TYPE:N or --gpus N)",
                           "--gpus-per-node");
  }
  return invalidArgument("invalid job: " + s.message() + hint, flag.empty() ? field : flag);
}

}  // namespace

Status checkFlagForms(const SubmitOptions& layer) {
  Result<GpuLayer> gpus = gpuLayer(layer);
  if (!gpus.ok()) return gpus.status();
  SubmitOptions forms = layer;
  forms.export_vars.reset();  // its VAR without a value needs the environment
  json::object scratch;
  SubmitRequest unused;
  return applyForms(forms, SubmitContext{}, scratch, unused);
}

Result<SubmitRequest> buildSubmitRequest(const SubmitOptions& cmd, const SubmitContext& ctx) {
  SubmitRequest request;
  request.test_only = cmd.test_only;
  Result<json::object> base = baseSpec(cmd);
  if (!base.ok()) return base.status();
  json::object& body = *base;
  // The owner is decided by the coordinator; a user is sent only when asked for (--user,
  // or the spec file's), which only admin and portal tokens may name (docs/security.md).
  if (!cmd.user.empty()) body["user"] = cmd.user;

  Result<std::optional<Script>> script = readScript(cmd);
  if (!script.ok()) return script.status();
  SubmitOptions directives = *script ? (*script)->directives : SubmitOptions{};
  Result<GpuLayer> cmd_gpus = gpuLayer(cmd);
  if (!cmd_gpus.ok()) return cmd_gpus.status();
  Result<GpuLayer> script_gpus = gpuLayer(directives);
  if (!script_gpus.ok())
    return invalidArgument((*script)->path + ": " + script_gpus.status().message(), "script");
  SubmitOptions merged = overlay(directives, cmd);

  applyPlain(merged, body);
  if (Status s = applyGpus(*cmd_gpus, *script_gpus, merged, ctx, body, request); !s.ok()) return s;
  if (Status s = applyForms(merged, ctx, body, request); !s.ok()) return s;
  if (*script) {
    body["script"] = (*script)->text;
    std::string base_name = std::filesystem::path((*script)->path).filename().string();
    auto* name = body.if_contains("name");
    if (!merged.name && (!name || !name->is_string() || name->get_string().empty())) {
      body["name"] = base_name;  // sbatch's default job name
    }
  }
  if (Status s = checkSpec(body); !s.ok()) return s;
  request.body = std::move(body);
  return request;
}

Result<json::object> buildSubmitBody(const SubmitOptions& options) {
  SubmitContext ctx;
  ctx.env = processEnvironment();
  Result<SubmitRequest> r = buildSubmitRequest(options, ctx);
  if (!r.ok()) return r.status();
  return std::move(r->body);
}

}  // namespace aifed::cli
