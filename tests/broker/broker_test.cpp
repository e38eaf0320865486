// The broker as a pure state machine: every test drives it with messages and explicit
// times and inspects the effects it returns.
#include "coordinator/broker/broker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "coordinator/broker/placement.h"

namespace aifed::broker {
namespace {

using std::chrono::milliseconds;
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
    PartitionConfig p;
    p.name = "gpu";
    p.nodes = nodes;
    p.node_type = NodeType{acc, 4, 64, 512};
    s.partitions.push_back(p);
    return s;
  };
  f.sites = {site("site-a", "FI", 16, "h100"), site("site-b", "SE", 16, "h100"),
             site("site-c", "IT", 8, "a100")};
  ProjectConfig nordic;
  nordic.id = "nordic";
  nordic.country = "SE";
  nordic.allowed_countries = {"SE", "FI"};
  f.projects.push_back(nordic);
  return f;
}

// The broker takes messages by site index; the tests name sites.
void onMessage(Broker& b, const std::string& site, Message m, Time now, Effects& fx) {
  b.onMessage(*b.siteIndex(site), std::move(m), now, fx);
}

JobSpec gpuJob(int nodes, std::string type = "h100") {
  JobSpec s;
  s.name = "train";
  s.project = "demo";
  s.nodes = nodes;
  s.gpus_per_node = 4;
  s.gpu_type = std::move(type);
  s.walltime = std::chrono::hours(1);
  return s;
}

class BrokerTest : public ::testing::Test {
 protected:
  BrokerTest() : broker_(threeSites(), config()) {}

  static BrokerConfig config() {
    BrokerConfig c;
    c.heartbeat_interval = seconds(1);
    c.suspect_after_missed = 3;
    c.unreachable_after_missed = 6;
    c.lost_lease = seconds(30);
    c.retry_interval = seconds(2);
    c.max_attempts = 3;
    return c;
  }

  Time at(int64_t s) { return fromMillis(1'800'000'000'000 + s * 1000); }

  Effects send(const std::string& site, Body body, Time now) {
    Effects fx;
    onMessage(broker_, site, makeMessage(site, "m-" + std::to_string(++msg_), now, std::move(body)),
                      now, fx);
    broker_.tick(now, fx);
    return fx;
  }

  Capacity capacity(uint64_t epoch, int idle, int total = 16, std::string acc = "h100",
                    int pending_jobs = 0, double pending_nh = 0) {
    PartitionCapacity p;
    p.name = "gpu";
    p.node_type = NodeType{acc, 4, 64, 512};
    p.nodes_total = total;
    p.nodes_idle = idle;
    p.nodes_allocated = total - idle;
    p.pending_jobs = pending_jobs;
    p.pending_node_hours = pending_nh;
    Capacity c;
    c.capacity.epoch = epoch;
    c.capacity.partitions = {p};
    return c;
  }

  void bringUp(const std::string& site, int idle, Time now, int total = 16,
               std::string acc = "h100") {
    send(site, Hello{"test", "simulated", {}}, now);
    send(site, capacity(++epochs_[site], idle, total, acc), now);
  }

  void allUp(Time now) {
    bringUp("site-a", 16, now);
    bringUp("site-b", 16, now);
    bringUp("site-c", 8, now, 8, "a100");
  }

  JobRecord submit(const JobSpec& spec, Time now, Effects* out = nullptr) {
    Effects fx;
    Result<JobRecord> r = broker_.submit(spec, now, fx);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    broker_.tick(now, fx);
    if (out) *out = fx;
    return *broker_.findJob(r->id);
  }

  static std::vector<Dispatch> dispatches(const Effects& fx, const std::string& site = "") {
    std::vector<Dispatch> out;
    for (const OutboundMessage& m : fx.messages) {
      if (auto* d = std::get_if<Dispatch>(&m.body); d && (site.empty() || m.site == site)) {
        out.push_back(*d);
      }
    }
    return out;
  }
  static std::vector<Cancel> cancels(const Effects& fx) {
    std::vector<Cancel> out;
    for (const OutboundMessage& m : fx.messages) {
      if (auto* c = std::get_if<Cancel>(&m.body)) out.push_back(*c);
    }
    return out;
  }

  Broker broker_;
  int msg_ = 0;
  std::map<std::string, uint64_t> epochs_;
};

TEST_F(BrokerTest, HelloIsAnsweredWithWelcomeAndSiteComesUp) {
  Effects fx = send("site-a", Hello{"1.2.3", "simulated", {}}, at(0));
  ASSERT_FALSE(fx.messages.empty());
  auto* w = std::get_if<Welcome>(&fx.messages[0].body);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->protocol_version, "1.2");
  EXPECT_EQ(w->heartbeat_interval, seconds(1));
  EXPECT_EQ(w->job_lease, seconds(30));  // the agent's half of the lease
  EXPECT_EQ(broker_.findSite("site-a")->state, SiteState::kUp);
  EXPECT_EQ(broker_.findSite("site-a")->agent_version, "1.2.3");
  EXPECT_TRUE(broker_.hasSession("site-a"));
  EXPECT_FALSE(broker_.hasSession("site-b"));
}

// The agent counts its half of the job lease from acknowledged heartbeats.
TEST_F(BrokerTest, AHeartbeatIsAcknowledged) {
  bringUp("site-a", 16, at(0));
  Effects fx;
  onMessage(broker_, "site-a", makeMessage("site-a", "hb-7", at(1), Heartbeat{1, 0, 0}), at(1), fx);
  ASSERT_EQ(fx.messages.size(), 1u);
  EXPECT_EQ(std::get<Ack>(fx.messages[0].body).ack_msg_id, "hb-7");
}

// The agent's health rides on HEARTBEAT and CAPACITY; the site keeps the latest with its
// time, and its record is emitted (stored, pushed to the console) when the backend goes
// down, not on every report.
TEST_F(BrokerTest, AgentHealthFromHeartbeatsIsKeptPerSite) {
  bringUp("site-a", 16, at(0));
  EXPECT_FALSE(broker_.findSite("site-a")->agent_health.has_value());
  AgentHealth h{.version = "0.1.0",
                .backend_ok = true,
                .backend_error = "",
                .last_backend_ok_at = at(1),
                .outbox_depth = 2};
  Effects fx = send("site-a", Heartbeat{1, 0, 0, h}, at(1));
  EXPECT_EQ(broker_.findSite("site-a")->agent_health, h);
  EXPECT_EQ(broker_.findSite("site-a")->agent_health_at, at(1));
  EXPECT_EQ(fx.sites.size(), 1u);  // the first report
  h.outbox_depth = 3;
  fx = send("site-a", Heartbeat{1, 0, 0, h}, at(2));
  EXPECT_TRUE(fx.sites.empty());
  EXPECT_EQ(broker_.findSite("site-a")->agent_health->outbox_depth, 3u);
  h.backend_ok = false;
  h.backend_error = "sinfo: Socket timed out";
  fx = send("site-a", Heartbeat{1, 0, 0, h}, at(3));
  ASSERT_EQ(fx.sites.size(), 1u);
  EXPECT_EQ(fx.sites[0].agent_health, h);
  EXPECT_FALSE(broker_.findSite("site-b")->agent_health.has_value());
}

// Issue: an agent killed after sending JOB_STATUS(running) but before its ACK restarts,
// finds its scheduler no longer holds the job, and says so in HELLO; then its outbox
// resends the old "running". The resend is older than the HELLO's word (its seq is
// lower): acknowledged, ignored, and the job is not left running at a site that has
// nothing.
TEST_F(BrokerTest, AResentStatusOlderThanTheHelloDoesNotResurrectTheJob) {
  bringUp("site-a", 16, at(0));
  JobRecord j = submit(gpuJob(1), at(0));
  send("site-a", DispatchAck{j.id, 1, true, "", "sim-1"}, at(0));
  JobStatus running{j.id, 1, "sim-1", JobState::kRunning, std::nullopt, at(1), std::nullopt,
                    std::nullopt, ""};
  running.incarnation = 1;
  running.seq = 2;
  // The first send of "running" is lost with the agent. It restarts (incarnation 2) and
  // reports the attempt lost, numbered after it.
  Hello hello{"t", "simulated", {{j.id, 1, "sim-1", JobState::kLost, 3}}};
  hello.incarnation = 2;
  send("site-a", hello, at(5));
  // Re-queued at once (the site said it no longer holds it) and placed again: attempt 2.
  const JobRecord* after_hello = broker_.findJob(j.id);
  EXPECT_EQ(after_hello->attempt, 2);
  EXPECT_EQ(after_hello->state, JobState::kDispatched);
  // The outbox resends the old "running" of attempt 1: acknowledged, and it changes
  // nothing of attempt 2.
  Effects fx = send("site-a", running, at(6));
  ASSERT_FALSE(fx.messages.empty());
  EXPECT_EQ(std::get<Ack>(fx.messages[0].body).ack_msg_id, "m-" + std::to_string(msg_));
  const JobRecord* now = broker_.findJob(j.id);
  EXPECT_EQ(now->attempt, 2);
  EXPECT_EQ(now->state, JobState::kDispatched);
  // The same race against a 1.1 agent within one attempt: HELLO says pending with seq 5,
  // then a resent "running" of seq 4 (which the HELLO overtook) arrives.
  send("site-a", DispatchAck{j.id, 2, true, "", "sim-2"}, at(7));
  Hello again{"t", "simulated", {{j.id, 2, "sim-2", JobState::kPending, 5}}};
  again.incarnation = 3;
  send("site-a", again, at(8));
  JobStatus stale{j.id, 2, "sim-2", JobState::kRunning, std::nullopt, at(1), std::nullopt,
                  std::nullopt, ""};
  stale.incarnation = 2;
  stale.seq = 4;
  send("site-a", stale, at(9));
  EXPECT_EQ(broker_.findJob(j.id)->state, JobState::kPending);
}

