// The coordinator's config file (coordinator/coordinator_config.h) and the policy files
// it names: defaults, [placement], and the strict rules: an unknown key, a mistyped or
// out-of-range value is an error naming the file, the line and the key.
#include "coordinator/coordinator_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "tests/common/status_matchers.h"
#include "tests/store/test_dir.h"

namespace aifed::coordinator {
namespace {
using ::testing::HasSubstr;
using testing_support::TestDir;

// The three required keys on lines 1-3; a test's own lines start at line 4.
constexpr const char* kHead = "federation = 'f.toml'\nkey_file = 'k'\ndatabase = 'db/c.db'\n";

class CoordinatorConfigTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_.file(name);
    std::ofstream(path) << text;
    return path;
  }
  Result<CoordinatorConfig> load(const std::string& rest) {
    return loadCoordinatorConfig(write("coordinator.toml", kHead + rest));
  }
  std::string file(const std::string& name) const { return dir_.file(name); }

  TestDir dir_;
};

TEST_F(CoordinatorConfigTest, DefaultsToTheBuiltInPoliciesAndResolvesPaths) {
  Result<CoordinatorConfig> c = load("");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->federation_file, file("f.toml"));
  EXPECT_EQ(c->database, file("db/c.db"));
  // Not given: decided when the daemon starts, beside the final database (--database
  // moves it too; coordinator_main_test checks that).
  EXPECT_EQ(c->admin_token_file, "");
  EXPECT_EQ(c->http_port, 7780);
  EXPECT_EQ(c->broker.policy, "earliest-start");
  EXPECT_EQ(c->broker.policies.size(), 6u);
}

TEST_F(CoordinatorConfigTest, ReadsEveryKey) {
  Result<CoordinatorConfig> c = load(
      "zmq_bind = 'tcp://0.0.0.0:9000'\nhttp_address = '0.0.0.0'\nhttp_port = 0\n"
      "tls_cert = 'c.pem'\ntls_key = 'k.pem'\nlog_level = 'debug'\n"
      "admin_token_file = '/secret/admin.token'\n"
      "[liveness]\nheartbeat_interval_ms = 1000\nsuspect_after_missed = 2\n"
      "unreachable_after_missed = 4\nlost_lease_ms = 60000\nretry_interval_ms = 500\n"
      "maintenance_grace_ms = 0\n");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->zmq_bind, "tcp://0.0.0.0:9000");
  EXPECT_EQ(c->http_address, "0.0.0.0");
  EXPECT_EQ(c->http_port, 0);
  EXPECT_EQ(c->tls_cert, file("c.pem"));
  EXPECT_EQ(c->tls_key, file("k.pem"));
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->admin_token_file, "/secret/admin.token");
  EXPECT_EQ(c->broker.heartbeat_interval, std::chrono::seconds(1));
  EXPECT_EQ(c->broker.suspect_after_missed, 2);
  EXPECT_EQ(c->broker.unreachable_after_missed, 4);
  EXPECT_EQ(c->broker.lost_lease, std::chrono::minutes(1));
  EXPECT_EQ(c->broker.retry_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(c->broker.maintenance_grace, std::chrono::milliseconds(0));  // none: allowed
}

TEST_F(CoordinatorConfigTest, ReadsPolicyFileSharesAndHalfLife) {
  write("policies.toml",
        "[[policy]]\nname = 'night'\nbinding = 'late'\n[policy.weights]\nenergy = 1\n");
  Result<CoordinatorConfig> c = load(
      "[placement]\npolicy = 'night'\npolicy_file = 'policies.toml'\n"
      "fair_share_half_life_h = 24\nproject_shares = { a = 2, b = 0.5 }\n");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->broker.policy, "night");
  EXPECT_EQ(c->broker.policies.size(), 7u);
  EXPECT_EQ(c->broker.fair_share_half_life, std::chrono::hours(24));
  EXPECT_EQ(c->broker.project_shares.at("a"), 2);
  EXPECT_EQ(c->broker.project_shares.at("b"), 0.5);
}

