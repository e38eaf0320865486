// The embedded console: every file is there with the right type, the routes answer with
// the security headers, ETags revalidate, and every reference between the files (module
// imports, stylesheet, scripts) resolves to an embedded file, with nothing from another
// origin (the console must work offline).
#include "coordinator/api/console.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>
#include <string>

namespace aifed::api {
namespace {

HttpRequest get(std::string target) {
  HttpRequest r;
  r.method = "GET";
  r.target = target;
  r.path = target.substr(0, target.find('?'));
  return r;
}

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

const ConsoleAsset* asset(std::string_view path) {
  for (const ConsoleAsset& a : consoleAssets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

// "/console/js/pages/job.js" + "../api.js" -> "/console/js/api.js".
std::string resolve(const std::string& from, std::string ref) {
  if (ref.starts_with("/")) return ref;
  std::string dir = from.substr(0, from.rfind('/'));
  while (true) {
    if (ref.starts_with("./")) {
      ref = ref.substr(2);
    } else if (ref.starts_with("../")) {
      ref = ref.substr(3);
      dir = dir.substr(0, dir.rfind('/'));
    } else {
      break;
    }
  }
  return dir + "/" + ref;
}

TEST(ConsoleAssets, EmbedsThePagesWithTheirContentTypes) {
  struct Want {
    const char* path;
    const char* type;
  };
  for (const Want& w : {Want{"/console/index.html", "text/html; charset=utf-8"},
                        Want{"/console/console.css", "text/css; charset=utf-8"},
                        Want{"/console/js/app.js", "text/javascript; charset=utf-8"},
                        Want{"/console/js/pages/overview.js", "text/javascript; charset=utf-8"},
                        Want{"/console/js/pages/job.js", "text/javascript; charset=utf-8"},
                        Want{"/console/favicon.svg", "image/svg+xml"}}) {
    const ConsoleAsset* a = asset(w.path);
    ASSERT_NE(a, nullptr) << w.path;
    EXPECT_EQ(a->content_type, w.type) << w.path;
    EXPECT_FALSE(a->body.empty()) << w.path;
  }
  EXPECT_NE(asset("/console/index.html")->body.find("<title>aifed console</title>"),
            std::string_view::npos);
}

TEST(ConsoleAssets, EtagsAreQuotedAndDifferPerFile) {
  std::set<std::string_view> seen;
  for (const ConsoleAsset& a : consoleAssets()) {
    ASSERT_GE(a.etag.size(), 22u) << a.path;
    EXPECT_EQ(a.etag.front(), '"');
    EXPECT_EQ(a.etag.back(), '"');
    EXPECT_TRUE(seen.insert(a.etag).second) << "two files share the ETag of " << a.path;
  }
}

TEST(ConsoleAssets, EveryReferenceResolvesToAnEmbeddedFileOfThisOrigin) {
  // import ... from './x.js' | import('./x.js') | src="/console/..." | href="/console/..."
  std::regex imports(R"re((?:from\s+|import\s*\(\s*)['"]([^'"]+)['"])re");
  std::regex html_refs(R"re((?:src|href)="([^"#][^"]*)")re");
  size_t checked = 0;
  for (const ConsoleAsset& a : consoleAssets()) {
    std::string body(a.body);
    std::string path(a.path);
    if (!path.ends_with(".svg")) {  // an SVG names its XML namespace by URL; nothing loads it
      EXPECT_EQ(body.find("http://"), std::string::npos) << path << " names another origin";
      EXPECT_EQ(body.find("https://"), std::string::npos) << path << " names another origin";
    }
    std::vector<std::string> refs;
    if (path.ends_with(".js")) {
      for (auto it = std::sregex_iterator(body.begin(), body.end(), imports);
           it != std::sregex_iterator(); ++it) {
        refs.push_back((*it)[1]);
      }
    } else if (path.ends_with(".html")) {
      for (auto it = std::sregex_iterator(body.begin(), body.end(), html_refs);
           it != std::sregex_iterator(); ++it) {
        refs.push_back((*it)[1]);
      }
      // No inline script: the Content-Security-Policy would block it.
      EXPECT_EQ(body.find("<script>"), std::string::npos) << path;
    }
    for (const std::string& ref : refs) {
      std::string target = resolve(path, ref);
      EXPECT_NE(asset(target), nullptr)
          << path << " refers to " << ref << " (" << target << "), which is not embedded";
      ++checked;
    }
  }
  EXPECT_GE(checked, 10u);  // the app's own imports at least
}

class ConsoleRoutes : public ::testing::Test {
 protected:
  void SetUp() override { addConsoleRoutes(router_); }
  Router router_;
};

TEST_F(ConsoleRoutes, RootRedirectsToTheConsole) {
  for (const char* target : {"/", "/console"}) {
    HttpResponse r = router_.route(get(target));
    EXPECT_EQ(r.status, 302) << target;
    EXPECT_EQ(header(r, "Location"), "/console/") << target;
  }
}

TEST_F(ConsoleRoutes, ServesTheIndexWithStrictSecurityHeaders) {
  HttpResponse r = router_.route(get("/console/"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.body, asset("/console/index.html")->body);
  std::string csp = header(r, "Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos) << csp;
  EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header(r, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(r, "ETag"), asset("/console/index.html")->etag);
}

TEST_F(ConsoleRoutes, ServesEveryAssetAtItsPath) {
  for (const ConsoleAsset& a : consoleAssets()) {
    HttpResponse r = router_.route(get(std::string(a.path)));
    ASSERT_EQ(r.status, 200) << a.path;
    EXPECT_EQ(r.content_type, a.content_type) << a.path;
    EXPECT_EQ(r.body, a.body) << a.path;
    EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff") << a.path;
  }
}

TEST_F(ConsoleRoutes, AMatchingIfNoneMatchGetsAnEmpty304) {
  const ConsoleAsset* app = asset("/console/js/app.js");
  HttpRequest req = get("/console/js/app.js");
  req.headers["if-none-match"] = "\"0000\", W/" + std::string(app->etag);
  HttpResponse r = router_.route(req);
  EXPECT_EQ(r.status, 304);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(header(r, "ETag"), app->etag);

  req.headers["if-none-match"] = "\"stale\"";
  EXPECT_EQ(router_.route(req).status, 200);
}

TEST_F(ConsoleRoutes, UnknownFilesAndOtherMethodsAreRefused) {
  EXPECT_EQ(router_.route(get("/console/nope.js")).status, 404);
  EXPECT_EQ(router_.route(get("/console/js/../../etc/passwd")).status, 404);
  HttpRequest post = get("/console/");
  post.method = "POST";
  EXPECT_EQ(router_.route(post).status, 405);
}

}  // namespace
}  // namespace aifed::api
