// SimulatedBackend: partition matching, the updates poll() reports, idempotency,
// capacity. Times are minutes after t0.
#include "site-agent/backends/simulated_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace aifed::agent {
namespace {

using std::chrono::minutes;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

Time at(int minute) {
  return Time{} + minutes(minute);
}

PartitionConfig partition(std::string name, int nodes, std::string accelerator, int per_node,
                          int cores, int memory) {
  return {std::move(name), nodes, NodeType{std::move(accelerator), per_node, cores, memory}};
}

// gpu: 16 x (4 x h100), big: 256 x (8 x h200), cpu: 32 CPU-only nodes.
std::vector<PartitionConfig> threePartitions() {
  return {partition("gpu", 16, "h100", 4, 64, 512), partition("big", 256, "h200", 8, 112, 2048),
          partition("cpu", 32, "", 0, 128, 256)};
}

// Fluent builder: MakeJob().nodes(2).gpus(4, "h100").wall(60).run(30).exitCode(1).
struct MakeJob {
  JobSpec spec;
  MakeJob() {
    spec.name = "train";
    spec.walltime = minutes(60);
  }
  MakeJob& nodes(int n) {
    spec.nodes = n;
    return *this;
  }
  MakeJob& gpus(int n, std::string type = {}) {
    spec.gpus_per_node = n;
    spec.gpu_type = std::move(type);
    return *this;
  }
  MakeJob& cores(int n) {
    spec.cores_per_node = n;
    return *this;
  }
  MakeJob& memory(int gib) {
    spec.memory_gib_per_node = gib;
    return *this;
  }
  MakeJob& wall(int m) {
    spec.walltime = minutes(m);
    return *this;
  }
  MakeJob& run(int m) {
    spec.simulated_runtime = minutes(m);
    return *this;
  }
  MakeJob& exitCode(int c) {
    spec.simulated_exit_code = c;
    return *this;
  }
  MakeJob& priority(int p) {
    spec.priority = p;
    return *this;
  }
  operator JobSpec() const { return spec; }  // NOLINT: builder
};

std::unique_ptr<SimulatedBackend> makeBackend(std::vector<PartitionConfig> partitions,
                                              SchedulerMode mode = SchedulerMode::kEasy) {
  SimulatedBackendOptions options;
  options.mode = mode;
  auto sim = SimulatedBackend::create(partitions, options);
  EXPECT_TRUE(sim.ok()) << sim.status().toString();
  return sim.ok() ? std::move(*sim) : nullptr;
}

std::string submitOk(Backend& b, const std::string& job_id, const JobSpec& spec, int minute) {
  Result<SubmittedJob> job = b.submit({job_id, 1}, spec, {}, at(minute));
  EXPECT_TRUE(job.ok()) << job.status().toString();
  return job.ok() ? job->local_id : std::string();
}

std::vector<JobState> states(const std::vector<LocalJobUpdate>& updates) {
  std::vector<JobState> out;
  for (const auto& u : updates) out.push_back(u.state);
  return out;
}

TEST(SimulatedBackendTest, CreateRejectsBadPartitions) {
  EXPECT_EQ(SimulatedBackend::create({}, {}).status().code(), StatusCode::kInvalidArgument);
  auto zero = SimulatedBackend::create({partition("gpu", 0, "h100", 4, 64, 512)}, {});
  EXPECT_EQ(zero.status().field(), "partitions[0].nodes");
  auto twice = SimulatedBackend::create(
      {partition("gpu", 1, "h100", 4, 64, 512), partition("gpu", 2, "h100", 4, 64, 512)}, {});
  EXPECT_EQ(twice.status().message(), "partition gpu is listed twice");
  auto unnamed_accelerator = SimulatedBackend::create({partition("gpu", 1, "", 4, 64, 512)}, {});
  EXPECT_EQ(unnamed_accelerator.status().code(), StatusCode::kInvalidArgument);
}

TEST(SimulatedBackendTest, JobRunsAndCompletes) {
  auto sim = makeBackend(threePartitions());
  EXPECT_EQ(sim->kind(), "simulated");
  std::string id = submitOk(*sim, "job-1", MakeJob().nodes(2).gpus(4, "h100").run(30), 5);
  EXPECT_EQ(id, "sim-1");
  EXPECT_EQ(sim->nextEventTime(), at(5));  // updates waiting to be polled

  std::vector<LocalJobUpdate> first = sim->poll(at(10));
  ASSERT_THAT(states(first), ElementsAre(JobState::kPending, JobState::kRunning));
  EXPECT_EQ(first[0].tag, (JobTag{"job-1", 1}));
  EXPECT_EQ(first[0].local_id, "sim-1");
  EXPECT_EQ(first[0].submitted_at, at(5));
  EXPECT_EQ(first[1].started_at, at(5));
  EXPECT_EQ(first[1].reason, "running on 2 nodes of partition gpu");
  EXPECT_EQ(sim->nextEventTime(), at(35));
  ASSERT_THAT(sim->activeJobs(), ElementsAre(Field(&LocalJobUpdate::state, JobState::kRunning)));

  std::vector<LocalJobUpdate> done = sim->poll(at(100));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].state, JobState::kCompleted);
  EXPECT_EQ(done[0].submitted_at, at(5));
  EXPECT_EQ(done[0].started_at, at(5));
  EXPECT_EQ(done[0].ended_at, at(35));
  EXPECT_EQ(done[0].exit_code, 0);
  EXPECT_THAT(sim->poll(at(200)), IsEmpty());
  EXPECT_THAT(sim->activeJobs(), IsEmpty());
  EXPECT_EQ(sim->nextEventTime(), std::nullopt);
}

