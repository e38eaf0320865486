// `aifed jobs` output, shaped like squeue: a --format string of %-codes (a subset of
// squeue's, docs/cli.md "aifed jobs") rendered over GET /api/v1/jobs, and the mapping of
// squeue's states and sort keys to the server's.
//
//   Result<JobFormat> f = parseJobFormat("%.8i %j %u %T %M %P %R");
//   std::cout << renderJobs(body, *f);
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/status.h"

namespace aifed::cli {

// The columns `aifed jobs` prints without --format.
inline constexpr std::string_view kDefaultJobFormat =
    "%i  %u  %j  %T  %P  %D  %b  %M  %l  %a  %V  %R";

struct JobFormat {
  struct Item {
    char code = 0;       // 0: literal text
    std::string text;    // the literal
    int width = -1;      // -1: as wide as the widest cell
    bool right = false;  // "%.8i": right-justified
  };
  std::vector<Item> items;
};

// "%[.][WIDTH]CODE" items and literal text; "%%" is a '%'. Codes: i id, j name, u user,
// T state, t compact state (PD R CD F CA TO NF LO), M elapsed, l time limit, P site,
// R reason, D nodes, b GPUs per node (4xh100), a project, V submitted, S started,
// e ended, Q priority, F array id, K array index. Unknown codes are refused by name.
Result<JobFormat> parseJobFormat(std::string_view text);

// A header line (ID, NAME, ...) and a line per job of GET /api/v1/jobs, then
// "N jobs shown of TOTAL".
std::string renderJobs(const boost::json::value& body, const JobFormat& format);

// -t/--state: a comma list of aifed states (any case) and squeue's compact codes (PD:
// queued, dispatched and pending; R running; CD, F, CA, TO, NF) -> the server's list.
Result<std::string> jobStatesParam(std::string_view text);

// --sort: one key, aifed's (submitted, id, state, site, user, project, elapsed) or
// squeue's letter (V, i, t/T, P, u, a, M), '-' first for descending -> the server's.
Result<std::string> jobSortParam(std::string_view text);

}  // namespace aifed::cli
