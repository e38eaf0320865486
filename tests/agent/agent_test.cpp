// SiteAgent logic with a scripted backend, a real SQLite store in a temp dir and a
// transport that records frames. Time is explicit: nothing sleeps.
#include "site-agent/agent.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "protocol/messages.h"
#include "site-agent/agent_config.h"

namespace aifed::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Backend implementation scripted by the test.
class FakeBackend final : public Backend {
 public:
  // Backend
  std::string_view kind() const override { return "simulated"; }
  Result<SubmittedJob> submit(const JobTag& tag, const JobSpec& spec, const LocalIdentity& as,
                              Time now) override {
    (void)as;
    ++submits;
    if (on_submit) on_submit(tag);
    if (!next_submit_error.ok()) {
      Status s = next_submit_error;
      if (s.code() == StatusCode::kUnavailable) next_submit_error = Status::Ok();
      return s;
    }
    std::string id = "local-" + std::to_string(submits);
    jobs[id] = {tag, id, JobState::kPending, now, std::nullopt, std::nullopt, std::nullopt, ""};
    (void)spec;
    updates.push_back(jobs[id]);
    if (output_dir.empty()) return SubmittedJob{.local_id = id};
    std::string base = output_dir + "/" + tag.job_id + "-" + std::to_string(tag.attempt);
    return SubmittedJob{.local_id = id, .stdout_path = base + ".out", .stderr_path = base + ".err"};
  }
  Status cancel(const std::string& local_id, Time now) override {
    cancels.push_back(local_id);
    auto it = jobs.find(local_id);
    if (it == jobs.end()) return notFound(local_id);
    it->second.state = JobState::kCancelled;
    it->second.ended_at = now;
    updates.push_back(it->second);
    jobs.erase(it);
    return Status::Ok();
  }
  std::vector<LocalJobUpdate> poll(Time) override { return std::exchange(updates, {}); }
  Result<SiteCapacity> capacity(Time) override {
    if (!capacity_error.ok()) return capacity_error;
    return cap;
  }
  std::vector<LocalJobUpdate> activeJobs() const override {
    std::vector<LocalJobUpdate> out;
    for (const auto& [id, j] : jobs) out.push_back(j);
    return out;
  }
  std::optional<Time> nextEventTime() const override { return std::nullopt; }

  // Script
  void start(const std::string& local_id, Time now) {
    LocalJobUpdate& u = jobs.at(local_id);
    u.state = JobState::kRunning;
    u.started_at = now;
    updates.push_back(u);
  }
  void finish(const std::string& local_id, JobState state, int exit_code, Time now) {
    LocalJobUpdate u = jobs.at(local_id);
    u.state = state;
    u.exit_code = exit_code;
    u.ended_at = now;
    updates.push_back(u);
    jobs.erase(local_id);
  }

  int submits = 0;
  std::vector<std::string> cancels;
  Status next_submit_error;
  Status capacity_error;
  std::function<void(const JobTag&)> on_submit;
  std::string output_dir;  // when set, jobs name their output files there
  std::map<std::string, LocalJobUpdate> jobs;
  std::vector<LocalJobUpdate> updates;
  SiteCapacity cap{
      0, {PartitionCapacity{"gpu", {"h200", 8, 112, 2048}, 16, 16, 0, 0, 0, 0, 0, 0, {}}}};
};

class SiteAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("aifed-agent-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    openStore();
    agent_ = makeAgent();
  }
  void TearDown() override {
    agent_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void openStore() {
    auto s = AgentStore::open((dir_ / "agent.db").string());
    ASSERT_TRUE(s.ok()) << s.status().toString();
    store_ = std::move(*s);
  }
  std::unique_ptr<SiteAgent> makeAgent() {
    SiteAgentOptions o;
    o.site = "mimer";
    return std::make_unique<SiteAgent>(o, backend_, *store_, [this](const std::string& f) {
      if (!connected_) return unavailable("down");
      sent_.push_back(f);
      return Status::Ok();
    });
  }
  // Decodes every frame sent since the last call.
  std::vector<Message> drain() {
    std::vector<Message> out;
    heartbeat_ids_.clear();
    for (const std::string& f : sent_) {
      auto d = decodeMessage(f);
      EXPECT_TRUE(std::holds_alternative<Message>(d)) << f;
      if (auto* m = std::get_if<Message>(&d)) {
        if (std::holds_alternative<Heartbeat>(m->body)) heartbeat_ids_.push_back(m->msg_id);
        out.push_back(*m);
      }
    }
    sent_.clear();
    return out;
  }
  // The msg_ids of the heartbeats the last drain() saw.
  std::vector<std::string> lastHeartbeatIds() const { return heartbeat_ids_; }
  template <typename T>
  std::vector<T> bodies(const std::vector<Message>& ms) {
    std::vector<T> out;
    for (const Message& m : ms) {
      if (auto* b = std::get_if<T>(&m.body)) out.push_back(*b);
    }
    return out;
  }
  void deliver(Body body) {
    static int n = 0;
    agent_->onFrame(encodeMessage(makeMessage("mimer", "c-" + std::to_string(++n), now_, body)),
                    now_);
  }
  void welcome() { deliver(Welcome{"test", "1.0", seconds(5), seconds(30)}); }
  Dispatch dispatch(const std::string& job, int attempt = 1) {
    Dispatch d;
    d.job_id = job;
    d.attempt = attempt;
    d.spec.nodes = 2;
    d.spec.gpus_per_node = 8;
    d.spec.gpu_type = "h200";
    d.spec.walltime = std::chrono::hours(1);
    return d;
  }

  std::filesystem::path dir_;
  FakeBackend backend_;
  std::unique_ptr<AgentStore> store_;
  std::unique_ptr<SiteAgent> agent_;
  std::vector<std::string> sent_;
  std::vector<std::string> heartbeat_ids_;
  bool connected_ = true;
  Time now_{seconds(1'700'000'000)};
};

// The agent's half of the job lease: cut off from the coordinator for the lease (no
// acknowledged heartbeat), it stops the jobs that may be re-placed, reports them lost,
// and leaves the others running. Time is one virtual clock for wall and monotonic.
TEST_F(SiteAgentTest, CutOffForTheLeaseItStopsReplaceableJobsOnly) {
  ASSERT_TRUE(agent_->start(now_).ok());
  deliver(Welcome{"test", "1.1", seconds(5), seconds(30), std::chrono::minutes(10)});
  Dispatch replaceable = dispatch("j-1");
  Dispatch stays = dispatch("j-2");
  stays.spec.requeue_on_site_loss = false;
  deliver(replaceable);
  deliver(stays);
  backend_.start("local-1", now_);
  backend_.start("local-2", now_);
  agent_->tick(now_);
  drain();
  // A heartbeat goes out every 5 s; the coordinator acknowledges them for 2 minutes.
  for (int s = 5; s <= 120; s += 5) {
    now_ += seconds(5);
    agent_->tick(now_);
    for (const Heartbeat& hb : bodies<Heartbeat>(drain())) (void)hb;
    for (const std::string& id : lastHeartbeatIds()) deliver(Ack{id});
  }
  EXPECT_TRUE(backend_.cancels.empty());
  // Then nothing comes back for ten minutes: the lease (counted from the last
  // acknowledged heartbeat's sending) runs out.
  now_ += std::chrono::minutes(9) + seconds(50);
  agent_->tick(now_);
  EXPECT_TRUE(backend_.cancels.empty()) << "not yet: 9 min 50 s";
  now_ += seconds(15);
  agent_->tick(now_);
  EXPECT_EQ(backend_.cancels, std::vector<std::string>{"local-1"});
  // (The outbox also resends the unacknowledged earlier statuses: the last word counts.)
  std::optional<JobStatus> last;
  for (const JobStatus& st : bodies<JobStatus>(drain())) {
    if (st.job_id == "j-1" && (!last || st.seq > last->seq)) last = st;
  }
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->state, JobState::kLost);
  EXPECT_NE(last->reason.find("job lease"), std::string::npos) << last->reason;
  EXPECT_TRUE(backend_.jobs.count("local-2"));  // may not be re-placed: keeps running
  // The lease is made durable: a restarted agent knows it and counts from the last contact.
  AgentStore::LeaseState stored = store_->loadLease().value();
  EXPECT_EQ(stored.lease, std::chrono::minutes(10));
  ASSERT_TRUE(stored.last_contact.has_value());
  EXPECT_LE(*stored.last_contact, now_ - std::chrono::minutes(10));
}

// MAINTENANCE: the agent keeps the windows (durably), acknowledges them, and its lease
// does not run from the window's start to its end plus grace.
TEST_F(SiteAgentTest, AMaintenanceWindowPausesTheLeaseUntilItsEndPlusGrace) {
  ASSERT_TRUE(agent_->start(now_).ok());
  deliver(Welcome{"test", "1.2", seconds(5), seconds(30), std::chrono::minutes(10)});
  deliver(dispatch("j-1"));
  backend_.start("local-1", now_);
  Time t0 = now_;  // the last contact: WELCOME answered the HELLO sent now
  Maintenance m{{{"mw-3", t0 + std::chrono::minutes(1), t0 + std::chrono::minutes(31),
                  "Slurm upgrade", "ops"}},
                std::chrono::minutes(5)};
  drain();
  agent_->onFrame(encodeMessage(makeMessage("mimer", "c-maint", now_, m)), now_);
  std::vector<Ack> acks = bodies<Ack>(drain());
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].ack_msg_id, "c-maint");
  EXPECT_EQ(store_->loadMaintenance().value(), m);
  // Cut off from now on. Without the window the lease would run out at 10 min; the
  // pause (1..36 min) makes that 45 min.
  std::optional<Duration> stopped_at;
  for (Time t = t0 + seconds(30); t <= t0 + std::chrono::minutes(50); t += seconds(30)) {
    now_ = t;
    agent_->tick(now_);
    if (!backend_.cancels.empty() && !stopped_at) stopped_at = t - t0;
  }
  ASSERT_TRUE(stopped_at.has_value());
  EXPECT_EQ(*stopped_at, std::chrono::minutes(45));
}

