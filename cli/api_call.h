// One subcommand's conversation with the coordinator's REST API: sends a request and
// prints the outcome, a table on success (or the JSON as it is, with --json) and the
// server's error with the exit code it means (commands.h, ExitCode).
//
//   ApiCall api(config, client_options, json_output, std::cout, std::cerr);
//   return api.run("GET", "/api/v1/sites", "", renderSiteList);
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>

#include "cli/config.h"
#include "cli/http_client.h"

namespace aifed::cli {

// Process exit codes of `aifed`.
enum ExitCode : int {
  kExitOk = 0,
  kExitRefused = 1,      // the server answered 4xx (not 401/403): the request was wrong
  kExitUsage = 2,        // bad flags, files or configuration, nothing was sent
  kExitUnavailable = 3,  // no answer, or the server answered 5xx: retrying may help
  kExitDenied = 4,       // 401 (no or bad token) or 403 (the token's role may not do this)
};

// For a query string or a path segment: everything but [A-Za-z0-9-_.~] as %XX.
std::string percentEncode(std::string_view s);

class ApiCall {
 public:
  ApiCall(const ClientConfig& config, HttpClientOptions options, bool json_output,
          std::ostream& out, std::ostream& err);

  // Sends the request; on 2xx prints the body as-is (--json) or through `render`.
  int run(const std::string& method, const std::string& target, const std::string& body,
          const std::function<std::string(const boost::json::value&)>& render);

  // Sends the request and returns the answer without printing anything.
  Result<HttpResult> send(const std::string& method, const std::string& target,
                          const std::string& body) {
    return client_.request(method, target, body);
  }
  Result<HttpResult> get(const std::string& target) { return send("GET", target, ""); }

  // Reports a request that got no answer or an error answer; the exit code.
  int report(const Result<HttpResult>& r);

  // An error's field is printed with the flag that sets it ("field: gpus_per_node (set
  // it with --gpus-per-node)") when this maps it to one.
  void setFieldHint(std::function<std::string(std::string_view)> hint) {
    field_hint_ = std::move(hint);
  }
  bool jsonOutput() const { return json_; }

 private:
  int reportError(const HttpResult& r);

  HttpClient client_;
  bool has_token_;
  std::string token_source_;
  bool json_;
  std::ostream& out_;
  std::ostream& err_;
  std::function<std::string(std::string_view)> field_hint_;
};

}  // namespace aifed::cli
