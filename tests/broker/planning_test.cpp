// Broker::plan (coordinator/broker/planning.h): the decision the next placement pass would
// take for a spec, changing nothing; submitting the same spec right after takes the same
// site, under every built-in policy and late binding.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coordinator/broker/broker.h"
#include "coordinator/broker/placement.h"

namespace aifed::broker {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

Federation threeSites() {
  Federation f;
  f.name = "test";
  auto site = [](std::string id, std::string country, int nodes, std::string acc) {
    SiteConfig s;
    s.id = id;
    s.name = id;
    s.country = country;
    s.partitions.push_back(PartitionConfig{"gpu", nodes, NodeType{acc, 4, 64, 512}});
    return s;
  };
  f.sites = {site("site-a", "FI", 16, "h100"), site("site-b", "SE", 16, "h100"),
             site("site-c", "IT", 8, "a100")};
  return f;
}

JobSpec gpuJob(int nodes, std::string type = "h100", int priority = 0) {
  JobSpec s;
  s.name = "train";
  s.project = "demo";
  s.user = "alice";
  s.nodes = nodes;
  s.gpus_per_node = 4;
  s.gpu_type = std::move(type);
  s.priority = priority;
  s.walltime = std::chrono::hours(1);
  return s;
}

// A policy that holds a job at the coordinator unless its best site starts it within
// ten minutes.
PolicySpec latePolicy() {
  PolicySpec p;
  p.name = "late-start";
  p.binding = BindingMode::kLate;
  p.bind_within = std::chrono::minutes(10);
  p.weights = {{"estimated-start", 1}};
  return p;
}

class PlanningTest : public ::testing::TestWithParam<std::string> {
 protected:
  explicit PlanningTest(std::string policy = "earliest-start")
      : broker_(threeSites(), config(std::move(policy))) {}

  static BrokerConfig config(std::string policy) {
    BrokerConfig c;
    c.policy = std::move(policy);
    c.policies = builtinPolicies();
    c.policies.push_back(latePolicy());
    return c;
  }

  Time at(int64_t s) { return fromMillis(1'800'000'000'000 + s * 1000); }

  void send(const std::string& site, Body body, Time now) {
    Effects fx;
    broker_.onMessage(*broker_.siteIndex(site),
                      makeMessage(site, "m-" + std::to_string(++msg_), now, std::move(body)), now,
                      fx);
    broker_.tick(now, fx);
  }

  // A site with `idle` of its `total` nodes idle and `pending_nh` node-hours waiting.
  void bringUp(const std::string& site, int idle, int total, std::string acc, Time now,
               double pending_nh = 0) {
    send(site, Hello{"test", "simulated", {}}, now);
    Capacity c;
    c.capacity.epoch = ++epoch_;
    PartitionCapacity p;
    p.name = "gpu";
    p.node_type = NodeType{std::move(acc), 4, 64, 512};
    p.nodes_total = total;
    p.nodes_idle = idle;
    p.nodes_allocated = total - idle;
    p.pending_jobs = pending_nh > 0 ? 3 : 0;
    p.pending_node_hours = pending_nh;
    c.capacity.partitions = {p};
    send(site, c, now);
  }

  // A heartbeat from `site`, without a tick.
  void hear(const std::string& site, Time now) {
    Effects fx;
    broker_.onMessage(
        *broker_.siteIndex(site),
        makeMessage(site, "m-" + std::to_string(++msg_), now, Heartbeat{epoch_, 0, 0}), now, fx);
  }

  void allUp(Time now) {
    bringUp("site-a", 12, 16, "h100", now);
    bringUp("site-b", 16, 16, "h100", now);
    bringUp("site-c", 8, 8, "a100", now);
  }

  // Submits and ticks: the job's site ("" while queued).
  std::string submit(const JobSpec& spec, Time now) {
    Effects fx;
    Result<JobRecord> r = broker_.submit(spec, now, fx);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    if (!r.ok()) return "?";
    broker_.tick(now, fx);
    return broker_.findJob(r->id)->site;
  }

  JobPlan plan(const JobSpec& spec, Time now) {
    Result<JobPlan> p = broker_.plan(spec, now);
    EXPECT_TRUE(p.ok()) << p.status().toString();
    return p.ok() ? *p : JobPlan{};
  }