TEST_F(BrokerTest, AStatusOlderThanOneAlreadyTakenIsIgnored) {
  bringUp("site-a", 16, at(0));
  JobRecord j = submit(gpuJob(1), at(0));
  send("site-a", DispatchAck{j.id, 1, true, "", "sim-1"}, at(0));
  JobStatus done{j.id, 1, "sim-1", JobState::kCompleted, std::nullopt, at(1), at(2), 0, ""};
  done.seq = 3;
  send("site-a", done, at(3));
  ASSERT_EQ(broker_.findJob(j.id)->state, JobState::kCompleted);
  EXPECT_EQ(broker_.findJob(j.id)->status_seq, 3u);
  // The agent's earlier "running" (seq 2) comes late: the job stays completed.
  JobStatus running{j.id, 1, "sim-1", JobState::kRunning, std::nullopt, at(1), std::nullopt,
                    std::nullopt, ""};
  running.seq = 2;
  send("site-a", running, at(4));
  EXPECT_EQ(broker_.findJob(j.id)->state, JobState::kCompleted);
}

TEST_F(BrokerTest, ALostStatusPlacesTheJobAgain) {
  bringUp("site-a", 16, at(0));
  JobRecord j = submit(gpuJob(1), at(0));
  send("site-a", DispatchAck{j.id, 1, true, "", "sim-1"}, at(0));
  JobStatus lost{j.id, 1, "sim-1", JobState::kLost, std::nullopt, std::nullopt, at(9),
                 std::nullopt, "stopped by the agent: no word from the coordinator"};
  lost.seq = 4;
  send("site-a", lost, at(9));
  const JobRecord* r = broker_.findJob(j.id);
  EXPECT_EQ(r->attempt, 2);  // re-queued, and placed again (site-a is excluded? no: lost)
  EXPECT_THAT(r->reason, ::testing::AnyOf(HasSubstr("placed on"), HasSubstr("no word")));
}

TEST_F(BrokerTest, SubmitRejectsUnknownAcceleratorListingOffered) {
  Effects fx;
  Result<JobRecord> r = broker_.submit(gpuJob(1, "b200"), at(0), fx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().field(), "gpu_type");
  EXPECT_THAT(r.status().message(), HasSubstr("a100, h100"));
  EXPECT_TRUE(fx.empty());
}

TEST_F(BrokerTest, EnqueueQueuesLikeSubmitAndMessagesMayNameTheSiteByIndex) {
  Effects fx;
  Result<std::string> id = broker_.enqueue(gpuJob(2), at(0), fx);
  ASSERT_TRUE(id.ok()) << id.status().toString();
  const JobRecord* j = broker_.findJob(*id);
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(j->state, JobState::kQueued);
  EXPECT_EQ(j->spec.nodes, 2);
  Result<JobRecord> next = broker_.submit(gpuJob(1), at(0), fx);
  ASSERT_TRUE(next.ok());
  EXPECT_NE(next->id, *id);
  EXPECT_EQ(broker_.findJob(next->id)->id, next->id);
  EXPECT_FALSE(broker_.enqueue(gpuJob(1, "b200"), at(0), fx).ok());

  // site-b is the federation's second site: HELLO and a report by index bring it up, and
  // the queued jobs go there. An index past the last site is ignored.
  Effects up;
  broker_.onMessage(size_t{1}, makeMessage("site-b", "m-1", at(1), Hello{"test", "simulated", {}}),
                    at(1), up);
  broker_.onMessage(size_t{1}, makeMessage("site-b", "m-2", at(1), capacity(1, 16)), at(1), up);
  broker_.onMessage(size_t{9}, makeMessage("site-x", "m-3", at(1), capacity(1, 16)), at(1), up);
  EXPECT_EQ(broker_.findSite("site-b")->state, SiteState::kUp);
  broker_.tick(at(1), up);
  std::vector<Dispatch> sent = dispatches(up, "site-b");
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].job_id, *id);
}

TEST_F(BrokerTest, SubmitRejectsJobLargerThanEveryPartition) {
  Effects fx;
  Result<JobRecord> r = broker_.submit(gpuJob(17), at(0), fx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "nodes");
  EXPECT_THAT(r.status().message(), HasSubstr("16"));
}

TEST_F(BrokerTest, SubmitRejectsInvalidSpecAndUnknownAllowedSite) {
  Effects fx;
  JobSpec zero = gpuJob(1);
  zero.walltime = Duration(0);
  EXPECT_FALSE(broker_.submit(zero, at(0), fx).ok());
  JobSpec neg = gpuJob(1);
  neg.nodes = -2;
  Result<JobRecord> r = broker_.submit(neg, at(0), fx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "nodes");
  JobSpec where = gpuJob(1);
  where.allowed_sites = {"atlantis"};
  r = broker_.submit(where, at(0), fx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "allowed_sites");
  JobSpec whitelist = gpuJob(1);
  whitelist.allowed_countries = {"NO", "SE"};  // no site in Norway: harmless
  EXPECT_TRUE(broker_.submit(whitelist, at(0), fx).ok());
  fx.clear();
  JobSpec norway = gpuJob(1);
  norway.allowed_countries = {"NO"};
  r = broker_.submit(norway, at(0), fx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "allowed_countries");
  JobSpec nordic_a100 = gpuJob(1, "a100");
  nordic_a100.project = "nordic";  // the project may run only in SE and FI: no a100 there
  r = broker_.submit(nordic_a100, at(0), fx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "project");
  EXPECT_THAT(r.status().message(), HasSubstr("SE, FI"));
  JobSpec nowhere = gpuJob(1, "a100");
  nowhere.allowed_countries = {"FI"};
  r = broker_.submit(nowhere, at(0), fx);
  ASSERT_FALSE(r.ok()) << "no a100 in Finland";
  EXPECT_TRUE(fx.empty());
}

TEST_F(BrokerTest, JobWaitsWhileNoSiteIsUpAndSaysWhy) {
  Effects fx;
  JobRecord j = submit(gpuJob(2), at(0), &fx);
  EXPECT_EQ(j.state, JobState::kQueued);
  ASSERT_EQ(fx.decisions.size(), 1u);
  const PlacementDecision& d = fx.decisions[0];
  EXPECT_TRUE(d.chosen_site.empty());
  ASSERT_EQ(d.verdicts.size(), 3u);
  for (const SiteVerdict& v : d.verdicts) {
    EXPECT_FALSE(v.feasible);
    EXPECT_EQ(v.rejected_by, "site-state");
  }
  // Re-examined every tick, but the same verdict is not stored again.
  Effects again;
  broker_.tick(at(1), again);
  EXPECT_TRUE(again.decisions.empty());
}

TEST_F(BrokerTest, PlacesWhereTheJobStartsEarliest) {
  bringUp("site-a", 4, at(0));
  bringUp("site-b", 16, at(0));
  Effects fx;
  JobRecord j = submit(gpuJob(8), at(1), &fx);
  EXPECT_EQ(j.state, JobState::kDispatched);
  EXPECT_EQ(j.site, "site-b");
  EXPECT_EQ(j.attempt, 1);
  ASSERT_EQ(dispatches(fx, "site-b").size(), 1u);
  EXPECT_EQ(dispatches(fx)[0].job_id, j.id);
  ASSERT_EQ(fx.decisions.size(), 1u);
  EXPECT_EQ(fx.decisions[0].chosen_site, "site-b");
  EXPECT_EQ(fx.decisions[0].attempt, 1);
  EXPECT_THAT(fx.decisions[0].summary, HasSubstr("starts now"));
  EXPECT_EQ(broker_.reservedNodes("site-b"), 8);
}