TEST(SimulatedBackendTest, NonZeroExitCodeFails) {
  auto sim = makeBackend(threePartitions());
  submitOk(*sim, "job-1", MakeJob().run(10).exitCode(3), 0);
  std::vector<LocalJobUpdate> u = sim->poll(at(60));
  ASSERT_THAT(states(u), ElementsAre(JobState::kPending, JobState::kRunning, JobState::kFailed));
  EXPECT_EQ(u[2].exit_code, 3);
  EXPECT_EQ(u[2].ended_at, at(10));
  EXPECT_EQ(u[2].reason, "exit code 3");
}

TEST(SimulatedBackendTest, RuntimeOverWalltimeTimesOut) {
  auto sim = makeBackend(threePartitions());
  submitOk(*sim, "job-1", MakeJob().wall(30).run(45), 0);
  std::vector<LocalJobUpdate> u = sim->poll(at(60));
  ASSERT_THAT(states(u), ElementsAre(JobState::kPending, JobState::kRunning, JobState::kTimeout));
  EXPECT_EQ(u[2].ended_at, at(30));
  EXPECT_EQ(u[2].exit_code, std::nullopt);
}

TEST(SimulatedBackendTest, NoSimulatedRuntimeRunsToWalltimeAndCompletes) {
  auto sim = makeBackend(threePartitions());
  submitOk(*sim, "job-1", MakeJob().wall(30), 0);
  std::vector<LocalJobUpdate> u = sim->poll(at(60));
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(u[2].state, JobState::kCompleted);
  EXPECT_EQ(u[2].ended_at, at(30));
}

// cpu has 32 nodes: "a" takes all of them, "b" waits; cancel b while pending, a while
// running.
TEST(SimulatedBackendTest, CancelPendingAndRunning) {
  auto sim = makeBackend({partition("cpu", 32, "", 0, 128, 256)});
  std::string a = submitOk(*sim, "a", MakeJob().nodes(32), 0);
  std::string b = submitOk(*sim, "b", MakeJob().nodes(32), 0);
  EXPECT_THAT(states(sim->poll(at(1))),
              ElementsAre(JobState::kPending, JobState::kRunning, JobState::kPending));
  ASSERT_TRUE(sim->cancel(b, at(2)).ok());
  ASSERT_TRUE(sim->cancel(a, at(3)).ok());
  std::vector<LocalJobUpdate> u = sim->poll(at(4));
  ASSERT_THAT(states(u), ElementsAre(JobState::kCancelled, JobState::kCancelled));
  EXPECT_EQ(u[0].local_id, b);
  EXPECT_EQ(u[0].ended_at, at(2));
  EXPECT_EQ(u[0].started_at, std::nullopt);
  EXPECT_EQ(u[1].local_id, a);
  EXPECT_EQ(u[1].ended_at, at(3));
  EXPECT_EQ(u[1].started_at, at(0));

  EXPECT_TRUE(sim->cancel(a, at(5)).ok());  // already finished: no effect
  EXPECT_THAT(sim->poll(at(5)), IsEmpty());
  EXPECT_EQ(sim->cancel("sim-99", at(5)).code(), StatusCode::kNotFound);
  EXPECT_EQ(sim->cancel("slurm-1", at(5)).code(), StatusCode::kNotFound);
  EXPECT_EQ(sim->cancel("sim-1x", at(5)).code(), StatusCode::kNotFound);
}

