#include "sim/engine.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "coordinator/broker/broker.h"
#include "coordinator/broker/staging.h"
#include "sim/metrics.h"
#include "sim/workload.h"

namespace aifed::sim {
namespace {

// Two small sites: "north" (FI, 8 nodes x 4 h100) and "south" (ES, 4 nodes x 4 h100).
Federation twoSites() {
  Result<Federation> f = parseFederation(R"(
[federation]
name = "test"
[[site]]
id = "north"
country = "FI"
energy_price_eur_mwh = 50
carbon_g_kwh = 100
pue = 1.0
  [[site.partition]]
  name = "gpu"
  nodes = 8
  accelerator = "h100"
  accelerators_per_node = 4
  cores_per_node = 64
  memory_gib = 512
[[site]]
id = "south"
country = "ES"
energy_price_eur_mwh = 100
carbon_g_kwh = 200
pue = 1.0
  [[site.partition]]
  name = "gpu"
  nodes = 4
  accelerator = "h100"
  accelerators_per_node = 4
  cores_per_node = 64
  memory_gib = 512
)",
                                         "test.toml");
  EXPECT_TRUE(f.ok()) << f.status().toString();
  return *f;
}

SimJob job(int64_t submit_s, int nodes, int runtime_s, const std::string& project = "p1") {
  SimJob j;
  j.submit = fromMillis(submit_s * 1000);
  j.runtime = Duration(runtime_s * 1000);
  j.spec.nodes = nodes;
  j.spec.gpus_per_node = 4;
  j.spec.walltime = Duration(runtime_s * 2000);
  j.spec.project = project;
  j.spec.simulated_runtime = j.runtime;
  j.origin = "job at " + std::to_string(submit_s);
  return j;
}

TEST(EngineTest, RunsEveryJobToTheEndOnTheSites) {
  Workload w;
  for (int i = 0; i < 40; ++i) w.jobs.push_back(job(i * 30, 1 + i % 4, 600 + 60 * (i % 5)));
  Result<RunResult> r = runFederation(twoSites(), w, {});
  ASSERT_TRUE(r.ok()) << r.status().toString();
  ASSERT_EQ(r->jobs.size(), 40u);
  for (const JobOutcome& o : r->jobs) {
    EXPECT_TRUE(o.completed);
    EXPECT_GE(o.start_ms, o.submit_ms);
    EXPECT_GE(o.site, 0);
  }
  Metrics m = computeMetrics(*r, twoSites());
  EXPECT_EQ(m.completed, 40);
  EXPECT_EQ(m.sites[0].jobs + m.sites[1].jobs, 40);
  EXPECT_GT(m.utilisation, 0);
  EXPECT_LE(m.utilisation, 1);
  EXPECT_GT(m.jain_fairness, 0);
  EXPECT_LE(m.jain_fairness, 1.0 + 1e-9);
}

// Three sites; "corpus" (400 GB) is held at a and at b; b-c is a 100 Gbit/s link, every
// other pair the default 10 Gbit/s.
Federation corpusAtTwoSites() {
  std::string sites;
  for (const char* id : {"a", "b", "c"}) {
    sites += std::string("[[site]]\nid = \"") + id + "\"\ncountry = \"FI\"\n" +
             "  [[site.partition]]\n  name = \"gpu\"\n  nodes = 4\n  accelerator = \"h100\"\n" +
             "  accelerators_per_node = 4\n  cores_per_node = 64\n  memory_gib = 512\n";
  }
  Result<Federation> f = parseFederation("[federation]\nname = \"t\"\ndefault_bandwidth_gbps = 10\n" +
                                             sites +
                                             "[[dataset]]\nid = \"corpus\"\nsite = \"a\"\nsize_gb = 400\n"
                                             "[[dataset]]\nid = \"corpus\"\nsite = \"b\"\nsize_gb = 400\n"
                                             "[[link]]\nbetween = [\"b\", \"c\"]\nbandwidth_gbps = 100\n",
                                         "corpus.toml");
  EXPECT_TRUE(f.ok()) << f.status().toString();
  return *f;
}

// The simulator stages by the broker's plan: nothing at a site that holds the data set
// (even when another site holds it too), else from the best-connected holder, once per
// site; the staging time runs inside the job's allocation.
TEST(EngineTest, StagingFollowsTheBrokersPlanWithADataSetHeldAtTwoSites) {
  Federation fed = corpusAtTwoSites();
  auto reading = [](int64_t submit_s, const std::string& site) {
    SimJob j = job(submit_s, 1, 600);
    j.spec.datasets = {{"corpus", 0}};
    j.spec.allowed_sites = {site};
    return j;
  };
  Workload w;
  w.jobs = {reading(0, "b"), reading(0, "c"), reading(1000, "c")};
  Result<RunResult> r = runFederation(fed, w, {});
  ASSERT_TRUE(r.ok()) << r.status().toString();
  const JobOutcome& at_b = r->jobs[0];
  const JobOutcome& at_c = r->jobs[1];
  const JobOutcome& again_at_c = r->jobs[2];
  ASSERT_EQ(at_b.site, 1);
  ASSERT_EQ(at_c.site, 2);
  ASSERT_EQ(again_at_c.site, 2);
  // b holds corpus: nothing moves (a holding it too does not matter).
  EXPECT_EQ(at_b.staged_gb, 0);
  EXPECT_EQ(at_b.end_ms - at_b.start_ms, 600'000);
  // c gets it from b at 100 Gbit/s, not from a at 10: 400 x 8 / 100 = 32 s before the job.
  EXPECT_EQ(at_c.staged_gb, 400);
  EXPECT_EQ(at_c.end_ms - at_c.start_ms, 632'000);
  EXPECT_DOUBLE_EQ(broker::stagingSeconds(w.jobs[1].spec, fed.sites[2], fed), 32.0);
  // Once copied, it stays at c.
  EXPECT_EQ(again_at_c.staged_gb, 0);
  EXPECT_EQ(again_at_c.end_ms - again_at_c.start_ms, 600'000);
}

TEST(EngineTest, UnknownPolicyListsTheKnownOnes) {
  Workload w;
  w.jobs.push_back(job(0, 1, 60));
  EngineOptions o;
  o.policy = "fastest-please";
  Result<RunResult> r = runFederation(twoSites(), w, o);
  ASSERT_FALSE(r.ok());
  std::string msg = r.status().message();
  EXPECT_NE(msg.find("unknown policy 'fastest-please'"), std::string::npos) << msg;
  for (const std::string& p : broker::knownPolicies()) {
    EXPECT_NE(msg.find(p), std::string::npos) << msg;
  }
}

// EngineOptions::policies reach the broker (a policy file's or a sweep point's specs),
// and conservative backfilling runs at the sites.
TEST(EngineTest, OwnPolicySpecsAndConservativeSites) {
  Workload w;
  for (int i = 0; i < 40; ++i) w.jobs.push_back(job(i * 30, 1 + i % 4, 600 + 60 * (i % 5)));
  EngineOptions o;
  o.scheduler = agent::SchedulerMode::kConservative;
  o.policies = broker::builtinPolicies();
  broker::PolicySpec mine;
  mine.name = "north-first";  // no weights: first fit, so the first site takes all it can
  o.policies.push_back(mine);
  o.policy = "north-first";
  Result<RunResult> r = runFederation(twoSites(), w, o);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->policy, "north-first");
  for (const JobOutcome& j : r->jobs) {
    EXPECT_TRUE(j.completed);
    EXPECT_EQ(j.site, 0);
  }
  Result<RunResult> again = runFederation(twoSites(), w, o);
  ASSERT_TRUE(again.ok());
  for (size_t i = 0; i < w.jobs.size(); ++i)
    EXPECT_EQ(again->jobs[i].start_ms, r->jobs[i].start_ms);

  o.policy = "earliest-start";
  o.policies.back().weights = {{"load", -1}};  // invalid: refused, not thrown by the broker
  Result<RunResult> bad = runFederation(twoSites(), w, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("north-first"), std::string::npos)
      << bad.status().message();
  o.policies.pop_back();
  o.policy = "north-first";
  EXPECT_NE(runFederation(twoSites(), w, o).status().message().find("unknown policy 'north-first'"),
            std::string::npos);
}

TEST(EngineTest, JobLargerThanEverySiteIsAClearErrorOrSkipped) {
  Workload w;
  w.jobs.push_back(job(0, 1, 60));
  w.jobs.push_back(job(10, 9, 60));  // 9 nodes: north has 8
  Result<RunResult> r = runFederation(twoSites(), w, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("job at 10: job refused"), std::string::npos)
      << r.status().message();
  EngineOptions skip;
  skip.skip_unplaceable = true;
  Result<RunResult> s = runFederation(twoSites(), w, skip);
  ASSERT_TRUE(s.ok()) << s.status().toString();
  EXPECT_EQ(s->rejected, 1);
  EXPECT_TRUE(s->jobs[1].rejected);
  EXPECT_TRUE(s->jobs[0].completed);
}

TEST(EngineTest, JobsNoSiteWillEverTakeStopTheRunWithAnErrorNamingThem) {
  // Project p1 has 1 GPU-h at north and nothing elsewhere. The first job (1 node x 4 GPUs
  // x 0.2 h walltime = 0.8 GPU-h held) runs and is charged 0.4 GPU-h for its 0.1 h; the
  // second needs 0.8 more, which the allocation can never give: the run must end, not spin.
  Federation f = twoSites();
  ProjectConfig p1;
  p1.id = "p1";
  p1.allocations = {{"north", 1.0}};
  f.projects.push_back(p1);
  Workload w;
  w.jobs.push_back(job(0, 1, 360));
  w.jobs.push_back(job(10, 1, 360));
  Result<RunResult> r = runFederation(f, w, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("the simulation cannot finish"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("1 jobs have not ended (1 of them held"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("first: job at 10"), std::string::npos)
      << r.status().message();
}

TEST(EngineTest, OutageLosesRunningJobsAndTheBrokerReplacesThem) {
  // One long job per site; north goes down while they run. The broker finds north
  // unreachable, waits the lease, and re-queues its job, which then runs on south (or
  // on north once it is back). Every job still completes.
  Workload w;
  w.jobs.push_back(job(0, 8, 3600));
  w.jobs.push_back(job(0, 4, 3600));
  EngineOptions o;
  o.outages.push_back({"north", fromMillis(600'000), fromMillis(2'400'000)});
  Result<RunResult> r = runFederation(twoSites(), w, o);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  for (const JobOutcome& out : r->jobs) EXPECT_TRUE(out.completed);
  int rerun = 0;
  for (const JobOutcome& out : r->jobs) rerun += out.attempts > 1;
  EXPECT_EQ(rerun, 1);
  // The lost job restarted after the outage began plus the broker's lease.
  for (const JobOutcome& out : r->jobs) {
    if (out.attempts > 1) {
      EXPECT_GT(out.start_ms, 600'000 + 600'000);
    }
  }
}

TEST(EngineTest, SameSeedGivesByteIdenticalOutputs) {
  Result<Federation> fed = loadFederationFile(AIFED_SOURCE_DIR "/config/federation-7.toml");
  ASSERT_TRUE(fed.ok()) << fed.status().toString();
  SyntheticOptions so;
  so.jobs = 1500;
  so.seed = 11;
  auto once = [&](const std::string& dir) {
    Result<Workload> w = generateSynthetic(*fed, so);
    EXPECT_TRUE(w.ok());
    EngineOptions o;
    o.report_loss = 0.2;
    o.report_delay = std::chrono::seconds(20);
    Result<RunResult> r = runFederation(*fed, *w, o);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    EXPECT_TRUE(writeOutputs({computeMetrics(*r, *fed)}, *fed, dir, w->source).ok());
    std::string all;
    for (const char* f : {"summary.csv", "summary.json", "report.html"}) {
      std::ifstream in(dir + "/" + f, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      all += ss.str();
    }
    return all;
  };
  std::string tmp = ::testing::TempDir();
  std::string a = once(tmp + "/engine_a"), b = once(tmp + "/engine_b");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_NE(a.find("<path d=\"M"), std::string::npos);
}

TEST(WorkloadTest, SyntheticIsDeterministicSortedAndShaped) {
  Result<Federation> fed = loadFederationFile(AIFED_SOURCE_DIR "/config/federation-7.toml");
  ASSERT_TRUE(fed.ok());
  SyntheticOptions so;
  so.jobs = 5000;
  so.seed = 5;
  Result<Workload> a = generateSynthetic(*fed, so);
  Result<Workload> b = generateSynthetic(*fed, so);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(toJsonl(*a), toJsonl(*b));
  int train = 0, eval = 0;
  for (size_t i = 0; i < a->jobs.size(); ++i) {
    const SimJob& j = a->jobs[i];
    if (i) {
      EXPECT_LE(a->jobs[i - 1].submit, j.submit);
    }
    EXPECT_TRUE(validateJobSpec(j.spec).ok());
    train += j.spec.name == "train";
    eval += j.spec.name == "eval";
  }
  EXPECT_NEAR(train / 5000.0, so.training_share, 0.01);
  EXPECT_NEAR(eval / 5000.0, 1 - so.training_share - so.finetune_share, 0.03);
}

TEST(WorkloadTest, JsonlRoundTripsAndNamesTheBadLine) {
  Result<Federation> fed = loadFederationFile(AIFED_SOURCE_DIR "/config/federation-7.toml");
  ASSERT_TRUE(fed.ok());
  SyntheticOptions so;
  so.jobs = 50;
  Result<Workload> w = generateSynthetic(*fed, so);
  ASSERT_TRUE(w.ok());
  std::string path = ::testing::TempDir() + "/w.jsonl";
  std::ofstream(path) << toJsonl(*w);
  Result<Workload> back = readJsonlWorkload(path);
  ASSERT_TRUE(back.ok()) << back.status().toString();
  EXPECT_EQ(toJsonl(*back), toJsonl(*w));
  std::ofstream(path) << "# comment\n{\"submit_s\": 1, \"runtime_s\": 2}\n";
  Result<Workload> bad = readJsonlWorkload(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), path + ":2: missing object 'spec'");
}

TEST(WorkloadTest, SwfMapsProcessorsToNodes) {
  Result<SwfTrace> t = parseSwf(
      "1 0 -1 100 10 -1 -1 -1 -1 -1 1 7 1 -1 -1 -1 -1 -1\n"
      "2 5 -1 -1 4 -1 -1 -1 50 -1 1 7 1 -1 -1 -1 -1 -1\n"
      "3 9 -1 100 -1 -1 -1 3 50 -1 1 -1 1 -1 -1 -1 -1 -1\n",
      "t.swf");
  ASSERT_TRUE(t.ok());
  Result<Workload> w = mapSwfToFederation(*t, twoSites(), {});
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w->jobs.size(), 2u);        // job 2 has an unknown runtime
  EXPECT_EQ(w->jobs[0].spec.nodes, 3);  // ceil(10 / 4)
  EXPECT_EQ(w->jobs[0].spec.gpus_per_node, 4);
  EXPECT_EQ(w->jobs[0].spec.project, "swf-u7");
  EXPECT_EQ(w->jobs[1].spec.nodes, 1);  // field 8 stands in
  EXPECT_EQ(w->jobs[1].spec.gpus_per_node, 3);
  EXPECT_EQ(w->jobs[1].runtime, std::chrono::seconds(50));  // capped at requested
}

}  // namespace
}  // namespace aifed::sim