// A restarted agent still holds the windows, and counts the time it was down inside one
// as paused: restarted inside its window, it does not stop its jobs.
TEST_F(SiteAgentTest, ARestartedAgentKeepsItsWindowsAndTheirPause) {
  ASSERT_TRUE(agent_->start(now_).ok());
  deliver(Welcome{"test", "1.2", seconds(5), seconds(30), std::chrono::minutes(10)});
  deliver(dispatch("j-1"));
  backend_.start("local-1", now_);
  Time t0 = now_;
  agent_->tick(now_);  // the last contact is made durable
  deliver(Maintenance{{{"mw-1", t0, t0 + std::chrono::hours(2), "rack move", "ops"}},
                      std::chrono::minutes(30)});
  agent_.reset();
  now_ = t0 + std::chrono::minutes(90);  // down for 90 min, all inside the window
  agent_ = makeAgent();
  ASSERT_TRUE(agent_->start(now_).ok());
  EXPECT_EQ(agent_->lease().maintenance().size(), 1u);
  agent_->tick(now_);
  EXPECT_TRUE(backend_.cancels.empty()) << "paused while the agent was down";
  now_ = t0 + std::chrono::hours(2) + std::chrono::minutes(30) + std::chrono::minutes(9);
  agent_->tick(now_);
  EXPECT_TRUE(backend_.cancels.empty()) << "9 min after end + grace: within the lease";
  now_ += std::chrono::minutes(2);
  agent_->tick(now_);
  EXPECT_EQ(backend_.cancels, std::vector<std::string>{"local-1"});
}

TEST_F(SiteAgentTest, WithoutALeaseFromTheCoordinatorNothingIsStopped) {
  ASSERT_TRUE(agent_->start(now_).ok());
  welcome();  // a 1.0 coordinator: no job_lease
  deliver(dispatch("j-1"));
  now_ += std::chrono::hours(24);
  agent_->tick(now_);
  EXPECT_TRUE(backend_.cancels.empty());
}

TEST_F(SiteAgentTest, StartSaysHelloAndWelcomeOpensTheSessionWithACapacityReport) {
  ASSERT_TRUE(agent_->start(now_).ok());
  auto hello = bodies<Hello>(drain());
  ASSERT_EQ(hello.size(), 1u);
  EXPECT_EQ(hello[0].backend, "simulated");
  EXPECT_FALSE(agent_->hasSession());

  welcome();
  EXPECT_TRUE(agent_->hasSession());
  auto caps = bodies<Capacity>(drain());
  ASSERT_EQ(caps.size(), 1u);
  EXPECT_EQ(caps[0].capacity.epoch, 1u);  // first report of this agent's life
  EXPECT_EQ(caps[0].capacity.partitions, backend_.cap.partitions);
}

