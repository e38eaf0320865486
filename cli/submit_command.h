// `aifed submit [flags] [SCRIPT [ARGS...]]`, shaped like sbatch: registration of the
// subcommand and its run against the REST API (POST /api/v1/jobs, or with --test-only
// POST /api/v1/jobs/plan), and the renderings of their answers (docs/cli.md).
//
//   SubmitOptions options;
//   CLI::App* submit = addSubmitCommand(app, options);
//   ... app.parse(argc, argv) ...
//   if (submit->parsed()) return runSubmit(*submit, options, api, out, err);
#pragma once

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <iosfwd>
#include <string>

#include "cli/api_call.h"
#include "cli/submit_options.h"

namespace aifed::cli {

// Adds `submit` to `app`: every flag before the first positional is a flag, the first
// positional is the script and the rest are its arguments (as sbatch takes them).
CLI::App* addSubmitCommand(CLI::App& app, SubmitOptions& options);

int runSubmit(CLI::App& submit, SubmitOptions& options, ApiCall& api, std::ostream& out,
              std::ostream& err);

// POST /api/v1/jobs: "Submitted job j-12: dispatched at mimer" and why, or for an array
// "Submitted array a-3: 1000 tasks j-40 .. j-1039, at most 50 running at once".
std::string renderSubmitted(const boost::json::value& answer);

// POST /api/v1/jobs/plan: what would happen, the tie-break and a row per site (FITS,
// START, SCORE, WHY NOT).
std::string renderPlan(const boost::json::value& plan);

}  // namespace aifed::cli