  Broker broker_;
  int msg_ = 0;
  uint64_t epoch_ = 0;
};

// Every built-in policy: a run of different specs, each planned then submitted at once,
// lands where its plan said, while reservations of the earlier ones fill the sites.
TEST_P(PlanningTest, SubmittingRightAfterTakesThePlannedSite) {
  Effects fx;
  ASSERT_TRUE(broker_.setPolicy(GetParam(), "test", "", at(0), fx).ok());
  allUp(at(0));
  const std::vector<JobSpec> specs = {
      gpuJob(4),         gpuJob(8), gpuJob(2, "a100"),     gpuJob(12), gpuJob(1, "", 5), gpuJob(16),
      gpuJob(6, "a100"), gpuJob(3), gpuJob(16, "h100", 9), gpuJob(1)};
  int dispatched = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    Time now = at(1 + static_cast<int64_t>(i));
    JobPlan p = plan(specs[i], now);
    std::string site = submit(specs[i], now);
    EXPECT_EQ(p.action == PlanAction::kDispatch ? p.site : "", site)
        << GetParam() << ": spec " << i << ": " << p.decision.summary;
    EXPECT_EQ(p.decision.job_id, "j-" + std::to_string(i + 1));
    dispatched += !site.empty();
  }
  EXPECT_GE(dispatched, 5) << "the run must exercise dispatches, not only waits";
}

INSTANTIATE_TEST_SUITE_P(BuiltinPolicies, PlanningTest,
                         ::testing::Values("first-fit", "least-loaded", "earliest-start", "green",
                                           "data-gravity", "balanced"));

class PlanTest : public PlanningTest {
 protected:
  PlanTest() : PlanningTest("earliest-start") {}
};

TEST_F(PlanTest, ChangesNothing) {
  allUp(at(0));
  int64_t next = broker_.nextJobSeq();
  JobPlan p = plan(gpuJob(4), at(1));
  EXPECT_EQ(p.action, PlanAction::kDispatch);
  // site-b has 16 idle nodes, site-a 12: both start it now, more free nodes decides.
  EXPECT_EQ(p.site, "site-b");
  EXPECT_EQ(p.partition, "gpu");
  EXPECT_EQ(p.decision.tie_break, "more free nodes");
  ASSERT_EQ(p.decision.verdicts.size(), 3u);
  EXPECT_EQ(p.decision.verdicts[2].rejected_by, "accelerator");
  EXPECT_EQ(broker_.nextJobSeq(), next);
  EXPECT_EQ(broker_.reservedNodes("site-b"), 0);
  EXPECT_EQ(broker_.countJobs(std::nullopt), 0u);
  EXPECT_EQ(broker_.lastDecision(p.decision.job_id), nullptr);
  // The same plan again: nothing it did the first time changed the answer.
  EXPECT_EQ(plan(gpuJob(4), at(1)).decision, p.decision);
}

TEST_F(PlanTest, CountsReservationsHeldForOtherJobs) {
  allUp(at(0));
  EXPECT_EQ(submit(gpuJob(16), at(1)), "site-b");  // reserves all of site-b
  JobPlan p = plan(gpuJob(12), at(2));
  EXPECT_EQ(p.site, "site-a");  // site-b's reserved nodes make it wait there
  EXPECT_EQ(submit(gpuJob(12), at(2)), "site-a");
  // Both sites full: it waits at the best one's estimate.
  JobPlan full = plan(gpuJob(8), at(3));
  EXPECT_EQ(full.action, PlanAction::kDispatch);
  EXPECT_GT(chosenVerdict(full.decision)->estimated_start_s, 0);
}

TEST_F(PlanTest, ReservationsThatWouldHaveExpiredDoNotCount) {
  allUp(at(0));
  EXPECT_EQ(submit(gpuJob(16), at(1)), "site-b");
  // The reservation timeout (two minutes by default) passes without a report: the next
  // tick releases it, and the plan already leaves it out. (The sites keep talking.)
  hear("site-a", at(200));
  hear("site-b", at(200));
  EXPECT_EQ(broker_.reservedNodes("site-b"), 16);
  JobPlan p = plan(gpuJob(16), at(200));
  EXPECT_EQ(p.site, "site-b");
  EXPECT_EQ(submit(gpuJob(16), at(200)), "site-b");
}

TEST_F(PlanTest, SitesSilentTooLongAreNotCounted) {
  allUp(at(0));
  // Half a minute without a word (six heartbeats of 5 s): the next tick marks every
  // site unreachable, and the plan sees them so already.
  JobPlan p = plan(gpuJob(4), at(60));
  EXPECT_EQ(p.action, PlanAction::kWait);
  EXPECT_EQ(p.decision.verdicts[0].rejected_by, "site-state");
  EXPECT_EQ(submit(gpuJob(4), at(60)), "");
}

TEST_F(PlanTest, QueuedJobsAheadArePlacedFirst) {
  allUp(at(0));
  // Submitted without a placement pass: the next pass places it before a new job.
  Effects fx;
  ASSERT_TRUE(broker_.submit(gpuJob(16), at(1), fx).ok());
  JobPlan p = plan(gpuJob(16), at(1));
  EXPECT_EQ(p.site, "site-a");
  EXPECT_EQ(p.decision.job_id, "j-2");
  EXPECT_EQ(submit(gpuJob(16), at(1)), "site-a");
  EXPECT_EQ(broker_.findJob("j-1")->site, "site-b");
  // A job of higher priority goes before a queued one of lower priority.
  ASSERT_TRUE(broker_.submit(gpuJob(8, "a100"), at(2), fx).ok());
  JobPlan urgent = plan(gpuJob(8, "a100", 5), at(2));
  EXPECT_EQ(urgent.site, "site-c");
  EXPECT_THAT(urgent.decision.summary, HasSubstr("starts now"));
}

