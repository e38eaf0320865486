// Router and error-body unit tests: no sockets.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "coordinator/api/http_server.h"

namespace aifed::api {
namespace {
namespace json = boost::json;

HttpRequest makeRequest(std::string method, std::string target) {
  HttpRequest r;
  r.method = std::move(method);
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

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto echo = [](std::string tag) {
      return [tag](const HttpRequest& req, const PathParams& p) {
        json::object params;
        for (const auto& [k, v] : p) params[k] = v;
        return jsonResponse(
            200,
            json::object{{"route", tag}, {"method", req.method}, {"params", std::move(params)}});
      };
    };
    router_.add("GET", "/api/v1/jobs", echo("list"));
    router_.add("POST", "/api/v1/jobs", echo("submit"));
    router_.add("GET", "/api/v1/jobs/{id}", echo("job"));
    router_.add("POST", "/api/v1/jobs/{id}/cancel", echo("cancel"));
    router_.add("GET", "/api/v1/sites/{site}/partitions/{part}", echo("partition"));
    router_.add("GET", "/boom", [](const HttpRequest&, const PathParams&) -> HttpResponse {
      throw std::runtime_error("kaboom");
    });
  }
  json::object call(const std::string& method, const std::string& target, int want_status) {
    HttpResponse r = router_.route(makeRequest(method, target));
    EXPECT_EQ(r.status, want_status) << method << " " << target << ": " << r.body;
    return json::parse(r.body).as_object();
  }
  Router router_;
};

TEST_F(RouterTest, MatchesLiteralRoutesByMethod) {
  EXPECT_EQ(call("GET", "/api/v1/jobs", 200)["route"], "list");
  EXPECT_EQ(call("POST", "/api/v1/jobs", 200)["route"], "submit");
  // One trailing slash is the same resource.
  EXPECT_EQ(call("GET", "/api/v1/jobs/", 200)["route"], "list");
}

TEST_F(RouterTest, CapturesParams) {
  json::object o = call("GET", "/api/v1/jobs/j-42", 200);
  EXPECT_EQ(o["route"], "job");
  EXPECT_EQ(o["params"].at("id"), "j-42");
  o = call("GET", "/api/v1/sites/mimer/partitions/gpu", 200);
  EXPECT_EQ(o["params"].at("site"), "mimer");
  EXPECT_EQ(o["params"].at("part"), "gpu");
  EXPECT_EQ(call("POST", "/api/v1/jobs/j-1/cancel", 200)["params"].at("id"), "j-1");
}

TEST_F(RouterTest, DecodesParamsSegmentBySegment) {
  // %2F stays inside the one segment instead of splitting the path.
  EXPECT_EQ(call("GET", "/api/v1/jobs/a%2Fb%20c", 200)["params"].at("id"), "a/b c");
  EXPECT_EQ(call("GET", "/api/v1/jobs/%zz", 400)["error"].at("code"), "invalid_argument");
}

TEST_F(RouterTest, UnknownPathIs404) {
  json::object o = call("GET", "/api/v2/jobs", 404);
  EXPECT_EQ(o["error"].at("code"), "not_found");
  call("GET", "/api/v1/jobs/j-1/extra/more", 404);
  call("GET", "/", 404);
  // An empty segment does not match a parameter.
  call("POST", "/api/v1/jobs//cancel", 404);
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  HttpResponse r = router_.route(makeRequest("DELETE", "/api/v1/jobs"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), "GET, POST");
  json::object o = json::parse(r.body).as_object();
  EXPECT_EQ(o["error"].at("code"), "method_not_allowed");
  r = router_.route(makeRequest("GET", "/api/v1/jobs/j-1/cancel"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), "POST");
}

TEST_F(RouterTest, HandlerExceptionIs500) {
  json::object o = call("GET", "/boom", 500);
  EXPECT_EQ(o["error"].at("code"), "internal");
  EXPECT_NE(json::value_to<std::string>(o["error"].at("message")).find("kaboom"),
            std::string::npos);
}

TEST_F(RouterTest, RequestWithOnlyPathRoutes) {
  HttpRequest r;
  r.method = "GET";
  r.path = "/api/v1/jobs/x";
  EXPECT_EQ(router_.route(r).status, 200);
}

TEST_F(RouterTest, ListsEveryRouteInOrder) {
  std::vector<std::pair<std::string, std::string>> routes = router_.list();
  ASSERT_FALSE(routes.empty());
  EXPECT_EQ(routes[0], std::make_pair(std::string("GET"), std::string("/api/v1/jobs")));
  EXPECT_EQ(routes[1], std::make_pair(std::string("POST"), std::string("/api/v1/jobs")));
  Router r;
  r.add("GET", "/a/{id}", [](const HttpRequest&, const PathParams&) { return HttpResponse{}; });
  r.addAsync("PUT", "/b", [](const HttpRequest&, const PathParams&, Reply) {});
  EXPECT_EQ(r.list(),
            (std::vector<std::pair<std::string, std::string>>{{"GET", "/a/{id}"}, {"PUT", "/b"}}));
}

TEST(RouterAsyncTest, DispatchAnswersLaterAndRouteReportsAnUnansweredAsyncRoute) {
  Router r;
  Reply saved;
  r.addAsync("POST", "/later", [&saved](const HttpRequest&, const PathParams&, Reply reply) {
    saved = std::move(reply);
  });
  r.add("GET", "/now", [](const HttpRequest&, const PathParams&) {
    return jsonResponse(200, json::object{{"ok", true}});
  });
  std::vector<int> answers;
  r.dispatch(makeRequest("POST", "/later"),
             [&](HttpResponse res) { answers.push_back(res.status); });
  EXPECT_TRUE(answers.empty()) << "not answered until the handler says so";
  ASSERT_TRUE(saved);
  saved(jsonResponse(201, json::object{}));
  EXPECT_EQ(answers, std::vector<int>{201});
  r.dispatch(makeRequest("GET", "/now"), [&](HttpResponse res) { answers.push_back(res.status); });
  r.dispatch(makeRequest("GET", "/nope"), [&](HttpResponse res) { answers.push_back(res.status); });
  EXPECT_EQ(answers, (std::vector<int>{201, 200, 404}));
  // The synchronous entry point cannot wait for an answer that comes later.
  EXPECT_EQ(r.route(makeRequest("POST", "/later")).status, 500);
}

TEST(ErrorResponseTest, MapsStatusCodesToHttp) {
  struct Case {
    StatusCode code;
    int http;
    const char* name;
  };
  for (const Case& c :
       std::vector<Case>{{StatusCode::kInvalidArgument, 400, "invalid_argument"},
                         {StatusCode::kVersionMismatch, 400, "version_mismatch"},
                         {StatusCode::kUnauthenticated, 401, "unauthenticated"},
                         {StatusCode::kPermissionDenied, 403, "permission_denied"},
                         {StatusCode::kNotFound, 404, "not_found"},
                         {StatusCode::kAlreadyExists, 409, "already_exists"},
                         {StatusCode::kFailedPrecondition, 409, "failed_precondition"},
                         {StatusCode::kUnavailable, 503, "unavailable"},
                         {StatusCode::kInternal, 500, "internal"}}) {
    HttpResponse r = errorResponse(Status(c.code, "msg"));
    EXPECT_EQ(r.status, c.http) << c.name;
    json::object o = json::parse(r.body).as_object();
    EXPECT_EQ(o["error"].at("code"), c.name);
    EXPECT_EQ(o["error"].at("message"), "msg");
    EXPECT_FALSE(o["error"].as_object().contains("field")) << "empty field is omitted";
  }
}

TEST(ErrorResponseTest, CarriesField) {
  HttpResponse r = errorResponse(invalidArgument("must be at least 1", "nodes"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/json");
  json::value v = json::parse(r.body);
  EXPECT_EQ(v, json::parse(R"({"error":{"code":"invalid_argument",)"
                           R"("message":"must be at least 1","field":"nodes"}})"));
}

TEST(QueryStringTest, DecodesPairs) {
  auto q = parseQueryString("state=running&site=mimer%20x&name=a+b&flag&=v&&k=%41");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->at("state"), "running");
  EXPECT_EQ(q->at("site"), "mimer x");
  EXPECT_EQ(q->at("name"), "a b");
  EXPECT_EQ(q->at("flag"), "");
  EXPECT_EQ(q->at(""), "v");
  EXPECT_EQ(q->at("k"), "A");
  EXPECT_EQ(parseQueryString("a=1&a=2")->at("a"), "2");
}

TEST(QueryStringTest, RejectsBadEscapes) {
  EXPECT_FALSE(parseQueryString("a=%").ok());
  EXPECT_FALSE(parseQueryString("a=%4").ok());
  EXPECT_FALSE(parseQueryString("a=%g1").ok());
  EXPECT_EQ(percentDecode("a+b", false).value(), "a+b");
  EXPECT_EQ(percentDecode("%e2%82%ac", false).value(), "\xe2\x82\xac");
}

}  // namespace
}  // namespace aifed::api