TEST_F(BrokerTest, FiltersTypeResidencyAndDrain) {
  allUp(at(0));
  Effects fx;
  JobRecord a100 = submit(gpuJob(2, "a100"), at(1), &fx);
  EXPECT_EQ(a100.site, "site-c");
  const PlacementDecision* d = broker_.lastDecision(a100.id);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->verdicts[0].rejected_by, "accelerator");
  EXPECT_THAT(d->verdicts[0].reason, HasSubstr("h100"));

  JobSpec nordic = gpuJob(1);
  nordic.project = "nordic";
  nordic.allowed_sites = {"site-a", "site-b"};
  ASSERT_TRUE(broker_.setDrained("site-b", true, at(1), fx).ok());
  EXPECT_EQ(broker_.findSite("site-b")->state, SiteState::kDraining);
  JobRecord n = submit(nordic, at(2));
  EXPECT_EQ(n.site, "site-a");
  d = broker_.lastDecision(n.id);
  EXPECT_EQ(d->verdicts[1].rejected_by, "draining");
  EXPECT_EQ(d->verdicts[2].rejected_by, "residency");
}

TEST_F(BrokerTest, ReservationsPreventOverfillingBetweenReports) {
  bringUp("site-a", 16, at(0));
  int starts_now = 0;
  for (int i = 0; i < 40; ++i) {
    JobRecord j = submit(gpuJob(3), at(1));
    EXPECT_EQ(j.site, "site-a");
    const PlacementDecision* d = broker_.lastDecision(j.id);
    if (d->verdicts[0].estimated_start_s == 0) ++starts_now;
  }
  EXPECT_EQ(starts_now, 5) << "16 idle nodes hold five 3-node jobs";
  EXPECT_EQ(broker_.reservedNodes("site-a"), 120);
}

TEST_F(BrokerTest, ReservationReleasedOnlyByNewerReportAfterAck) {
  bringUp("site-a", 16, at(0));
  JobRecord j = submit(gpuJob(4), at(1));
  // A report that crossed the dispatch (older epoch view) does not release it.
  send("site-a", capacity(epochs_["site-a"] + 1, 16), at(2));
  ++epochs_["site-a"];
  EXPECT_EQ(broker_.reservedNodes("site-a"), 4);
  Effects fx = send("site-a", DispatchAck{j.id, 1, true, "", "sim-1"}, at(3));
  EXPECT_EQ(broker_.findJob(j.id)->state, JobState::kPending);
  EXPECT_EQ(broker_.findJob(j.id)->local_id, "sim-1");
  EXPECT_EQ(broker_.findSite("site-a")->jobs_placed, 1);
  EXPECT_EQ(broker_.reservedNodes("site-a"), 4);
  // The same epoch again (duplicate) changes nothing; a newer one accounts for the job.
  send("site-a", capacity(epochs_["site-a"], 12), at(4));
  EXPECT_EQ(broker_.reservedNodes("site-a"), 4);
  send("site-a", capacity(++epochs_["site-a"], 12), at(5));
  EXPECT_EQ(broker_.reservedNodes("site-a"), 0);
}

TEST_F(BrokerTest, RefusedDispatchIsReplacedElsewhereThenFails) {
  allUp(at(0));
  JobRecord j = submit(gpuJob(2), at(1));
  std::string first = j.site;
  Effects fx = send(first, DispatchAck{j.id, 1, false, "partition closed", ""}, at(2));
  const JobRecord* now = broker_.findJob(j.id);
  EXPECT_EQ(now->state, JobState::kDispatched);
  EXPECT_NE(now->site, first);
  EXPECT_EQ(now->attempt, 2);
  EXPECT_THAT(now->excluded_sites, ::testing::ElementsAre(first));
  ASSERT_EQ(dispatches(fx).size(), 1u);
  EXPECT_EQ(dispatches(fx)[0].attempt, 2);
  std::string second = now->site;
  send(second, DispatchAck{j.id, 2, false, "nope", ""}, at(3));
  now = broker_.findJob(j.id);
  EXPECT_EQ(now->state, JobState::kQueued) << "no other h100 site left";
  EXPECT_THAT(broker_.lastDecision(j.id)->summary, HasSubstr("excluded"));
}

TEST_F(BrokerTest, JobStatusIsAcknowledgedAndFollowedToTheEnd) {
  bringUp("site-a", 16, at(0));
  JobRecord j = submit(gpuJob(1), at(1));
  send("site-a", DispatchAck{j.id, 1, true, "", "sim-7"}, at(2));
  JobStatus running{j.id,         1, "sim-7", JobState::kRunning, at(2), at(3), std::nullopt,
                    std::nullopt, ""};
  Effects fx;
  Message m = makeMessage("site-a", "status-1", at(3), running);
  onMessage(broker_, "site-a", m, at(3), fx);
  ASSERT_EQ(fx.messages.size(), 1u);
  EXPECT_EQ(std::get<Ack>(fx.messages[0].body).ack_msg_id, "status-1");
  EXPECT_EQ(broker_.findJob(j.id)->state, JobState::kRunning);
  EXPECT_EQ(broker_.findJob(j.id)->started_at, at(3));
  JobStatus failed = running;
  failed.state = JobState::kFailed;
  failed.ended_at = at(9);
  failed.exit_code = 3;
  send("site-a", failed, at(9));
  // A late "running" does not resurrect it.
  send("site-a", running, at(10));
  const JobRecord* end = broker_.findJob(j.id);
  EXPECT_EQ(end->state, JobState::kFailed);
  EXPECT_EQ(end->exit_code, 3);
  EXPECT_EQ(end->ended_at, at(9));
}

// Protocol 1.2: the site's account and output paths are kept with the attempt, after its
// end too, and forgotten when the job is placed again.
TEST_F(BrokerTest, TheAcceptingSitesAccountAndOutputPathsStayWithTheAttempt) {
  bringUp("site-a", 16, at(0));
  JobRecord j = submit(gpuJob(1), at(1));
  DispatchAck ack{j.id, 1, true, "", "4711"};
  ack.local_user = "alice_l";
  ack.account = "llm-eu";
  ack.stdout_path = "/scratch/alice_l/aifed-j-1-1.out";
  ack.stderr_path = "/scratch/alice_l/aifed-j-1-1.err";
  send("site-a", ack, at(2));
  AttemptAtSite expected{"alice_l", "llm-eu", "/scratch/alice_l/aifed-j-1-1.out",
                         "/scratch/alice_l/aifed-j-1-1.err", std::nullopt};
  EXPECT_EQ(broker_.findJob(j.id)->at_site, expected);
  JobStatus lost{j.id, 1, "4711", JobState::kLost, std::nullopt, std::nullopt, std::nullopt,
                 std::nullopt, "stopped by the agent"};
  lost.seq = 1;
  send("site-a", lost, at(3));
  Effects fx;
  broker_.tick(at(4), fx);
  const JobRecord* again = broker_.findJob(j.id);
  ASSERT_EQ(again->attempt, 2);
  EXPECT_EQ(again->at_site, AttemptAtSite{});
}

TEST_F(BrokerTest, ReportsOfAnotherAttemptOfAKnownJobAreCancelled) {
  bringUp("site-a", 16, at(0));
  JobRecord j = submit(gpuJob(1), at(0));
  ASSERT_EQ(j.site, "site-a");
  Effects fx = send("site-a",
                    JobStatus{j.id, 7, "sim-1", JobState::kRunning, std::nullopt, std::nullopt,
                              std::nullopt, std::nullopt, ""},
                    at(1));
  ASSERT_EQ(cancels(fx).size(), 1u);
  EXPECT_EQ(cancels(fx)[0].job_id, j.id);
  EXPECT_EQ(cancels(fx)[0].attempt, 7);
}

