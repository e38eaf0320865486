// The maintenance routes (coordinator/rest/maintenance_routes.cpp) and the drain's record
// through the router, against a real broker behind a fake JobService.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/coordinator/rest_fixture.h"

namespace aifed::coordinator {
namespace {
namespace json = boost::json;
using ::testing::HasSubstr;

using RestMaintenanceTest = testing_support::RestBench;

// The bench's clock stands at 1'800'000'000'000 ms: 2027-01-15 08:00:00Z.
constexpr const char* kWindow =
    R"({"start":"2027-01-15T09:00:00Z","end":"2027-01-15T17:00:00Z","reason":"Slurm upgrade"})";

TEST_F(RestMaintenanceTest, DeclareListCancelAndEveryChangeIsAudited) {
  json::value w = call("POST", "/api/v1/sites/site-a/maintenance", 201, kWindow, "site-admin");
  EXPECT_EQ(w.at("id"), "mw-1");
  EXPECT_EQ(w.at("start_at"), 1'800'003'600'000);
  EXPECT_EQ(w.at("end_at"), 1'800'032'400'000);
  EXPECT_EQ(w.at("declared_by"), "site-admin");
  json::value site = call("GET", "/api/v1/sites/site-a", 200);
  ASSERT_EQ(site.at("maintenance").as_array().size(), 1u);
  EXPECT_EQ(site.at("maintenance").as_array()[0], w);
  EXPECT_EQ(site.at("maintenance_active"), "") << "not yet begun";

  // Milliseconds work too; start defaults to now (in force at once).
  json::value now_w = call("POST", "/api/v1/sites/site-a/maintenance", 201,
                           R"({"end":1800000600000,"reason":"reboot"})", "operator");
  EXPECT_EQ(now_w.at("id"), "mw-2");
  EXPECT_EQ(call("GET", "/api/v1/sites/site-a", 200).at("maintenance_active"), "mw-2");

  call("DELETE", "/api/v1/sites/site-a/maintenance/mw-1", 200, "", "admin");
  call("DELETE", "/api/v1/sites/site-a/maintenance/mw-1", 404, "", "admin");
  EXPECT_EQ(call("GET", "/api/v1/sites/site-a", 200).at("maintenance").as_array().size(), 1u);
  EXPECT_EQ(call("POST", "/api/v1/sites/site-a/maintenance", 201, kWindow).at("id"), "mw-3")
      << "ids are never reused";

  std::vector<std::string> actions;
  for (const identity::AuditRecord& a : svc_.audit) {
    if (a.action.rfind("site.maintenance.", 0) == 0) actions.push_back(a.action + " " + a.outcome);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{
                         "site.maintenance.declare ok", "site.maintenance.declare ok",
                         "site.maintenance.cancel ok", "site.maintenance.cancel error",
                         "site.maintenance.declare ok"}));
}

TEST_F(RestMaintenanceTest, BadWindowsAndWrongRolesAreRefusedNamingTheField) {
  struct Case {
    std::string body;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"start":"2027-01-15T10:00:00Z","end":"2027-01-15T09:00:00Z","reason":"x"})", "end"},
           {R"({"end":"2027-01-15T07:00:00Z","reason":"x"})", "end"},
           {R"({"end":"2027-02-15T07:00:00Z","reason":"x"})", "end"},
           {R"({"end":"2027-01-15T09:00:00Z"})", "reason"},
           {R"({"end":"tomorrow","reason":"x"})", "end"},
           {R"({"reason":"x"})", "end"}}) {
    json::value e = call("POST", "/api/v1/sites/site-a/maintenance", 400, c.body);
    EXPECT_EQ(e.at("error").at("field").as_string(), c.field) << c.body;
  }
  call("POST", "/api/v1/sites/site-b/maintenance", 403, kWindow, "site-admin");  // not its site
  call("POST", "/api/v1/sites/site-a/maintenance", 403, kWindow, "viewer");
  call("POST", "/api/v1/sites/site-a/maintenance", 403, kWindow, "submitter");
  call("POST", "/api/v1/sites/nowhere/maintenance", 404, kWindow);
}

TEST_F(RestMaintenanceTest, AWindowInForceKeepsJobsAwayAndExplainSaysUntilWhen) {
  bringUp("site-a", 16);
  call("POST", "/api/v1/sites/site-a/maintenance", 201,
       R"({"end":"2027-01-15T12:00:00Z","reason":"cooling"})");
  std::string id = submitFor("p1");
  json::value e = call("GET", "/api/v1/jobs/" + id + "/explain", 200);
  EXPECT_EQ(e.at("question"), "why-not-yet");
  const json::value& a = e.at("decision").at("sites").as_array()[0];
  EXPECT_EQ(a.at("rejected_by"), "site-state");
  EXPECT_THAT(std::string(a.at("reason").as_string()),
              HasSubstr("maintenance window mw-1 until 2027-01-15 12:00:00Z: cooling"));
}

TEST_F(RestMaintenanceTest, TheDrainKeepsWhoWhyAndWhen) {
  json::value s =
      call("POST", "/api/v1/sites/site-a/drain", 200, R"({"reason":"disk swap"})", "operator");
  EXPECT_EQ(s.at("drain_reason"), "disk swap");
  EXPECT_EQ(s.at("drained_by"), "operator");
  EXPECT_EQ(s.at("drained_at"), 1'800'000'000'000);
  s = call("POST", "/api/v1/sites/site-a/resume", 200, "", "operator");
  EXPECT_EQ(s.at("drain_reason"), "");
  EXPECT_TRUE(s.at("drained_at").is_null());
}

}  // namespace
}  // namespace aifed::coordinator
