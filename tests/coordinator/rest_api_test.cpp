// The placement routes of the REST API (explain, policy) through the router, against a
// real broker behind a fake JobService: no sockets, no database.
#include "coordinator/rest/rest_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/coordinator/rest_fixture.h"

namespace aifed::coordinator {
namespace {
namespace json = boost::json;
using ::testing::HasSubstr;

using RestPlacementTest = testing_support::RestBench;

TEST_F(RestPlacementTest, MalformedJsonBodiesAreRefusedWithTheParseError) {
  for (std::string path : {"/api/v1/jobs", "/api/v1/policy"}) {
    std::string method = path == "/api/v1/jobs" ? "POST" : "PUT";
    json::value e = call(method, path, 400, R"({"nodes": 1,)");
    EXPECT_EQ(e.at("error").at("code").as_string(), "invalid_argument") << path;
    std::string message(e.at("error").at("message").as_string());
    EXPECT_NE(message.find("request body is not valid JSON"), std::string::npos) << message;
  }
}

TEST_F(RestPlacementTest, ExplainShowsWhyHereWithEverySite) {
  bringUp("site-a", 16);
  bringUp("site-b", 16);
  json::value job = call("POST", "/api/v1/jobs", 201,
                         R"({"nodes": 2, "gpus_per_node": 4, "gpu_type": "h100",
                             "walltime_s": 3600, "project": "p1"})");
  std::string id(job.at("id").as_string());
  json::value e = call("GET", "/api/v1/jobs/" + id + "/explain", 200);
  EXPECT_EQ(e.at("question"), "why-here");
  const json::value& d = e.at("decision");
  EXPECT_EQ(d.at("policy"), "earliest-start");
  EXPECT_EQ(d.at("policy_version"), 1);
  EXPECT_EQ(d.at("chosen_site"), "site-a");
  const json::array& sites = d.at("sites").as_array();
  ASSERT_EQ(sites.size(), 2u);
  EXPECT_EQ(sites[0].at("verdict"), "chosen");
  EXPECT_EQ(sites[0].at("total").to_number<double>(), 100);
  EXPECT_EQ(sites[0].at("scores").as_array()[0].at("plugin"), "estimated-start");
  EXPECT_EQ(sites[0].at("scores").as_array()[0].at("unit"), "s");
  EXPECT_EQ(sites[1].at("verdict"), "rejected");
  EXPECT_EQ(sites[1].at("rejected_by"), "accelerator");
  EXPECT_THAT(std::string(sites[1].at("reason").as_string()), HasSubstr("offers a100"));
  call("GET", "/api/v1/jobs/j-99/explain", 404);
}

TEST_F(RestPlacementTest, ExplainShowsWhyNotYetForAWaitingJob) {
  json::value job =
      call("POST", "/api/v1/jobs", 201, R"({"nodes": 1, "walltime_s": 60, "project": "p2"})");
  json::value e =
      call("GET", "/api/v1/jobs/" + std::string(job.at("id").as_string()) + "/explain", 200);
  EXPECT_EQ(e.at("question"), "why-not-yet");
  for (const json::value& s : e.at("decision").at("sites").as_array()) {
    EXPECT_EQ(s.at("rejected_by"), "site-state");
  }
}

TEST_F(RestPlacementTest, PolicySwitchIsRecordedAndListed) {
  json::value before = call("GET", "/api/v1/policy", 200);
  EXPECT_EQ(before.at("active").at("name"), "earliest-start");
  EXPECT_EQ(before.at("policies").as_array().size(), 6u);

  json::value bad = call("PUT", "/api/v1/policy", 400, R"({"policy": "fastest"})");
  EXPECT_EQ(bad.at("error").at("field"), "policy");
  call("PUT", "/api/v1/policy", 400, "not json");

  json::value ok = call("PUT", "/api/v1/policy", 200, R"({"policy": "green", "reason": "wind"})");
  EXPECT_EQ(ok.at("active").at("name"), "green");
  EXPECT_EQ(ok.at("changed"), true);
  ASSERT_EQ(svc_.committed_changes.size(), 1u);
  EXPECT_EQ(svc_.committed_changes[0].actor, "admin");  // the token's name
  EXPECT_EQ(svc_.committed_changes[0].reason, "wind");

  json::value same = call("PUT", "/api/v1/policy", 200, R"({"policy": "green"})");
  EXPECT_EQ(same.at("changed"), false);
  json::value after = call("GET", "/api/v1/policy", 200);
  ASSERT_EQ(after.at("history").as_array().size(), 1u);
  EXPECT_EQ(after.at("history").as_array()[0].at("to"), "green");
}

}  // namespace
}  // namespace aifed::coordinator