// Each mistake gives exactly this message after "<dir>/coordinator.toml:".
TEST_F(CoordinatorConfigTest, MistakesNameTheFileTheLineAndTheKey) {
  struct Case {
    std::string rest;  // from line 4
    std::string message;
    std::string field;
  };
  const Case cases[] = {
      // An unknown key, with the nearest known one.
      {"htpp_port = 8080\n", "4: htpp_port: unknown key (did you mean \"http_port\"?)",
       "htpp_port"},
      {"\n[liveness]\nheartbeat_intervall_ms = 100\n",
       "6: liveness.heartbeat_intervall_ms: unknown key (did you mean "
       "\"heartbeat_interval_ms\"?)",
       "liveness.heartbeat_intervall_ms"},
      {"[placment]\npolicy = 'green'\n", "4: placment: unknown key (did you mean \"placement\"?)",
       "placment"},
      // A value of the wrong type is an error, not a fall back to the default.
      {"http_port = \"8080\"\n", "4: http_port: must be an integer, got a string", "http_port"},
      {"[liveness]\nmaintenance_grace_ms = -1\n",
       "5: liveness.maintenance_grace_ms: must be an integer within 0..86400000, got -1",
       "liveness.maintenance_grace_ms"},
      {"[liveness]\nlost_lease_ms = 1.5\n",
       "5: liveness.lost_lease_ms: must be an integer, got a float", "liveness.lost_lease_ms"},
      {"[placement]\nproject_shares = { a = 'big' }\n",
       "5: placement.project_shares.a: must be a number, got a string",
       "placement.project_shares.a"},
      // Out of range.
      {"http_port = 70000\n", "4: http_port: must be an integer within 0..65535, got 70000",
       "http_port"},
      {"[liveness]\nsuspect_after_missed = 4\nunreachable_after_missed = 4\n",
       "6: liveness.unreachable_after_missed: must be larger than suspect_after_missed (4)",
       "liveness.unreachable_after_missed"},
      {"log_level = 'verbose'\n",
       "4: log_level: must be one of trace, debug, info, warn, error, critical, off, got "
       "\"verbose\"",
       "log_level"},
      {"[placement]\npolicy = 'fastest'\n",
       "5: placement.policy: no policy \"fastest\" (known: first-fit, least-loaded, "
       "earliest-start, green, data-gravity, balanced)",
       "placement.policy"},
      {"tls_cert = 'c.pem'\n", "4: tls_cert: tls_cert and tls_key go together: set both or neither",
       "tls_cert"},
  };
  for (const Case& c : cases) {
    Result<CoordinatorConfig> config = load(c.rest);
    EXPECT_THAT(config,
                StatusIs(StatusCode::kInvalidArgument, file("coordinator.toml") + ":" + c.message))
        << c.rest;
    EXPECT_EQ(config.status().field(), c.field) << c.rest;
  }
}

// [oidc]: trusted OpenID Connect issuers (docs/security.md, "OpenID Connect").
TEST_F(CoordinatorConfigTest, ReadsOidcIssuers) {
  EXPECT_TRUE(load("")->oidc.issuers.empty()) << "off unless configured";
  Result<CoordinatorConfig> c = load(
      "[oidc]\nleeway_s = 10\n"
      "[[oidc.issuer]]\nissuer = 'https://idp.example.eu'\naudience = 'aifed'\n"
      "jwks_file = 'oidc/jwks.json'\nuser_claim = 'sub'\nprojects_claim = 'projects'\n"
      "roles = [{ value = 'admins', role = 'admin' }, { value = 'gw', role = 'portal' }]\n"
      "[[oidc.issuer]]\nissuer = 'https://other.example.eu'\naudience = 'aifed'\n"
      "jwks_file = '/etc/aifed/other.json'\nroles = [{ value = 'u', role = 'submitter' }]\n");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->oidc.leeway, std::chrono::seconds(10));
  ASSERT_EQ(c->oidc.issuers.size(), 2u);
  const identity::OidcIssuer& i = c->oidc.issuers[0];
  EXPECT_EQ(i.issuer, "https://idp.example.eu");
  EXPECT_EQ(i.audience, "aifed");
  EXPECT_EQ(i.jwks_file, file("oidc/jwks.json"));
  EXPECT_EQ(i.user_claim, "sub");
  EXPECT_EQ(i.roles_claim, "groups");  // the default
  EXPECT_EQ(i.projects_claim, "projects");
  ASSERT_EQ(i.roles.size(), 2u);
  EXPECT_EQ(i.roles[1].value, "gw");
  EXPECT_EQ(i.roles[1].role, identity::Role::kPortal);
  EXPECT_EQ(c->oidc.issuers[1].user_claim, "preferred_username");

  const std::string issuer =
      "[[oidc.issuer]]\nissuer = 'https://idp'\naudience = 'aifed'\njwks_file = 'j.json'\n";
  EXPECT_THAT(load("[oidc]\n" + issuer + "roles = [{ value = 'x', role = 'root' }]\n"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("role: must be one of admin")));
  EXPECT_THAT(load("[oidc]\n" + issuer), StatusIs(StatusCode::kInvalidArgument,
                                                   HasSubstr("oidc.issuer[0].roles")));
  EXPECT_THAT(load("[oidc]\n" + issuer + "roles = [{ value = 'x', role = 'admin' }]\n" + issuer +
                   "roles = [{ value = 'x', role = 'admin' }]\n"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("configured twice")));
  EXPECT_THAT(load("[oidc]\nleeway_s = 3600\n" + issuer),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("oidc.leeway_s")));
  EXPECT_THAT(load("[oidc]\n" + issuer + "audeince = 'x'\n"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("did you mean \"audience\"")));
}