TEST_F(SiteAgentTest, HelloIsRepeatedUntilWelcomed) {
  ASSERT_TRUE(agent_->start(now_).ok());
  drain();
  now_ += seconds(1);
  agent_->tick(now_);
  EXPECT_TRUE(bodies<Hello>(drain()).empty());  // hello_retry is 2 s
  now_ += seconds(1);
  agent_->tick(now_);
  EXPECT_EQ(bodies<Hello>(drain()).size(), 1u);
}

TEST_F(SiteAgentTest, DispatchIsPersistedBeforeSubmitAndAcknowledged) {
  ASSERT_TRUE(agent_->start(now_).ok());
  welcome();
  drain();
  bool persisted_first = false;
  backend_.on_submit = [&](const JobTag& tag) {
    auto r = store_->findDispatch(tag);
    persisted_first = r.ok() && r->has_value();
  };
  deliver(dispatch("j-1"));
  EXPECT_TRUE(persisted_first);
  auto out = drain();
  auto acks = bodies<DispatchAck>(out);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_TRUE(acks[0].accepted);
  EXPECT_EQ(acks[0].local_id, "local-1");
  auto statuses = bodies<JobStatus>(out);
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].state, JobState::kPending);
  // The status waits in the outbox until the coordinator acknowledges it.
  auto outbox = store_->pendingOutbox();
  ASSERT_TRUE(outbox.ok());
  EXPECT_EQ(outbox->size(), 1u);
}

TEST_F(SiteAgentTest, RepeatedDispatchIsAnsweredAgainAndNeverSubmittedTwice) {
  ASSERT_TRUE(agent_->start(now_).ok());
  welcome();
  deliver(dispatch("j-1"));
  drain();
  deliver(dispatch("j-1"));
  deliver(dispatch("j-1"));
  auto acks = bodies<DispatchAck>(drain());
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_TRUE(acks[0].accepted);
  EXPECT_EQ(acks[0].local_id, "local-1");
  EXPECT_EQ(backend_.submits, 1);
  EXPECT_EQ(agent_->dispatchStats().duplicates, 2u);

  // A new attempt of the same job is a different dispatch.
  deliver(dispatch("j-1", 2));
  EXPECT_EQ(backend_.submits, 2);
}

TEST_F(SiteAgentTest, RepeatedDispatchAfterAgentRestartIsNotSubmittedAgain) {
  ASSERT_TRUE(agent_->start(now_).ok());
  welcome();
  deliver(dispatch("j-1"));
  drain();
  // The agent process dies; the backend (a real scheduler) keeps the job.
  agent_ = makeAgent();
  ASSERT_TRUE(agent_->start(now_).ok());
  auto hello = bodies<Hello>(drain());
  ASSERT_EQ(hello.size(), 1u);
  ASSERT_EQ(hello[0].jobs.size(), 1u);
  EXPECT_EQ(hello[0].jobs[0].job_id, "j-1");
  EXPECT_EQ(hello[0].jobs[0].local_id, "local-1");
  welcome();
  deliver(dispatch("j-1"));
  EXPECT_EQ(backend_.submits, 1);
  auto acks = bodies<DispatchAck>(drain());
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].local_id, "local-1");
}

// A job the backend no longer holds after a restart is reported lost in HELLO, numbered
// after every status sent for it before, so a resend of an older one cannot revive it.
TEST_F(SiteAgentTest, JobsTheBackendLostAreReportedLostInHelloAfterTheirLastStatus) {
  ASSERT_TRUE(agent_->start(now_).ok());
  uint64_t first_run = agent_->incarnation();
  welcome();
  deliver(dispatch("j-1"));
  deliver(dispatch("j-2"));
  auto statuses = bodies<JobStatus>(drain());
  uint64_t j1_seq = 0;
  for (const JobStatus& s : statuses) {
    EXPECT_EQ(s.incarnation, first_run);
    if (s.job_id == "j-1") j1_seq = std::max(j1_seq, s.seq);
  }
  ASSERT_GT(j1_seq, 0u);
  backend_.jobs.erase("local-1");  // e.g. a simulated site restarted
  agent_ = makeAgent();
  ASSERT_TRUE(agent_->start(now_).ok());
  EXPECT_EQ(agent_->incarnation(), first_run + 1);
  auto hello = bodies<Hello>(drain());
  ASSERT_EQ(hello.size(), 1u);
  EXPECT_EQ(hello[0].incarnation, first_run + 1);
  ASSERT_EQ(hello[0].jobs.size(), 2u);
  EXPECT_EQ(hello[0].jobs[0].job_id, "j-2");
  EXPECT_EQ(hello[0].jobs[0].state, JobState::kPending);
  EXPECT_EQ(hello[0].jobs[1].job_id, "j-1");
  EXPECT_EQ(hello[0].jobs[1].state, JobState::kLost);
  EXPECT_EQ(hello[0].jobs[1].seq, j1_seq + 1);
}

