// The OpenAPI document (coordinator/api/openapi.json) against the implementation: it is
// OpenAPI 3, every $ref resolves, and the routes it documents are exactly the routes the
// coordinator daemon's router serves, method by method, in both directions.
#include "coordinator/api/openapi.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <filesystem>
#include <set>
#include <sstream>

#include "cli/local_federation.h"
#include "coordinator/api/metrics.h"
#include "coordinator/coordinator_daemon.h"
#include "tests/common/test_files.h"

namespace aifed::api {
namespace {

namespace json = boost::json;
using Route = std::pair<std::string, std::string>;  // method (upper case), path pattern

// Served by the HTTP server's WebSocket handler, not by the router.
const std::set<Route> kWebSocketRoutes = {{"GET", "/api/v1/events"}};

// Every route of the issue-6 contract (docs/api.md); the router serves each, the
// document describes each.
const std::set<Route> kContractRoutes = {
    {"POST", "/api/v1/session"},
    {"GET", "/api/v1/session"},
    {"DELETE", "/api/v1/session"},
    {"POST", "/api/v1/jobs"},
    {"GET", "/api/v1/jobs"},
    {"GET", "/api/v1/jobs/{id}"},
    {"POST", "/api/v1/jobs/{id}/cancel"},
    {"GET", "/api/v1/jobs/{id}/explain"},
    {"GET", "/api/v1/sites"},
    {"GET", "/api/v1/sites/{id}"},
    {"POST", "/api/v1/sites/{id}/drain"},
    {"POST", "/api/v1/sites/{id}/resume"},
    {"GET", "/api/v1/policy"},
    {"PUT", "/api/v1/policy"},
    {"GET", "/api/v1/policy/history"},
    {"GET", "/api/v1/projects"},
    {"GET", "/api/v1/projects/{id}"},
    {"GET", "/api/v1/tokens"},
    {"POST", "/api/v1/tokens"},
    {"DELETE", "/api/v1/tokens/{id}"},
    {"GET", "/api/v1/audit"},
    {"GET", "/api/v1/federation"},
    {"GET", "/api/v1/health"},
    {"GET", "/metrics"},
    {"GET", "/api/v1/openapi.json"},
};

// The console's static files are not API: "/" and everything under "/console".
bool isStaticRoute(const std::string& pattern) {
  return pattern == "/" || pattern == "/console" || pattern.rfind("/console/", 0) == 0;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

const std::set<std::string> kHttpMethods = {"get",     "put",  "post",  "delete",
                                            "options", "head", "patch", "trace"};

class OpenApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    doc_ = new json::value(json::parse(openApiDocument()));
    routes_ = new std::vector<Route>(daemonRoutes());
  }
  static void TearDownTestSuite() {
    delete doc_;
    delete routes_;
  }

