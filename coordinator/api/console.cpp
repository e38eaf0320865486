#include "coordinator/api/console.h"

#include <string>

namespace aifed::api {
namespace {

void addSecurityHeaders(HttpResponse& r) {
  r.headers.emplace_back("Content-Security-Policy", std::string(kConsoleContentSecurityPolicy));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
}

HttpResponse redirect(std::string location) {
  HttpResponse r;
  r.status = 302;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "See " + location + "\n";
  r.headers.emplace_back("Location", std::move(location));
  r.headers.emplace_back("Cache-Control", "no-cache");
  addSecurityHeaders(r);
  return r;
}

// Whether an If-None-Match header value ("\"a\", \"b\"", or "*") names `etag`.
bool etagMatches(std::string_view header, std::string_view etag) {
  if (header.find('*') != std::string_view::npos) return true;
  size_t pos = 0;
  while (pos < header.size()) {
    size_t comma = header.find(',', pos);
    std::string_view item =
        header.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.starts_with("W/")) item.remove_prefix(2);  // weak comparison, as for GET
    if (item == etag) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

const ConsoleAsset* findAsset(std::string_view path) {
  for (const ConsoleAsset& a : consoleAssets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

}  // namespace

HttpResponse consoleAssetResponse(const ConsoleAsset& asset, const HttpRequest& request) {
  HttpResponse r;
  r.content_type = std::string(asset.content_type);
  auto inm = request.headers.find("if-none-match");
  if (inm != request.headers.end() && etagMatches(inm->second, asset.etag)) {
    r.status = 304;
  } else {
    r.status = 200;
    r.body = std::string(asset.body);
  }
  r.headers.emplace_back("ETag", std::string(asset.etag));
  // Paths are not versioned, so browsers revalidate every time (a 304 costs nothing).
  r.headers.emplace_back("Cache-Control", "no-cache");
  addSecurityHeaders(r);
  return r;
}

void addConsoleRoutes(Router& router) {
  router.add("GET", "/",
             [](const HttpRequest&, const PathParams&) { return redirect("/console/"); });
  // The router ignores one trailing slash, so "/console" and "/console/" both land here;
  // only "/console/" may serve the page, or its relative module imports would resolve
  // against "/".
  const ConsoleAsset* index = findAsset("/console/index.html");
  router.add("GET", "/console", [index](const HttpRequest& req, const PathParams&) {
    if (index == nullptr) return errorResponse(404, "not_found", "the console is not built in");
    if (!req.path.ends_with('/')) return redirect("/console/");
    return consoleAssetResponse(*index, req);
  });
  for (const ConsoleAsset& asset : consoleAssets()) {
    router.add("GET", std::string(asset.path), [&asset](const HttpRequest& req, const PathParams&) {
      return consoleAssetResponse(asset, req);
    });
  }
}

}  // namespace aifed::api
