// The values of sbatch's flags as aifed reads them: --gres, --gpus, --mem, --array,
// --dependency, --export, -o/-e and aifed's --dataset (docs/cli.md, "sbatch and aifed").
// Pure functions of their text: each error is kInvalidArgument naming the flag, so a
// mistake is reported before anything is sent.
//
//   Result<GpuRequest> g = parseGres("gpu:h100:4");          // {"h100", 4}
//   Result<int> gib = parseMemGiB("500G", "--mem");           // 500
//   Result<ArrayRequest> a = parseArray("0-999%50");          // {"0-999", 50, 1000 tasks}
//   Result<boost::json::array> d = parseDependency("afterok:12:13");
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "cli/config.h"
#include "protocol/status.h"

namespace aifed::cli {

// An accelerator request: the model ("" = any) and a count.
struct GpuRequest {
  std::string type;  // lower-case
  int count = 0;
};

// --gres=gpu[:TYPE][:N] (N defaults to 1, as in Slurm). Only the "gpu" resource exists
// in aifed; any other (nvme, shard, a comma list) is refused.
Result<GpuRequest> parseGres(std::string_view text);

// --gpus=[TYPE:]N and --gpus-per-node=[TYPE:]N; `flag` names the option in errors.
Result<GpuRequest> parseGpuCount(std::string_view text, std::string_view flag);

// --mem=SIZE[K|M|G|T] (Slurm's default unit is M) per node, rounded up to whole GiB.
// 0 keeps Slurm's meaning: all the node's memory (the spec's 0).
Result<int> parseMemGiB(std::string_view text, std::string_view flag);

// --array=INDICES[%MAX]: INDICES is Slurm's list of N, A-B and A-B:STEP items separated
// by commas; at most 10000 tasks (the server's limit), indices 0..9999999.
struct ArrayRequest {
  std::string indices;  // as given, without the %MAX
  int max_running = 0;  // 0: unthrottled
  int tasks = 0;        // how many distinct indices the list names
};
Result<ArrayRequest> parseArray(std::string_view text);

// --dependency=TYPE:ID[:ID...][,TYPE:ID...]: the spec's "dependencies", each
// {"job": "j-N", "condition": TYPE}. TYPE is afterok, afterany or afternotok; ids with or
// without "j-". Slurm's after, aftercorr, singleton, "?" (any of) and "+time" are refused
// with the reason.
Result<boost::json::array> parseDependency(std::string_view text);

// --export=ALL|NONE|[ALL,|NONE,]VAR[=value],...: the variables to set in the job's
// environment. ALL and NONE send nothing of the local environment (a remote site is not
// this machine); VAR without a value copies this machine's value, which must be set.
Result<boost::json::object> parseExport(std::string_view text, const EnvLookup& env);

// --dataset ID[:SIZE_GB] -> {"id": ID, "size_gb": SIZE}.
Result<boost::json::object> parseDataset(std::string_view text);

// -o/-e NAME: a file name in the job's output directory at its site, with sbatch's %j
// %a %A %u %x (and %%). Absolute paths, "..", other % codes and empty names are refused.
Status checkOutputName(std::string_view text, std::string_view flag);

// "12" or "j-12" -> "j-12"; anything else is refused naming `flag`.
Result<std::string> normalizeJobId(std::string_view text, std::string_view flag);
// "3" or "a-3" -> "a-3".
Result<std::string> normalizeArrayId(std::string_view text, std::string_view flag);

// "a,b" "c" -> ["a", "b", "c"]; blanks dropped; upper-cased when `upper`.
boost::json::array listFlag(const std::vector<std::string>& values, bool upper);

std::string lowerCase(std::string_view s);

}  // namespace aifed::cli
