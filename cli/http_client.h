// A small synchronous HTTP/1.1 client for the coordinator's REST API (plain http://).
// It keeps one keep-alive connection and reuses it; a connection the server has since
// closed is re-opened transparently. Every request has a deadline.
//
//   HttpClient client("http://127.0.0.1:7780", std::chrono::seconds(10));
//   Result<HttpResult> r = client.request("GET", "/api/v1/sites", "");
//   if (!r.ok()) ...            // kUnavailable: refused, timed out, reset (names the URL)
//   if (r->status == 200) use(r->body);
//
// Not thread-safe: one client per thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "protocol/status.h"

namespace aifed::cli {

struct HttpResult {
  int status;
  std::string body;
};

// The contract's options (TLS adds certificate verification fields).
struct HttpClientOptions {
  std::chrono::milliseconds timeout{30000};
  std::string bearer_token;  // sent as "Authorization: Bearer <token>" when not empty
};

class HttpClient {
 public:
  HttpClient(std::string base_url, HttpClientOptions options);
  // `base_url` is "http://host:port" with an optional path prefix ("http://h:80/aifed").
  // A malformed URL is reported by every request() as kInvalidArgument.
  HttpClient(std::string base_url, std::chrono::milliseconds timeout);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `method target` (target "/api/v1/jobs?state=running") with `body` as JSON when
  // it is not empty. Any HTTP status is a successful Result; kUnavailable means no answer
  // (connection refused, reset, or nothing within the timeout), kInvalidArgument a bad URL
  // or method. A request on a reused connection that fails before any answer arrives is
  // sent once more on a fresh connection (the server had closed the idle connection).
  Result<HttpResult> request(const std::string& method, const std::string& target,
                             const std::string& body);

  const std::string& baseUrl() const { return base_url_; }

 private:
  struct Impl;
  std::string base_url_;
  std::unique_ptr<Impl> impl_;
};

// Splits "http://host:port/prefix" into its parts; port defaults to 80.
struct ParsedUrl {
  std::string host;
  std::string port;
  std::string prefix;  // "" or "/prefix" without a trailing slash
};
Result<ParsedUrl> parseHttpUrl(const std::string& url);

}  // namespace aifed::cli
