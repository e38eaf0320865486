// POST /api/v1/admin/reload through the router (rest_fixture.h): admins only, the diff or
// a 422 naming the reason, and an audit row "federation-reloaded" either way.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/coordinator/rest_fixture.h"

namespace aifed::coordinator {
namespace {
namespace json = boost::json;
using ::testing::HasSubstr;
using testing_support::RestBench;

using RestAdminTest = RestBench;

const json::object kDiff{{"added", json::array{"site-c"}},
                         {"removed", json::array{}},
                         {"rekeyed", json::array{"site-a"}},
                         {"changed", json::array{}},
                         {"unchanged", 1}};

TEST_F(RestAdminTest, OnlyAnAdminMayReload) {
  svc_.reload = [](broker::Effects&) -> Result<json::object> { return kDiff; };
  for (const char* who : {"operator", "viewer", "submitter", "site-admin"}) {
    call("POST", "/api/v1/admin/reload", 403, "", who);
  }
  call("POST", "/api/v1/admin/reload", 401, "", "");
  EXPECT_EQ(svc_.reloads, 0);
  ASSERT_EQ(svc_.audit.size(), 5u);
  EXPECT_EQ(svc_.audit[0].action, "federation-reloaded");
  EXPECT_EQ(svc_.audit[0].outcome, "denied");
}

TEST_F(RestAdminTest, AnswersAndAuditsTheDiff) {
  svc_.reload = [](broker::Effects&) -> Result<json::object> { return kDiff; };
  json::value body = call("POST", "/api/v1/admin/reload", 200);
  EXPECT_EQ(body, json::value(kDiff));
  ASSERT_EQ(svc_.audit.size(), 1u);
  EXPECT_EQ(svc_.audit[0].action, "federation-reloaded");
  EXPECT_EQ(svc_.audit[0].outcome, "ok");
  EXPECT_EQ(json::parse(svc_.audit[0].detail), json::value(kDiff));
}

TEST_F(RestAdminTest, ARefusalIs422NamingTheReason) {
  svc_.reload = [](broker::Effects&) -> Result<json::object> {
    return invalidArgument("/etc/aifed/federation.toml:7: site[0].curve_public_keys[1]: bad",
                           "site[0].curve_public_keys[1]");
  };
  json::value body = call("POST", "/api/v1/admin/reload", 422);
  EXPECT_EQ(body.at("error").at("code"), "invalid_argument");
  EXPECT_EQ(body.at("error").at("field"), "site[0].curve_public_keys[1]");
  EXPECT_THAT(json::value_to<std::string>(body.at("error").at("message")),
              HasSubstr("federation.toml:7:"));

  svc_.reload = [](broker::Effects&) -> Result<json::object> {
    return failedPrecondition("f: site site-a still holds active jobs (j-1)");
  };
  body = call("POST", "/api/v1/admin/reload", 422);
  EXPECT_EQ(body.at("error").at("code"), "failed_precondition");
  ASSERT_EQ(svc_.audit.size(), 2u);
  EXPECT_EQ(svc_.audit[1].outcome, "error");
  EXPECT_THAT(svc_.audit[1].detail, HasSubstr("j-1"));
}

TEST_F(RestAdminTest, WithoutAFederationFileNothingIsReloaded) {
  json::value body = call("POST", "/api/v1/admin/reload", 422);
  EXPECT_THAT(json::value_to<std::string>(body.at("error").at("message")),
              HasSubstr("no federation file"));
}

}  // namespace
}  // namespace aifed::coordinator
