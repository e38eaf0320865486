// A small synchronous HTTPS (HTTP/1.1 over TLS 1.2+) client for the coordinator's REST
// API. It keeps one keep-alive connection and reuses it; a connection the server has
// since closed is re-opened transparently. Every request has a deadline.
//
// The server's certificate is checked, in this order of preference: pinned by its
// SHA-256 fingerprint (what the coordinator prints at start), else against a CA file,
// else against the system's trust store (with the host name checked in both cases).
// `insecure` checks nothing and is for experiments only.
//
//   HttpClientOptions o;
//   o.fingerprint = "AB:CD:...";  o.bearer_token = token;
//   HttpClient client("https://127.0.0.1:7780", o);
//   Result<HttpResult> r = client.request("GET", "/api/v1/sites", "");
//   if (!r.ok()) ...  // kUnavailable: refused, timed out, reset, TLS handshake failed;
//                     // kUnauthenticated: the server's certificate is not the expected one
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

struct HttpClientOptions {
  std::chrono::milliseconds timeout{30000};
  std::string bearer_token;  // sent as "Authorization: Bearer <token>" when set
  std::string ca_file;       // PEM CA bundle that must have issued the server's certificate
  std::string fingerprint;   // SHA-256 of the server's certificate, "AB:CD:..."
  bool insecure = false;     // no certificate check at all
};

class HttpClient {
 public:
  // `base_url` is "https://host:port" with an optional path prefix
  // ("https://h:443/aifed"). A malformed URL, an http:// URL, a malformed fingerprint or
  // an unreadable CA file is reported by every request() as kInvalidArgument.
  HttpClient(std::string base_url, HttpClientOptions options);
  // Default options with this timeout (the system trust store checks the server).
  HttpClient(std::string base_url, std::chrono::milliseconds timeout);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `method target` (target "/api/v1/jobs?state=running") with `body` as JSON when
  // it is not empty. Any HTTP status is a successful Result; kUnavailable means no answer
  // (connection refused, reset, or nothing within the timeout), kInvalidArgument a bad URL
  // or method. A request on a reused connection that fails before any answer arrives is
  // sent once more on a fresh connection (the server had closed the idle connection).
  // A certificate that fails the check is kUnauthenticated, with a message that says
  // why ("certificate fingerprint mismatch: expected .. got ..").
  Result<HttpResult> request(const std::string& method, const std::string& target,
                             const std::string& body);

  const std::string& baseUrl() const { return base_url_; }

 private:
  struct Impl;
  std::string base_url_;
  std::unique_ptr<Impl> impl_;
};

// Splits "https://host:port/prefix" into its parts; port defaults to 443. An http://
// URL is kInvalidArgument: the coordinator speaks HTTPS only.
struct ParsedUrl {
  std::string host;
  std::string port;
  std::string prefix;  // "" or "/prefix" without a trailing slash
};
Result<ParsedUrl> parseHttpUrl(const std::string& url);

// "AB:CD:..." (upper-case hex, colon-separated) from any spelling of a SHA-256
// fingerprint ("abcd...", "ab:cd:...", "sha256//AB:CD:..."); kInvalidArgument otherwise.
Result<std::string> normalizeFingerprint(const std::string& text);

}  // namespace aifed::cli
