// The Slurm backend against recorded Slurm 22.05 output (tests/slurm/data, captured
// from the cluster scripts/test-slurm.sh starts) and a scripted command runner: the
// mapping from Slurm's JSON to capacity and job states, the sbatch arguments, the
// never-twice rule and the error classes. No Slurm needed.
#include "site-agent/backends/slurm_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <deque>
#include <functional>

#include "site-agent/backends/process.h"
#include "tests/common/test_files.h"

namespace aifed::agent {
namespace {

using namespace std::chrono_literals;

std::string readData(const std::string& name) {
  return testing_support::readTestFile(std::string(AIFED_SOURCE_DIR) + "/tests/slurm/data/" + name);
}

// CommandRunner implementation for tests: answers by the command's tool name and
// records every call.
class ScriptedRunner final : public CommandRunner {
 public:
  using Handler = std::function<Result<CommandOutput>(const Command&)>;
  std::map<std::string, Handler> handlers;
  std::vector<Command> calls;

  int count(const std::string& tool) const {
    int n = 0;
    for (const Command& c : calls) n += c.argv[0] == tool;
    return n;
  }
  // CommandRunner
  Result<CommandOutput> run(const Command& command) override {
    calls.push_back(command);
    auto it = handlers.find(command.argv[0]);
    if (it == handlers.end()) return unavailable("no handler for " + command.argv[0]);
    return it->second(command);
  }
};

CommandOutput ok(std::string out) {
  return CommandOutput{0, std::move(out), ""};
}
CommandOutput fail(int code, std::string err) {
  return CommandOutput{code, "", std::move(err)};
}

SlurmOptions testOptions() {
  SlurmOptions o;
  o.partitions = {"gpu", "cpu"};
  o.gpu_partitions = {{"h100", "gpu"}};
  o.cpu_partition = "cpu";
  o.accounts = {{"nordic-llm", "nllm001"}};
  o.refresh = 0s;
  return o;
}

JobSpec gpuJob() {
  JobSpec s;
  s.name = "train";
  s.project = "nordic-llm";
  s.nodes = 2;
  s.gpus_per_node = 4;
  s.gpu_type = "h100";
  s.walltime = 90s;
  s.script = "#!/bin/bash\nsrun python train.py\n";
  s.workdir = "/scratch/run1";
  s.env = {{"LR", "3e-4,warmup"}};
  return s;
}

struct Made {
  std::unique_ptr<SlurmBackend> backend;
  ScriptedRunner* runner;
};
Made make(SlurmOptions o = testOptions()) {
  auto runner = std::make_unique<ScriptedRunner>();
  ScriptedRunner* raw = runner.get();
  auto b = SlurmBackend::create(std::move(o), std::move(runner));
  EXPECT_TRUE(b.ok());
  return {std::move(*b), raw};
}

TEST(SlurmParseTest, SinfoAndSqueueBecomePartitionCapacity) {
  auto jobs = SlurmBackend::parseSqueue(readData("squeue-22.05-pending.json"));
  ASSERT_TRUE(jobs.ok()) << jobs.status().toString();
  auto cap = SlurmBackend::parseCapacity(readData("sinfo-22.05-idle.json"), *jobs, {"gpu", "cpu"});
  ASSERT_TRUE(cap.ok()) << cap.status().toString();
  ASSERT_EQ(cap->partitions.size(), 2u);
  const PartitionCapacity& gpu = cap->partitions[0];
  EXPECT_EQ(gpu.name, "gpu");
  EXPECT_EQ(gpu.nodes_total, 1);
  EXPECT_EQ(gpu.nodes_idle, 1);
  // The node: CPUs=8 RealMemory=4096 (MiB) Gres=gpu:h100:4.
  EXPECT_EQ(gpu.node_type, (NodeType{"h100", 4, 8, 4}));
  // squeue at capture: job 1 pending in gpu (1 node x 1 min); job 2 pending in cpu
  // (2 nodes x 1 min); job 3 refused (FAILED), job 4 pending in cpu with no time limit
  // resolved yet (null: counts no node-hours).
  EXPECT_EQ(gpu.pending_jobs, 1);
  EXPECT_NEAR(gpu.pending_node_hours, 1.0 / 60, 1e-9);
  const PartitionCapacity& cpu = cap->partitions[1];
  EXPECT_EQ(cpu.name, "cpu");
  EXPECT_EQ(cpu.pending_jobs, 2);
  EXPECT_NEAR(cpu.pending_node_hours, 2.0 / 60, 1e-9);
}

TEST(SlurmParseTest, DrainedNodeCountsAsDownAndUnlistedPartitionsAreLeftOut) {
  auto cap = SlurmBackend::parseCapacity(readData("sinfo-22.05-drained.json"), {}, {"gpu"});
  ASSERT_TRUE(cap.ok()) << cap.status().toString();
  ASSERT_EQ(cap->partitions.size(), 1u);
  EXPECT_EQ(cap->partitions[0].nodes_total, 1);
  EXPECT_EQ(cap->partitions[0].nodes_down, 1);
  EXPECT_EQ(cap->partitions[0].nodes_idle, 0);
}

TEST(SlurmParseTest, NodeStatesMapToTheFourCounts) {
  // One node per state, as 22.05 prints them (state + state_flags).
  std::string sinfo = R"J({"meta":{},"errors":[],"nodes":[
    {"name":"n1","state":"idle","state_flags":[],"partitions":["p"],"cpus":4,"real_memory":8192,"gres":"gpu:a100:2(S:0)"},
    {"name":"n2","state":"mixed","state_flags":[],"partitions":["p"],"cpus":4,"real_memory":8192,"gres":"gpu:a100:2(S:0)"},
    {"name":"n3","state":"allocated","state_flags":["DRAIN"],"partitions":["p"],"cpus":4,"real_memory":8192,"gres":"gpu:a100:2"},
    {"name":"n4","state":"idle","state_flags":["DRAIN"],"partitions":["p"],"cpus":4,"real_memory":8192,"gres":"gpu:a100:2"},
    {"name":"n5","state":"down","state_flags":["NOT_RESPONDING"],"partitions":["p"],"cpus":4,"real_memory":8192,"gres":"gpu:a100:2"},
    {"name":"n6","state":"allocated","state_flags":[],"partitions":["p","q"],"cpus":4,"real_memory":8192,"gres":"gpu:a100:2"}]})J";
  auto cap = SlurmBackend::parseCapacity(sinfo, {}, {});
  ASSERT_TRUE(cap.ok()) << cap.status().toString();
  ASSERT_EQ(cap->partitions.size(), 2u);  // every partition, in order of appearance
  const PartitionCapacity& p = cap->partitions[0];
  EXPECT_EQ(p.nodes_total, 6);
  EXPECT_EQ(p.nodes_idle, 1);
  EXPECT_EQ(p.nodes_allocated, 2);  // mixed + allocated
  EXPECT_EQ(p.nodes_draining, 1);   // allocated + DRAIN
  EXPECT_EQ(p.nodes_down, 2);       // drained idle + down
  EXPECT_EQ(p.node_type, (NodeType{"a100", 2, 4, 8}));
  EXPECT_EQ(cap->partitions[1].name, "q");
  EXPECT_EQ(cap->partitions[1].nodes_total, 1);
}