TEST_F(SiteAgentTest, RefusedDispatchIsRejectedWithTheBackendsReasonOnce) {
  ASSERT_TRUE(agent_->start(now_).ok());
  welcome();
  drain();
  backend_.next_submit_error = invalidArgument("no partition offers 8 x h100 per node");
  deliver(dispatch("j-1"));
  deliver(dispatch("j-1"));
  auto acks = bodies<DispatchAck>(drain());
  ASSERT_EQ(acks.size(), 2u);
  for (const auto& a : acks) {
    EXPECT_FALSE(a.accepted);
    EXPECT_EQ(a.reason, "no partition offers 8 x h100 per node");
  }
  EXPECT_EQ(backend_.submits, 1);
}

TEST_F(SiteAgentTest, UnavailableBackendIsNotAcknowledgedSoTheRetrySubmits) {
  ASSERT_TRUE(agent_->start(now_).ok());
  welcome();
  drain();
  backend_.next_submit_error = unavailable("slurmctld not answering");
  deliver(dispatch("j-1"));
  EXPECT_TRUE(bodies<DispatchAck>(drain()).empty());
  deliver(dispatch("j-1"));  // the coordinator's retry
  auto acks = bodies<DispatchAck>(drain());
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_TRUE(acks[0].accepted);
  EXPECT_EQ(backend_.submits, 2);
}

TEST_F(SiteAgentTest, StatusesAreResentUntilAcknowledged) {
  ASSERT_TRUE(agent_->start(now_).ok());
  welcome();
  deliver(dispatch("j-1"));
  auto first = drain();
  auto pending = std::find_if(first.begin(), first.end(), [](const Message& m) {
    return std::holds_alternative<JobStatus>(m.body);
  });
  ASSERT_NE(pending, first.end());

  now_ += seconds(3);  // retry_interval
  agent_->tick(now_);
  auto resent = bodies<JobStatus>(drain());
  ASSERT_EQ(resent.size(), 1u);
  EXPECT_EQ(resent[0].state, JobState::kPending);

  deliver(Ack{pending->msg_id});
  now_ += seconds(3);
  agent_->tick(now_);
  EXPECT_TRUE(bodies<JobStatus>(drain()).empty());
}

TEST_F(SiteAgentTest, CompletionIsReportedWithExitCode) {
  ASSERT_TRUE(agent_->start(now_).ok());
  welcome();
  deliver(dispatch("j-1"));
  drain();
  now_ += seconds(1);
  backend_.finish("local-1", JobState::kFailed, 3, now_);
  agent_->tick(now_);
  auto statuses = bodies<JobStatus>(drain());
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].state, JobState::kFailed);
  EXPECT_EQ(statuses[0].exit_code, 3);
  EXPECT_EQ(statuses[0].ended_at, now_);
  auto active = store_->activeDispatches();
  ASSERT_TRUE(active.ok());
  EXPECT_TRUE(active->empty());
}

TEST_F(SiteAgentTest, CancelReachesTheBackendAndIsAcknowledged) {
  ASSERT_TRUE(agent_->start(now_).ok());
  welcome();
  deliver(dispatch("j-1"));
  drain();
  deliver(Cancel{"j-1", 1, "user"});
  auto out = drain();
  EXPECT_EQ(backend_.cancels, std::vector<std::string>{"local-1"});
  EXPECT_EQ(bodies<Ack>(out).size(), 1u);
  auto statuses = bodies<JobStatus>(out);
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].state, JobState::kCancelled);
  // Cancelling an attempt the agent never ran is acknowledged and changes nothing.
  deliver(Cancel{"j-9", 1, "superseded"});
  EXPECT_EQ(bodies<Ack>(drain()).size(), 1u);
  EXPECT_EQ(backend_.cancels.size(), 1u);
}