TEST_F(CoordinatorConfigTest, MissingRequiredKeysAndFilesAreNamed) {
  std::string path = write("coordinator.toml", "federation = 'f.toml'\nkey_file = 'k'\n");
  EXPECT_THAT(loadCoordinatorConfig(path),
              StatusIs(StatusCode::kInvalidArgument, path + ": database: is required"));
  EXPECT_THAT(loadCoordinatorConfig(file("absent.toml")),
              StatusIs(StatusCode::kNotFound, HasSubstr(file("absent.toml"))));
  EXPECT_THAT(load("[placement]\npolicy_file = 'missing.toml'\n"),
              StatusIs(StatusCode::kNotFound, HasSubstr(file("missing.toml"))));
}

// The policy file it names goes through the same reader.
TEST_F(CoordinatorConfigTest, PolicyFileMistakesNameTheirFileLineAndKey) {
  struct Case {
    std::string policies;
    std::string message;  // after "<dir>/policies.toml:"
  };
  const Case cases[] = {
      {"[[policy]]\nname = 'x'\nbind_whithin_s = 10\n",
       "3: policy[0].bind_whithin_s: unknown key (did you mean \"bind_within_s\"?)"},
      {"[[policy]]\nname = 'x'\nversion = '2'\n",
       "3: policy[0].version: must be an integer, got a string"},
      {"[[policy]]\nname = 'x'\n[policy.weights]\ncarbn = 1\n",
       "4: policy[0].weights.carbn: unknown score plugin \"carbn\" (did you mean \"carbon\"?)"},
      {"[[policy]]\nname = 'x'\n[policy.weights]\nload = -1\n",
       "4: policy[0].weights.load: must be positive"},
      {"[[polcy]]\nname = 'x'\n", "1: polcy: unknown key (did you mean \"policy\"?)"},
  };
  for (const Case& c : cases) {
    write("policies.toml", c.policies);
    EXPECT_THAT(load("[placement]\npolicy_file = 'policies.toml'\n"),
                StatusIs(StatusCode::kInvalidArgument, file("policies.toml") + ":" + c.message))
        << c.policies;
  }
}

}  // namespace
}  // namespace aifed::coordinator

namespace aifed::coordinator {
namespace {

// The console's history (issue 14): history_interval and history_retention as durations.
TEST(CoordinatorHistoryConfig, DefaultsAndDurationsAndMistakes) {
  TestDir dir;
  auto load = [&dir](const std::string& rest) {
    std::string path = dir.file("coordinator.toml");
    std::ofstream(path) << kHead << rest;
    return loadCoordinatorConfig(path);
  };
  Result<CoordinatorConfig> c = load("");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->history.interval, std::chrono::seconds(60));
  EXPECT_EQ(c->history.retention, std::chrono::hours(14 * 24));
  c = load("history_interval = \"1s\"\nhistory_retention = \"2h\"\n");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->history.interval, std::chrono::seconds(1));
  EXPECT_EQ(c->history.retention, std::chrono::hours(2));
  EXPECT_EQ(parseDurationText("15m"), std::chrono::minutes(15));
  EXPECT_EQ(parseDurationText("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(parseDurationText("14d"), std::chrono::hours(336));
  for (const char* bad : {"", "s", "10", "-5s", "0s", "1.5h", "3 weeks", "5w"}) {
    EXPECT_FALSE(parseDurationText(bad).has_value()) << bad;
  }
  EXPECT_THAT(load("history_interval = \"fast\"\n"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("4: history_interval: must be a positive duration")));
  EXPECT_THAT(load("history_interval = \"500ms\"\n"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("history_interval: must be at least 1s")));
  EXPECT_THAT(load("history_interval = \"2h\"\nhistory_retention = \"1h\"\n"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("history_retention: must be at least history_interval")));
}

}  // namespace
}  // namespace aifed::coordinator