TEST(SimulatedBackendTest, SubmitIsIdempotentByTag) {
  auto sim = makeBackend(threePartitions());
  std::string first = submitOk(*sim, "job-1", MakeJob().nodes(2), 0);
  std::string again = submitOk(*sim, "job-1", MakeJob().nodes(2), 1);
  EXPECT_EQ(first, again);
  EXPECT_EQ(sim->activeJobs().size(), 1u);
  EXPECT_EQ(sim->poll(at(1)).size(), 2u);  // one pending, one running: one job only
  // Held also after it ended.
  sim->poll(at(100));
  EXPECT_EQ(submitOk(*sim, "job-1", MakeJob().nodes(2), 100), first);
  EXPECT_THAT(sim->poll(at(200)), IsEmpty());
  // A new attempt is a new local job.
  Result<SubmittedJob> retry = sim->submit({"job-1", 2}, MakeJob().nodes(2), {}, at(200));
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->local_id, "sim-2");
}

TEST(SimulatedBackendTest, RejectionsSayWhy) {
  auto sim = makeBackend(threePartitions());
  Result<SubmittedJob> r = sim->submit({"j", 1}, MakeJob().gpus(8, "h100"), {}, at(0));
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(),
            "no partition offers 8 x h100 per node (gpu: 4 x h100, 64 cores, 512 GiB; big: 8 x "
            "h200, 112 cores, 2048 GiB; cpu: no accelerators, 128 cores, 256 GiB)");

  r = sim->submit({"j", 1}, MakeJob().nodes(300).gpus(8, "h200"), {}, at(0));
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "job needs 300 nodes; largest matching partition big has 256");

  r = sim->submit({"j", 1}, MakeJob().gpus(1, "mi250x").cores(8), {}, at(0));
  EXPECT_THAT(r.status().message(), ::testing::StartsWith("no partition offers 1 x mi250x, 8 "
                                                          "cores per node"));
  r = sim->submit({"j", 1}, MakeJob().gpus(2).memory(4096), {}, at(0));
  EXPECT_THAT(r.status().message(),
              ::testing::StartsWith("no partition offers 2 x any accelerator, 4096 GiB per node"));

  r = sim->submit({"j", 1}, MakeJob().nodes(0), {}, at(0));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().field(), "nodes");
  r = sim->submit({"j", 1}, MakeJob().wall(0), {}, at(0));
  EXPECT_EQ(r.status().field(), "walltime");
  EXPECT_THAT(sim->poll(at(0)), IsEmpty());  // nothing was accepted
}