// The coordinator never cancels a job it has no record of (after a restore from an older
// backup): the attempt is quarantined for an admin, and its id is never handed out.
TEST_F(BrokerTest, AnUnknownJobIsQuarantinedNotCancelledAndItsIdIsNeverReused) {
  bringUp("site-a", 16, at(0));
  Effects fx = send("site-a",
                    JobStatus{"j-99", 1, "sim-1", JobState::kRunning, std::nullopt, std::nullopt,
                              std::nullopt, std::nullopt, ""},
                    at(1));
  EXPECT_TRUE(cancels(fx).empty());
  ASSERT_EQ(fx.quarantined.size(), 1u);
  EXPECT_EQ(fx.quarantined[0].job_id, "j-99");
  EXPECT_EQ(fx.quarantined[0].state, JobState::kRunning);
  EXPECT_EQ(fx.quarantined[0].decision, "");
  EXPECT_EQ(broker_.nextJobSeq(), 100);
  EXPECT_EQ(submit(gpuJob(1), at(2)).id, "j-100");
  // HELLO lists it again: still no CANCEL.
  Effects hello = send("site-a", Hello{"t", "simulated", {{"j-99", 1, "sim-1", JobState::kRunning}}},
                       at(3));
  EXPECT_TRUE(cancels(hello).empty());
  // An admin decides to cancel it: the CANCEL goes out now and again until it ends.
  Effects decided;
  Result<QuarantinedJob> q = broker_.decideQuarantined("site-a", "j-99", 1,
                                                       QuarantineAction::kCancel, "admin", at(4),
                                                       decided);
  ASSERT_TRUE(q.ok()) << q.status().toString();
  EXPECT_EQ(q->decision, "cancel");
  ASSERT_EQ(cancels(decided).size(), 1u);
  EXPECT_THAT(cancels(decided)[0].reason, HasSubstr("cancelled by admin"));
  Effects later;
  broker_.tick(at(7), later);
  EXPECT_EQ(cancels(later).size(), 1u);  // retried after retry_interval (2 s)
  EXPECT_EQ(broker_.decideQuarantined("site-a", "j-99", 1, QuarantineAction::kRelease, "x", at(8),
                                      later)
                .status()
                .code(),
            StatusCode::kFailedPrecondition);
  // The site reports it cancelled: the entry ends, no more CANCELs.
  send("site-a",
       JobStatus{"j-99", 1, "sim-1", JobState::kCancelled, std::nullopt, std::nullopt, at(9),
                 std::nullopt, ""},
       at(9));
  Effects quiet;
  broker_.tick(at(20), quiet);
  EXPECT_TRUE(cancels(quiet).empty());
  EXPECT_EQ(broker_.quarantined().at(0).state, JobState::kCancelled);
}

TEST_F(BrokerTest, AQuarantinedAttemptTheSiteNoLongerListsIsMarkedLost) {
  bringUp("site-a", 16, at(0));
  send("site-a", Hello{"t", "simulated", {{"j-5", 2, "sim-9", JobState::kPending}}}, at(1));
  Effects fx = send("site-a", Hello{"t", "simulated", {}}, at(2));
  ASSERT_EQ(fx.quarantined.size(), 1u);
  EXPECT_EQ(fx.quarantined[0].state, JobState::kLost);
  EXPECT_EQ(broker_.quarantined().at(0).local_id, "sim-9");
}

TEST_F(BrokerTest, LivenessUpSuspectUnreachableAndBack) {
  bringUp("site-a", 16, at(0));
  Effects fx;
  broker_.tick(at(2), fx);
  EXPECT_EQ(broker_.findSite("site-a")->state, SiteState::kUp);
  broker_.tick(at(3), fx);
  EXPECT_EQ(broker_.findSite("site-a")->state, SiteState::kSuspect);
  // No placement on a suspect site.
  JobRecord j = submit(gpuJob(1), at(4));
  EXPECT_EQ(j.state, JobState::kQueued);
  broker_.tick(at(6), fx);
  EXPECT_EQ(broker_.findSite("site-a")->state, SiteState::kUnreachable);
  EXPECT_TRUE(broker_.findSite("site-a")->unreachable_since.has_value());
  send("site-a", Heartbeat{1, 0, 0}, at(7));
  EXPECT_EQ(broker_.findSite("site-a")->state, SiteState::kUp);
  EXPECT_EQ(broker_.findJob(j.id)->state, JobState::kDispatched);
  ASSERT_TRUE(broker_.nextDeadline().has_value());
}

// The job lease: a re-placeable job is re-queued once its site has been unreachable for
// the lease (its agent stopped it after the same lease); one that may not be re-placed
// keeps running there and waits for its site.
TEST_F(BrokerTest, LeaseExpiryRequeuesReplaceableJobsAndOthersWaitForTheirSite) {
  bringUp("site-a", 16, at(0));
  JobRecord requeue = submit(gpuJob(1), at(0));
  JobSpec keep = gpuJob(1);
  keep.requeue_on_site_loss = false;
  JobRecord waits = submit(keep, at(0));
  send("site-a", DispatchAck{requeue.id, 1, true, "", "sim-1"}, at(0));
  send("site-a", DispatchAck{waits.id, 1, true, "", "sim-2"}, at(0));
  // site-b stays in touch (heartbeat every second), so the coordinator is not cut off.
  send("site-b", Hello{"test", "simulated", {}}, at(0));
  Effects fx;
  for (int t = 1; t <= 30; ++t) send("site-b", Heartbeat{0, 0, 0}, at(t));
  EXPECT_EQ(broker_.findSite("site-a")->state, SiteState::kUnreachable);  // since 6
  EXPECT_EQ(broker_.findJob(requeue.id)->state, JobState::kPending) << "lease not over yet";
  for (int t = 31; t <= 37; ++t) send("site-b", Heartbeat{0, 0, 0}, at(t));
  EXPECT_EQ(broker_.findJob(requeue.id)->state, JobState::kQueued);
  EXPECT_THAT(broker_.findJob(requeue.id)->reason, HasSubstr("unreachable"));
  const JobRecord* w = broker_.findJob(waits.id);
  EXPECT_EQ(w->state, JobState::kPending);
  EXPECT_EQ(w->site, "site-a");
  EXPECT_THAT(w->reason, HasSubstr("waits for its site"));
  // When site-b reports capacity the re-queued job runs there as attempt 2.
  send("site-b", capacity(++epochs_["site-b"], 16), at(38));
  EXPECT_EQ(broker_.findJob(requeue.id)->site, "site-b");
  EXPECT_EQ(broker_.findJob(requeue.id)->attempt, 2);
  // Site-a returns still running both first attempts: the re-placed one is told to
  // stop, the waiting one is taken up again.
  Effects back = send("site-a",
                      Hello{"test", "simulated",
                            {{requeue.id, 1, "sim-1", JobState::kRunning},
                             {waits.id, 1, "sim-2", JobState::kRunning}}},
                      at(39));
  ASSERT_EQ(cancels(back).size(), 1u);
  EXPECT_EQ(cancels(back)[0].job_id, requeue.id);
  EXPECT_EQ(cancels(back)[0].attempt, 1);
  EXPECT_EQ(broker_.findJob(waits.id)->state, JobState::kRunning);
}

// Armada's lesson (armadaproject/armada#315): when the coordinator hears from no site at
// all, the fault is more likely its own; no lease runs out for that time.
TEST_F(BrokerTest, NoLeaseRunsOutWhileTheCoordinatorHearsFromNoSite) {
  bringUp("site-a", 16, at(0));
  JobRecord j = submit(gpuJob(1), at(0));
  send("site-a", DispatchAck{j.id, 1, true, "", "sim-1"}, at(0));
  Effects fx;
  for (int t = 6; t <= 600; t += 6) broker_.tick(at(t), fx);  // 20 leases of silence
  EXPECT_EQ(broker_.findSite("site-a")->state, SiteState::kUnreachable);
  EXPECT_EQ(broker_.findJob(j.id)->state, JobState::kPending);
  // site-b is heard: the federation is reachable, the lease (30 s) runs from here.
  send("site-b", Hello{"test", "simulated", {}}, at(601));
  for (int t = 602; t <= 630; ++t) send("site-b", Heartbeat{0, 0, 0}, at(t));
  EXPECT_EQ(broker_.findJob(j.id)->state, JobState::kPending);
  for (int t = 631; t <= 633; ++t) send("site-b", Heartbeat{0, 0, 0}, at(t));
  EXPECT_EQ(broker_.findJob(j.id)->state, JobState::kQueued);
}

TEST_F(BrokerTest, UnacknowledgedDispatchIsResentWithTheSameAttempt) {
  bringUp("site-a", 16, at(0));
  JobRecord j = submit(gpuJob(1), at(0));
  Effects fx;
  broker_.tick(at(1), fx);
  EXPECT_TRUE(dispatches(fx).empty());
  fx = send("site-a", Heartbeat{1, 0, 0}, at(2));  // ticks at 2 s: the retry is due
  ASSERT_EQ(dispatches(fx).size(), 1u);
  EXPECT_EQ(dispatches(fx)[0].attempt, 1);
  EXPECT_EQ(broker_.findJob(j.id)->attempt, 1);
}