  // The routes of a real coordinator daemon, built as aifed-coordinator builds it.
  static std::vector<Route> daemonRoutes() {
    std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("aifed-openapi-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    cli::LocalFederationOptions o;
    o.bin_dir = AIFED_BINARY_DIR;
    o.federation_file = std::string(AIFED_SOURCE_DIR) + "/tests/data/federation-3.toml";
    o.state_dir = dir.string();
    auto fed = cli::LocalFederation::prepare(o);
    EXPECT_TRUE(fed.ok()) << fed.status().toString();
    if (!fed.ok()) return {};
    auto config = coordinator::loadCoordinatorConfig(dir.string() + "/coordinator.toml");
    EXPECT_TRUE(config.ok()) << config.status().toString();
    if (!config.ok()) return {};
    config->init = true;  // a new federation's database
    RealClock clock;
    SteadyClock monotonic;
    auto daemon = coordinator::CoordinatorDaemon::create(*config, clock, monotonic);
    EXPECT_TRUE(daemon.ok()) << daemon.status().toString();
    if (!daemon.ok()) return {};
    std::vector<Route> routes = (*daemon)->routes();
    daemon->reset();
    std::filesystem::remove_all(dir);
    return routes;
  }

  static const json::object& paths() { return doc_->at("paths").as_object(); }

  static inline json::value* doc_ = nullptr;
  static inline std::vector<Route>* routes_ = nullptr;
};

TEST_F(OpenApiTest, EmbeddedDocumentIsTheSourceFile) {
  EXPECT_EQ(openApiDocument(), testing_support::readTestFile(std::string(AIFED_SOURCE_DIR) +
                                                             "/coordinator/api/openapi.json"));
}

TEST_F(OpenApiTest, IsAnOpenApi3DocumentWithBearerAndCookieSecurity) {
  const json::object& d = doc_->as_object();
  ASSERT_TRUE(d.contains("openapi"));
  EXPECT_EQ(d.at("openapi").as_string().subview().substr(0, 2), "3.");
  EXPECT_FALSE(d.at("info").at("title").as_string().empty());
  EXPECT_FALSE(d.at("info").at("version").as_string().empty());
  const json::object& schemes = d.at("components").at("securitySchemes").as_object();
  EXPECT_EQ(schemes.at("bearerAuth").at("type"), "http");
  EXPECT_EQ(schemes.at("bearerAuth").at("scheme"), "bearer");
  EXPECT_EQ(schemes.at("cookieAuth").at("type"), "apiKey");
  EXPECT_EQ(schemes.at("cookieAuth").at("in"), "cookie");
  EXPECT_EQ(schemes.at("cookieAuth").at("name"), "aifed_session");
  ASSERT_TRUE(d.at("security").is_array());
  EXPECT_EQ(d.at("security").as_array().size(), 2u) << "bearer or cookie by default";
  const json::object& error = d.at("components").at("schemas").at("Error").as_object();
  EXPECT_TRUE(error.at("properties").at("error").at("properties").as_object().contains("field"));
}

TEST_F(OpenApiTest, PublicOperationsAreExactlyTheContractsPublicRoutes) {
  std::set<Route> open;
  for (const auto& [path, item] : paths()) {
    for (const auto& [method, op] : item.as_object()) {
      const json::value* security = op.as_object().if_contains("security");
      if (security && security->as_array().empty()) open.insert({upper(method), path});
    }
  }
  EXPECT_EQ(open, (std::set<Route>{{"GET", "/api/v1/health"},
                                   {"GET", "/api/v1/openapi.json"},
                                   {"POST", "/api/v1/session"}}));
}

// Every "$ref" points at something that exists in the document.
void checkRefs(const json::value& root, const json::value& v, const std::string& where) {
  if (const json::object* o = v.if_object()) {
    for (const auto& [k, child] : *o) {
      if (k == "$ref") {
        std::string ref(child.as_string());
        ASSERT_EQ(ref.rfind("#/", 0), 0u) << where << ": only local references: " << ref;
        const json::value* at = &root;
        std::stringstream parts(ref.substr(2));
        std::string part;
        while (at && std::getline(parts, part, '/')) {
          const json::object* obj = at->if_object();
          at = obj ? obj->if_contains(part) : nullptr;
        }
        EXPECT_NE(at, nullptr) << where << ": dangling " << ref;
      } else {
        checkRefs(root, child, where + "/" + std::string(k));
      }
    }
  } else if (const json::array* a = v.if_array()) {
    for (size_t i = 0; i < a->size(); ++i)
      checkRefs(root, (*a)[i], where + "/" + std::to_string(i));
  }
}

TEST_F(OpenApiTest, EveryReferenceResolves) {
  checkRefs(*doc_, *doc_, "#");
}

TEST_F(OpenApiTest, OperationsHaveIdsResponsesAndTheirPathParameters) {
  std::set<std::string> ids;
  const json::object& shared = doc_->at("components").at("parameters").as_object();
  for (const auto& [path, item] : paths()) {
    std::set<std::string> wanted;
    for (size_t open = path.find('{'); open != std::string::npos; open = path.find('{', open + 1)) {
      wanted.insert(std::string(path.substr(open + 1, path.find('}', open) - open - 1)));
    }
    for (const auto& [method, opv] : item.as_object()) {
      std::string where = upper(method) + " " + std::string(path);
      ASSERT_TRUE(kHttpMethods.count(std::string(method))) << where;
      const json::object& op = opv.as_object();
      ASSERT_TRUE(op.contains("operationId")) << where;
      EXPECT_TRUE(ids.insert(std::string(op.at("operationId").as_string())).second)
          << where << ": operationId used twice";
      ASSERT_TRUE(op.contains("responses")) << where;
      EXPECT_FALSE(op.at("responses").as_object().empty()) << where;
      std::set<std::string> declared;
      if (const json::value* params = op.if_contains("parameters")) {
        for (const json::value& p : params->as_array()) {
          const json::object* po = &p.as_object();
          if (const json::value* r = po->if_contains("$ref")) {
            std::string name(r->as_string());
            po = &shared.at(name.substr(name.rfind('/') + 1)).as_object();
          }
          if (po->at("in") == "path") declared.insert(std::string(po->at("name").as_string()));
        }
      }
      EXPECT_EQ(declared, wanted) << where << ": path parameters";
    }
  }
}

TEST_F(OpenApiTest, EveryRouteTheDaemonServesIsDocumented) {
  ASSERT_FALSE(routes_->empty());
  size_t checked = 0;
  for (const auto& [method, pattern] : *routes_) {
    if (isStaticRoute(pattern)) continue;
    ++checked;
    const json::value* item = paths().if_contains(pattern);
    ASSERT_NE(item, nullptr) << method << " " << pattern << " is served but not documented";
    std::string m = method;
    std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::tolower(c); });
    EXPECT_TRUE(item->as_object().contains(m))
        << method << " " << pattern << " is served but not documented";
  }
  EXPECT_GE(checked, kContractRoutes.size());
}

TEST_F(OpenApiTest, EveryDocumentedRouteIsServed) {
  std::set<Route> served(routes_->begin(), routes_->end());
  for (const auto& [path, item] : paths()) {
    for (const auto& [method, op] : item.as_object()) {
      Route r{upper(method), std::string(path)};
      if (served.count(r) || kWebSocketRoutes.count(r)) continue;
      ADD_FAILURE() << r.first << " " << r.second << " is documented but no route serves it";
    }
  }
}

TEST_F(OpenApiTest, EveryRouteOfTheContractIsServedAndDocumented) {
  std::set<Route> served(routes_->begin(), routes_->end());
  for (const auto& [method, pattern] : kContractRoutes) {
    EXPECT_TRUE(served.count({method, pattern})) << method << " " << pattern << " is not served";
  }
  std::set<Route> all = kContractRoutes;
  all.insert(kWebSocketRoutes.begin(), kWebSocketRoutes.end());
  for (const auto& [method, pattern] : all) {
    std::string m = method;
    std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::tolower(c); });
    const json::value* item = paths().if_contains(pattern);
    EXPECT_TRUE(item && item->as_object().contains(m)) << method << " " << pattern;
  }
}

}  // namespace
}  // namespace aifed::api