TEST_F(SiteAgentTest, WithdrawalCancelsAPendingJob) {
  ASSERT_TRUE(agent_->start(now_).ok());
  welcome();
  deliver(dispatch("j-1"));
  drain();
  deliver(Cancel{.job_id = "j-1", .attempt = 1, .reason = "withdrawn", .only_if_pending = true});
  auto out = drain();
  EXPECT_EQ(backend_.cancels, std::vector<std::string>{"local-1"});
  EXPECT_EQ(bodies<Ack>(out).size(), 1u);
  auto statuses = bodies<JobStatus>(out);
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].state, JobState::kCancelled);
  EXPECT_EQ(statuses[0].reason, "withdrawn by the coordinator");
}

TEST_F(SiteAgentTest, WithdrawalLeavesAStartedJobRunning) {
  ASSERT_TRUE(agent_->start(now_).ok());
  welcome();
  deliver(dispatch("j-1"));
  drain();
  backend_.start("local-1", now_);  // started; the agent has not polled yet
  deliver(Cancel{.job_id = "j-1", .attempt = 1, .reason = "withdrawn", .only_if_pending = true});
  auto out = drain();
  EXPECT_TRUE(backend_.cancels.empty());
  EXPECT_EQ(bodies<Ack>(out).size(), 1u);
  // The coordinator learns why: the job runs.
  auto statuses = bodies<JobStatus>(out);
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].state, JobState::kRunning);
  // A later outright cancel still works, and says nothing about withdrawal.
  deliver(Cancel{"j-1", 1, "user"});
  out = drain();
  EXPECT_EQ(backend_.cancels, std::vector<std::string>{"local-1"});
  statuses = bodies<JobStatus>(out);
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].state, JobState::kCancelled);
  EXPECT_NE(statuses[0].reason, "withdrawn by the coordinator");
}

TEST_F(SiteAgentTest, EpochRisesOnlyOnChangeAndSurvivesRestart) {
  ASSERT_TRUE(agent_->start(now_).ok());
  welcome();
  drain();
  now_ += seconds(1);
  agent_->tick(now_);
  EXPECT_TRUE(bodies<Capacity>(drain()).empty());  // unchanged, interval not reached
  backend_.cap.partitions[0].nodes_idle = 10;
  backend_.cap.partitions[0].nodes_allocated = 6;
  now_ += seconds(1);
  agent_->tick(now_);
  auto caps = bodies<Capacity>(drain());
  ASSERT_EQ(caps.size(), 1u);
  EXPECT_EQ(caps[0].capacity.epoch, 2u);
  now_ += seconds(30);  // capacity_interval from WELCOME: resent, same epoch
  agent_->tick(now_);
  caps = bodies<Capacity>(drain());
  ASSERT_EQ(caps.size(), 1u);
  EXPECT_EQ(caps[0].capacity.epoch, 2u);

  agent_ = makeAgent();
  ASSERT_TRUE(agent_->start(now_).ok());
  welcome();
  caps = bodies<Capacity>(drain());
  ASSERT_EQ(caps.size(), 1u);
  EXPECT_EQ(caps[0].capacity.epoch, 3u);  // a new life reports as a change
}

TEST_F(SiteAgentTest, UnreachableSchedulerIsReportedDegraded) {
  ASSERT_TRUE(agent_->start(now_).ok());
  welcome();
  drain();
  backend_.capacity_error = unavailable("slurmctld: connection refused");
  now_ += seconds(1);
  agent_->tick(now_);
  auto caps = bodies<Capacity>(drain());
  ASSERT_EQ(caps.size(), 1u);
  EXPECT_TRUE(caps[0].degraded);
  EXPECT_EQ(caps[0].degraded_reason, "slurmctld: connection refused");
  EXPECT_EQ(caps[0].capacity.partitions, backend_.cap.partitions);  // last known
}

