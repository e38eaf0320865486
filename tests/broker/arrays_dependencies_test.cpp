// Job arrays and dependencies at the broker (docs/placement.md, "Dependencies" and
// "Arrays"): held jobs are not placed, are released on the tick after what they wait on
// ended, are cancelled through the life cycle when they never can start, and survive a
// restart; an array's throttle is never exceeded; an array-wide cancel reaches every task.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "coordinator/broker/broker.h"

namespace aifed::broker {
namespace {

using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Federation twoSites() {
  Federation f;
  f.name = "test";
  for (std::string id : {"site-a", "site-b"}) {
    SiteConfig s;
    s.id = s.name = id;
    s.country = "FI";
    PartitionConfig p;
    p.name = "gpu";
    p.nodes = 16;
    p.node_type = NodeType{"h100", 4, 64, 512};
    s.partitions.push_back(p);
    f.sites.push_back(s);
  }
  return f;
}

JobSpec oneNode(std::string site = "") {
  JobSpec s;
  s.name = "step";
  s.project = "demo";
  s.user = "alice";
  s.nodes = 1;
  s.gpus_per_node = 4;
  s.gpu_type = "h100";
  s.walltime = std::chrono::hours(1);
  if (!site.empty()) s.allowed_sites = {site};
  return s;
}

class ArraysAndDependenciesTest : public ::testing::Test {
 protected:
  ArraysAndDependenciesTest() { broker_ = std::make_unique<Broker>(twoSites(), BrokerConfig{}); }

  Time at(int64_t s) { return fromMillis(1'800'000'000'000 + s * 1000); }
  Instant inst(int64_t s) { return Instant{at(s), MonoTime{} + seconds(s)}; }

  Effects send(const std::string& site, Body body, int64_t s) {
    Effects fx;
    Message m = makeMessage(site, "m-" + std::to_string(++msg_), at(s), std::move(body));
    broker_->onMessage(*broker_->siteIndex(site), std::move(m), inst(s), fx);
    broker_->tick(inst(s), fx);
    return fx;
  }

  void bringUp(const std::string& site, int64_t s, int idle = 16) {
    send(site, Hello{"test", "simulated", {}}, s);
    PartitionCapacity p;
    p.name = "gpu";
    p.node_type = NodeType{"h100", 4, 64, 512};
    p.nodes_total = 16;
    p.nodes_idle = idle;
    p.nodes_allocated = 16 - idle;
    Capacity c;
    c.capacity.epoch = ++epoch_[site];
    c.capacity.partitions = {p};
    send(site, c, s);
  }

  std::string submit(const JobSpec& spec, int64_t s, Effects* out = nullptr) {
    Effects fx;
    Result<std::string> id = broker_->enqueue(spec, inst(s), fx);
    EXPECT_TRUE(id.ok()) << id.status().toString();
    broker_->tick(inst(s), fx);
    if (out) *out = std::move(fx);
    return id.ok() ? *id : "";
  }

  // The site accepts, runs and ends job `id` (its current attempt) with `state`.
  void runAndEnd(const std::string& id, JobState state, int64_t s) {
    const JobRecord* j = broker_->findJob(id);
    ASSERT_TRUE(j && !j->site.empty()) << id;
    std::string site = j->site;
    int attempt = j->attempt;
    send(site, DispatchAck{id, attempt, true, "", "local-" + id}, s);
    std::optional<int> code = state == JobState::kCompleted ? 0 : 1;
    send(site, JobStatus{id, attempt, "local-" + id, state, std::nullopt, at(s), at(s), code, ""},
         s);
  }

  static std::vector<Dispatch> dispatches(const Effects& fx) {
    std::vector<Dispatch> out;
    for (const OutboundMessage& m : fx.messages) {
      if (auto* d = std::get_if<Dispatch>(&m.body)) out.push_back(*d);
    }
    return out;
  }

  const JobRecord& job(const std::string& id) { return *broker_->findJob(id); }

