// The REST API when things go wrong (issue 12): a change that cannot be made durable is a
// 503 that leaves nothing behind and shows no server path; inputs that no site could run
// or that hide bytes are refused; nothing a client sent is echoed as anything but text;
// quarantined attempts are listed and decided by the roles that may.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/coordinator/rest_fixture.h"

namespace aifed::coordinator {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class RestRobustnessTest : public testing_support::RestBench {
 protected:
  std::string header(const api::HttpResponse& r, const std::string& name) {
    for (const auto& [n, v] : r.headers) {
      if (n == name) return v;
    }
    return "";
  }
};

// Issue 12, failure 1: with the database on a full disk a submission answered 500 with
// the server's file path, and the job stayed in memory, was dispatched and ran.
TEST_F(RestRobustnessTest, ASubmissionThatCannotBeMadeDurableIs503AndLeavesNothing) {
  bringUp("site-a", 16);
  svc_.fail_writes = unavailable("/var/lib/aifed/db/coordinator.db: database or disk is full");
  api::HttpResponse r = send(request(
      "POST", "/api/v1/jobs", R"({"nodes": 1, "walltime_s": 60, "project": "p1"})"));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(header(r, "Retry-After"), "5");
  EXPECT_THAT(r.body, HasSubstr("nothing was accepted"));
  EXPECT_THAT(r.body, Not(HasSubstr("/var/lib")));
}

TEST_F(RestRobustnessTest, WhileReadOnlyEveryChangeIsRefusedBeforeItTouchesMemory) {
  bringUp("site-a", 16);
  std::string id = submitFor("p1");
  size_t jobs = svc_.broker().countJobs(std::nullopt);
  svc_.read_only = unavailable("the coordinator's database refuses writes");
  api::HttpResponse submit = send(
      request("POST", "/api/v1/jobs", R"({"nodes": 1, "walltime_s": 60, "project": "p1"})"));
  EXPECT_EQ(submit.status, 503) << submit.body;
  EXPECT_EQ(svc_.broker().countJobs(std::nullopt), jobs);  // no job in memory
  EXPECT_EQ(send(request("POST", "/api/v1/jobs/" + id + "/cancel")).status, 503);
  EXPECT_FALSE(svc_.broker().findJob(id)->cancel_requested);
  EXPECT_EQ(send(request("POST", "/api/v1/sites/site-a/drain", R"({"reason": "x"})")).status, 503);
  EXPECT_FALSE(svc_.broker().findSite("site-a")->drained);
  // Reads still work.
  call("GET", "/api/v1/jobs/" + id, 200);
}

// Issue 12, failure 7 (the smaller ones), each refused naming its field.
TEST_F(RestRobustnessTest, InputsNoSiteCouldRunOrThatHideBytesAreRefused) {
  struct Case {
    const char* what;
    std::string body;
    std::string field;
  };
  const Case cases[] = {
      {"a walltime of 10^12 s", R"({"nodes":1,"walltime_s":1000000000000,"project":"p1"})",
       "walltime_s"},
      {"an unknown project", R"({"nodes":1,"walltime_s":60,"project":"nope"})", "project"},
      {"a NUL in the script", R"({"nodes":1,"walltime_s":60,"project":"p1","script":"a\u0000b"})",
       "script"},
      {"a NUL in env", R"({"nodes":1,"walltime_s":60,"project":"p1","env":{"A":"x\u0000y"}})",
       "env.A"},
  };
  for (const Case& c : cases) {
    api::HttpResponse r = send(request("POST", "/api/v1/jobs", c.body));
    EXPECT_EQ(r.status, 400) << c.what << ": " << r.body;
    boost::json::value v = boost::json::parse(r.body);
    EXPECT_EQ(v.at("error").at("field"), c.field.c_str()) << c.what << ": " << r.body;
  }
}

// Issue 12, failure 7: invalid UTF-8 from the path came back in the error body.
TEST_F(RestRobustnessTest, WhatAClientSentIsEchoedOnlyAsText) {
  api::HttpResponse r = send(request("GET", "/api/v1/jobs/j-\xff\xfe\x01"));
  EXPECT_EQ(r.status, 404);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);  // parses: valid UTF-8
  ASSERT_FALSE(ec) << r.body;
  std::string message(v.at("error").at("message").as_string());
  EXPECT_THAT(message, HasSubstr("\uFFFD"));
  EXPECT_EQ(message.find('\x01'), std::string::npos);
  EXPECT_EQ(api::printableText("ok \xc3\xa9 \xe2\x82\xac"), "ok \xc3\xa9 \xe2\x82\xac");
  EXPECT_EQ(api::printableText("\xc0\xaf"), "\uFFFD\uFFFD");  // an overlong '/'
}

TEST_F(RestRobustnessTest, QuarantinedAttemptsAreListedAndDecidedByTheRolesThatMay) {
  bringUp("site-a", 16);
  broker::Effects fx;
  Time t = svc_.now();
  svc_.broker().onMessage(
      *svc_.broker().siteIndex("site-a"),
      makeMessage("site-a", "h2", t,
                  Hello{"t", "simulated", {{"j-77", 1, "sim-7", JobState::kRunning}}}),
      t, fx);
  EXPECT_TRUE(std::none_of(fx.messages.begin(), fx.messages.end(), [](const auto& m) {
    return std::holds_alternative<Cancel>(m.body);
  }));
  boost::json::value list = call("GET", "/api/v1/quarantine", 200, "", "viewer");
  ASSERT_EQ(list.at("quarantined").as_array().size(), 1u);
  EXPECT_EQ(list.at("quarantined").at(0).at("job_id"), "j-77");
  EXPECT_EQ(list.at("quarantined").at(0).at("state"), "running");
  call("GET", "/api/v1/quarantine", 403, "", "submitter");
  call("POST", "/api/v1/quarantine/site-a/j-77/1/cancel", 403, "", "viewer");
  call("POST", "/api/v1/quarantine/site-a/j-77/x/cancel", 400);
  call("POST", "/api/v1/quarantine/site-a/j-78/1/cancel", 404);
  boost::json::value decided =
      call("POST", "/api/v1/quarantine/site-a/j-77/1/cancel", 200, R"({"reason":"stray"})",
           "site-admin");
  EXPECT_EQ(decided.at("decision"), "cancel");
  EXPECT_EQ(decided.at("decided_by"), "site-admin");
  call("POST", "/api/v1/quarantine/site-a/j-77/1/release", 409);  // decided already
  EXPECT_EQ(svc_.audit.back().action, "quarantine.release");
  // The new job's id is above the quarantined one.
  EXPECT_EQ(submitFor("p1"), "j-78");
}

}  // namespace
}  // namespace aifed::coordinator
