// SWF: the Standard Workload Format of the Parallel Workloads Archive
// (https://www.cs.huji.ac.il/labs/parallel/workload/swf.html), plain or gzip-compressed.
//
// One job per line, 18 whitespace-separated numeric fields; -1 means "unknown". Header
// lines start with ';' and carry "Key: value" pairs (MaxProcs, MaxNodes, UnixStartTime,
// ...). Real traces have quirks this reader accepts: the first job number is not 1,
// numbers may be written as floats ("3600.0"), runtimes may be -1, blank lines and
// comment lines may appear anywhere, lines may end in CR LF. A line with fewer or more
// than 18 fields, or a field that is not a number, is an error naming file and line.
//
//   Result<SwfTrace> trace = readSwfFile("NASA-iPSC-1993-3.1-cln.swf");   // or .swf.gz
//   if (!trace.ok()) die(trace.status().toString());   // "...swf:42: expected 18 fields, got 7"
//   int size = trace->maxProcs().value_or(128);
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/status.h"

namespace aifed::sim {

// The 18 SWF fields, in file order. Times in seconds (floats are kept as written,
// fractional seconds included). Every field may be -1 (unknown).
struct SwfJob {
  int64_t job_number = -1;          // 1
  double submit_time = -1;          // 2  seconds from the trace's start
  double wait_time = -1;            // 3
  double run_time = -1;             // 4
  int64_t allocated_procs = -1;     // 5
  double avg_cpu_time = -1;         // 6
  double used_memory_kb = -1;       // 7
  int64_t requested_procs = -1;     // 8
  double requested_time = -1;       // 9
  double requested_memory_kb = -1;  // 10
  int64_t status = -1;              // 11 1 completed, 0 failed, 5 cancelled, ...
  int64_t user_id = -1;             // 12
  int64_t group_id = -1;            // 13
  int64_t executable = -1;          // 14
  int64_t queue = -1;               // 15
  int64_t partition = -1;           // 16
  int64_t preceding_job = -1;       // 17
  double think_time = -1;           // 18
  int line = 0;                     // line number in the file (1-based)
};

struct SwfTrace {
  std::string source;                         // file name, for messages
  std::map<std::string, std::string> header;  // "MaxProcs" -> "128", in key order
  std::vector<SwfJob> jobs;                   // in file order

  std::optional<int64_t> headerInt(std::string_view key) const;
  std::optional<int64_t> maxProcs() const { return headerInt("MaxProcs"); }
  std::optional<int64_t> maxNodes() const { return headerInt("MaxNodes"); }
};

// Parses SWF text. `source` names the input in error messages.
Result<SwfTrace> parseSwf(std::string_view text, std::string_view source);
// Reads a file; a name ending in ".gz" (or gzip magic bytes) is decompressed with zlib.
// kNotFound if it cannot be opened; kInvalidArgument for a malformed line or a corrupt
// gzip stream.
Result<SwfTrace> readSwfFile(const std::string& path);
// Reads a whole file (gunzipping when compressed) into memory.
Result<std::string> readMaybeGzipFile(const std::string& path);

}  // namespace aifed::sim
