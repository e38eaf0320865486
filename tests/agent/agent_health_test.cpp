// The agent's own health in HEARTBEAT and CAPACITY (protocol/agent_health.h): its
// version, whether its backend answers and since when, and its outbox's depth. A backend
// whose health the test sets, a real SQLite store in a temp dir, a transport that records
// frames; time is explicit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "protocol/messages.h"
#include "site-agent/agent.h"

namespace aifed::agent {
namespace {

using std::chrono::seconds;

// Backend implementation with a settable health and no jobs.
class HealthBackend final : public Backend {
 public:
  // Backend
  std::string_view kind() const override { return "slurm"; }
  Result<SubmittedJob> submit(const JobTag&, const JobSpec&, const LocalIdentity&, Time) override {
    return unavailable("not in this test");
  }
  Status cancel(const std::string&, Time) override { return Status::Ok(); }
  std::vector<LocalJobUpdate> poll(Time) override { return {}; }
  Result<SiteCapacity> capacity(Time) override {
    if (!state.ok) return unavailable("Slurm is not answering: " + state.error);
    return SiteCapacity{
        0, {PartitionCapacity{"gpu", {"h200", 8, 112, 2048}, 16, 16, 0, 0, 0, 0, 0, 0, {}}}};
  }
  std::vector<LocalJobUpdate> activeJobs() const override { return {}; }
  std::optional<Time> nextEventTime() const override { return std::nullopt; }
  BackendHealth health(Time) const override { return state; }

  BackendHealth state;
};

class AgentHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("aifed-agent-health-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto s = AgentStore::open((dir_ / "agent.db").string());
    ASSERT_TRUE(s.ok()) << s.status().toString();
    store_ = std::move(*s);
    SiteAgentOptions o;
    o.site = "mimer";
    o.agent_version = "9.8.7";
    agent_ = std::make_unique<SiteAgent>(o, backend_, *store_, [this](const std::string& f) {
      sent_.push_back(f);
      return Status::Ok();
    });
  }
  void TearDown() override {
    agent_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  static Instant at(Time t) { return Instant(t); }
  void welcome(Time t) {
    agent_->onFrame(encodeMessage(makeMessage("mimer", "c-1", t,
                                              Welcome{"test", "1.2", seconds(5), seconds(30)})),
                    at(t));
  }
  // The health of every HEARTBEAT and CAPACITY sent since the last call, in order.
  std::vector<std::pair<std::string, AgentHealth>> reported() {
    std::vector<std::pair<std::string, AgentHealth>> out;
    for (const std::string& f : std::exchange(sent_, {})) {
      auto d = decodeMessage(f);
      const Message* m = std::get_if<Message>(&d);
      EXPECT_NE(m, nullptr) << f;
      if (m == nullptr) continue;
      if (const auto* hb = std::get_if<Heartbeat>(&m->body)) {
        EXPECT_TRUE(hb->health.has_value()) << f;
        if (hb->health) out.emplace_back("HEARTBEAT", *hb->health);
      } else if (const auto* c = std::get_if<Capacity>(&m->body)) {
        EXPECT_TRUE(c->health.has_value()) << f;
        if (c->health) out.emplace_back("CAPACITY", *c->health);
      }
    }
    return out;
  }

  std::filesystem::path dir_;
  HealthBackend backend_;
  std::unique_ptr<AgentStore> store_;
  std::unique_ptr<SiteAgent> agent_;
  std::vector<std::string> sent_;
  Time t0_{seconds(1'700'000'000)};
};

TEST_F(AgentHealthTest, HeartbeatAndCapacityCarryTheAgentsHealth) {
  backend_.state = BackendHealth{.ok = true, .error = "", .last_ok_at = t0_};
  ASSERT_TRUE(agent_->start(at(t0_)).ok());
  welcome(t0_);                        // answered with a CAPACITY
  agent_->tick(at(t0_ + seconds(5)));  // and a HEARTBEAT after the interval
  auto r = reported();
  ASSERT_GE(r.size(), 2u);
  EXPECT_EQ(r.front().first, "CAPACITY");
  EXPECT_EQ(r.back().first, "HEARTBEAT");
  for (const auto& [type, h] : r) {
    EXPECT_EQ(h, (AgentHealth{.version = "9.8.7",
                              .backend_ok = true,
                              .backend_error = "",
                              .last_backend_ok_at = t0_,
                              .outbox_depth = 0}))
        << type;
  }
}

TEST_F(AgentHealthTest, ABackendThatStoppedAnsweringIsReportedDownWithItsLastSuccess) {
  ASSERT_TRUE(agent_->start(at(t0_)).ok());
  welcome(t0_);
  reported();
  backend_.state = BackendHealth{
      .ok = false, .error = "sinfo: Unable to contact slurm controller", .last_ok_at = t0_};
  agent_->tick(at(t0_ + seconds(5)));
  auto r = reported();
  ASSERT_FALSE(r.empty());
  for (const auto& [type, h] : r) {
    EXPECT_FALSE(h.backend_ok) << type;
    EXPECT_EQ(h.backend_error, "sinfo: Unable to contact slurm controller") << type;
    EXPECT_EQ(h.last_backend_ok_at, t0_) << type;
  }
}

// The depth is what waits in the durable outbox: it grows while the coordinator does not
// acknowledge and falls when it does.
TEST_F(AgentHealthTest, OutboxDepthCountsUnacknowledgedMessages) {
  ASSERT_TRUE(agent_->start(at(t0_)).ok());
  welcome(t0_);
  reported();
  for (int i = 0; i < 3; ++i) {
    std::string id = "o-" + std::to_string(i);
    JobStatus status;
    status.job_id = id;
    std::string frame = encodeMessage(makeMessage("mimer", id, t0_, status));
    ASSERT_TRUE(store_->enqueueOutbox({id, frame, t0_}).ok());
  }
  EXPECT_EQ(agent_->health(at(t0_)).outbox_depth, 3u);
  agent_->tick(at(t0_ + seconds(5)));
  auto r = reported();
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.back().second.outbox_depth, 3u);
  ASSERT_TRUE(store_->acknowledgeOutbox("o-1").ok());
  EXPECT_EQ(agent_->health(at(t0_)).outbox_depth, 2u);
}

}  // namespace
}  // namespace aifed::agent
