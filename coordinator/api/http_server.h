// A small HTTP/1.1 server on Boost.Beast for the coordinator's REST API: keep-alive,
// a body limit, read timeouts, JSON errors. It runs on the io_context it is given (the
// coordinator's single event-loop thread), so handlers may touch the broker directly.
//
//   Router router;
//   router.add("GET", "/api/v1/jobs/{id}", [&](const HttpRequest& r, const PathParams& p) {
//     return jsonResponse(200, jobJson(p.at("id")));
//   });
//   HttpServer server(io, [&](const HttpRequest& r) { return router.route(r); }, {});
//   Result<uint16_t> port = server.listen("127.0.0.1", 0);   // 0: any free port
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/status.h"

namespace aifed::api {

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // as sent: "/api/v1/jobs?state=running"
  std::string path;                            // "/api/v1/jobs" (percent-decoded)
  std::map<std::string, std::string> query;    // decoded ?k=v pairs
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string remote_address;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// {"error":{"code":"invalid_argument","message":"...","field":"nodes"}} with the HTTP
// status that fits the code (400, 401, 403, 404, 409, 503, 500).
HttpResponse errorResponse(const Status& status);
HttpResponse errorResponse(int http_status, std::string code, std::string message,
                           std::string field = {});
HttpResponse jsonResponse(int http_status, const boost::json::value& body);

// The HTTP status for a Status code: invalid_argument and version_mismatch 400,
// unauthenticated 401, permission_denied 403, not_found 404, already_exists and
// failed_precondition 409, unavailable 503, internal (and a misused kOk) 500.
int httpStatusFor(StatusCode code);
// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as in query strings).
// A truncated or non-hex escape is kInvalidArgument.
Result<std::string> percentDecode(std::string_view text, bool plus_is_space);
// "state=running&site=mimer" -> {state: running, site: mimer}, keys and values decoded.
// A key without '=' maps to ""; a repeated key keeps its last value.
Result<std::map<std::string, std::string>> parseQueryString(std::string_view query);

using PathParams = std::map<std::string, std::string>;
using RouteHandler = std::function<HttpResponse(const HttpRequest&, const PathParams&)>;

// Matches "/api/v1/jobs/{id}"-style patterns segment by segment. Unknown path: 404;
// known path with another method: 405 with an Allow header. A handler that throws
// gives 500 and the server stays up.
class Router {
 public:
  void add(std::string method, std::string pattern, RouteHandler handler);
  HttpResponse route(const HttpRequest& request) const;
  // Every (method, pattern) pair added, in order ("GET", "/api/v1/jobs/{id}").
  std::vector<std::pair<std::string, std::string>> list() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    RouteHandler handler;
  };
  std::vector<Route> routes_;
};

struct HttpServerOptions {
  size_t body_limit = 1 << 20;  // larger bodies: 413
  std::chrono::seconds read_timeout{30};
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  HttpServer(boost::asio::io_context& io, Handler handler, HttpServerOptions options = {});
  ~HttpServer();
  // Binds and starts accepting. Port 0 picks a free port; returns the bound port.
  Result<uint16_t> listen(const std::string& address, uint16_t port);
  // Stops accepting and closes open connections; requests being handled get no answer.
  // Idempotent. Call it on the io_context's thread (or while the io_context is not
  // running), like every other use of the server.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace aifed::api