TEST_F(PlanTest, WaitsWhenNoSiteCanTakeItNow) {
  JobPlan p = plan(gpuJob(4), at(0));  // no site has reported yet
  EXPECT_EQ(p.action, PlanAction::kWait);
  EXPECT_EQ(p.site, "");
  EXPECT_THAT(p.decision.summary, HasSubstr("waiting: no site can take it now"));
  EXPECT_EQ(submit(gpuJob(4), at(0)), "");
}

TEST_F(PlanTest, RefusesWhatSubmitRefuses) {
  allUp(at(0));
  Result<JobPlan> p = broker_.plan(gpuJob(4, "mi300"), at(1));
  ASSERT_FALSE(p.ok());
  Effects fx;
  Result<JobRecord> r = broker_.submit(gpuJob(4, "mi300"), at(1), fx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(p.status().message(), r.status().message());
  EXPECT_EQ(p.status().field(), "gpu_type");
  JobSpec bad = gpuJob(4);
  bad.nodes = 0;
  EXPECT_EQ(broker_.plan(bad, at(1)).status().field(),
            broker_.submit(bad, at(1), fx).status().field());
}

TEST_F(PlanTest, LateBindingHoldsLikeThePass) {
  Effects fx;
  ASSERT_TRUE(broker_.setPolicy("late-start", "test", "", at(0), fx).ok());
  // Both h100 sites busy with hours of backlog: the best one starts the job in hours.
  bringUp("site-a", 0, 16, "h100", at(0), 200);
  bringUp("site-b", 0, 16, "h100", at(0), 100);
  JobPlan p = plan(gpuJob(4), at(1));
  EXPECT_EQ(p.action, PlanAction::kHold);
  EXPECT_EQ(p.site, "site-b");
  EXPECT_EQ(p.decision.chosen_site, "");
  EXPECT_THAT(p.decision.summary, HasSubstr("held at the coordinator: the best site, site-b"));
  EXPECT_EQ(submit(gpuJob(4), at(1)), "");
  EXPECT_THAT(broker_.lastDecision("j-1")->summary, HasSubstr("held at the coordinator"));
}

TEST_F(PlanTest, TieBreakNamesFederationOrder) {
  bringUp("site-a", 16, 16, "h100", at(0));
  bringUp("site-b", 16, 16, "h100", at(0));
  JobPlan p = plan(gpuJob(2), at(1));
  EXPECT_EQ(p.site, "site-a");
  EXPECT_EQ(p.decision.tie_break, "federation order");
  // Only one feasible site: no tie.
  EXPECT_EQ(plan(gpuJob(2, "a100"), at(1)).decision.tie_break, "");
}

// A user's cancel names the user in the job's reason and in the CANCEL (first and
// resent), and site reports do not replace it until the job ends otherwise.
TEST_F(PlanTest, CancelReasonNamesWhoCancelled) {
  allUp(at(0));
  ASSERT_EQ(submit(gpuJob(1), at(1)), "site-b");
  Effects fx;
  Result<JobRecord> c = broker_.cancel("j-1", at(2), fx, "alice");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->reason, "cancelled by alice");
  auto cancelReason = [](const Effects& e) {
    for (const OutboundMessage& m : e.messages) {
      if (const auto* x = std::get_if<Cancel>(&m.body)) return x->reason;
    }
    return std::string("(no CANCEL)");
  };
  EXPECT_EQ(cancelReason(fx), "cancelled by alice");
  JobStatus pending;
  pending.job_id = "j-1";
  pending.state = JobState::kPending;
  pending.local_id = "77";
  pending.reason = "Priority";
  send("site-b", pending, at(3));
  EXPECT_EQ(broker_.findJob("j-1")->reason, "cancelled by alice");
  Effects resent;
  broker_.tick(at(10), resent);  // the retry interval passed without an answer
  EXPECT_EQ(cancelReason(resent), "cancelled by alice");
  JobStatus done = pending;
  done.state = JobState::kCancelled;
  done.reason = "";
  done.ended_at = at(11);
  hear("site-b", at(11));
  send("site-b", done, at(11));
  EXPECT_EQ(broker_.findJob("j-1")->state, JobState::kCancelled);
  EXPECT_EQ(broker_.findJob("j-1")->reason, "cancelled by alice");
  // Without a name (the simulator, older callers): "cancelled by user".
  ASSERT_EQ(submit(gpuJob(1, "a100"), at(12)), "site-c");
  EXPECT_EQ(broker_.cancel("j-2", at(13), fx)->reason, "cancelled by user");
}

}  // namespace
}  // namespace aifed::broker