TEST(SlurmParseTest, SqueueGivesStatesExitCodesAndRefusals) {
  auto jobs = SlurmBackend::parseSqueue(readData("squeue-22.05-finished.json"));
  ASSERT_TRUE(jobs.ok()) << jobs.status().toString();
  std::map<std::string, SlurmBackend::SlurmJob> by_id;
  for (const auto& j : *jobs) by_id[j.id] = j;
  ASSERT_EQ(by_id.count("1"), 1u);
  // Job 1 ran `exit 3`: Slurm stores the wait status 768.
  EXPECT_EQ(by_id["1"].state, "FAILED");
  EXPECT_EQ(by_id["1"].exit_code, 3);
  EXPECT_EQ(by_id["1"].comment, "aifed:j1:1");
  EXPECT_FALSE(by_id["1"].refused);
  EXPECT_TRUE(by_id["3"].refused);  // sbatch refused it: no host ever
  EXPECT_EQ(by_id["4"].state, "COMPLETED");
  EXPECT_EQ(by_id["4"].exit_code, 0);
  EXPECT_EQ(decodeSlurmExitCode(9), 137);  // killed by SIGKILL
}

TEST(SlurmParseTest, SlurmStatesMapToAifedStates) {
  EXPECT_EQ(SlurmBackend::mapState("PENDING"), JobState::kPending);
  EXPECT_EQ(SlurmBackend::mapState("COMPLETING"), JobState::kRunning);
  EXPECT_EQ(SlurmBackend::mapState("TIMEOUT"), JobState::kTimeout);
  EXPECT_EQ(SlurmBackend::mapState("NODE_FAIL"), JobState::kNodeFail);
  EXPECT_EQ(SlurmBackend::mapState("OUT_OF_MEMORY"), JobState::kFailed);
  EXPECT_EQ(SlurmBackend::mapState("CANCELLED"), JobState::kCancelled);
  EXPECT_EQ(SlurmBackend::mapState("SOMETHING_NEW"), std::nullopt);
}

