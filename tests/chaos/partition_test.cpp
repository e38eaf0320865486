// A partition longer than the job lease. Site A's agent runs in a network namespace this
// test makes (ip netns + veth); the coordinator binds the veth's address on this side, so
// the other agents reach it too. With the link cut for longer than unreachable_after +
// the lease, site A's agent must stop its re-placeable jobs (reporting them lost) before
// the coordinator re-places them, so the copies never overlap; jobs that may not be
// re-placed keep running at site A and end there once the link is back.
#include <thread>

#include "tests/chaos/chaos_fixture.h"
#include "tests/chaos/host_faults.h"

namespace aifed::chaos {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr int kLeaseMs = 3000;  // unreachable after 6 x 200 ms = 1.2 s; re-placed after 4.2 s

class PartitionTest : public ChaosTest {
 protected:
  void SetUp() override {
    if (std::string why = whyNotRoot(); !why.empty()) GTEST_SKIP() << why;
    auto ns = NetworkNamespace::create("ach" + std::to_string(getpid() % 100000));
    ASSERT_TRUE(ns.ok()) << ns.status().toString();
    ns_ = std::move(*ns);
    cli::LocalFederationOptions o = chaosOptions();
    o.zmq_host = ns_->hostAddress();
    o.lost_lease_ms = kLeaseMs;
    ASSERT_NO_FATAL_FAILURE(prepare(o));
    fed_->setLaunchPrefix("site-a", ns_->execPrefix());
    ASSERT_NO_FATAL_FAILURE(startCoordinator());
  }
  void TearDown() override {
    if (fed_) fed_->stopAll();
    ChaosTest::TearDown();
    ns_.reset();
  }
  json::object job(const std::string& id) {
    json::value v = getJson("/api/v1/jobs/" + id);
    return v.is_object() ? v.as_object() : json::object{};
  }

  std::unique_ptr<NetworkNamespace> ns_;
};

TEST_F(PartitionTest, LinkCutForLongerThanTheLease) {
  ASSERT_NO_FATAL_FAILURE(startAgents({"site-a"}));
  // Site A alone, so all of these go there: 20 s runs, two of them not re-placeable.
  startStream(20, [](int n) { return chaosJob(1200, 4, /*requeue_on_site_loss=*/n > 2); },
              "part");
  ASSERT_TRUE(waitFor([&] { return stream().answered(201) >= 6; }, 10s));
  stream().stop();
  std::vector<Submission> first = stream().submissions();
  ASSERT_TRUE(waitFor(
      [&] {
        for (const Submission& s : first) {
          if (s.http_status == 201 && job(s.job_id)["state"] != "running") return false;
        }
        return true;
      },
      20s))
      << "the jobs did not start at site A";
  ASSERT_NO_FATAL_FAILURE(startAgents({"site-b", "site-c"}));

  ASSERT_TRUE(ns_->cut().ok());
  startStream(2, [](int n) { return chaosJob(60 + n % 60); }, "part");
  std::this_thread::sleep_for(std::chrono::milliseconds(kLeaseMs + 1200 + 4000));
  EXPECT_NE(siteStates()["site-a"], "up") << "the cut did not cut";
  ASSERT_TRUE(ns_->heal().ok());
  EXPECT_TRUE(waitSitesUp({"site-a"}, 30s)) << "site A did not come back";
  stream().stop();
  EXPECT_TRUE(waitDrained(90s)) << "not drained in 90 s";

  for (const Submission& s : first) {
    if (s.http_status != 201) continue;
    json::object j = job(s.job_id);
    bool requeue = j["spec"].as_object()["requeue_on_site_loss"].as_bool();
    if (requeue) {
      EXPECT_GE(j["attempt"].as_int64(), 2) << s.job_id << " was not re-placed: " << json::serialize(j);
    } else {
      EXPECT_EQ(j["attempt"].as_int64(), 1) << s.job_id << " may not be re-placed: " << json::serialize(j);
      EXPECT_EQ(j["site"], "site-a") << json::serialize(j);
      EXPECT_EQ(j["state"], "completed") << json::serialize(j);
    }
  }
  check(checkInput());
}

}  // namespace
}  // namespace aifed::chaos
