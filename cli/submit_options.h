// `aifed submit`'s flags (sbatch's where there is one) and the request they make: the
// job spec of POST /api/v1/jobs (plus "array"), from a --spec file or defaults, then the
// script's #SBATCH directives, then the command line, which overrides them
// (docs/cli.md, "Submitting").
//
//   SubmitOptions o;                       // filled by CLI11 through addSubmitFlags()
//   o.script_and_args = {"train.sh", "--lr", "3e-4"};
//   Result<SubmitRequest> r = buildSubmitRequest(o, context);
//   if (r.ok()) post(r->body);             // r->array is set for --array
//
// The pure parts take their environment and the federation's accelerator models from
// the context, so tests check them without a server.
#pragma once

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/config.h"
#include "cli/sbatch_flags.h"
#include "protocol/clock.h"
#include "protocol/status.h"

namespace aifed::cli {

// sbatch's --time forms: "M" (minutes), "M:S", "H:M:S", "D-H", "D-H:M", "D-H:M:S".
// Must be positive. `flag` names the option in the error ("--time").
Result<Duration> parseSlurmTime(std::string_view text, std::string_view flag = "--time");

// One layer of submit flags (the command line, or a script's directives); unset
// optionals and empty lists say nothing.
struct SubmitOptions {
  std::string spec_file;  // --spec FILE.json: the base spec, flags override its fields
  std::optional<int> nodes;
  std::optional<std::string> gres;           // gpu[:TYPE][:N] per node
  std::optional<std::string> gpus;           // [TYPE:]N in total
  std::optional<std::string> gpus_per_node;  // [TYPE:]N
  std::optional<std::string> gpu_type;
  std::optional<std::string> partition;  // a site partition, or an accelerator model
  std::optional<int> cpus_per_task;      // cores per node (one task per node)
  std::optional<std::string> mem;        // per node, SIZE[K|M|G|T]
  std::optional<std::string> time;
  std::optional<std::string> project;
  std::optional<std::string> name;
  std::optional<int> priority;
  std::vector<std::string> allowed_sites;      // repeatable, each may be "a,b"
  std::vector<std::string> allowed_countries;  // repeatable, each may be "SE,FI"
  std::vector<std::string> preferred_sites;    // --prefer
  std::vector<std::string> datasets;           // ID[:SIZE_GB]
  std::optional<std::string> script_file;      // --script FILE (no arguments)
  std::vector<std::string> script_and_args;    // the positional SCRIPT [ARGS...]
  std::optional<std::string> workdir;
  std::vector<std::string> env;  // "KEY=VALUE"
  std::optional<std::string> export_vars;
  std::optional<std::string> stdout_name;
  std::optional<std::string> stderr_name;
  std::optional<std::string> dependency;
  std::optional<std::string> array;
  std::optional<std::string> simulated_runtime;
  bool test_only = false;
  std::string user;  // empty: none sent, the token's user owns the job
};

// Registers every flag of SubmitOptions on `app` (not the positional SCRIPT: the caller
// adds it, as `submit` does with prefix_command()). Scalars given twice keep the last,
// as sbatch does.
void addSubmitFlags(CLI::App& app, SubmitOptions& options);

// What buildSubmitRequest needs from outside.
struct SubmitContext {
  EnvLookup env;  // for --export=VAR without a value
  // The federation's accelerator models (lower-case), asked only when -p was given: a
  // -p naming one of them asks for that accelerator, any other names a site partition.
  std::function<Result<std::vector<std::string>>()> accelerator_models;
};

struct SubmitRequest {
  boost::json::object body;           // POST /api/v1/jobs (with "array" for --array)
  std::optional<ArrayRequest> array;  // also in body["array"]
  bool test_only = false;             // POST /api/v1/jobs/plan instead (without "array")
  std::vector<std::string> notes;     // what the CLI decided for the user ("-p h100: ...")
};

// The request: the --spec file (or a default spec), the script's directives, then the
// command line; checked as the server checks a spec, so a bad flag or directive is a
// usage error naming it ("line 4: #SBATCH --mail-type=END: ...", "--nodes: must be at
// least 1"). Reads the spec and script files.
Result<SubmitRequest> buildSubmitRequest(const SubmitOptions& command_line,
                                         const SubmitContext& context);

// buildSubmitRequest's body with this process's environment and no accelerator models
// (a -p value is then a partition).
Result<boost::json::object> buildSubmitBody(const SubmitOptions& options);

// The script's directives as a layer of options: kInvalidArgument naming the line and
// the directive for one aifed does not map (with why) or cannot parse.
Result<SubmitOptions> directiveOptions(std::string_view script);

// Checks the values of one layer's flags that have forms of their own (--gres, --mem,
// --array, ...) without building a spec: for a directive, so its error names its line.
Status checkFlagForms(const SubmitOptions& layer);

// The flag that sets a JobSpec JSON field ("walltime_s" -> "--time"), or the field itself.
std::string flagForField(std::string_view field);

}  // namespace aifed::cli
