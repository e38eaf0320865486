// Routes HTTP requests to handlers by method and "/api/v1/jobs/{id}"-style patterns
// (coordinator/api/router.cpp). No sockets: the HTTPS server (http_server.h) hands it
// requests, and tests and fuzz targets call it directly.
//
//   Router router;
//   router.add("GET", "/api/v1/jobs/{id}", [&](const HttpRequest& r, const PathParams& p) {
//     return jsonResponse(200, jobJson(p.at("id")));
//   });
//   HttpResponse answer = router.route(request);
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "coordinator/api/http_message.h"

namespace aifed::api {

using PathParams = std::map<std::string, std::string>;
// Answers a request. Call it exactly once, on the server's io_context thread (a call from
// another thread is posted there); a second call is ignored, and a call after the client
// went away is harmless.
using Reply = std::function<void(HttpResponse)>;
using RouteHandler = std::function<HttpResponse(const HttpRequest&, const PathParams&)>;
using AsyncRouteHandler = std::function<void(const HttpRequest&, const PathParams&, Reply)>;

// Matches "/api/v1/jobs/{id}"-style patterns segment by segment. Unknown path: 404;
// known path with another method: 405 with an Allow header. A handler that throws
// gives 500 and the server stays up.
class Router {
 public:
  void add(std::string method, std::string pattern, RouteHandler handler);
  // A route whose handler answers through `reply`, possibly later.
  void addAsync(std::string method, std::string pattern, AsyncRouteHandler handler);
  // Routes and answers through `reply` (at once for synchronous routes).
  void dispatch(const HttpRequest& request, Reply reply) const;
  // Synchronous routing; an asynchronous route that does not answer before returning
  // gives 500 (use dispatch() for those).
  HttpResponse route(const HttpRequest& request) const;
  // Every (method, pattern) registered, in registration order: ("GET", "/api/v1/jobs/{id}").
  std::vector<std::pair<std::string, std::string>> list() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    AsyncRouteHandler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace aifed::api