TEST_F(SiteAgentTest, HeartbeatsFollowTheWelcomedInterval) {
  ASSERT_TRUE(agent_->start(now_).ok());
  welcome();
  deliver(dispatch("j-1"));
  drain();
  now_ += milliseconds(4999);
  agent_->tick(now_);
  EXPECT_TRUE(bodies<Heartbeat>(drain()).empty());
  now_ += milliseconds(1);
  agent_->tick(now_);
  auto hb = bodies<Heartbeat>(drain());
  ASSERT_EQ(hb.size(), 1u);
  EXPECT_EQ(hb[0].pending_jobs, 1);
  EXPECT_EQ(hb[0].epoch, agent_->epoch());
}

TEST_F(SiteAgentTest, HelloRequiredStartsANewSession) {
  ASSERT_TRUE(agent_->start(now_).ok());
  welcome();
  drain();
  deliver(ErrorReply{"hello_required", "no session", "type", "x"});
  EXPECT_FALSE(agent_->hasSession());
  EXPECT_EQ(bodies<Hello>(drain()).size(), 1u);
}

TEST_F(SiteAgentTest, BadFramesGetErrorsAndChangeNothing) {
  ASSERT_TRUE(agent_->start(now_).ok());
  welcome();
  drain();
  agent_->onFrame("{not json", now_);
  agent_->onFrame(encodeMessage(makeMessage("lumi-aif", "c-x", now_, dispatch("j-1"))), now_);
  auto errors = bodies<ErrorReply>(drain());
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].code, "bad_message");
  EXPECT_EQ(errors[1].code, "wrong_site");
  EXPECT_EQ(backend_.submits, 0);
  EXPECT_TRUE(agent_->hasSession());
}

// LOG_REQUEST: the agent answers from the file the backend named for the attempt, at
// once, without a session change or an ACK; an unknown attempt is not_found.
TEST_F(SiteAgentTest, LogRequestIsAnsweredFromTheAttemptsFile) {
  backend_.output_dir = dir_.string();
  ASSERT_TRUE(agent_->start(now_).ok());
  welcome();
  deliver(dispatch("j-1"));
  { std::ofstream(dir_ / "j-1-1.out") << "step 1\nstep 2\n"; }
  drain();
  deliver(LogRequest{.request_id = "out-1", .job_id = "j-1", .attempt = 1, .max_bytes = 7});
  std::vector<LogData> data = bodies<LogData>(drain());
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].request_id, "out-1");
  EXPECT_EQ(data[0].error, "");
  EXPECT_EQ(data[0].path, (dir_ / "j-1-1.out").string());
  EXPECT_EQ(data[0].data, "step 2\n");
  EXPECT_EQ(data[0].offset, 7u);
  EXPECT_EQ(data[0].end, 14u);
  deliver(LogRequest{.request_id = "out-2", .job_id = "j-9", .attempt = 1, .max_bytes = 7});
  data = bodies<LogData>(drain());
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].error, "not_found");
  EXPECT_TRUE(agent_->hasSession());
}

TEST(AgentConfigTest, OutputSettings) {
  std::string head =
      "site = \"mimer\"\ncoordinator = \"tcp://127.0.0.1:7781\"\n"
      "coordinator_public_key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n"
      "key_file = \"k\"\nstate_db = \"db/agent.db\"\n";
  std::string partition = "[[simulated.partition]]\nname = \"gpu\"\nnodes = 2\n";
  std::string sim = "[simulated]\n" + partition;
  auto defaults = parseAgentConfig(head + sim, "agent.toml", "/etc/aifed");
  ASSERT_TRUE(defaults.ok()) << defaults.status().toString();
  EXPECT_EQ(defaults->output_max_bytes, 1u << 20);
  EXPECT_EQ(defaults->output_dir, "/etc/aifed/db/output");
  auto set = parseAgentConfig(
      head + "output_max_bytes = 4096\n[simulated]\noutput_dir = \"out\"\n" + partition,
      "agent.toml", "/etc/aifed");
  ASSERT_TRUE(set.ok()) << set.status().toString();
  EXPECT_EQ(set->output_max_bytes, 4096u);
  EXPECT_EQ(set->output_dir, "/etc/aifed/out");
  auto too_big = parseAgentConfig(head + "output_max_bytes = 3000000\n" + sim, "agent.toml", "/");
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.status().field(), "output_max_bytes");
}