  std::unique_ptr<Broker> broker_;
  int msg_ = 0;
  std::map<std::string, uint64_t> epoch_;
};

JobSpec after(JobSpec spec, const std::string& job, DependencyCondition c) {
  spec.dependencies.push_back({job, c});
  return spec;
}

TEST_F(ArraysAndDependenciesTest, AfterOkWaitsAcrossSitesAndStartsOnTheTickAfterTheEnd) {
  bringUp("site-a", 0);
  bringUp("site-b", 0);
  std::string a = submit(oneNode("site-a"), 1);
  Effects fx;
  std::string b = submit(after(oneNode("site-b"), a, DependencyCondition::kAfterOk), 1, &fx);
  EXPECT_EQ(job(a).state, JobState::kDispatched);
  EXPECT_EQ(job(b).state, JobState::kQueued);
  EXPECT_EQ(job(b).reason, "waiting for " + a + " to complete (afterok)");
  EXPECT_EQ(broker_->countJobs(JobState::kQueued), 1u);
  for (const Dispatch& d : dispatches(fx)) EXPECT_NE(d.job_id, b);
  // A runs at site-a: B still waits.
  send("site-a", DispatchAck{a, 1, true, "", "l-a"}, 2);
  send("site-a", JobStatus{a, 1, "l-a", JobState::kRunning, std::nullopt, at(2), std::nullopt,
                           std::nullopt, ""},
       2);
  EXPECT_EQ(job(b).state, JobState::kQueued);
  // A completes: the tick that follows places B at site-b, without its dependencies.
  Effects done = send("site-a", JobStatus{a, 1, "l-a", JobState::kCompleted, std::nullopt, at(2),
                                          at(3), 0, ""},
                      3);
  EXPECT_EQ(job(b).state, JobState::kDispatched);
  EXPECT_EQ(job(b).site, "site-b");
  std::vector<Dispatch> sent = dispatches(done);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].job_id, b);
  EXPECT_TRUE(sent[0].spec.dependencies.empty());
  EXPECT_EQ(job(b).spec.dependencies.size(), 1u);  // the stored spec keeps them
}

TEST_F(ArraysAndDependenciesTest, ANeverSatisfiableDependencyCancelsTheChain) {
  bringUp("site-a", 0);
  std::string a = submit(oneNode(), 1);
  std::string b = submit(after(oneNode(), a, DependencyCondition::kAfterOk), 1);
  std::string c = submit(after(oneNode(), b, DependencyCondition::kAfterOk), 1);
  std::string d = submit(after(oneNode(), a, DependencyCondition::kAfterNotOk), 1);
  std::string e = submit(after(oneNode(), b, DependencyCondition::kAfterAny), 1);
  runAndEnd(a, JobState::kFailed, 2);
  EXPECT_EQ(job(b).state, JobState::kCancelled);
  EXPECT_EQ(job(b).reason, "dependency never satisfied: " + a + " ended failed");
  // B's cancellation makes C unsatisfiable in the same tick, and E (afterany) ready.
  EXPECT_EQ(job(c).state, JobState::kCancelled);
  EXPECT_EQ(job(c).reason, "dependency never satisfied: " + b + " ended cancelled");
  EXPECT_EQ(job(d).state, JobState::kDispatched);  // afternotok of a failed job holds
  EXPECT_EQ(job(e).state, JobState::kDispatched);
  // afternotok of a completed job never holds.
  std::string f = submit(oneNode(), 3);
  runAndEnd(f, JobState::kCompleted, 4);
  std::string g = submit(after(oneNode(), f, DependencyCondition::kAfterNotOk), 5);
  EXPECT_EQ(job(g).state, JobState::kCancelled);
  EXPECT_EQ(job(g).reason, "dependency never satisfied: " + f + " ended completed");
}

TEST_F(ArraysAndDependenciesTest, ADependencyMustNameAKnownJob) {
  Effects fx;
  Result<std::string> r =
      broker_->enqueue(after(oneNode(), "j-77", DependencyCondition::kAfterOk), inst(0), fx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().field(), "dependencies");
  EXPECT_TRUE(fx.empty());
}

TEST_F(ArraysAndDependenciesTest, CancellingAWaitingJobEndsIt) {
  std::string a = submit(oneNode(), 0);
  std::string b = submit(after(oneNode(), a, DependencyCondition::kAfterOk), 0);
  Effects fx;
  ASSERT_TRUE(broker_->cancel(b, inst(1), fx).ok());
  EXPECT_EQ(job(b).state, JobState::kCancelled);
  EXPECT_EQ(broker_->countJobs(JobState::kQueued), 1u);
}

