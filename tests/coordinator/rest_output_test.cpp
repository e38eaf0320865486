// GET /api/v1/jobs/{id}/output through the router, against a real broker behind a fake
// JobService whose requestOutput() answers as the test scripts it: who may read, what is
// asked of the site, how each outcome is answered, and the audit row of every read.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/coordinator/rest_fixture.h"

namespace aifed::coordinator {
namespace {
namespace json = boost::json;
using ::testing::HasSubstr;
using Failure = OutputAnswer::Failure;

class RestOutputTest : public testing_support::RestBench {
 protected:
  // A job of project p1 placed at site-a (attempt 1).
  std::string placedJob() {
    bringUp("site-a", 16);
    // Owned by the user of the "submitter" token (owners come from authentication).
    std::string id = submitFor("p1", "h100", "submitter");
    EXPECT_EQ(svc_.broker().findJob(id)->site, "site-a");
    return id;
  }
  // The site answers with `data` from this file.
  void siteAnswers(std::string data) {
    svc_.output = [data](const std::string&, const LogRequest& r) {
      OutputAnswer a;
      a.data = LogData{.request_id = "out-1",
                       .job_id = r.job_id,
                       .attempt = r.attempt,
                       .stream = r.stream,
                       .path = "/scratch/out/" + r.job_id + ".out",
                       .size = 100,
                       .offset = 100 - data.size(),
                       .data = data,
                       .end = 100};
      return a;
    };
  }
  const identity::AuditRecord& lastAudit() { return svc_.audit.back(); }
};

TEST_F(RestOutputTest, TheTailComesFromTheJobsSite) {
  std::string id = placedJob();
  siteAnswers("epoch 3: loss 1.92\n");
  json::value out = call("GET", "/api/v1/jobs/" + id + "/output", 200);
  EXPECT_EQ(out.at("job_id").as_string(), id);
  EXPECT_EQ(out.at("attempt"), 1);
  EXPECT_EQ(out.at("site"), "site-a");
  EXPECT_EQ(out.at("stream"), "stdout");
  EXPECT_EQ(out.at("path").as_string(), "/scratch/out/" + id + ".out");
  EXPECT_EQ(out.at("size"), 100);
  EXPECT_EQ(out.at("offset"), 81);
  EXPECT_EQ(out.at("next_offset"), 100);
  EXPECT_EQ(out.at("data"), "epoch 3: loss 1.92\n");
  // Asked of the site: the job's current attempt, a tail of the default size.
  ASSERT_EQ(svc_.output_requests.size(), 1u);
  const auto& [site, req] = svc_.output_requests[0];
  EXPECT_EQ(site, "site-a");
  EXPECT_EQ(req.job_id, id);
  EXPECT_EQ(req.attempt, 1);
  EXPECT_EQ(req.stream, "stdout");
  EXPECT_FALSE(req.offset.has_value());
  EXPECT_EQ(req.max_bytes, 65536u);
  EXPECT_EQ(lastAudit().action, "job.output.read");
  EXPECT_EQ(lastAudit().target, id);
  EXPECT_EQ(lastAudit().outcome, "ok");
  EXPECT_EQ(lastAudit().actor, idOf("admin"));
  EXPECT_EQ(lastAudit().detail, "stdout of attempt 1 at site-a");
}

TEST_F(RestOutputTest, StreamOffsetAndSizeArePassedOnAndChecked) {
  std::string id = placedJob();
  siteAnswers("x");
  call("GET", "/api/v1/jobs/" + id + "/output?stream=stderr&offset=7&max_bytes=10", 200);
  const LogRequest& req = svc_.output_requests.back().second;
  EXPECT_EQ(req.stream, "stderr");
  EXPECT_EQ(req.offset, 7u);
  EXPECT_EQ(req.max_bytes, 10u);
  size_t asked = svc_.output_requests.size();
  call("GET", "/api/v1/jobs/" + id + "/output?stream=both", 400);
  call("GET", "/api/v1/jobs/" + id + "/output?max_bytes=0", 400);
  call("GET", "/api/v1/jobs/" + id + "/output?max_bytes=1048577", 400);
  call("GET", "/api/v1/jobs/" + id + "/output?offset=-1", 400);
  EXPECT_EQ(svc_.output_requests.size(), asked) << "nothing sent for a bad request";
  EXPECT_EQ(lastAudit().outcome, "error");
}

TEST_F(RestOutputTest, WhoMayReadTheOutput) {
  std::string id = placedJob();
  siteAnswers("x");
  for (const char* who : {"admin", "operator", "viewer", "submitter"}) {
    call("GET", "/api/v1/jobs/" + id + "/output", 200, "", who);
  }
  // Another project's submitter does not learn that the job exists; the row says refused.
  json::value hidden = call("GET", "/api/v1/jobs/" + id + "/output", 404, "", "submitter2");
  EXPECT_EQ(hidden.at("error").at("message").as_string(), "no job \"" + id + "\"");
  EXPECT_EQ(lastAudit().outcome, "denied");
  EXPECT_EQ(lastAudit().actor, idOf("submitter2"));
  // The site's admin sees the job but reads its output at the site, not through us.
  json::value refused = call("GET", "/api/v1/jobs/" + id + "/output", 403, "", "site-admin");
  EXPECT_THAT(std::string(refused.at("error").at("message").as_string()),
              HasSubstr("job.output.read"));
  EXPECT_EQ(lastAudit().outcome, "denied");
  call("GET", "/api/v1/jobs/" + id + "/output", 401, "", "");
  EXPECT_EQ(lastAudit().outcome, "denied");
  EXPECT_EQ(svc_.output_requests.size(), 4u) << "only the allowed reads reached the site";
}

TEST_F(RestOutputTest, AJobThatNeverReachedASiteHasNoOutput) {
  std::string id = submitFor("p1");  // no site is up: it waits
  json::value e = call("GET", "/api/v1/jobs/" + id + "/output", 404);
  EXPECT_EQ(e.at("error").at("code"), "no_attempt");
  call("GET", "/api/v1/jobs/j-999/output", 404);
  EXPECT_TRUE(svc_.output_requests.empty());
}

TEST_F(RestOutputTest, EachFailureHasItsAnswer) {
  std::string id = placedJob();
  std::string target = "/api/v1/jobs/" + id + "/output";
  struct Case {
    Failure failure;
    int status;
    std::string code;
    std::string retry_after;  // "" when none
  };
  for (const Case& c : {Case{Failure::kUnreachable, 503, "site_unreachable", "30"},
                        Case{Failure::kBusy, 503, "unavailable", "1"},
                        Case{Failure::kTimeout, 504, "site_timeout", "5"},
                        Case{Failure::kOldAgent, 409, "not_supported", ""}}) {
    svc_.output = [&c](const std::string&, const LogRequest&) {
      return OutputAnswer{c.failure, "because", {}};
    };
    api::HttpResponse r = send(request("GET", target));
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_EQ(json::parse(r.body).at("error").at("code").as_string(), c.code);
    std::string retry;
    for (const auto& [k, v] : r.headers) {
      if (k == "Retry-After") retry = v;
    }
    EXPECT_EQ(retry, c.retry_after) << c.code;
    EXPECT_EQ(lastAudit().outcome, "error");
  }
}

TEST_F(RestOutputTest, TheAgentsRefusalIsPassedOnInItsWords) {
  std::string id = placedJob();
  svc_.output = [](const std::string&, const LogRequest& r) {
    OutputAnswer a;
    a.data = LogData{.job_id = r.job_id,
                     .attempt = r.attempt,
                     .stream = r.stream,
                     .error = "no_output",
                     .message = "no output yet: /x/j.out does not exist"};
    return a;
  };
  json::value e = call("GET", "/api/v1/jobs/" + id + "/output", 409);
  EXPECT_EQ(e.at("error").at("code"), "no_output");
  EXPECT_EQ(e.at("error").at("message"), "site site-a: no output yet: /x/j.out does not exist");
  EXPECT_THAT(lastAudit().detail, HasSubstr("does not exist"));
}

}  // namespace
}  // namespace aifed::coordinator
