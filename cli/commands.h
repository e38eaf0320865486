// The `aifed` command line: parsing (CLI11) and each subcommand's call to the
// coordinator's REST API (docs/cli.md, docs/api.md). The sbatch-shaped `submit` is in
// submit_command.h, the squeue/scancel-shaped `jobs`, `cancel` and `array` in
// jobs_command.h; the pure parts (flags, #SBATCH directives, formats) are tested
// without a server. runCli() is the whole program minus `demo`, which main() passes in
// so this library does not need the local-federation launcher.
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

#include "cli/api_call.h"
#include "cli/key_commands.h"  // writeKeyFiles, keygen
#include "cli/submit_options.h"
#include "protocol/status.h"

namespace aifed::cli {

// The whole CLI minus the demo. `demo` (may be null) runs `aifed demo ...`, receiving
// "demo" as argv[0] followed by the remaining arguments. Returns the exit code.
int runCli(int argc, char** argv, std::ostream& out, std::ostream& err,
           const std::function<int(int, char**)>& demo = nullptr);

}  // namespace aifed::cli