TEST_F(BrokerTest, CancelQueuedRunningAndFinished) {
  Effects fx;
  JobRecord queued = submit(gpuJob(1), at(0));
  Result<JobRecord> c = broker_.cancel(queued.id, at(1), fx);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->state, JobState::kCancelled);
  EXPECT_EQ(broker_.cancel(queued.id, at(1), fx).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(broker_.cancel("j-404", at(1), fx).status().code(), StatusCode::kNotFound);

  bringUp("site-a", 16, at(2));
  JobRecord run = submit(gpuJob(1), at(2));
  send("site-a", DispatchAck{run.id, 1, true, "", "sim-1"}, at(2));
  fx.clear();
  c = broker_.cancel(run.id, at(3), fx);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->cancel_requested);
  ASSERT_EQ(cancels(fx).size(), 1u);
  send("site-a",
       JobStatus{run.id, 1, "sim-1", JobState::kCancelled, std::nullopt, std::nullopt, at(3),
                 std::nullopt, "cancelled"},
       at(3));
  EXPECT_EQ(broker_.findJob(run.id)->state, JobState::kCancelled);
}

TEST_F(BrokerTest, HelloReconcilesHeldAndMissingJobs) {
  bringUp("site-a", 16, at(0));
  JobRecord held = submit(gpuJob(1), at(0));
  JobRecord gone = submit(gpuJob(1), at(0));
  send("site-a", DispatchAck{gone.id, 1, true, "", "sim-2"}, at(0));
  // The agent restarts: it holds `held` (its ack was lost) but no longer `gone`.
  Effects fx = send("site-a",
                    Hello{"test", "simulated", {{held.id, 1, "sim-1", JobState::kRunning}}}, at(1));
  EXPECT_EQ(broker_.findJob(held.id)->state, JobState::kRunning);
  EXPECT_EQ(broker_.findJob(gone.id)->state, JobState::kPending) << "grace for its outbox";
  Effects later;
  broker_.tick(at(6), later);
  EXPECT_NE(broker_.findJob(gone.id)->state, JobState::kPending);
  EXPECT_GE(broker_.findJob(gone.id)->attempt, 1);
  EXPECT_THAT(broker_.findJob(gone.id)->reason, HasSubstr("no longer holds"));
}

TEST_F(BrokerTest, HigherPriorityIsPlacedFirst) {
  bringUp("site-a", 4, at(0), 4);
  Effects fx;
  JobSpec low = gpuJob(4);
  JobSpec high = gpuJob(4);
  high.priority = 10;
  // Submit both before one tick.
  Result<JobRecord> l = broker_.submit(low, at(1), fx);
  Result<JobRecord> h = broker_.submit(high, at(1), fx);
  broker_.tick(at(1), fx);
  EXPECT_EQ(broker_.lastDecision(h->id)->verdicts[0].estimated_start_s, 0);
  EXPECT_GT(broker_.lastDecision(l->id)->verdicts[0].estimated_start_s, 0);
}

TEST_F(BrokerTest, RestoreKeepsJobsAndResendsDispatches) {
  bringUp("site-a", 16, at(0));
  JobRecord j = submit(gpuJob(1), at(0));
  std::vector<JobRecord> jobs;
  for (const JobRecord* r : broker_.listJobs(std::nullopt, "", 0, 100)) jobs.push_back(*r);
  std::vector<SiteRecord> sites = broker_.sites();

  Broker again(threeSites(), config());
  again.restore({jobs, sites, {}, 2}, at(0));
  EXPECT_EQ(again.findJob(j.id)->state, JobState::kDispatched);
  EXPECT_EQ(again.findSite("site-a")->state, SiteState::kUnknown);
  Effects fx;
  Result<JobRecord> next = again.submit(gpuJob(1), at(1), fx);
  EXPECT_EQ(next->id, "j-2");
  onMessage(again, "site-a", makeMessage("site-a", "h", at(2), Hello{"t", "simulated", {}}), at(2),
                  fx);
  fx.clear();
  again.tick(at(2), fx);
  ASSERT_FALSE(dispatches(fx).empty());
  EXPECT_EQ(dispatches(fx)[0].job_id, j.id);
  EXPECT_EQ(dispatches(fx)[0].attempt, 1);
}

TEST_F(BrokerTest, RestoredSiteThatNeverReturnsLosesItsJobsAfterTheLease) {
  bringUp("site-a", 16, at(0));
  JobRecord j = submit(gpuJob(1), at(0));
  send("site-a", DispatchAck{j.id, 1, true, "", "sim-1"}, at(0));
  std::vector<JobRecord> jobs{*broker_.findJob(j.id)};
  Broker again(threeSites(), config());
  again.restore({jobs, broker_.sites(), {}, 2}, at(0));
  Effects fx;
  again.tick(at(100), fx);  // the first tick after the restart: site-a's silence counts from here
  onMessage(again, "site-b", makeMessage("site-b", "h", at(100), Hello{"t", "simulated", {}}),
            at(100), fx);
  for (int t = 101; t <= 135; ++t) {
    onMessage(again, "site-b", makeMessage("site-b", "b" + std::to_string(t), at(t), Heartbeat{}),
              at(t), fx);
    again.tick(at(t), fx);
    if (t == 106) {
      EXPECT_EQ(again.findSite("site-a")->state, SiteState::kUnreachable);
    }
  }
  EXPECT_EQ(again.findJob(j.id)->state, JobState::kPending);
  again.tick(at(136), fx);  // unreachable at 106, lease 30 s
  EXPECT_EQ(again.findJob(j.id)->state, JobState::kQueued);
}

TEST_F(BrokerTest, ListAndCountJobs) {
  for (int i = 0; i < 5; ++i) submit(gpuJob(1), at(0));
  EXPECT_EQ(broker_.countJobs(std::nullopt), 5u);
  EXPECT_EQ(broker_.countJobs(JobState::kQueued), 5u);
  auto page = broker_.listJobs(JobState::kQueued, "", 1, 2);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0]->id, "j-2");
  EXPECT_EQ(page[1]->id, "j-3");
}

// Property: over random federations states and job streams, the broker never places a
// job on a site a filter rejected, never has more "starts now" nodes than idle nodes at
// any site between two reports, and two brokers fed the same inputs decide the same.
TEST(BrokerPropertyTest, RandomStreamsRespectFiltersCapacityAndDeterminism) {
  for (int seed = 1; seed <= 30; ++seed) {
    std::mt19937 rng(seed);
    Federation fed = threeSites();
    BrokerConfig cfg;
    Broker a(fed, cfg), b(fed, cfg);
    Time t = fromMillis(1'800'000'000'000);
    std::map<std::string, int> idle;
    for (const SiteConfig& s : fed.sites) {
      if (rng() % 4 == 0) continue;  // some sites stay down
      int total = s.partitions[0].nodes;
      idle[s.id] = static_cast<int>(rng() % (total + 1));
      PartitionCapacity p;
      p.name = "gpu";
      p.node_type = s.partitions[0].node_type;
      p.nodes_total = total;
      p.nodes_idle = idle[s.id];
      Capacity c;
      c.capacity.epoch = 1;
      c.capacity.partitions = {p};
      for (Broker* br : {&a, &b}) {
        Effects fx;
        onMessage(*br, s.id, makeMessage(s.id, "h", t, Hello{"t", "simulated", {}}), t, fx);
        onMessage(*br, s.id, makeMessage(s.id, "c", t, c), t, fx);
      }
    }
    std::map<std::string, int> started_now;
    for (int i = 0; i < 60; ++i) {
      JobSpec spec = gpuJob(1 + static_cast<int>(rng() % 6), rng() % 3 ? "h100" : "a100");
      if (rng() % 5 == 0) spec.allowed_countries = {rng() % 2 ? "FI" : "SE"};
      Effects fa, fb;
      Result<JobRecord> ra = a.submit(spec, t, fa);
      Result<JobRecord> rb = b.submit(spec, t, fb);
      ASSERT_EQ(ra.ok(), rb.ok());
      if (!ra.ok()) continue;
      a.tick(t, fa);
      b.tick(t, fb);
      ASSERT_EQ(fa.decisions, fb.decisions) << "seed " << seed;
      for (const PlacementDecision& d : fa.decisions) {
        if (d.chosen_site.empty()) continue;
        for (const SiteVerdict& v : d.verdicts) {
          if (v.site == d.chosen_site) {
            ASSERT_TRUE(v.feasible) << "placed on a rejected site";
            if (v.estimated_start_s == 0) started_now[v.site] += spec.nodes;
          }
        }
      }
    }
    for (const auto& [site, nodes] : started_now) {
      EXPECT_LE(nodes, idle[site]) << "seed " << seed << " site " << site;
    }
  }
}

DispatchAck acceptedAck(const std::string& job_id, int attempt) {
  DispatchAck a;
  a.job_id = job_id;
  a.attempt = attempt;
  a.accepted = true;
  a.local_id = "local-" + job_id;
  return a;
}

