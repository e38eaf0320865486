// Arrays and dependencies through the REST API (docs/api.md, "Arrays" and
// "Dependencies"): POST /api/v1/jobs with "array" or "dependencies", /api/v1/arrays and
// the ?array= filter of the jobs list, as the bench's roles (rest_fixture.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/coordinator/rest_fixture.h"

namespace aifed::coordinator {
namespace {
namespace json = boost::json;
using ::testing::HasSubstr;
using testing_support::RestBench;

std::string body(const std::string& project, json::object extra = {}) {
  json::object spec{{"nodes", 1}, {"gpus_per_node", 4}, {"gpu_type", "h100"},
                    {"walltime_s", 3600}, {"project", project}, {"name", "sweep"}};
  for (auto& [k, v] : extra) spec[k] = v;
  return json::serialize(spec);
}

int64_t sum(const json::object& counts) {
  int64_t n = 0;
  for (const auto& [state, count] : counts) n += count.as_int64();
  return n;
}

class RestArrayTest : public RestBench {
 protected:
  RestArrayTest() { bringUp("site-a", 16); }
};

TEST_F(RestArrayTest, AnArrayIsOneSubmissionOfTasksThrottledAtSites) {
  json::value made = call("POST", "/api/v1/jobs", 201,
                          body("p1", {{"array", {{"indices", "0-9"}, {"max_running", 3}}}}),
                          "submitter");
  const json::object& array = made.at("array").as_object();
  EXPECT_EQ(array.at("id"), "a-1");
  EXPECT_EQ(array.at("tasks"), 10);
  EXPECT_EQ(array.at("max_running"), 3);
  EXPECT_EQ(array.at("indices"), "0-9");
  EXPECT_EQ(array.at("user"), "submitter");
  EXPECT_EQ(array.at("project"), "p1");
  ASSERT_EQ(made.at("jobs").as_array().size(), 10u);
  EXPECT_EQ(sum(array.at("counts").as_object()), 10);
  EXPECT_EQ(svc_.audit.back().target, "a-1");
  // The commit's tick placed three tasks; the others wait for the throttle.
  json::value shown = call("GET", "/api/v1/arrays/a-1", 200, "", "submitter");
  EXPECT_EQ(shown.at("counts").at("dispatched"), 3);
  EXPECT_EQ(shown.at("counts").at("queued"), 7);
  EXPECT_EQ(shown.at("sites").at("site-a"), 3);
  json::value tasks = call("GET", "/api/v1/jobs?array=a-1&limit=100", 200, "", "submitter");
  EXPECT_EQ(tasks.at("total"), 10);
  const json::object& last = tasks.at("jobs").as_array().back().as_object();
  EXPECT_EQ(last.at("array_id"), "a-1");
  EXPECT_EQ(last.at("spec").at("env").at("AIFED_ARRAY_ID"), "a-1");
  bool throttled = false;
  for (const json::value& j : tasks.at("jobs").as_array()) {
    if (j.at("state") != "queued") continue;
    EXPECT_EQ(j.at("reason"), "array a-1 throttled: 3 of its tasks are active (%3)");
    throttled = true;
  }
  EXPECT_TRUE(throttled);
  // An ordinary job carries no array fields.
  std::string plain = submitFor("p1");
  EXPECT_FALSE(call("GET", "/api/v1/jobs/" + plain, 200).as_object().contains("array_id"));
  json::value list = call("GET", "/api/v1/arrays", 200, "", "submitter");
  EXPECT_EQ(list.at("total"), 1);
}

TEST_F(RestArrayTest, AnArrayIsVisibleAndCancelledLikeItsTasks) {
  call("POST", "/api/v1/jobs", 201, body("p1", {{"array", {{"indices", "1-4"}}}}), "submitter");
  call("GET", "/api/v1/arrays/a-1", 404, "", "submitter2");
  EXPECT_EQ(call("GET", "/api/v1/arrays", 200, "", "submitter2").at("total"), 0);
  call("POST", "/api/v1/arrays/a-1/cancel", 404, "", "submitter2");
  EXPECT_EQ(svc_.audit.back().outcome, "denied");
  call("GET", "/api/v1/arrays/a-9", 404);
  json::value done = call("POST", "/api/v1/arrays/a-1/cancel", 200, "", "submitter");
  EXPECT_EQ(svc_.audit.back().action, "array.cancel");
  // Queued tasks end at once; the ones at the site are being cancelled.
  EXPECT_EQ(sum(done.at("counts").as_object()), 4);
  for (const broker::JobRecord* t : svc_.broker().arrayTasks("a-1")) {
    EXPECT_TRUE(t->state == JobState::kCancelled || t->cancel_requested) << t->id;
    if (t->state == JobState::kCancelled) {
      EXPECT_EQ(t->reason, "cancelled by submitter");
    }
  }
}

TEST_F(RestArrayTest, ABadArrayIsRefusedNamingTheFieldAndCreatesNothing) {
  struct Case {
    json::value array;
    const char* field;
  };
  for (const Case& c : {Case{json::object{{"indices", "5-1"}}, "array.indices"},
                        Case{json::object{{"indices", "0-10000"}}, "array.indices"},
                        Case{json::object{{"max_running", 2}}, "array.indices"},
                        Case{json::value("0-9"), "array.indices"},
                        Case{json::object{{"indices", "0-9"}, {"max_running", -1}},
                             "array.max_running"}}) {
    json::value refused =
        call("POST", "/api/v1/jobs", 400, body("p1", {{"array", c.array}}), "submitter");
    EXPECT_EQ(refused.at("error").at("field"), c.field) << json::serialize(c.array);
  }
  EXPECT_EQ(svc_.broker().findArray("a-1"), nullptr);
  EXPECT_EQ(svc_.broker().findJob("j-1"), nullptr);
}

TEST_F(RestArrayTest, ADependencyMustNameAJobTheSubmitterMayRead) {
  std::string theirs = submitFor("p2");  // j-1, not readable by the p1 submitter
  json::value refused = call("POST", "/api/v1/jobs", 400,
                             body("p1", {{"dependencies", json::array{{{"job", theirs}}}}}),
                             "submitter");
  EXPECT_EQ(refused.at("error").at("field"), "dependencies");
  EXPECT_THAT(std::string(refused.at("error").at("message").as_string()), HasSubstr(theirs));
  call("POST", "/api/v1/jobs", 400, body("p1", {{"dependencies", json::array{{{"job", "j-99"}}}}}),
       "submitter");
  json::value first = call("POST", "/api/v1/jobs", 201, body("p1"), "submitter");
  std::string seq = std::string(first.at("id").as_string()).substr(2);
  json::value second = call(
      "POST", "/api/v1/jobs", 201,
      body("p1", {{"dependencies", json::array{{{"job", seq}, {"condition", "afterok"}}}}}),
      "submitter");
  EXPECT_EQ(second.at("state"), "queued");
  EXPECT_EQ(std::string(second.at("reason").as_string()),
            "waiting for " + std::string(first.at("id").as_string()) + " to complete (afterok)");
  EXPECT_EQ(second.at("spec").at("dependencies").at(0).at("job"), first.at("id"));
}

}  // namespace
}  // namespace aifed::coordinator