TEST(AgentConfigTest, ReadsTheSimulatedSiteFromTheFederationFile) {
  std::string fed = std::string(AIFED_SOURCE_DIR) + "/config/federation-7.toml";
  auto cfg = parseAgentConfig(
      "site = \"mimer\"\ncoordinator = \"tcp://127.0.0.1:7781\"\n"
      "coordinator_public_key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n"
      "key_file = \"keys/mimer.key\"\nstate_db = \"agent.db\"\n"
      "[simulated]\nfederation = \"" +
          fed + "\"\nspeedup = 60\nscheduler = \"conservative\"\n",
      "agent.toml", "/etc/aifed");
  ASSERT_TRUE(cfg.ok()) << cfg.status().toString();
  EXPECT_EQ(cfg->key_file, "/etc/aifed/keys/mimer.key");
  ASSERT_EQ(cfg->partitions.size(), 1u);
  EXPECT_EQ(cfg->partitions[0].nodes, 128);
  EXPECT_EQ(cfg->partitions[0].node_type.accelerator, "h200");
  EXPECT_EQ(cfg->speedup, 60);
  EXPECT_EQ(cfg->scheduler, "conservative");
}

TEST(AgentConfigTest, ErrorsNameTheKey) {
  auto missing = parseAgentConfig("site = \"mimer\"\n", "agent.toml", "/");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().field(), "coordinator");
  auto bad_key = parseAgentConfig(
      "site = \"mimer\"\ncoordinator = \"tcp://x:1\"\ncoordinator_public_key = \"short\"\n"
      "key_file = \"k\"\nstate_db = \"d\"\n",
      "agent.toml", "/");
  ASSERT_FALSE(bad_key.ok());
  EXPECT_NE(bad_key.status().message().find("Z85"), std::string::npos);
  auto bad_scheduler = parseAgentConfig(
      "site = \"mimer\"\ncoordinator = \"tcp://127.0.0.1:7781\"\n"
      "coordinator_public_key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n"
      "key_file = \"k\"\nstate_db = \"d\"\n[simulated]\nscheduler = \"sjf\"\n",
      "agent.toml", "/");
  ASSERT_FALSE(bad_scheduler.ok());
  EXPECT_EQ(bad_scheduler.status().field(), "simulated.scheduler");
  EXPECT_NE(bad_scheduler.status().message().find("known: fcfs, easy, conservative"),
            std::string::npos);
  auto syntax = parseAgentConfig("site = \n", "agent.toml", "/");
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.status().message().find("agent.toml:1"), std::string::npos);
}

// The strict reader's rules: each mistake gives exactly this error (file:line: key).
TEST(AgentConfigTest, UnknownKeysAndWrongTypesNameTheLineAndTheKey) {
  const std::string head =
      "site = \"mimer\"\ncoordinator = \"tcp://127.0.0.1:7781\"\n"
      "coordinator_public_key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n"
      "key_file = \"k\"\nstate_db = \"d\"\n[simulated]\n";  // 6 lines
  const std::string partition = "[[simulated.partition]]\nname = \"gpu\"\nnodes = 2\n";
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {head + "spedup = 60\n" + partition,
       "agent.toml:7: simulated.spedup: unknown key (did you mean \"speedup\"?)"},
      {"coordinater = \"x\"\n" + head + partition,
       "agent.toml:1: coordinater: unknown key (did you mean \"coordinator\"?)"},
      {head + "speedup = \"fast\"\n" + partition,
       "agent.toml:7: simulated.speedup: must be a number, got a string"},
      {head + "[[simulated.partition]]\nname = \"gpu\"\nnodes = 1.5\n",
       "agent.toml:9: simulated.partition[0].nodes: must be an integer, got a float"},
      {head + partition + "cores_per_node = 99999999999\n",
       "agent.toml:10: simulated.partition[0].cores_per_node: must be an integer within "
       "-2147483648..2147483647, got 99999999999"},
      {"log_level = \"verbose\"\n" + head + partition,
       "agent.toml:1: log_level: must be one of trace, debug, info, warn, error, critical, off, "
       "got \"verbose\""},
  };
  for (const Case& c : cases) {
    auto cfg = parseAgentConfig(c.text, "agent.toml", "/");
    ASSERT_FALSE(cfg.ok()) << c.text;
    EXPECT_EQ(cfg.status().message(), c.message);
  }
}

}  // namespace
}  // namespace aifed::agent