JobStatus statusOf(const std::string& job_id, int attempt, JobState state,
                   std::optional<Time> started, std::optional<Time> ended) {
  JobStatus st;
  st.job_id = job_id;
  st.attempt = attempt;
  st.local_id = "local-" + job_id;
  st.state = state;
  st.started_at = started;
  st.ended_at = ended;
  if (ended) st.exit_code = 0;
  return st;
}

TEST_F(BrokerTest, WithNoSiteOpenATickDecidesOnlyJobsWithoutADecision) {
  auto decided = [](const Effects& fx) {
    std::vector<std::string> ids;
    for (const PlacementDecision& d : fx.decisions) ids.push_back(d.job_id);
    return ids;
  };
  using V = std::vector<std::string>;
  Effects fx;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(broker_.submit(gpuJob(1), at(0), fx).ok());
  JobSpec urgent = gpuJob(1);
  urgent.priority = 5;
  ASSERT_TRUE(broker_.submit(urgent, at(0), fx).ok());
  broker_.tick(at(0), fx);
  EXPECT_EQ(decided(fx), (V{"j-4", "j-1", "j-2", "j-3"}));  // priority, then submission
  EXPECT_THAT(broker_.lastDecision("j-1")->summary, HasSubstr("no site can take it now"));

  Effects more;
  ASSERT_TRUE(broker_.submit(gpuJob(1), at(1), more).ok());
  ASSERT_TRUE(broker_.submit(urgent, at(1), more).ok());
  broker_.tick(at(1), more);
  EXPECT_EQ(decided(more), (V{"j-6", "j-5"}));

  // A policy switch clears every decision: all six are examined again, in queue order.
  Effects switched;
  ASSERT_TRUE(broker_.setPolicy("green", "admin", "", at(2), switched).ok());
  broker_.tick(at(2), switched);
  EXPECT_EQ(decided(switched), (V{"j-4", "j-6", "j-1", "j-2", "j-3", "j-5"}));
  Effects quiet;
  broker_.tick(at(3), quiet);
  EXPECT_TRUE(quiet.decisions.empty());

  // A site opens: every waiting job is placed in queue order.
  send("site-a", Hello{"t", "simulated", {}}, at(4));
  Effects open = send("site-a", capacity(1, 16), at(4));
  EXPECT_EQ(decided(open), (V{"j-4", "j-6", "j-1", "j-2", "j-3", "j-5"}));
  EXPECT_EQ(dispatches(open, "site-a").size(), 6u);
}

TEST_F(BrokerTest, PolicySwitchIsRecordedAndUsedForLaterDecisions) {
  EXPECT_EQ(broker_.policy().name, "earliest-start");
  Effects fx;
  Status unknown = broker_.setPolicy("fastest", "admin", "", at(0), fx);
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  EXPECT_THAT(unknown.message(), HasSubstr("green"));  // lists what is on offer
  ASSERT_TRUE(broker_.setPolicy("green", "admin", "windy day", at(1), fx).ok());
  ASSERT_EQ(fx.policy_changes.size(), 1u);
  EXPECT_EQ(fx.policy_changes[0],
            (PolicyChange{at(1), "earliest-start", "green", 1, "admin", "windy day"}));
  Effects again;
  ASSERT_TRUE(broker_.setPolicy("green", "admin", "", at(2), again).ok());
  EXPECT_TRUE(again.policy_changes.empty());  // already active: nothing to record
  EXPECT_EQ(broker_.policyHistory().size(), 1u);
  EXPECT_EQ(broker_.config().policy, "green");

  allUp(at(3));
  Effects placed;
  JobRecord j = submit(gpuJob(1), at(4), &placed);
  ASSERT_EQ(placed.decisions.size(), 1u);
  EXPECT_EQ(placed.decisions[0].policy, "green");
  EXPECT_EQ(placed.decisions[0].verdicts[0].scores.size(), 3u);
}

TEST_F(BrokerTest, UnknownConfiguredPolicyIsAStartupError) {
  BrokerConfig c = config();
  c.policy = "nope";
  EXPECT_THROW(Broker(threeSites(), c), std::invalid_argument);
}

TEST_F(BrokerTest, AllocationIsChargedWhileHeldAndSettledAtTheEnd) {
  allUp(at(0));
  JobRecord j = submit(gpuJob(2), at(1));  // 2 nodes x 4 GPUs x 1 h walltime = 8 GPU-h
  EXPECT_DOUBLE_EQ(broker_.allocationUsed("demo", j.site), 8);
  send(j.site, acceptedAck(j.id, j.attempt), at(2));
  send(j.site, statusOf(j.id, j.attempt, JobState::kRunning, at(2), std::nullopt), at(2));
  // Ran 30 min: 2 x 4 x 0.5 = 4 GPU-h.
  send(j.site, statusOf(j.id, j.attempt, JobState::kCompleted, at(2), at(2 + 1800)), at(2 + 1800));
  EXPECT_DOUBLE_EQ(broker_.allocationUsed("demo", j.site), 4);
}

BrokerConfig latePolicy(Duration bind_within) {
  PolicySpec late;
  late.name = "late-start";
  late.binding = BindingMode::kLate;
  late.bind_within = bind_within;
  late.weights = {{"estimated-start", 1}};
  BrokerConfig c;
  c.heartbeat_interval = std::chrono::hours(1000);  // liveness out of the way
  c.policies = mergePolicies(builtinPolicies(), {late});
  c.policy = "late-start";
  return c;
}

TEST_F(BrokerTest, LateBindingHoldsUntilASiteCanStartSoon) {
  Broker b(threeSites(), latePolicy(std::chrono::minutes(10)));
  auto deliver = [&](const std::string& site, Body body, Time t) {
    Effects fx;
    onMessage(b, site, makeMessage(site, "m-" + std::to_string(++msg_), t, std::move(body)), t, fx);
    b.tick(t, fx);
    return fx;
  };
  deliver("site-a", Hello{"t", "simulated", {}}, at(0));
  // Full, with 32 node-hours pending over 16 nodes: a 2 h wait.
  deliver("site-a", capacity(1, 0, 16, "h100", 3, 32), at(0));
  Effects fx;
  ASSERT_TRUE(b.submit(gpuJob(1), at(1), fx).ok());
  b.tick(at(1), fx);
  const JobRecord* j = b.findJob("j-1");
  EXPECT_EQ(j->state, JobState::kQueued);
  ASSERT_NE(b.lastDecision("j-1"), nullptr);
  EXPECT_THAT(b.lastDecision("j-1")->summary, HasSubstr("held at the coordinator"));
  EXPECT_THAT(b.lastDecision("j-1")->summary, HasSubstr("site-a"));
  EXPECT_TRUE(dispatches(fx).empty());
  // Nodes free up: bound at once.
  Effects later = deliver("site-a", capacity(2, 4), at(60));
  EXPECT_EQ(b.findJob("j-1")->state, JobState::kDispatched);
  EXPECT_EQ(dispatches(later, "site-a").size(), 1u);
}

TEST_F(BrokerTest, LateBindingDoesNotHoldAJobForItsDataStaging) {
  // 900 GB from a site outside the federation's listing over the default 10 Gbit/s: 720 s
  // of staging at every site. Waiting at the coordinator cannot shorten that, so an idle
  // site takes the job at once even though 720 s is beyond the 10 min threshold.
  Broker b(threeSites(), latePolicy(std::chrono::minutes(10)));
  Effects fx;
  onMessage(b, "site-a", makeMessage("site-a", "m-1", at(0), Hello{"t", "simulated", {}}), at(0),
              fx);
  onMessage(b, "site-a", makeMessage("site-a", "m-2", at(0), capacity(1, 16)), at(0), fx);
  JobSpec spec = gpuJob(1);
  spec.datasets.push_back({"corpus", 900});
  ASSERT_TRUE(b.submit(spec, at(1), fx).ok());
  b.tick(at(1), fx);
  EXPECT_EQ(b.findJob("j-1")->state, JobState::kDispatched) << b.lastDecision("j-1")->summary;
  const SiteVerdict* a = nullptr;
  for (const SiteVerdict& v : b.lastDecision("j-1")->verdicts) {
    if (v.site == "site-a") a = &v;
  }
  ASSERT_NE(a, nullptr);
  EXPECT_DOUBLE_EQ(a->staging_s, 720);
  EXPECT_DOUBLE_EQ(a->estimated_start_s, 720);
}

// ---- Withdrawal of jobs pending too long at a site ----

BrokerConfig withdrawingConfig(Duration after) {
  BrokerConfig c;
  c.heartbeat_interval = std::chrono::hours(1000);  // liveness out of the way
  c.retry_interval = seconds(2);
  c.max_attempts = 3;
  std::vector<PolicySpec> all = builtinPolicies();
  for (PolicySpec& p : all) {
    if (p.name == "earliest-start") p.withdraw_after = after;
  }
  c.policies = all;
  c.policy = "earliest-start";
  return c;
}

