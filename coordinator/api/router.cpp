#include <algorithm>
#include <exception>
#include <optional>
#include <set>

#include "common/strings.h"
#include "coordinator/api/router.h"

namespace aifed::api {
namespace {

// "/api/v1/jobs/" -> {"api", "v1", "jobs"}. One trailing slash is ignored; empty interior
// segments are kept so "/a//b" does not match "/a/b".
std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

bool isParam(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void Router::add(std::string method, std::string pattern, RouteHandler handler) {
  addAsync(std::move(method), std::move(pattern),
           [h = std::move(handler)](const HttpRequest& r, const PathParams& p, Reply reply) {
             reply(h(r, p));
           });
}

void Router::addAsync(std::string method, std::string pattern, AsyncRouteHandler handler) {
  Route route;
  route.method = std::move(method);
  for (std::string_view s : splitPath(pattern)) route.segments.emplace_back(s);
  route.pattern = std::move(pattern);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

std::vector<std::pair<std::string, std::string>> Router::list() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Route& r : routes_) out.emplace_back(r.method, r.pattern);
  return out;
}

HttpResponse Router::route(const HttpRequest& request) const {
  std::optional<HttpResponse> answer;
  dispatch(request, [&answer](HttpResponse r) {
    if (!answer) answer = std::move(r);
  });
  if (answer) return std::move(*answer);
  return errorResponse(500, "internal",
                       "the route for " + request.method + " " + request.path +
                           " answers asynchronously; the caller must use Router::dispatch");
}

void Router::dispatch(const HttpRequest& request, Reply reply) const {
  // Split the raw path and decode each segment, so an id holding an encoded '/' stays
  // one segment. Requests built in code may carry only `path`.
  std::string_view raw =
      request.target.empty() ? std::string_view(request.path) : std::string_view(request.target);
  if (!request.target.empty()) raw = raw.substr(0, raw.find_first_of("?#"));
  std::vector<std::string> segments;
  for (std::string_view s : splitPath(raw)) {
    if (request.target.empty()) {
      segments.emplace_back(s);
      continue;
    }
    Result<std::string> decoded = percentDecode(s, false);
    if (!decoded.ok()) {
      return reply(errorResponse(400, "invalid_argument", "path: " + decoded.status().message()));
    }
    segments.push_back(std::move(*decoded));
  }

  std::set<std::string> allowed;
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    PathParams params;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      const std::string& want = route.segments[i];
      if (isParam(want)) {
        if (segments[i].empty())
          match = false;
        else
          params[want.substr(1, want.size() - 2)] = segments[i];
      } else {
        match = want == segments[i];
      }
    }
    if (!match) continue;
    if (route.method != request.method) {
      allowed.insert(route.method);
      continue;
    }
    // A handler that throws before answering gives 500; one that answered and then threw
    // has answered (the Reply ignores a second call).
    try {
      route.handler(request, params, reply);
    } catch (const std::exception& e) {
      reply(errorResponse(500, "internal", std::string("request handler failed: ") + e.what()));
    } catch (...) {
      reply(errorResponse(500, "internal", "request handler failed"));
    }
    return;
  }
  if (allowed.empty()) {
    return reply(
        errorResponse(404, "not_found", "no route for " + request.method + " " + request.path));
  }
  std::string allow = common::join(allowed, ", ");
  HttpResponse r = errorResponse(
      405, "method_not_allowed",
      request.method + " is not allowed on " + request.path + " (allowed: " + allow + ")");
  r.headers.emplace_back("Allow", allow);
  reply(std::move(r));
}

}  // namespace aifed::api