TEST(SlurmParseTest, GarbageIsAnErrorNotACrash) {
  EXPECT_FALSE(SlurmBackend::parseSqueue("not json").ok());
  EXPECT_FALSE(SlurmBackend::parseSqueue("[]").ok());
  EXPECT_FALSE(SlurmBackend::parseCapacity("{}", {}, {}).ok());
  auto err = SlurmBackend::parseSqueue(
      R"({"errors":[{"error":"Unable to contact slurm controller"}],"jobs":[]})");
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.status().code(), StatusCode::kUnavailable);
}

TEST(SlurmBackendTest, SbatchArgumentsFollowTheMappings) {
  Made m = make();
  auto args = m.backend->sbatchArguments({"job-7", 2}, gpuJob());
  ASSERT_TRUE(args.ok()) << args.status().toString();
  std::vector<std::string> want = {"--parsable",
                                   "--job-name=train",
                                   "--comment=aifed:job-7:2",
                                   "--gres=gpu:h100:4",
                                   "--partition=gpu",
                                   "--account=nllm001",
                                   "--nodes=2",
                                   "--time=2",  // 90 s rounds up
                                   "--chdir=/scratch/run1",
                                   "--no-requeue",
                                   "--export=PATH,AIFED_JOB_ID,AIFED_ATTEMPT,LR"};
  EXPECT_EQ(*args, want);

  JobSpec cpu = gpuJob();
  cpu.gpus_per_node = 0;
  cpu.gpu_type.clear();
  cpu.project = "unmapped";
  cpu.cores_per_node = 16;
  auto cpu_args = m.backend->sbatchArguments({"job-8", 1}, cpu);
  ASSERT_TRUE(cpu_args.ok());
  EXPECT_NE(std::find(cpu_args->begin(), cpu_args->end(), "--partition=cpu"), cpu_args->end());
  EXPECT_NE(std::find(cpu_args->begin(), cpu_args->end(), "--cpus-per-task=16"), cpu_args->end());
  for (const auto& a : *cpu_args) EXPECT_NE(a.rfind("--account", 0), 0u) << a;

  JobSpec mi = gpuJob();
  mi.gpu_type = "mi250x";
  auto refused = m.backend->sbatchArguments({"job-9", 1}, mi);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("mi250x"), std::string::npos);

  JobSpec no_script = gpuJob();
  no_script.script.clear();
  EXPECT_EQ(m.backend->sbatchArguments({"job-9", 1}, no_script).status().field(), "spec.script");
}

