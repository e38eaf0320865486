// `aifed submit`'s flags, the --time forms, and the script's #SBATCH directives read as
// a layer of the same flags.
#include <algorithm>
#include <map>

#include "cli/sbatch_script.h"
#include "cli/submit_options.h"
#include "common/strings.h"

namespace aifed::cli {
namespace {

// Non-empty decimal digits, at most 9 of them (no overflow in the arithmetic below).
std::optional<int64_t> digits(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// "H:M:S"-like fields -> numbers; nullopt when one is not digits.
std::optional<std::vector<int64_t>> fields(std::string_view text) {
  std::vector<int64_t> out;
  for (std::string_view p : common::split(text, ':')) {
    std::optional<int64_t> v = digits(p);
    if (!v) return std::nullopt;
    out.push_back(*v);
  }
  return out;
}

// sbatch options aifed does not take, and why (a directive naming one is refused with
// this reason; any other unknown option with a general one).
const std::map<std::string, std::string, std::less<>>& refusedOptions() {
  static const auto* kReasons = [] {
    auto* m = new std::map<std::string, std::string, std::less<>>;
    const std::string tasks =
        "aifed allocates whole nodes (-N) with GPUs and cores per node; start tasks with srun "
        "inside the script";
    for (const char* o : {"-n", "--ntasks", "--ntasks-per-node", "--tasks-per-node",
                          "--ntasks-per-gpu", "--ntasks-per-socket", "--ntasks-per-core"}) {
      (*m)[o] = tasks;
    }
    for (const char* o : {"--mail-type", "--mail-user"}) {
      (*m)[o] = "aifed sends no mail; follow the job with `aifed jobs` and `aifed logs -f`";
    }
    (*m)["-q"] = (*m)["--qos"] = "each site chooses the QoS for the project by its own rules";
    (*m)["-C"] = (*m)["--constraint"] =
        "ask for an accelerator model with --gres=gpu:TYPE:N or --gpus-per-node=TYPE:N";
    for (const char* o : {"-w", "--nodelist", "-x", "--exclude", "--reservation", "-F",
                          "--nodefile", "--exclusive", "--oversubscribe", "-s"}) {
      (*m)[o] = "aifed chooses the site; which nodes the job gets there is the site's choice";
    }
    for (const char* o : {"--mem-per-cpu", "--mem-per-gpu"}) {
      (*m)[o] = "give the memory per node with --mem";
    }
    for (const char* o : {"--cpus-per-gpu", "--gpus-per-task", "--gpus-per-socket"}) {
      (*m)[o] = "give cores per node with -c and GPUs per node with --gpus-per-node";
    }
    for (const char* o : {"-b", "--begin", "--deadline", "-H", "--hold"}) {
      (*m)[o] = "aifed places a job as soon as it can; use --dependency to order jobs";
    }
    for (const char* o : {"--requeue", "--no-requeue"}) {
      (*m)[o] = "aifed re-places a job whose site is lost itself (requeue_on_site_loss in --spec)";
    }
    (*m)["-M"] = (*m)["--clusters"] = "aifed picks the site: use --site or --prefer";
    for (const char* o : {"--spec", "--script", "--user", "--test-only"}) {
      (*m)[o] = "this aifed option belongs on the command line, not in the script";
    }
    return m;
  }();
  return *kReasons;
}

std::string optionName(const std::string& word) {
  if (word.rfind("--", 0) == 0) return word.substr(0, word.find('='));
  return word.substr(0, std::min<size_t>(word.size(), 2));  // "-N4" -> "-N"
}

// Parses `args` (in order) into `into` with the submit flags.
Status parseLayer(const std::vector<std::string>& args, SubmitOptions& into) {
  CLI::App app;
  app.set_help_flag();
  addSubmitFlags(app, into);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 pops from the back
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return invalidArgument(e.what());
  }
  return Status::Ok();
}

}  // namespace

Result<Duration> parseSlurmTime(std::string_view text_in, std::string_view flag) {
  std::string text(common::trim(text_in));
  std::string f(flag);
  auto bad = [&](const std::string& why) -> Status {
    return invalidArgument(
        f + ": \"" + text + "\" " + why + " (use minutes, M:S, H:M:S, D-H, D-H:M or D-H:M:S)", f);
  };
  if (text.empty()) return bad("is empty");
  int64_t days = 0, hours = 0, minutes = 0, seconds = 0;
  size_t dash = text.find('-');
  std::string_view clock = std::string_view(text).substr(dash == std::string::npos ? 0 : dash + 1);
  if (dash != std::string::npos) {
    std::optional<int64_t> d = digits(std::string_view(text).substr(0, dash));
    if (!d) return bad("has a bad day count");
    days = *d;
  }
  std::optional<std::vector<int64_t>> v = fields(clock);
  if (v && v->size() > 3) return bad("has too many fields");
  if (!v) return bad("is not a time");
  if (dash != std::string::npos) {  // D-H, D-H:M, D-H:M:S
    hours = (*v)[0];
    if (v->size() > 1) minutes = (*v)[1];
    if (v->size() > 2) seconds = (*v)[2];
    if (hours >= 24) return bad("has more than 23 hours after the day count");
  } else if (v->size() == 1) {
    minutes = (*v)[0];
  } else if (v->size() == 2) {
    minutes = (*v)[0];
    seconds = (*v)[1];
  } else {
    hours = (*v)[0];
    minutes = (*v)[1];
    seconds = (*v)[2];
    if (minutes >= 60) return bad("has minutes or seconds above 59");
  }
  if (seconds >= 60 || (dash != std::string::npos && minutes >= 60)) {
    return bad("has minutes or seconds above 59");
  }
  int64_t total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds;
  if (total <= 0) return bad("must be more than zero (aifed has no unlimited time)");
  return std::chrono::duration_cast<Duration>(std::chrono::seconds(total));
}

void addSubmitFlags(CLI::App& app, SubmitOptions& o) {
  auto last = [](CLI::Option* opt) { opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast); };
  // A repeatable flag takes one value each time, so the script after it is not taken.
  auto each = [](CLI::Option* opt) { opt->allow_extra_args(false); };
  app.add_option("--spec", o.spec_file, "job spec JSON file; flags override its fields");
  last(app.add_option("-N,--nodes", o.nodes, "number of nodes"));
  last(app.add_option("--gres", o.gres, "GPUs per node: gpu[:TYPE][:N], e.g. gpu:h100:4"));
  last(app.add_option("-G,--gpus", o.gpus,
                      "GPUs in total, [TYPE:]N; must divide evenly over the nodes"));
  last(app.add_option("--gpus-per-node", o.gpus_per_node, "GPUs per node, [TYPE:]N (h100:4 or 4)"));
  last(app.add_option("--gpu-type", o.gpu_type, "accelerator model, e.g. h100 or mi250x"));
  last(app.add_option("-p,--partition", o.partition,
                      "a federation accelerator model (h100: same as --gpu-type), else the site "
                      "partition to use"));
  last(app.add_option("-c,--cpus-per-task", o.cpus_per_task,
                      "cores per node (aifed runs one task per node; srun starts more)"));
  last(app.add_option("--mem", o.mem, "memory per node, SIZE[K|M|G|T] (default unit M; 0: all)"));
  last(app.add_option("-t,--time", o.time,
                      "time limit: minutes, M:S, H:M:S, D-H, D-H:M or D-H:M:S"));
  last(app.add_option("-A,--account,--project", o.project, "project (allocation) to charge"));
  last(app.add_option("-J,--job-name,--name", o.name, "job name (default: the script's name)"));
  last(app.add_option("--priority", o.priority, "priority within the project"));
  each(app.add_option("--site,--allowed-site", o.allowed_sites,
                      "run only at this site (repeatable, or a,b)"));
  each(app.add_option("--country,--allowed-country", o.allowed_countries,
                      "run only in this country, ISO code like SE (repeatable, or SE,FI)"));
  each(app.add_option("--prefer", o.preferred_sites, "prefer this site, if as good (repeatable)"));
  each(app.add_option("--dataset", o.datasets,
                      "input data set ID[:SIZE_GB], staged where it is not (repeatable)"));
  last(app.add_option("--script", o.script_file, "batch script file to run (no arguments)"));
  last(app.add_option("-D,--chdir,--workdir", o.workdir, "working directory at the site"));
  each(app.add_option("--env", o.env, "environment variable KEY=VALUE (repeatable)"));
  last(app.add_option("--export", o.export_vars,
                      "ALL, NONE or VAR[=value],...: variables for the job (nothing of this "
                      "machine's environment is sent unless named)"));
  last(app.add_option("-o,--output", o.stdout_name,
                      "stdout file name in the job's output directory (%j %a %A %u %x)"));
  last(app.add_option("-e,--error", o.stderr_name, "stderr file name, as -o"));
  last(app.add_option("-d,--dependency", o.dependency,
                      "afterok|afterany|afternotok:ID[:ID...][,...]: start after those jobs"));
  last(app.add_option("-a,--array", o.array,
                      "a job array: indices like 0-999, 1,3,5-7 or 0-15:4, %N runs at most N"));
  last(app.add_option("--simulated-runtime", o.simulated_runtime,
                      "simulated sites only: how long the job really runs (same forms as "
                      "--time)"));
  last(app.add_option("--user", o.user,
                      "submit for this user (admin and portal tokens only; default: the "
                      "token's user)"));
  app.add_flag("--test-only", o.test_only,
               "submit nothing: show where the job would go now, per site, and why");
}