// capacity() has one entry per partition; the poll below shows where each job went.
TEST(SimulatedBackendTest, JobsGoToTheFirstMatchingPartitionWithEnoughNodes) {
  auto sim = makeBackend(threePartitions());
  submitOk(*sim, "any-gpu", MakeJob().nodes(2).gpus(4), 0);                 // gpu: first with GPUs
  submitOk(*sim, "fat-node", MakeJob().gpus(4).cores(100), 0);              // big: 112 cores
  submitOk(*sim, "cpu-small", MakeJob().nodes(1), 0);                       // gpu: any node will do
  submitOk(*sim, "cpu-wide", MakeJob().nodes(20), 0);                       // big: gpu has only 16
  submitOk(*sim, "cpu-fat", MakeJob().nodes(2).memory(1024).cores(64), 0);  // big: 2048 GiB
  submitOk(*sim, "cpu-cores", MakeJob().nodes(1).cores(128), 0);            // cpu: 128 cores
  Result<SiteCapacity> cap = sim->capacity(at(0));
  ASSERT_TRUE(cap.ok());
  ASSERT_EQ(cap->partitions.size(), 3u);
  EXPECT_EQ(cap->epoch, 0u);
  EXPECT_EQ(cap->partitions[0].name, "gpu");
  EXPECT_EQ(cap->partitions[0].nodes_allocated, 3);
  EXPECT_EQ(cap->partitions[1].nodes_allocated, 23);
  EXPECT_EQ(cap->partitions[2].nodes_allocated, 1);
  EXPECT_EQ(cap->partitions[2].node_type, (NodeType{"", 0, 128, 256}));
}

// gpu (16 nodes): "a" (12 nodes) runs; "b" (8 nodes, 90 min) and "c" (4 nodes, 2 h)
// wait under FCFS. Pending node-hours: 8 x 1.5 + 4 x 2 = 20.
TEST(SimulatedBackendTest, CapacityCountsNodesAndQueue) {
  auto sim = makeBackend({partition("gpu", 16, "h100", 4, 64, 512)}, SchedulerMode::kFcfs);
  submitOk(*sim, "a", MakeJob().nodes(12).gpus(4), 0);
  submitOk(*sim, "b", MakeJob().nodes(8).gpus(4).wall(90), 0);
  submitOk(*sim, "c", MakeJob().nodes(4).gpus(4).wall(120), 0);
  Result<SiteCapacity> cap = sim->capacity(at(1));
  ASSERT_TRUE(cap.ok());
  const PartitionCapacity& p = cap->partitions[0];
  EXPECT_EQ(p.nodes_total, 16);
  EXPECT_EQ(p.nodes_idle, 4);
  EXPECT_EQ(p.nodes_allocated, 12);
  EXPECT_EQ(p.running_jobs, 1);
  EXPECT_EQ(p.pending_jobs, 2);
  EXPECT_DOUBLE_EQ(p.pending_node_hours, 20.0);

  std::vector<LocalJobUpdate> active = sim->activeJobs();
  ASSERT_EQ(active.size(), 3u);
  EXPECT_EQ(active[1].reason, "Resources: first in partition gpu, 4 nodes idle");
  EXPECT_EQ(active[2].reason, "Priority: 1 jobs ahead in partition gpu");
}

// Updates from different partitions come out in time order: the cpu job ends at 10,
// before the gpu job that was submitted first and ends at 20.
TEST(SimulatedBackendTest, PollMergesPartitionsInTimeOrder) {
  auto sim = makeBackend(threePartitions());
  std::string g = submitOk(*sim, "g", MakeJob().gpus(4).run(20), 0);
  std::string c = submitOk(*sim, "c", MakeJob().cores(128).run(10), 0);
  std::vector<LocalJobUpdate> u = sim->poll(at(30));
  ASSERT_EQ(u.size(), 6u);
  EXPECT_EQ(u[4].local_id, c);
  EXPECT_EQ(u[4].state, JobState::kCompleted);
  EXPECT_EQ(u[5].local_id, g);
}

TEST(SimulatedBackendTest, NodesDownShowInCapacity) {
  auto sim = makeBackend({partition("gpu", 4, "h100", 4, 64, 512)});
  submitOk(*sim, "a", MakeJob().nodes(2).gpus(4).wall(10), 0);
  ASSERT_TRUE(sim->setNodesDown("gpu", 3, at(1)).ok());
  EXPECT_EQ(sim->setNodesDown("nope", 1, at(1)).code(), StatusCode::kNotFound);
  PartitionCapacity p = sim->capacity(at(2))->partitions[0];
  EXPECT_EQ(p.nodes_down, 2);
  EXPECT_EQ(p.nodes_draining, 1);
  EXPECT_EQ(p.nodes_allocated, 1);
  EXPECT_EQ(p.nodes_idle, 0);
  p = sim->capacity(at(20))->partitions[0];
  EXPECT_EQ(p.nodes_down, 3);
  EXPECT_EQ(p.nodes_idle, 1);
}