TEST(SlurmBackendTest, SubmitPassesScriptAndEnvironmentAndFollowsTheJob) {
  Made m = make();
  std::string squeue = R"({"errors":[],"jobs":[]})";
  m.runner->handlers["squeue"] = [&](const Command&) { return ok(squeue); };
  m.runner->handlers["sbatch"] = [](const Command& c) {
    EXPECT_EQ(c.input, gpuJob().script);
    EXPECT_EQ(c.env.at("LR"), "3e-4,warmup");
    EXPECT_EQ(c.env.at("AIFED_JOB_ID"), "job-1");
    return ok("4711\n");
  };
  Time t0{std::chrono::seconds(1795609000)};
  auto id = m.backend->submit({"job-1", 1}, gpuJob(), {}, t0);
  ASSERT_TRUE(id.ok()) << id.status().toString();
  EXPECT_EQ(id->local_id, "4711");
  ASSERT_EQ(m.backend->activeJobs().size(), 1u);

  squeue = R"({"errors":[],"jobs":[{"job_id":4711,"comment":"aifed:job-1:1","job_state":"RUNNING",
    "partition":"gpu","node_count":2,"time_limit":2,"submit_time":1795609000,"start_time":1795609001,
    "end_time":1795609121,"exit_code":0,"batch_host":"n1","nodes":"n[1-2]"}]})";
  auto u1 = m.backend->poll(t0 + 1s);
  ASSERT_EQ(u1.size(), 1u);
  EXPECT_EQ(u1[0].state, JobState::kRunning);
  EXPECT_EQ(u1[0].started_at, Time(std::chrono::seconds(1795609001)));
  EXPECT_TRUE(m.backend->poll(t0 + 2s).empty());  // no change, no update

  squeue = R"({"errors":[],"jobs":[{"job_id":4711,"comment":"aifed:job-1:1","job_state":"FAILED",
    "state_reason":"NonZeroExitCode","partition":"gpu","node_count":2,"time_limit":2,
    "submit_time":1795609000,"start_time":1795609001,"end_time":1795609030,"exit_code":1792,
    "batch_host":"n1","nodes":"n[1-2]"}]})";
  auto u2 = m.backend->poll(t0 + 3s);
  ASSERT_EQ(u2.size(), 1u);
  EXPECT_EQ(u2[0].state, JobState::kFailed);
  EXPECT_EQ(u2[0].exit_code, 7);
  EXPECT_EQ(u2[0].reason, "NonZeroExitCode");
  EXPECT_TRUE(m.backend->activeJobs().empty());
}

// sbatch -o/-e through the federation: the names land in the job's output directory with
// the federation's %j, %a, %A, %u and %x; Slurm's own sequences are left to it.
TEST(SlurmBackendTest, OutputNamesUseTheFederationsValuesInsideTheOutputDirectory) {
  Made m = make();
  m.runner->handlers["squeue"] = [](const Command&) { return ok(R"({"errors":[],"jobs":[]})"); };
  std::vector<std::string> args;
  m.runner->handlers["sbatch"] = [&args](const Command& c) {
    args = c.argv;
    return ok("4712\n");
  };
  JobSpec spec = gpuJob();
  spec.user = "alice";
  spec.env["AIFED_ARRAY_ID"] = "a-3";
  spec.env["AIFED_ARRAY_TASK_ID"] = "7";
  spec.stdout_name = "%x-%A_%a-%j-%u.%N.out";
  auto paths = m.backend->submit({"j-40", 2}, spec, {}, Time{});
  ASSERT_TRUE(paths.ok()) << paths.status().toString();
  EXPECT_EQ(paths->stdout_path, "/scratch/run1/train-a-3_7-j-40-alice.%N.out");
  EXPECT_EQ(paths->stderr_path, paths->stdout_path);  // -o alone takes both, as in sbatch
  EXPECT_NE(std::find(args.begin(), args.end(), "--output=" + paths->stdout_path), args.end());
  EXPECT_NE(std::find(args.begin(), args.end(), "--error=" + paths->stdout_path), args.end());

  spec.stderr_name = "logs/%j.err";
  spec.name = "a/b";  // a value never adds a directory level
  spec.stdout_name = "%x.out";
  paths = m.backend->submit({"j-41", 1}, spec, {}, Time{});
  ASSERT_TRUE(paths.ok());
  EXPECT_EQ(paths->stdout_path, "/scratch/run1/a_b.out");
  EXPECT_EQ(paths->stderr_path, "/scratch/run1/logs/j-41.err");
  // A user named ".." cannot make a name climb out: the site's default names are used.
  spec.user = "..";
  EXPECT_EQ(expandOutputName("%u/x", {"j-42", 1}, spec), std::nullopt);
  EXPECT_EQ(expandOutputName("100%%-%a", {"j-42", 1}, gpuJob()), "100%-0");
}