TEST_F(ArraysAndDependenciesTest, DependenciesSurviveARestart) {
  bringUp("site-a", 0);
  std::string a = submit(oneNode(), 1);
  std::string b = submit(after(oneNode(), a, DependencyCondition::kAfterOk), 1);
  std::string done = submit(oneNode(), 1);
  runAndEnd(done, JobState::kCompleted, 2);
  std::string c = submit(after(oneNode(), a, DependencyCondition::kAfterOk), 2);
  Effects cancel_fx;
  ASSERT_TRUE(broker_->cancel(c, inst(2), cancel_fx).ok());  // C ends: it must stay ended
  std::string e = submit(after(oneNode(), done, DependencyCondition::kAfterOk), 2);
  EXPECT_EQ(job(e).state, JobState::kDispatched);  // what it waits on has completed
  std::string d = submit(after(oneNode(), a, DependencyCondition::kAfterAny), 2);
  // A restart: a new broker from the records (as the store keeps them).
  Broker::Restored stored;
  for (const JobRecord* j : broker_->listJobs(std::nullopt, "", 0, SIZE_MAX)) {
    stored.jobs.push_back(*j);
  }
  stored.next_job_seq = broker_->nextJobSeq();
  broker_ = std::make_unique<Broker>(twoSites(), BrokerConfig{});
  broker_->restore(std::move(stored), inst(10));
  bringUp("site-a", 10);
  EXPECT_EQ(job(b).state, JobState::kQueued);
  EXPECT_EQ(job(d).state, JobState::kQueued);
  EXPECT_EQ(job(b).reason, "waiting for " + a + " to complete (afterok)");
  runAndEnd(a, JobState::kCompleted, 11);
  EXPECT_EQ(job(b).state, JobState::kDispatched);
  EXPECT_EQ(job(d).state, JobState::kDispatched);
  EXPECT_EQ(job(c).state, JobState::kCancelled);
}

TEST(ArrayIndices, SlurmSyntax) {
  EXPECT_THAT(*parseArrayIndices("0-6:2,1,9"), ElementsAre(0, 1, 2, 4, 6, 9));
  EXPECT_THAT(*parseArrayIndices("3"), ElementsAre(3));
  EXPECT_THAT(*parseArrayIndices("1-3,2-4"), ElementsAre(1, 2, 3, 4));
  EXPECT_EQ(parseArrayIndices("0-9999")->size(), 10000u);
  for (const char* bad : {"", "a", "5-1", "1-", "-1", "1:2", "1-5:0", ",", "0-10000", "1,,2",
                          "4000001"}) {
    Result<std::vector<int64_t>> r = parseArrayIndices(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().field(), "array.indices") << bad;
    }
  }
}

TEST_F(ArraysAndDependenciesTest, AnArrayIsTasksWithTheirIndexAndEnvironment) {
  Effects fx;
  Result<Broker::ArraySubmission> r = broker_->submitArray(oneNode(), {"0-4:2", 0}, inst(0), fx);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->array.id, "a-1");
  EXPECT_EQ(r->array.tasks, 3);
  ASSERT_EQ(r->jobs.size(), 3u);
  EXPECT_EQ(fx.arrays.size(), 1u);
  EXPECT_EQ(fx.next_array_seq, 2);
  EXPECT_EQ(fx.jobs.size(), 3u);
  const JobRecord& last = job(r->jobs[2]);
  EXPECT_EQ(last.array_id, "a-1");
  EXPECT_EQ(last.array_index, 4);
  EXPECT_EQ(last.spec.env.at("AIFED_ARRAY_TASK_ID"), "4");
  EXPECT_EQ(last.spec.env.at("SLURM_ARRAY_TASK_ID"), "4");
  EXPECT_EQ(last.spec.env.at("AIFED_ARRAY_ID"), "a-1");
  EXPECT_EQ(broker_->arrayTasks("a-1").size(), 3u);
  // Refusals create nothing, and use no array id.
  Effects none;
  EXPECT_FALSE(broker_->submitArray(oneNode(), {"0-10000", 0}, inst(0), none).ok());
  EXPECT_FALSE(broker_->submitArray(oneNode(), {"0-3", -1}, inst(0), none).ok());
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(broker_->submitArray(oneNode(), {"1", 0}, inst(0), none)->array.id, "a-2");
}