// Same submissions, same updates, whatever the poll cadence.
TEST(SimulatedBackendTest, DeterministicRegardlessOfPollCadence) {
  auto run = [](int poll_every) {
    auto sim = makeBackend(threePartitions());
    std::vector<LocalJobUpdate> all;
    for (int minute = 0; minute <= 400; ++minute) {
      if (minute < 200 && minute % 7 == 0) {
        submitOk(*sim, "j" + std::to_string(minute),
                 MakeJob().nodes(1 + minute % 13).gpus(4).wall(30 + minute % 50).run(minute % 60),
                 minute);
      }
      if (minute % poll_every == 0) {
        for (auto& u : sim->poll(at(minute))) all.push_back(std::move(u));
      }
    }
    for (auto& u : sim->poll(at(1000))) all.push_back(std::move(u));  // same end for all
    return all;
  };
  auto key = [](const std::vector<LocalJobUpdate>& v) {
    std::vector<std::tuple<std::string, JobState, std::optional<Time>, std::optional<Time>>> k;
    for (const auto& u : v) k.emplace_back(u.local_id, u.state, u.started_at, u.ended_at);
    return k;
  };
  auto a = run(1);
  EXPECT_EQ(key(a), key(run(1)));
  EXPECT_EQ(key(a), key(run(7)));
  EXPECT_EQ(key(a), key(run(50)));
}

// forget_ended (the offline simulator's setting): the same updates, but a job is gone
// once it ended: its id is unknown to cancel(), and its tag may be submitted afresh.
TEST(SimulatedBackendTest, ForgetEndedGivesTheSameUpdatesAndDropsEndedJobs) {
  SimulatedBackendOptions forget;
  forget.forget_ended = true;
  auto lean = SimulatedBackend::create(threePartitions(), forget);
  ASSERT_TRUE(lean.ok());
  auto keep = makeBackend(threePartitions());
  for (Backend* b : {static_cast<Backend*>(lean->get()), static_cast<Backend*>(keep.get())}) {
    submitOk(*b, "a", MakeJob().nodes(12).gpus(4).run(30), 0);
    submitOk(*b, "b", MakeJob().nodes(8).gpus(4).run(20), 0);
    submitOk(*b, "c", MakeJob().cores(128).run(10), 1);
  }
  for (int minute : {5, 15, 40, 70}) {
    std::vector<LocalJobUpdate> l = (*lean)->poll(at(minute));
    std::vector<LocalJobUpdate> k = keep->poll(at(minute));
    ASSERT_EQ(l.size(), k.size()) << "minute " << minute;
    for (size_t i = 0; i < l.size(); ++i) {
      EXPECT_EQ(l[i].tag, k[i].tag);
      EXPECT_EQ(l[i].local_id, k[i].local_id);
      EXPECT_EQ(l[i].state, k[i].state);
      EXPECT_EQ(l[i].started_at, k[i].started_at);
      EXPECT_EQ(l[i].ended_at, k[i].ended_at);
      EXPECT_EQ(l[i].reason, k[i].reason);
    }
    SiteCapacity into;
    (*lean)->capacityInto(at(minute), into);
    EXPECT_EQ(into, *keep->capacity(at(minute)));
  }
  EXPECT_THAT((*lean)->activeJobs(), IsEmpty());
  EXPECT_EQ((*lean)->cancel("sim-1", at(80)).code(), StatusCode::kNotFound);
  EXPECT_TRUE(keep->cancel("sim-1", at(80)).ok());  // kept: ended, nothing to do
  // The tag is free again: a new job, where the default backend returns the old id.
  EXPECT_EQ(submitOk(**lean, "a", MakeJob().gpus(4), 90), "sim-4");
  EXPECT_EQ(submitOk(*keep, "a", MakeJob().gpus(4), 90), "sim-1");
}

}  // namespace
}  // namespace aifed::agent