TEST(SlurmBackendTest, ATaggedJobAlreadyInSlurmIsNeverSubmittedAgain) {
  Made m = make();
  m.runner->handlers["squeue"] = [](const Command&) {
    return ok(readData("squeue-22.05-finished.json"));  // holds job 1 tagged aifed:j1:1
  };
  m.runner->handlers["sbatch"] = [](const Command&) { return ok("99\n"); };
  auto id = m.backend->submit({"j1", 1}, gpuJob(), {}, Time{});
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->local_id, "1");
  EXPECT_EQ(m.runner->count("sbatch"), 0);
  // Another attempt of the same job is a new Slurm job.
  auto next = m.backend->submit({"j1", 2}, gpuJob(), {}, Time{});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->local_id, "99");
  // After an sbatch whose outcome is unknown, squeue is read again before resubmitting.
  m.runner->handlers["sbatch"] = [](const Command&) -> Result<CommandOutput> {
    return unavailable("sbatch did not finish within 20000 ms");
  };
  int squeue_before = m.runner->count("squeue");
  EXPECT_EQ(m.backend->submit({"j5", 1}, gpuJob(), {}, Time{}).status().code(),
            StatusCode::kUnavailable);
  (void)m.backend->submit({"j5", 1}, gpuJob(), {}, Time{});
  EXPECT_EQ(m.runner->count("squeue"), squeue_before + 1);
}