Result<SubmitOptions> directiveOptions(std::string_view script) {
  Result<std::vector<Directive>> directives = readDirectives(script);
  if (!directives.ok()) return directives.status();
  CLI::App known;
  SubmitOptions unused;
  addSubmitFlags(known, unused);
  std::vector<std::string> all;
  for (const Directive& d : *directives) {
    std::string where = "line " + std::to_string(d.line) + ": #SBATCH " + d.text + ": ";
    for (const std::string& word : d.args) {
      if (word.empty() || word[0] != '-') continue;  // a value
      std::string name = optionName(word);
      auto refused = refusedOptions().find(name);
      if (refused != refusedOptions().end()) {
        return invalidArgument(where + name + " is not supported: " + refused->second, "script");
      }
      if (known.get_option_no_throw(name) == nullptr) {
        return invalidArgument(where + name +
                                   " is not an option aifed maps to a job (see "
                                   "`aifed submit --help`)",
                               "script");
      }
    }
    SubmitOptions line;
    Status s = parseLayer(d.args, line);
    if (s.ok()) s = checkFlagForms(line);
    if (!s.ok()) return invalidArgument(where + s.message(), "script");
    all.insert(all.end(), d.args.begin(), d.args.end());
  }
  SubmitOptions layer;
  if (Status s = parseLayer(all, layer); !s.ok()) return invalidArgument(s.message(), "script");
  return layer;
}

std::string flagForField(std::string_view field) {
  std::string_view head = field.substr(0, field.find_first_of(".["));
  static const std::map<std::string_view, std::string_view> kFlags = {
      {"nodes", "--nodes"},
      {"gpus_per_node", "--gpus-per-node"},
      {"gpu_type", "--gpu-type"},
      {"cores_per_node", "--cpus-per-task"},
      {"memory_gib_per_node", "--mem"},
      {"partition", "--partition"},
      {"walltime_s", "--time"},
      {"project", "--project"},
      {"name", "--name"},
      {"priority", "--priority"},
      {"allowed_sites", "--allowed-site"},
      {"allowed_countries", "--allowed-country"},
      {"preferred_sites", "--prefer"},
      {"datasets", "--dataset"},
      {"dependencies", "--dependency"},
      {"array", "--array"},
      {"stdout", "--output"},
      {"stderr", "--error"},
      {"script", "--script"},
      {"workdir", "--workdir"},
      {"env", "--env"},
      {"simulated_runtime_s", "--simulated-runtime"},
  };
  auto it = kFlags.find(head);
  return std::string(it == kFlags.end() ? field : it->second);
}

}  // namespace aifed::cli