class WithdrawalTest : public BrokerTest {
 protected:
  WithdrawalTest() : b_(threeSites(), withdrawingConfig(seconds(60))) {}

  Effects deliver(const std::string& site, Body body, Time t) {
    Effects fx;
    onMessage(b_, site, makeMessage(site, "m-" + std::to_string(++msg_), t, std::move(body)), t, fx);
    b_.tick(t, fx);
    return fx;
  }
  Effects tickAt(Time t) {
    Effects fx;
    b_.tick(t, fx);
    return fx;
  }
  // j-1 goes to site-a (the only site up) at 1 s, is accepted and waits there: site-a
  // fills up with 64 node-hours queued ahead of it.
  void pendingAtSiteA() {
    deliver("site-a", Hello{"t", "simulated", {}}, at(0));
    deliver("site-a", capacity(1, 16), at(0));
    Effects fx;
    ASSERT_TRUE(b_.submit(gpuJob(8), at(1), fx).ok());
    b_.tick(at(1), fx);
    ASSERT_EQ(b_.findJob("j-1")->site, "site-a");
    deliver("site-a", DispatchAck{"j-1", 1, true, "", "a-1"}, at(2));
    deliver("site-a", capacity(2, 0, 16, "h100", 4, 64), at(3));
    ASSERT_EQ(b_.findJob("j-1")->state, JobState::kPending);
  }
  JobStatus status(JobState state, const std::string& reason = "") {
    JobStatus st;
    st.job_id = "j-1";
    st.local_id = "a-1";
    st.state = state;
    st.reason = reason;
    return st;
  }

  Broker b_;
};

TEST_F(WithdrawalTest, PendingJobIsWithdrawnAndPlacedWhereItStartsNow) {
  pendingAtSiteA();
  deliver("site-b", Hello{"t", "simulated", {}}, at(30));
  Effects early = deliver("site-b", capacity(1, 16), at(30));
  EXPECT_TRUE(cancels(early).empty()) << "pending only 29 s";

  Effects fx = tickAt(at(62));
  ASSERT_EQ(cancels(fx).size(), 1u);
  EXPECT_TRUE(cancels(fx)[0].only_if_pending);
  EXPECT_EQ(cancels(fx)[0].attempt, 1);
  EXPECT_EQ(fx.messages[0].site, "site-a");
  const JobRecord* j = b_.findJob("j-1");
  // Still held by site-a until it says the job is gone: one site at a time.
  EXPECT_EQ(j->state, JobState::kPending);
  EXPECT_EQ(j->site, "site-a");
  EXPECT_TRUE(j->withdrawing);
  EXPECT_TRUE(dispatches(fx).empty());
  ASSERT_EQ(fx.decisions.size(), 1u);
  EXPECT_THAT(fx.decisions[0].summary, HasSubstr("withdrawal from site-a"));
  EXPECT_THAT(fx.decisions[0].summary, HasSubstr("site-b could start it now"));

  // Asked once; resent (same attempt, still only if pending) on the retry interval.
  EXPECT_TRUE(cancels(tickAt(at(63))).empty());
  Effects again = tickAt(at(64));
  ASSERT_EQ(cancels(again).size(), 1u);
  EXPECT_TRUE(cancels(again)[0].only_if_pending);

  Effects done =
      deliver("site-a", status(JobState::kCancelled, "withdrawn by the coordinator"), at(65));
  j = b_.findJob("j-1");
  EXPECT_EQ(j->state, JobState::kDispatched);
  EXPECT_EQ(j->site, "site-b");
  EXPECT_EQ(j->attempt, 2);
  EXPECT_FALSE(j->withdrawing);
  EXPECT_THAT(j->excluded_sites, ::testing::ElementsAre("site-a"));
  ASSERT_EQ(dispatches(done, "site-b").size(), 1u);
  EXPECT_EQ(dispatches(done)[0].attempt, 2);
  // The re-queued version of the job said why, before the new decision replaced it.
  bool said_why = false;
  for (const PlacementDecision& d : done.decisions) said_why |= d.chosen_site == "site-b";
  EXPECT_TRUE(said_why);
  EXPECT_EQ(b_.reservedNodes("site-a"), 0);
  EXPECT_EQ(b_.reservedNodes("site-b"), 8);
}

TEST_F(WithdrawalTest, RequeuedJobSaysWhereAndWhyItWasWithdrawn) {
  pendingAtSiteA();
  deliver("site-b", Hello{"t", "simulated", {}}, at(30));
  deliver("site-b", capacity(1, 16), at(30));
  tickAt(at(62));
  // site-b is drained before the job comes back: it waits at the coordinator.
  Effects drain;
  ASSERT_TRUE(b_.setDrained("site-b", true, at(63), drain).ok());
  deliver("site-a", status(JobState::kCancelled, "withdrawn by the coordinator"), at(64));
  const JobRecord* j = b_.findJob("j-1");
  EXPECT_EQ(j->state, JobState::kQueued);
  EXPECT_TRUE(j->site.empty());
  EXPECT_EQ(j->reason, "withdrawn from site-a after 61 s pending: site-b could start it now");
}

TEST_F(WithdrawalTest, JobThatStartedMeanwhileIsNotWithdrawn) {
  pendingAtSiteA();
  deliver("site-b", Hello{"t", "simulated", {}}, at(30));
  deliver("site-b", capacity(1, 16), at(30));
  ASSERT_EQ(cancels(tickAt(at(62))).size(), 1u);
  // The agent found it running: it ACKs, cancels nothing and reports the state.
  Effects fx = deliver("site-a", status(JobState::kRunning), at(63));
  const JobRecord* j = b_.findJob("j-1");
  EXPECT_EQ(j->state, JobState::kRunning);
  EXPECT_EQ(j->site, "site-a");
  EXPECT_FALSE(j->withdrawing);
  EXPECT_TRUE(dispatches(fx).empty());
  EXPECT_TRUE(cancels(tickAt(at(70))).empty()) << "no more withdrawal requests";
  EXPECT_TRUE(cancels(tickAt(at(200))).empty()) << "a running job is never withdrawn";
}

TEST_F(WithdrawalTest, NoWithdrawalWithoutASiteThatStartsItNow) {
  pendingAtSiteA();
  deliver("site-b", Hello{"t", "simulated", {}}, at(30));
  deliver("site-b", capacity(1, 0, 16, "h100", 2, 32), at(30));  // busy too
  deliver("site-c", Hello{"t", "simulated", {}}, at(30));
  deliver("site-c", capacity(1, 8, 8, "a100"), at(30));  // idle, wrong accelerator
  EXPECT_TRUE(cancels(tickAt(at(62))).empty());
  EXPECT_TRUE(cancels(tickAt(at(600))).empty());
  EXPECT_FALSE(b_.findJob("j-1")->withdrawing);
  // Off by default: the built-in policies never withdraw.
  EXPECT_EQ(builtinPolicies()[0].withdraw_after, Duration::zero());
}

TEST_F(WithdrawalTest, UserCancelDuringWithdrawalEndsCancelled) {
  pendingAtSiteA();
  deliver("site-b", Hello{"t", "simulated", {}}, at(30));
  deliver("site-b", capacity(1, 16), at(30));
  ASSERT_EQ(cancels(tickAt(at(62))).size(), 1u);
  Effects fx;
  ASSERT_TRUE(b_.cancel("j-1", at(63), fx).ok());
  ASSERT_EQ(cancels(fx).size(), 1u);
  EXPECT_FALSE(cancels(fx)[0].only_if_pending) << "the user's cancel is outright";
  Effects retry = tickAt(at(66));
  ASSERT_EQ(cancels(retry).size(), 1u);
  EXPECT_FALSE(cancels(retry)[0].only_if_pending);
  Effects done =
      deliver("site-a", status(JobState::kCancelled, "withdrawn by the coordinator"), at(67));
  const JobRecord* j = b_.findJob("j-1");
  EXPECT_EQ(j->state, JobState::kCancelled);
  EXPECT_FALSE(j->withdrawing);
  EXPECT_TRUE(dispatches(done).empty());
}