TEST(SlurmBackendTest, RefusalsAndOutagesAreToldApart) {
  Made m = make();
  m.runner->handlers["squeue"] = [](const Command&) { return ok(R"({"jobs":[]})"); };
  m.runner->handlers["sbatch"] = [](const Command&) {
    return fail(1,
                "sbatch: error: Batch job submission failed: Requested node configuration is not "
                "available\n");
  };
  auto refused = m.backend->submit({"a", 1}, gpuJob(), {}, Time{});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("Requested node configuration is not available"),
            std::string::npos);
  m.runner->handlers["sbatch"] = [](const Command&) {
    return fail(1,
                "sbatch: error: Batch job submission failed: Invalid account or account/partition "
                "combination specified\n");
  };
  EXPECT_EQ(m.backend->submit({"b", 1}, gpuJob(), {}, Time{}).status().code(),
            StatusCode::kInvalidArgument);
  m.runner->handlers["sbatch"] = [](const Command&) {
    return fail(1,
                "sbatch: error: Batch job submission failed: Unable to contact slurm controller "
                "(connect failure)\n");
  };
  EXPECT_EQ(m.backend->submit({"c", 1}, gpuJob(), {}, Time{}).status().code(),
            StatusCode::kUnavailable);

  m.runner->handlers["sinfo"] = [](const Command&) {
    return fail(1, "slurm_load_partitions: Unable to contact slurm controller (connect failure)\n");
  };
  auto cap = m.backend->capacity(Time{});
  ASSERT_FALSE(cap.ok());
  EXPECT_EQ(cap.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(cap.status().message().find("Unable to contact slurm controller"), std::string::npos);

  // While slurmctld shuts down, sinfo can exit 0 and put the failure in its JSON instead.
  m.runner->handlers["sinfo"] = [](const Command&) {
    return ok(R"({"errors":[{"error":"Unspecified error","error_number":1}],"nodes":[]})");
  };
  cap = m.backend->capacity(Time{});
  ASSERT_FALSE(cap.ok());
  EXPECT_EQ(cap.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(cap.status().message(), "Slurm is not answering: sinfo --json: Unspecified error");
}

// The agent reports the backend's health: the outcome of the last Slurm command. A
// refusal is Slurm answering (healthy); a controller that does not answer, or a command
// that cannot run, is down with Slurm's words, and the last success keeps its time.
TEST(SlurmBackendTest, HealthFollowsTheLastCommandsOutcome) {
  Made m = make();
  const Time t0 = Time{} + 1000s;
  EXPECT_TRUE(m.backend->health(t0).ok);  // nothing ran yet
  EXPECT_FALSE(m.backend->health(t0).last_ok_at.has_value());
  m.runner->handlers["squeue"] = [](const Command&) { return ok(R"({"jobs":[]})"); };
  m.runner->handlers["sbatch"] = [](const Command&) {
    return fail(1, "sbatch: error: Batch job submission failed: Invalid account\n");
  };
  EXPECT_FALSE(m.backend->submit({"a", 1}, gpuJob(), {}, t0).ok());
  BackendHealth h = m.backend->health(t0 + 5s);
  EXPECT_TRUE(h.ok);
  EXPECT_EQ(h.last_ok_at, t0);

  m.runner->handlers["sinfo"] = [](const Command&) {
    return fail(1, "slurm_load_partitions: Unable to contact slurm controller (connect failure)\n");
  };
  EXPECT_FALSE(m.backend->capacity(t0 + 10s).ok());
  h = m.backend->health(t0 + 10s);
  EXPECT_FALSE(h.ok);
  EXPECT_EQ(h.error,
            "sinfo: slurm_load_partitions: Unable to contact slurm controller (connect failure)");
  EXPECT_EQ(h.last_ok_at, t0);

  m.runner->handlers.erase("sinfo");  // the command cannot run at all
  EXPECT_FALSE(m.backend->capacity(t0 + 20s).ok());
  h = m.backend->health(t0 + 20s);
  EXPECT_FALSE(h.ok);
  EXPECT_EQ(h.error, "sinfo: no handler for sinfo");

  m.runner->handlers["sinfo"] = [](const Command&) {
    return ok(readData("sinfo-22.05-idle.json"));
  };
  EXPECT_TRUE(m.backend->capacity(t0 + 30s).ok());
  h = m.backend->health(t0 + 30s);
  EXPECT_TRUE(h.ok);
  EXPECT_EQ(h.error, "");
  EXPECT_EQ(h.last_ok_at, t0 + 30s);
}

TEST(SlurmBackendTest, AdoptedJobsAreHeldAndFollowedAfterARestart) {
  Made m = make();
  m.runner->handlers["squeue"] = [](const Command&) {
    return ok(readData("squeue-22.05-finished.json"));
  };
  EXPECT_TRUE(m.backend->adopt({"j1", 1}, "1"));
  EXPECT_FALSE(m.backend->adopt({"j9", 1}, ""));
  ASSERT_EQ(m.backend->activeJobs().size(), 1u);
  auto u = m.backend->poll(Time{std::chrono::seconds(1795609400)});
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].tag, (JobTag{"j1", 1}));
  EXPECT_EQ(u[0].state, JobState::kFailed);
  EXPECT_EQ(u[0].exit_code, 3);
  EXPECT_TRUE(m.backend->activeJobs().empty());
  EXPECT_EQ(m.runner->count("sbatch"), 0);
}

TEST(SlurmBackendTest, CancelCallsScancelAndToleratesFinishedJobs) {
  Made m = make();
  m.runner->handlers["squeue"] = [](const Command&) { return ok(R"({"jobs":[]})"); };
  m.runner->handlers["sbatch"] = [](const Command&) { return ok("12\n"); };
  ASSERT_TRUE(m.backend->submit({"x", 1}, gpuJob(), {}, Time{}).ok());
  m.runner->handlers["scancel"] = [](const Command& c) {
    EXPECT_EQ(c.argv.back(), "12");
    return ok("");
  };
  EXPECT_TRUE(m.backend->cancel("12", Time{}).ok());
  m.runner->handlers["scancel"] = [](const Command&) {
    return fail(
        1,
        "scancel: error: Kill job error on job id 12: Job/step already completing or completed\n");
  };
  EXPECT_TRUE(m.backend->cancel("12", Time{}).ok());
  EXPECT_EQ(m.backend->cancel("999", Time{}).code(), StatusCode::kNotFound);
}

