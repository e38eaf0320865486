// The `aifed` command line: parsing (CLI11), the sbatch-like submit flags, and each
// subcommand's call to the coordinator's REST API (docs/cli.md, docs/api.md).
//
// The pure parts (time flags, building a job spec from flags) are separate functions so
// tests check them without a server; runCli() is the whole program minus `demo`, which
// main() passes in so this library does not need the local-federation launcher.
//
//   int code = runCli(argc, argv, std::cout, std::cerr, &runDemo);
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/clock.h"
#include "protocol/status.h"

namespace aifed::cli {

// Process exit codes of `aifed`.
enum ExitCode : int {
  kExitOk = 0,
  kExitRefused = 1,      // the server answered 4xx (not 401/403): the request was wrong
  kExitUsage = 2,        // bad flags, files or configuration, nothing was sent
  kExitUnavailable = 3,  // no answer, or the server answered 5xx: retrying may help
  kExitDenied = 4,       // 401 (no or bad token) or 403 (the token's role may not do this)
};

// sbatch's --time forms: "M" (minutes), "M:S", "H:M:S", "D-H", "D-H:M", "D-H:M:S".
// Must be positive. `flag` names the option in the error ("--time").
Result<Duration> parseSlurmTime(std::string_view text, std::string_view flag = "--time");

// `aifed submit` flags; unset optionals leave the spec (file or default) as it is.
struct SubmitOptions {
  std::string spec_file;  // --spec FILE.json: the base spec, flags override its fields
  std::optional<int> nodes;
  std::optional<int> gpus_per_node;
  std::optional<std::string> gpu_type;
  std::optional<std::string> time;
  std::optional<std::string> project;
  std::optional<std::string> name;
  std::optional<int> priority;
  std::vector<std::string> allowed_sites;      // repeatable, each may be "a,b"
  std::vector<std::string> allowed_countries;  // repeatable, each may be "SE,FI"
  std::optional<std::string> script_file;
  std::optional<std::string> workdir;
  std::vector<std::string> env;  // "KEY=VALUE"
  std::optional<std::string> simulated_runtime;
  std::string user;  // defaults to $USER when empty
};

// The request body of POST /api/v1/jobs: the --spec file's object (or a default spec)
// with the flags applied, then checked as the server will check it, so a bad flag is a
// usage error naming the flag ("--nodes: must be at least 1"). Reads the spec and
// script files.
Result<boost::json::object> buildSubmitBody(const SubmitOptions& options);

// The flag that sets a JobSpec JSON field ("walltime_s" -> "--time"), or the field itself.
std::string flagForField(std::string_view field);

// `aifed keygen --out PREFIX`: writes PREFIX.key (public + secret, mode 0600) and
// PREFIX.pub, creating PREFIX's directory. kAlreadyExists if either file exists and not
// `force`. Returns the public key.
Result<std::string> writeKeyFiles(const std::string& prefix, bool force);

// The whole CLI minus the demo. `demo` (may be null) runs `aifed demo ...`, receiving
// "demo" as argv[0] followed by the remaining arguments. Returns the exit code.
int runCli(int argc, char** argv, std::ostream& out, std::ostream& err,
           const std::function<int(int, char**)>& demo = nullptr);

}  // namespace aifed::cli