// Tasks are started, run and ended in a random order while the array's throttle must
// hold after every single call; every task ends completed.
TEST_F(ArraysAndDependenciesTest, TheThrottleIsNeverExceeded) {
  bringUp("site-a", 0);
  bringUp("site-b", 0);
  Effects fx;
  Result<Broker::ArraySubmission> r = broker_->submitArray(oneNode(), {"1-40", 3}, inst(0), fx);
  ASSERT_TRUE(r.ok());
  broker_->tick(inst(0), fx);
  auto active = [&] {
    int n = 0;
    for (const JobRecord* t : broker_->arrayTasks(r->array.id)) n += t->state == JobState::kDispatched || t->state == JobState::kPending || t->state == JobState::kRunning;
    return n;
  };
  EXPECT_EQ(active(), 3);
  const JobRecord* waiting = nullptr;
  for (const JobRecord* t : broker_->arrayTasks(r->array.id)) {
    if (t->state == JobState::kQueued) waiting = t;
  }
  ASSERT_NE(waiting, nullptr);
  EXPECT_EQ(waiting->reason, "array a-1 throttled: 3 of its tasks are active (%3)");
  std::mt19937 rng(7);
  int64_t s = 1;
  for (int round = 0; round < 200; ++round) {
    std::vector<const JobRecord*> running;
    for (const JobRecord* t : broker_->arrayTasks(r->array.id)) {
      if (t->state == JobState::kDispatched) running.push_back(t);
    }
    if (running.empty()) break;
    const JobRecord* t = running[rng() % running.size()];
    runAndEnd(t->id, JobState::kCompleted, ++s);
    ASSERT_LE(active(), 3);
  }
  for (const JobRecord* t : broker_->arrayTasks(r->array.id)) {
    EXPECT_EQ(t->state, JobState::kCompleted) << t->id;
  }
}

TEST_F(ArraysAndDependenciesTest, CancellingAnArrayReachesEveryTaskThatHasNotEnded) {
  bringUp("site-a", 0);
  Effects fx;
  Result<Broker::ArraySubmission> r = broker_->submitArray(oneNode(), {"0-5", 2}, inst(0), fx);
  ASSERT_TRUE(r.ok());
  broker_->tick(inst(0), fx);
  runAndEnd(r->jobs[0], JobState::kCompleted, 1);  // ended: left alone
  Effects cancel_fx;
  Result<ArrayRecord> done = broker_->cancelArray("a-1", "cancelled by alice", inst(2), cancel_fx);
  ASSERT_TRUE(done.ok());
  int cancels = 0;
  for (const OutboundMessage& m : cancel_fx.messages) cancels += std::holds_alternative<Cancel>(m.body);
  EXPECT_EQ(cancels, 2);  // the two tasks at the site
  EXPECT_EQ(job(r->jobs[0]).state, JobState::kCompleted);
  for (size_t i = 1; i < r->jobs.size(); ++i) {
    const JobRecord& t = job(r->jobs[i]);
    EXPECT_TRUE(t.state == JobState::kCancelled || t.cancel_requested) << t.id;
    if (t.state == JobState::kCancelled) {
      EXPECT_EQ(t.reason, "cancelled by alice");
    }
  }
  EXPECT_EQ(broker_->cancelArray("a-9", "x", inst(2), cancel_fx).status().code(),
            StatusCode::kNotFound);
}

TEST_F(ArraysAndDependenciesTest, ArraysAndTheirThrottleSurviveARestart) {
  bringUp("site-a", 0);
  Effects fx;
  Result<Broker::ArraySubmission> r = broker_->submitArray(oneNode(), {"0-9", 2}, inst(0), fx);
  ASSERT_TRUE(r.ok());
  broker_->tick(inst(0), fx);
  Broker::Restored stored;
  for (const JobRecord* j : broker_->listJobs(std::nullopt, "", 0, SIZE_MAX)) stored.jobs.push_back(*j);
  stored.arrays = {*broker_->findArray("a-1")};
  stored.next_array_seq = 5;  // a-2..a-4 were handed out once (never reused)
  stored.next_job_seq = broker_->nextJobSeq();
  broker_ = std::make_unique<Broker>(twoSites(), BrokerConfig{});
  broker_->restore(std::move(stored), inst(10));
  bringUp("site-a", 10);
  int active = 0;
  for (const JobRecord* t : broker_->arrayTasks("a-1")) active += t->state == JobState::kDispatched;
  EXPECT_EQ(active, 2);  // still two at the site, none more
  Effects more;
  EXPECT_EQ(broker_->submitArray(oneNode(), {"1", 0}, inst(11), more)->array.id, "a-5");
}

}  // namespace
}  // namespace aifed::broker
