// `aifed logs JOB [--stderr] [--follow] [--bytes N]`: the tail of a job's output, fetched
// through the coordinator from the agent of the site that ran it
// (GET /api/v1/jobs/{id}/output, docs/api.md). --follow asks again from where the last
// answer ended until the job has ended and its output stopped growing.
//
// The request and the error report are the caller's (commands.cpp's ApiCall), the pause
// between polls too, so a test runs it against a real server without waiting.
//
//   LogsOptions o{.job = "12", .follow = true};
//   int code = runLogs(o, get, report, std::cout, std::cerr, sleepFor);
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

#include "cli/http_client.h"
#include "protocol/clock.h"

namespace aifed::cli {

struct LogsOptions {
  std::string job{};  // "j-12" or "12"
  bool stderr_stream = false;
  bool follow = false;
  uint64_t bytes = 64 * 1024;  // the tail's size; each poll of --follow reads up to 1 MiB
  Duration interval = std::chrono::seconds(2);  // between polls of --follow
  bool json = false;                            // print each answer's JSON, one per line
};

// "12" -> "j-12"; anything else as it is.
std::string jobIdArgument(const std::string& text);

// Sends GET `target`; the outcome as HttpClient::request gives it.
using GetFn = std::function<Result<HttpResult>(const std::string& target)>;
// Reports a failed request (no answer, or an error status) and returns the exit code.
using ReportFn = std::function<int(const Result<HttpResult>&)>;

int runLogs(const LogsOptions& options, const GetFn& get, const ReportFn& report, std::ostream& out,
            std::ostream& err, const std::function<void(Duration)>& sleep);

}  // namespace aifed::cli