TEST(SlurmBackendTest, StartEstimateComesFromSbatchTestOnly) {
  Made m = make();
  m.runner->handlers["sbatch"] = [](const Command& c) {
    EXPECT_EQ(c.argv[1], "--parsable");
    EXPECT_EQ(c.argv[2], "--test-only");
    return fail(0,
                "sbatch: Job 3 to start at 2026-11-25T12:55:24 using 1 processors on nodes "
                "aifed-n1 in partition gpu\n");
  };
  auto at = m.backend->estimateStart(gpuJob());
  ASSERT_TRUE(at.ok()) << at.status().toString();
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 10;
  tm.tm_mday = 25;
  tm.tm_hour = 12;
  tm.tm_min = 55;
  tm.tm_sec = 24;
  tm.tm_isdst = -1;
  EXPECT_EQ(*at, Time(std::chrono::seconds(std::mktime(&tm))));  // Slurm prints local time
  m.runner->handlers["sbatch"] = [](const Command&) {
    return fail(1, "allocation failure: Requested node configuration is not available\n");
  };
  auto refused = m.backend->estimateStart(gpuJob());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("Requested node configuration"), std::string::npos);
  EXPECT_EQ(m.runner->count("squeue"), 0);  // a probe submits nothing, checks no tags
}

TEST(SlurmBackendTest, ProbeShapesReachTheCapacityReportAsStartEstimates) {
  SlurmOptions o = testOptions();
  o.probes = {{"h100", 2, 4, std::chrono::hours(1)},
              {"h100", 1, 4, std::chrono::hours(1)},
              {"b200", 1, 4, std::chrono::hours(1)}};  // no partition for b200: left out
  o.probe_interval = 60s;
  Made m = make(o);
  m.runner->handlers["sinfo"] = [](const Command&) {
    return ok(readData("sinfo-22.05-idle.json"));
  };
  m.runner->handlers["squeue"] = [](const Command&) { return ok(R"({"jobs":[]})"); };
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 10;
  tm.tm_mday = 25;
  tm.tm_hour = 12;
  tm.tm_min = 0;
  tm.tm_isdst = -1;
  const Time noon{std::chrono::seconds(std::mktime(&tm))};
  m.runner->handlers["sbatch"] = [](const Command& c) {
    bool two = std::find(c.argv.begin(), c.argv.end(), "--nodes=2") != c.argv.end();
    return fail(0, std::string("sbatch: Job 3 to start at ") +
                       (two ? "2026-11-25T13:30:00" : "2026-11-25T12:00:00") +
                       " using 8 processors on nodes n1 in partition gpu\n");
  };
  auto cap = m.backend->capacity(noon);
  ASSERT_TRUE(cap.ok()) << cap.status().toString();
  ASSERT_EQ(cap->partitions[0].name, "gpu");
  EXPECT_EQ(cap->partitions[0].start_estimates,
            (std::vector<StartEstimate>{{1, 4, 0}, {2, 4, 5400}}))
      << "smallest shape first, seconds from the measurement";
  EXPECT_TRUE(cap->partitions[1].start_estimates.empty());
  EXPECT_EQ(m.runner->count("sbatch"), 2);
  // Within probe_interval Slurm is not asked again.
  ASSERT_TRUE(m.backend->capacity(noon + 30s).ok());
  EXPECT_EQ(m.runner->count("sbatch"), 2);
  ASSERT_TRUE(m.backend->capacity(noon + 61s).ok());
  EXPECT_EQ(m.runner->count("sbatch"), 4);
}

TEST(ProcessRunnerTest, RunsWithInputEnvironmentAndDeadline) {
  ProcessRunner runner;
  Command cat{{"/bin/sh", "-c", "cat; echo \"$AIFED_X\" >&2; exit 4"}};
  cat.input = "hello";
  cat.env = {{"AIFED_X", "a,b c"}};
  auto out = runner.run(cat);
  ASSERT_TRUE(out.ok()) << out.status().toString();
  EXPECT_EQ(out->out, "hello");
  EXPECT_EQ(out->err, "a,b c\n");
  EXPECT_EQ(out->exit_code, 4);

  Command slow{{"/bin/sh", "-c", "sleep 30"}};
  slow.timeout = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto timed_out = runner.run(slow);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_FALSE(timed_out.ok());
  EXPECT_EQ(timed_out.status().code(), StatusCode::kUnavailable);

  auto missing = runner.run(Command{{"/nonexistent/sbatch"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace aifed::agent
