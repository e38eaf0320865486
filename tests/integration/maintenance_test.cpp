// Maintenance windows with the real daemons (docs/operations.md, "Maintenance windows"):
// an agent frozen (SIGSTOP) inside a declared window for longer than the job lease comes
// back (SIGCONT) with its running job untouched and never re-placed; frozen as long
// outside a window, the old rule holds and the job is re-placed. Short leases keep each
// scenario to seconds.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/http_client.h"
#include "cli/local_federation.h"
#include "protocol/codec.h"
#include "tests/integration/local_federation_test.h"

namespace aifed::cli {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class MaintenanceIntegrationTest : public testing::LocalFederationTest {
 protected:
  void SetUp() override {
    LocalFederationOptions o;
    o.federation_file = std::string(AIFED_SOURCE_DIR) + "/tests/data/federation-3.toml";
    o.speedup = 10;
    o.heartbeat_interval_ms = 200;  // suspect after 0.6 s, unreachable after 1.2 s
    o.retry_interval_ms = 300;
    o.lost_lease_ms = 2000;
    o.maintenance_grace_ms = 1000;
    o.log_level = "debug";
    ASSERT_NO_FATAL_FAILURE(prepareFederation("aifed-mw", std::move(o)));
    ASSERT_NO_FATAL_FAILURE(startCoordinator());
  }

  json::value get(const std::string& target) {
    auto r = client_->request("GET", target, "");
    EXPECT_TRUE(r.ok()) << r.status().toString();
    if (!r.ok() || r->status != 200) return nullptr;
    return json::parse(r->body);
  }
  std::string siteState(const std::string& site) {
    json::value v = get("/api/v1/sites/" + site);
    return v.is_object() ? json::value_to<std::string>(v.at("state")) : "";
  }
  bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return done();
  }
  std::string log(const std::string& name) {
    std::ifstream in(fed_->logPath(name));
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  void startAgent(const std::string& site) {
    ASSERT_TRUE(fed_->startAgent(site).ok());
    ASSERT_TRUE(waitFor([&] { return siteState(site) == "up"; }, 20s)) << site << " not up";
  }
  // A job running at site-a (the only site up when it is placed) for a minute.
  std::string runningJobAtSiteA() {
    JobSpec spec;
    spec.name = "long";
    spec.project = "it";
    spec.nodes = 1;
    spec.gpus_per_node = 4;
    spec.walltime = std::chrono::hours(1);
    spec.simulated_runtime = std::chrono::minutes(10);  // 60 s at speedup 10
    auto r = client_->request("POST", "/api/v1/jobs", json::serialize(toJson(spec)));
    EXPECT_TRUE(r.ok() && r->status == 201) << (r.ok() ? r->body : r.status().toString());
    if (!r.ok() || r->status != 201) return "";
    std::string id = json::value_to<std::string>(json::parse(r->body).at("id"));
    EXPECT_TRUE(waitFor([&] { return job(id).state == "running"; }, 20s)) << "not running";
    return id;
  }
  struct JobView {
    std::string state, site;
    int64_t attempt = 0;
  };
  JobView job(const std::string& id) {
    json::value v = get("/api/v1/jobs/" + id);
    if (!v.is_object()) return {};
    return {json::value_to<std::string>(v.at("state")), json::value_to<std::string>(v.at("site")),
            v.at("attempt").to_number<int64_t>()};
  }
  // Freezes site-a's agent for as long as it takes the coordinator to see it unreachable
  // and then twice the lease more, then thaws it.
  void freezeSiteA() {
    pid_t pid = fed_->pid("site-a");
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(pid, SIGSTOP), 0);
    bool unreachable = waitFor([&] { return siteState("site-a") == "unreachable"; }, 10s);
    std::this_thread::sleep_for(4s);  // lost_lease is 2 s
    ASSERT_EQ(::kill(pid, SIGCONT), 0);
    ASSERT_TRUE(unreachable) << "site-a never became unreachable";
  }
};

TEST_F(MaintenanceIntegrationTest, AnAgentFrozenInsideItsWindowKeepsItsJobAndItIsNeverReplaced) {
  ASSERT_NO_FATAL_FAILURE(startAgent("site-a"));
  std::string id = runningJobAtSiteA();
  ASSERT_FALSE(id.empty());
  ASSERT_NO_FATAL_FAILURE(startAgent("site-b"));  // keeps the coordinator connected

  int64_t end_ms = toMillis(RealClock().now()) + 60'000;
  auto r = client_->request("POST", "/api/v1/sites/site-a/maintenance",
                            "{\"end\":" + std::to_string(end_ms) + ",\"reason\":\"it test\"}");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(json::value_to<std::string>(json::parse(r->body).at("id")), "mw-1");
  // The agent holds the window once its log says so (it logs, persists, then ACKs).
  ASSERT_TRUE(waitFor([&] { return log("site-a").find("maintenance window mw-1") !=
                                   std::string::npos; },
                      10s))
      << log("site-a");
  EXPECT_NE(log("coordinator").find("site-transition site=site-a event=maintenance-start"),
            std::string::npos);

  size_t agent_log_before = log("site-a").size();
  ASSERT_NO_FATAL_FAILURE(freezeSiteA());
  JobView during = job(id);
  EXPECT_EQ(during.attempt, 1) << "never re-placed";
  EXPECT_EQ(during.site, "site-a");
  ASSERT_TRUE(waitFor([&] { return siteState("site-a") == "up"; }, 10s));
  std::this_thread::sleep_for(1s);  // the agent's own lease check has run since
  JobView after = job(id);
  EXPECT_EQ(after.state, "running");
  EXPECT_EQ(after.attempt, 1);
  EXPECT_EQ(after.site, "site-a");
  EXPECT_EQ(log("site-a").find("stopping the jobs", agent_log_before), std::string::npos)
      << "the agent kept it";
  // No new job goes there while the window holds.
  json::value site = get("/api/v1/sites/site-a");
  EXPECT_EQ(json::value_to<std::string>(site.at("maintenance_active")), "mw-1");
}

TEST_F(MaintenanceIntegrationTest, OutsideAWindowTheOldRuleHoldsAndTheJobIsReplaced) {
  ASSERT_NO_FATAL_FAILURE(startAgent("site-a"));
  std::string id = runningJobAtSiteA();
  ASSERT_FALSE(id.empty());
  ASSERT_NO_FATAL_FAILURE(startAgent("site-b"));

  size_t agent_log_before = log("site-a").size();
  ASSERT_NO_FATAL_FAILURE(freezeSiteA());
  ASSERT_TRUE(waitFor([&] { return job(id).attempt >= 2; }, 10s)) << "not re-placed";
  EXPECT_EQ(job(id).site, "site-b");
  // The thawed agent stops its copy: the lease ran out on its side too.
  ASSERT_TRUE(waitFor(
      [&] { return log("site-a").find("stopping the jobs", agent_log_before) != std::string::npos; },
      10s))
      << log("site-a");
}

}  // namespace
}  // namespace aifed::cli