TEST_F(WithdrawalTest, WithdrawalSurvivesARestart) {
  pendingAtSiteA();
  deliver("site-b", Hello{"t", "simulated", {}}, at(30));
  deliver("site-b", capacity(1, 16), at(30));
  tickAt(at(62));
  JobRecord saved = *b_.findJob("j-1");
  ASSERT_TRUE(saved.withdrawing);
  Broker restarted(threeSites(), withdrawingConfig(seconds(60)));
  restarted.restore({{saved}, {}, {}, 2}, at(0));
  auto to = [&](const std::string& site, Body body, Time t) {
    Effects fx;
    onMessage(restarted, site, makeMessage(site, "r-" + std::to_string(++msg_), t, std::move(body)),
                        t, fx);
    restarted.tick(t, fx);
    return fx;
  };
  to("site-b", Hello{"t", "simulated", {}}, at(70));
  to("site-b", capacity(1, 16), at(70));
  Effects hello = to(
      "site-a", Hello{"t", "simulated", {JobReport{"j-1", 1, "a-1", JobState::kPending}}}, at(70));
  ASSERT_EQ(cancels(hello).size(), 1u);
  EXPECT_TRUE(cancels(hello)[0].only_if_pending);
  Effects done = to("site-a", status(JobState::kCancelled, "withdrawn by the coordinator"), at(71));
  EXPECT_EQ(restarted.findJob("j-1")->site, "site-b");
  EXPECT_EQ(dispatches(done, "site-b").size(), 1u);
}

// Property: under saturation, late binding with fair share hands out capacity in the
// ratio of the projects' shares, whatever their submission order.
TEST(FairShareProperty, DispatchedWorkConvergesToConfiguredShares) {
  for (double ratio : {1.0, 3.0}) {
    Federation fed = threeSites();
    fed.sites.resize(1);  // site-a: 16 nodes
    BrokerConfig cfg = latePolicy(std::chrono::hours(1));
    cfg.project_shares = {{"big", ratio}, {"small", 1}};
    cfg.fair_share_half_life = std::chrono::hours(12);
    Broker b(fed, cfg);
    Time t = fromMillis(1'800'000'000'000);
    int msg = 0;
    auto deliver = [&](Body body) {
      Effects fx;
      onMessage(b, "site-a", makeMessage("site-a", "m-" + std::to_string(++msg), t, std::move(body)),
                  t, fx);
      return fx;
    };
    uint64_t epoch = 0;
    auto report = [&](int idle) {
      PartitionCapacity p;
      p.name = "gpu";
      p.node_type = fed.sites[0].partitions[0].node_type;
      p.nodes_total = 16;
      p.nodes_idle = idle;
      Capacity c;
      c.capacity.epoch = ++epoch;
      c.capacity.partitions = {p};
      deliver(c);
    };
    deliver(Hello{"t", "simulated", {}});
    report(16);
    std::map<std::string, double> work;
    std::map<std::string, int> queued;
    for (int round = 0; round < 200; ++round) {
      // Keep both projects saturating the federation; "small" always submits first.
      for (const char* project : {"small", "big"}) {
        while (queued[project] < 20) {
          JobSpec s = gpuJob(1);
          s.project = project;
          Effects fx;
          ASSERT_TRUE(b.submit(s, t, fx).ok());
          queued[project]++;
        }
      }
      Effects fx;
      b.tick(t, fx);
      std::vector<Dispatch> sent;
      for (const OutboundMessage& m : fx.messages) {
        if (auto* d = std::get_if<Dispatch>(&m.body)) sent.push_back(*d);
      }
      ASSERT_LE(sent.size(), 16u) << "round " << round;
      for (const Dispatch& d : sent) {
        work[d.spec.project] += 1;
        queued[d.spec.project]--;
        deliver(acceptedAck(d.job_id, d.attempt));
      }
      t += std::chrono::hours(1);
      for (const Dispatch& d : sent) {
        deliver(statusOf(d.job_id, d.attempt, JobState::kCompleted, t - std::chrono::hours(1), t));
      }
      report(16);
    }
    double observed = work["big"] / work["small"];
    EXPECT_NEAR(observed, ratio, 0.1 * ratio)
        << "big " << work["big"] << " small " << work["small"];
  }
}

// The simulator's record keeping (keepOutcomesOnly()) against the daemon's
// (keepEverything()), driven alike: the same messages, the same final record and charge;
// the effects carry only the ending, and the job is gone from memory once it ended.
TEST(BrokerSimulatorSettings, SameMessagesOnlyEndingsReportedEndedJobsForgotten) {
  BrokerConfig daemon_cfg;
  daemon_cfg.heartbeat_interval = seconds(1);
  Broker daemon(threeSites(), daemon_cfg);
  Broker sim(threeSites(), daemon_cfg, keepOutcomesOnly());
  Time t0 = fromMillis(1'800'000'000'000);
  int msg = 0;
  // Runs one step on both brokers; checks the messages agree and returns both effects.
  auto both = [&](auto step) {
    std::pair<Effects, Effects> fx;
    step(daemon, fx.first);
    step(sim, fx.second);
    EXPECT_EQ(fx.first.messages.size(), fx.second.messages.size());
    for (size_t i = 0; i < std::min(fx.first.messages.size(), fx.second.messages.size()); ++i) {
      EXPECT_EQ(fx.first.messages[i].site, fx.second.messages[i].site);
      EXPECT_EQ(fx.first.messages[i].body, fx.second.messages[i].body);
    }
    EXPECT_TRUE(fx.second.sites.empty());
    EXPECT_TRUE(fx.second.decisions.empty());
    for (const JobRecord& j : fx.second.jobs) EXPECT_TRUE(isTerminal(j.state)) << j.id;
    return fx;
  };
  auto message = [&](Body body, Time now) {
    // One message id per step: both brokers get the same message.
    return
        [id = "m-" + std::to_string(++msg), body = std::move(body), now](Broker& b, Effects& fx) {
          onMessage(b, "site-a", makeMessage("site-a", id, now, body), now, fx);
          b.tick(now, fx);
        };
  };
  Capacity cap;
  cap.capacity.epoch = 1;
  PartitionCapacity p;
  p.name = "gpu";
  p.node_type = NodeType{"h100", 4, 64, 512};
  p.nodes_total = p.nodes_idle = 16;
  cap.capacity.partitions = {p};
  both(message(Hello{"test", "simulated", {}}, t0));
  both(message(cap, t0));
  auto placed = both([&](Broker& b, Effects& fx) {
    ASSERT_TRUE(b.submit(gpuJob(2), t0, fx).ok());
    b.tick(t0, fx);
  });
  EXPECT_FALSE(placed.first.decisions.empty());
  EXPECT_TRUE(placed.second.jobs.empty());
  const std::string id = "j-1";
  ASSERT_NE(sim.findJob(id), nullptr);
  EXPECT_EQ(sim.findJob(id)->state, JobState::kDispatched);
  EXPECT_EQ(sim.lastDecision(id), nullptr);  // no decisions kept
  ASSERT_NE(daemon.lastDecision(id), nullptr);

  Time t1 = t0 + seconds(1);
  both(message(DispatchAck{id, 1, true, "", "sim-1"}, t1));
  JobStatus running{id, 1, "sim-1", JobState::kRunning, t1, t1, std::nullopt, std::nullopt, ""};
  both(message(running, t1));
  Time t2 = t1 + std::chrono::hours(1);
  JobStatus done{id, 1, "sim-1", JobState::kCompleted, t1, t1, t2, 0, ""};
  auto ended = both(message(done, t2));
  ASSERT_EQ(ended.second.jobs.size(), 1u);
  EXPECT_EQ(ended.second.jobs[0], *daemon.findJob(id));  // the final record, whole
  EXPECT_EQ(sim.findJob(id), nullptr);
  EXPECT_EQ(sim.countJobs(std::nullopt), 0u);
  EXPECT_EQ(daemon.countJobs(std::nullopt), 1u);
  EXPECT_DOUBLE_EQ(sim.allocationUsed("demo", "site-a"), daemon.allocationUsed("demo", "site-a"));
  EXPECT_GT(sim.allocationUsed("demo", "site-a"), 0);
  EXPECT_DOUBLE_EQ(sim.fairShareUsage("demo", t2), daemon.fairShareUsage("demo", t2));

  // Later messages about the ended job are answered as for a job kept in memory: a
  // repeated report is only acknowledged, another attempt's is cancelled.
  auto cancels = [](const Effects& fx) {
    return std::count_if(fx.messages.begin(), fx.messages.end(), [](const OutboundMessage& m) {
      return std::holds_alternative<Cancel>(m.body);
    });
  };
  auto late = both(message(done, t2 + seconds(1)));
  EXPECT_EQ(cancels(late.second), 0);
  auto late_running = both(message(running, t2 + seconds(1)));  // same attempt: stale
  EXPECT_EQ(cancels(late_running.second), 0);
  JobStatus other = running;
  other.attempt = 2;
  auto stray = both(message(other, t2 + seconds(2)));
  EXPECT_EQ(cancels(stray.second), 1);
  Effects fx;
  EXPECT_EQ(sim.cancel(id, t2, fx).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(daemon.cancel(id, t2, fx).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(sim.cancel("j-99", t2, fx).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace aifed::broker
