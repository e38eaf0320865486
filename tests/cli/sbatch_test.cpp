// The sbatch- and squeue-shaped parsing of `aifed submit` and `aifed jobs`, without a
// server: #SBATCH directives, --gres/--gpus, --mem, --array, --dependency, --export,
// -o/-e, the refusals, the job list's --format, --state and --sort.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "cli/job_format.h"
#include "cli/jobs_command.h"
#include "cli/sbatch_flags.h"
#include "cli/sbatch_script.h"
#include "cli/submit_command.h"
#include "cli/submit_options.h"
#include "tests/store/test_dir.h"

namespace aifed::cli {
namespace {
namespace json = boost::json;
using ::testing::HasSubstr;
using testing_support::TestDir;

// ---- value forms ----------------------------------------------------------------------

TEST(SbatchFlagsTest, GresForms) {
  struct Case {
    const char* text;
    const char* type;
    int count;
  };
  for (const Case& c : std::vector<Case>{{"gpu", "", 1},  // Slurm: one per node
                                         {"gpu:4", "", 4},
                                         {"gpu:h100:4", "h100", 4},
                                         {"gpu:H100:8", "h100", 8},  // models are lower-case
                                         {"GPU:mi250x", "mi250x", 1}}) {
    Result<GpuRequest> g = parseGres(c.text);
    ASSERT_TRUE(g.ok()) << c.text << ": " << g.status().toString();
    EXPECT_EQ(g->type, c.type) << c.text;
    EXPECT_EQ(g->count, c.count) << c.text;
  }
  for (const char* bad :
       {"", "nvme:1", "gpu:h100:4,nvme:1", "gpu:0", "gpu:h100:x", "gpu:a:b:c", "gpu:h/100:1"}) {
    Result<GpuRequest> g = parseGres(bad);
    ASSERT_FALSE(g.ok()) << "\"" << bad << "\" should be refused";
    EXPECT_EQ(g.status().field(), "--gres");
    EXPECT_THAT(g.status().message(), HasSubstr("--gres"));
  }
  EXPECT_THAT(parseGres("nvme:1").status().message(), HasSubstr("only the gpu resource"));
}

TEST(SbatchFlagsTest, GpuCountForms) {
  EXPECT_EQ(parseGpuCount("8", "--gpus")->count, 8);
  EXPECT_EQ(parseGpuCount("A100:2", "--gpus-per-node")->type, "a100");
  EXPECT_EQ(parseGpuCount("x:", "--gpus").status().field(), "--gpus");
  EXPECT_EQ(parseGpuCount("h100:4:2", "--gpus-per-node").status().field(), "--gpus-per-node");
}

TEST(SbatchFlagsTest, MemUnitsRoundUpToGiB) {
  struct Case {
    const char* text;
    int gib;
  };
  for (const Case& c : std::vector<Case>{{"500G", 500},
                                         {"500g", 500},
                                         {"2T", 2048},
                                         {"64000", 63},   // Slurm's default unit is MB: 62.5 GiB
                                         {"64000M", 63},  // rounded up
                                         {"1024M", 1},
                                         {"1048576K", 1},
                                         {"1K", 1},
                                         {"0", 0}}) {  // 0: all the node's memory
    Result<int> g = parseMemGiB(c.text, "--mem");
    ASSERT_TRUE(g.ok()) << c.text << ": " << g.status().toString();
    EXPECT_EQ(*g, c.gib) << c.text;
  }
  for (const char* bad : {"", "G", "12X", "-5G", "1.5G", "99999999999G"}) {
    EXPECT_EQ(parseMemGiB(bad, "--mem").status().field(), "--mem") << bad;
  }
}

TEST(SbatchFlagsTest, ArrayFormsWithThrottle) {
  struct Case {
    const char* text;
    const char* indices;
    int max_running;
    int tasks;
  };
  for (const Case& c : std::vector<Case>{{"0-999%50", "0-999", 50, 1000},
                                         {"0-15", "0-15", 0, 16},
                                         {"1,3,5-7", "1,3,5-7", 0, 5},
                                         {"0-15:4", "0-15:4", 0, 4},  // 0 4 8 12
                                         {"0-9999%1", "0-9999", 1, 10000},
                                         {"7", "7", 0, 1},
                                         {"1-3,2-4", "1-3,2-4", 0, 4}}) {  // distinct indices
    Result<ArrayRequest> a = parseArray(c.text);
    ASSERT_TRUE(a.ok()) << c.text << ": " << a.status().toString();
    EXPECT_EQ(a->indices, c.indices) << c.text;
    EXPECT_EQ(a->max_running, c.max_running) << c.text;
    EXPECT_EQ(a->tasks, c.tasks) << c.text;
  }
  for (const char* bad : {"", "%5", "0-10000", "5-1", "0-9:0", "a-b", "1,,2", "0-10%x", "-1"}) {
    Result<ArrayRequest> a = parseArray(bad);
    ASSERT_FALSE(a.ok()) << "\"" << bad << "\" should be refused";
    EXPECT_EQ(a.status().field(), "--array");
  }
  EXPECT_THAT(parseArray("0-10000").status().message(), HasSubstr("more than 10000 tasks"));
}

TEST(SbatchFlagsTest, DependencyForms) {
  Result<json::array> d = parseDependency("afterok:12:13,afterany:j-14,AFTERNOTOK:15");
  ASSERT_TRUE(d.ok()) << d.status().toString();
  EXPECT_EQ(json::serialize(*d),
            R"([{"job":"j-12","condition":"afterok"},{"job":"j-13","condition":"afterok"},)"
            R"({"job":"j-14","condition":"afterany"},{"job":"j-15","condition":"afternotok"}])");
  struct Bad {
    const char* text;
    const char* says;
  };
  for (const Bad& b : std::vector<Bad>{{"afterok:12?afterany:13", "'?'"},
                                       {"singleton", "singleton"},
                                       {"after:12", "after,"},
                                       {"aftercorr:12", "aftercorr"},
                                       {"afterok:12+60", "+time"},
                                       {"afterok", "names no job"},
                                       {"afterok:x12", "not a job id"},
                                       {"12", "must look like"}}) {
    Result<json::array> r = parseDependency(b.text);
    ASSERT_FALSE(r.ok()) << b.text;
    EXPECT_EQ(r.status().field(), "--dependency");
    EXPECT_THAT(r.status().message(), HasSubstr(b.says)) << b.text;
  }
}

TEST(SbatchFlagsTest, ExportForms) {
  EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "HF_HOME") return "/scratch/hf";
    return std::nullopt;
  };
  EXPECT_EQ(json::serialize(*parseExport("ALL", env)), "{}") << "nothing of this machine's";
  EXPECT_EQ(json::serialize(*parseExport("NONE", env)), "{}");
  EXPECT_EQ(json::serialize(*parseExport("A=1,B=x=y", env)), R"({"A":"1","B":"x=y"})");
  EXPECT_EQ(json::serialize(*parseExport("ALL,HF_HOME,C=", env)),
            R"({"HF_HOME":"/scratch/hf","C":""})");
  EXPECT_THAT(parseExport("NOT_SET_HERE", env).status().message(), HasSubstr("not set here"));
  EXPECT_EQ(parseExport("1A=2", env).status().field(), "--export");
  EXPECT_EQ(parseExport("A=1,,B=2", env).status().field(), "--export");
}

TEST(SbatchFlagsTest, OutputNamesStayInTheJobsDirectory) {
  for (const char* ok : {"train-%j.out", "logs/%x-%A_%a.err", "%u.%%.txt"}) {
    EXPECT_TRUE(checkOutputName(ok, "--output").ok()) << ok;
  }
  EXPECT_THAT(checkOutputName("/scratch/x.out", "--output").message(), HasSubstr("absolute"));
  EXPECT_THAT(checkOutputName("../x.out", "--error").message(), HasSubstr(".."));
  EXPECT_THAT(checkOutputName("x-%N.out", "--output").message(), HasSubstr("%N"));
  EXPECT_EQ(checkOutputName("", "--error").field(), "--error");
}

TEST(SbatchFlagsTest, DatasetsAndIds) {
  EXPECT_EQ(json::serialize(*parseDataset("c4:800")), R"({"id":"c4","size_gb":8E2})");
  EXPECT_EQ(json::serialize(*parseDataset("imagenet")), R"({"id":"imagenet"})");
  EXPECT_FALSE(parseDataset("c4:big").ok());
  EXPECT_EQ(*normalizeJobId("12", "ID"), "j-12");
  EXPECT_EQ(*normalizeJobId("j-12", "ID"), "j-12");
  EXPECT_FALSE(normalizeJobId("job12", "ID").ok());
  EXPECT_EQ(*normalizeArrayId("3", "ID"), "a-3");
  EXPECT_EQ(*normalizeArrayId("a-3", "ID"), "a-3");
}

// ---- the script -----------------------------------------------------------------------

TEST(SbatchScriptTest, DirectivesEndAtTheFirstCommand) {
  std::string script =
      "#!/bin/bash\n"
      "# a comment\n"
      "#SBATCH -N 4 --gres=gpu:h100:4   # trailing comment\n"
      "\n"
      "#SBATCH --job-name='my job' --time=2:00:00\n"
      "#SBATCHX --not-a-directive\n"
      "module load pytorch\n"
      "#SBATCH --nodes=99\n";  // after the first command: an ordinary comment
  Result<std::vector<Directive>> d = readDirectives(script);
  ASSERT_TRUE(d.ok()) << d.status().toString();
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[0].line, 3);
  EXPECT_EQ((*d)[0].args, (std::vector<std::string>{"-N", "4", "--gres=gpu:h100:4"}));
  EXPECT_EQ((*d)[1].line, 5);
  EXPECT_EQ((*d)[1].args, (std::vector<std::string>{"--job-name=my job", "--time=2:00:00"}));

  EXPECT_THAT(readDirectives("#SBATCH --job-name='open\n").status().message(),
              HasSubstr("line 1: #SBATCH --job-name='open: unterminated quote"));
  EXPECT_THAT(readDirectives("#!/bin/sh\n#SBATCH nodes=4\n").status().message(),
              HasSubstr("line 2"));
}

TEST(SbatchScriptTest, ArgumentsBecomeASetLineAfterTheDirectives) {
  std::string script = "#!/bin/bash\n#SBATCH -N 1\n\necho \"$1\"\n";
  Result<std::string> s = withArguments(script, {"--lr", "it's"});
  ASSERT_TRUE(s.ok()) << s.status().toString();
  EXPECT_EQ(*s,
            "#!/bin/bash\n#SBATCH -N 1\n\nset -- '--lr' 'it'\\''s'  # aifed: the arguments given "
            "after the script\necho \"$1\"\n");
  EXPECT_EQ(*withArguments(script, {}), script);
  EXPECT_TRUE(withArguments("#!/usr/bin/env bash\nx\n", {"a"}).ok());
  EXPECT_THAT(withArguments("#!/usr/bin/env python3\nprint(1)\n", {"a"}).status().message(),
              HasSubstr("python3"));
}

// ---- the whole request ------------------------------------------------------------------

class SubmitRequestTest : public ::testing::Test {
 protected:
  Result<SubmitRequest> build(SubmitOptions o) {
    if (!o.time && !o.script_file && o.script_and_args.empty()) o.time = "10";
    return buildSubmitRequest(o, context_);
  }
  std::string script(const std::string& text) { return file("job.sh", text); }
  std::string file(const std::string& name, const std::string& text) {
    std::ofstream(dir_.file(name)) << text;
    return dir_.file(name);
  }
  TestDir dir_;
  SubmitContext context_{[](const std::string& name) -> std::optional<std::string> {
                           if (name == "WANDB_KEY") return "k1";
                           return std::nullopt;
                         },
                         []() -> Result<std::vector<std::string>> {
                           return std::vector<std::string>{"h100", "a100"};
                         }};
};

TEST_F(SubmitRequestTest, ScriptDirectivesFillTheSpecAndFlagsOverrideThem) {
  SubmitOptions o;
  o.script_and_args = {script("#!/bin/bash\n"
                              "#SBATCH --nodes=4\n"
                              "#SBATCH --gres=gpu:h100:4 -c 32 --mem=500G\n"
                              "#SBATCH -t 1-00:00:00 -A ai-lab -J pretrain\n"
                              "#SBATCH -o train-%j.out -e train-%j.err --export=ALL,WANDB_KEY\n"
                              "#SBATCH --dataset c4:800 --dataset pile --prefer mimer\n"
                              "#SBATCH --country se,fi\n"
                              "srun python train.py \"$@\"\n"),
                       "--epochs", "3"};
  o.nodes = 2;                 // the command line wins
  o.gpus_per_node = "a100:8";  // over the script's --gres, count and model
  Result<SubmitRequest> r = build(o);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  json::object& b = r->body;
  EXPECT_EQ(b["nodes"].as_int64(), 2);
  EXPECT_EQ(b["gpus_per_node"].as_int64(), 8);
  EXPECT_EQ(b["gpu_type"].as_string(), "a100");
  EXPECT_EQ(b["cores_per_node"].as_int64(), 32);
  EXPECT_EQ(b["memory_gib_per_node"].as_int64(), 500);
  EXPECT_EQ(b["walltime_s"].as_int64(), 86400);
  EXPECT_EQ(b["project"].as_string(), "ai-lab");
  EXPECT_EQ(b["name"].as_string(), "pretrain");
  EXPECT_EQ(b["stdout"].as_string(), "train-%j.out");
  EXPECT_EQ(b["stderr"].as_string(), "train-%j.err");
  EXPECT_EQ(json::serialize(b["env"]), R"({"WANDB_KEY":"k1"})");
  EXPECT_EQ(json::serialize(b["datasets"]), R"([{"id":"c4","size_gb":8E2},{"id":"pile"}])");
  EXPECT_EQ(json::serialize(b["preferred_sites"]), R"(["mimer"])");
  EXPECT_EQ(json::serialize(b["allowed_countries"]), R"(["SE","FI"])");
  EXPECT_THAT(std::string(b["script"].as_string()), HasSubstr("set -- '--epochs' '3'"));
  EXPECT_THAT(std::string(b["script"].as_string()), HasSubstr("#SBATCH --nodes=4"))
      << "the script is sent as written, plus its arguments";
  EXPECT_FALSE(b.contains("array"));
  EXPECT_FALSE(r->test_only);
}

TEST_F(SubmitRequestTest, GpuFlagsAndTheModelFromTheCommandLineOnly) {
  SubmitOptions o;
  o.script_and_args = {script("#!/bin/sh\n#SBATCH --gres=gpu:h100:4 -t 30\nhostname\n")};
  o.gpu_type = "A100";  // the model is overridden, the count stays the script's
  Result<SubmitRequest> r = build(o);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->body["gpus_per_node"].as_int64(), 4);
  EXPECT_EQ(r->body["gpu_type"].as_string(), "a100");
  EXPECT_EQ(r->body["name"].as_string(), "job.sh") << "sbatch's default name: the script's";

  SubmitOptions total;
  total.nodes = 4;
  total.gpus = "h100:16";
  r = build(total);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->body["gpus_per_node"].as_int64(), 4);
  EXPECT_EQ(r->body["gpu_type"].as_string(), "h100");
  total.nodes = 3;
  EXPECT_THAT(build(total).status().message(), HasSubstr("not divisible by 3 nodes"));

  SubmitOptions both;
  both.gres = "gpu:4";
  both.gpus_per_node = "4";
  EXPECT_THAT(build(both).status().message(), HasSubstr("--gres and --gpus-per-node"));
  SubmitOptions contradicting;
  contradicting.gres = "gpu:h100:4";
  contradicting.gpu_type = "a100";
  EXPECT_EQ(build(contradicting).status().field(), "--gpu-type");
}

TEST_F(SubmitRequestTest, PartitionNamesAnAcceleratorModelOrASitePartition) {
  SubmitOptions o;
  o.partition = "H100";
  o.gpus_per_node = "4";
  Result<SubmitRequest> r = build(o);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->body["gpu_type"].as_string(), "h100");
  EXPECT_FALSE(r->body.contains("partition") && !r->body["partition"].as_string().empty());
  ASSERT_EQ(r->notes.size(), 1u);
  EXPECT_THAT(r->notes[0], HasSubstr("accelerator model"));
  o.partition = "gpu-large";
  r = build(o);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->body["partition"].as_string(), "gpu-large");
  EXPECT_FALSE(r->body.contains("gpu_type") && !r->body["gpu_type"].as_string().empty());
  // A model without a count: the hint names the flag that gives the count.
  SubmitOptions no_count;
  no_count.partition = "h100";
  Result<SubmitRequest> bad = build(no_count);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().field(), "--gpus-per-node");
  EXPECT_THAT(bad.status().message(), HasSubstr("--gpus-per-node N"));
}

TEST_F(SubmitRequestTest, ArrayDependencyAndTestOnly) {
  SubmitOptions o;
  o.array = "0-999%50";
  o.dependency = "afterok:12,afterany:j-14";
  o.test_only = true;
  Result<SubmitRequest> r = build(o);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(json::serialize(r->body["array"]), R"({"indices":"0-999","max_running":50})");
  EXPECT_EQ(r->array->tasks, 1000);
  EXPECT_EQ(r->body["dependencies"].as_array().size(), 2u);
  EXPECT_TRUE(r->test_only);
}

TEST_F(SubmitRequestTest, RefusedDirectivesNameTheLineAndTheDirective) {
  struct Case {
    const char* script;
    const char* says;
  };
  for (const Case& c : std::vector<Case>{
           {"#!/bin/bash\n#SBATCH -N 2\n#SBATCH --mail-type=END\nsrun x\n",
            "line 3: #SBATCH --mail-type=END: --mail-type is not supported: aifed sends no mail"},
           {"#SBATCH --ntasks=8\n", "line 1: #SBATCH --ntasks=8: --ntasks is not supported"},
           {"#SBATCH -n 8\n", "-n is not supported"},
           {"#SBATCH --qos=high\n", "--qos is not supported"},
           {"#SBATCH --constraint=h100\n", "--gres=gpu:TYPE:N"},
           {"#SBATCH --frobnicate=1\n",
            "line 1: #SBATCH --frobnicate=1: --frobnicate is not an option aifed maps"},
           {"#SBATCH --user=eve\n", "belongs on the command line"},
           {"#SBATCH --mem=12X\n", "line 1: #SBATCH --mem=12X: --mem: \"12X\""},
           {"#SBATCH --array=0-20000\n", "line 1: #SBATCH --array=0-20000: --array"},
           {"#SBATCH -N\n", "line 1: #SBATCH -N:"},
       }) {
    SubmitOptions o;
    o.time = "10";
    o.script_and_args = {script(c.script)};
    Result<SubmitRequest> r = build(o);
    ASSERT_FALSE(r.ok()) << c.script;
    EXPECT_THAT(r.status().message(), HasSubstr(c.says)) << c.script;
    EXPECT_THAT(r.status().message(), HasSubstr(dir_.file("job.sh") + ": line")) << c.script;
  }
}

TEST_F(SubmitRequestTest, OtherRefusals) {
  SubmitOptions o;
  o.script_file = script("#!/bin/sh\nx\n");
  o.script_and_args = {dir_.file("job.sh")};
  EXPECT_THAT(build(o).status().message(), HasSubstr("give one"));
  o = {};
  o.script_and_args = {dir_.file("missing.sh")};
  o.time = "10";
  EXPECT_EQ(build(o).status().field(), "script");
  o = {};
  o.stdout_name = "/abs/out";
  EXPECT_EQ(build(o).status().field(), "--output");
  o = {};
  o.export_vars = "UNSET_VAR";
  EXPECT_EQ(build(o).status().field(), "--export");
  // The missing time names the flag to use.
  o = {};
  o.script_and_args = {script("#!/bin/sh\nx\n")};
  EXPECT_EQ(build(o).status().field(), "--time");
}

// Flags parsed by CLI11 as the `submit` subcommand sees them: aliases, the last of a
// repeated scalar, the positional script and its arguments.
TEST_F(SubmitRequestTest, CommandLineAliases) {
  CLI::App app;
  SubmitOptions o;
  CLI::App* submit = addSubmitCommand(app, o);
  std::string path = script("#!/bin/bash\n#SBATCH -N 3\nsrun x\n");
  std::vector<std::string> args = {
      "submit", "-t",     "10",  "--account",      "p1", "--job-name", "j",       "-N", "1", "-N",
      "2",      "--site", "a,b", "--allowed-site", "c",  path,         "--nodes", "9"};
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  app.parse(reversed);
  o.script_and_args = submit->remaining();
  Result<SubmitRequest> r = buildSubmitRequest(o, context_);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->body["project"].as_string(), "p1");
  EXPECT_EQ(r->body["name"].as_string(), "j");
  EXPECT_EQ(r->body["nodes"].as_int64(), 2) << "the last -N; --nodes 9 is the script's argument";
  EXPECT_EQ(json::serialize(r->body["allowed_sites"]), R"(["a","b","c"])");
  EXPECT_THAT(std::string(r->body["script"].as_string()), HasSubstr("set -- '--nodes' '9'"));
}

// ---- jobs: format, states, sort ----------------------------------------------------------

const char* kJobs = R"j({"total":7,"jobs":[
  {"id":"j-12","state":"running","site":"mimer","reason":"","submitted_at":1764078217000,
   "elapsed_s":3725,"array_id":"a-3","array_index":7,
   "spec":{"name":"train","user":"alice","nodes":4,"gpus_per_node":4,"gpu_type":"h100",
           "walltime_s":7200,"project":"p1"}},
  {"id":"j-9","state":"queued","site":"","reason":"waiting for j-12 to complete (afterok)",
   "elapsed_s":0,"spec":{"name":"eval","user":"bob","nodes":1,"walltime_s":60}}]})j";

TEST(JobFormatTest, DefaultColumnsIncludeUserAndElapsed) {
  std::string out = renderJobs(json::parse(kJobs), *parseJobFormat(kDefaultJobFormat));
  EXPECT_EQ(out,
            "ID    USER   NAME   STATE    SITE   NODES  GPUS/NODE  ELAPSED   TIME      PROJECT  "
            "SUBMITTED             REASON\n"
            "j-12  alice  train  running  mimer  4      4xh100     01:02:05  02:00:00  p1       "
            "2025-11-25 13:43:37Z  -\n"
            "j-9   bob    eval   queued   -      1      -          00:00:00  00:01:00  -        "
            "-                     waiting for j-12 to complete (afterok)\n"
            "2 jobs shown of 7\n");
}

TEST(JobFormatTest, SqueueLikeFormatWithWidths) {
  Result<JobFormat> f = parseJobFormat("%.6i %5j|%t %F[%K] %%");
  ASSERT_TRUE(f.ok()) << f.status().toString();
  EXPECT_EQ(renderJobs(json::parse(kJobs), *f),
            "    ID NAME |ST ARRAY[INDEX] %\n"
            "  j-12 train|R  a-3  [7] %\n"  // columns without a width: as wide as their widest
            "   j-9 eval |PD -    [-] %\n"
            "2 jobs shown of 7\n");
  EXPECT_THAT(parseJobFormat("%i %Z").status().message(), HasSubstr("%Z is not a code"));
  EXPECT_EQ(parseJobFormat("%.8").status().field(), "--format");
  EXPECT_EQ(parseJobFormat("").status().field(), "--format");
}

TEST(JobFormatTest, StatesAndSortKeys) {
  EXPECT_EQ(*jobStatesParam("PD"), "queued,dispatched,pending");
  EXPECT_EQ(*jobStatesParam("R,cd"), "running,completed");
  EXPECT_EQ(*jobStatesParam("Pending,RUNNING"), "pending,running") << "aifed's names, any case";
  EXPECT_THAT(jobStatesParam("zombie").status().message(), HasSubstr("not a state"));
  EXPECT_EQ(*jobSortParam("-submitted"), "-submitted");
  EXPECT_EQ(*jobSortParam("u"), "user");
  EXPECT_EQ(*jobSortParam("-M"), "-elapsed");
  EXPECT_EQ(*jobSortParam("i"), "id");
  EXPECT_THAT(jobSortParam("i,u").status().message(), HasSubstr("one key"));
  EXPECT_EQ(jobSortParam("color").status().field(), "--sort");
}

TEST(JobFormatTest, JobsQueryDefaultsToActiveNewestFirst) {
  JobsOptions o;
  EXPECT_EQ(*jobsQuery(o), "?active=true&sort=-submitted");
  o.all = true;
  o.me = true;
  o.array = "3";
  o.sort = "u";
  EXPECT_EQ(*jobsQuery(o), "?me=true&array=a-3&sort=user");
  JobsOptions s;
  s.state = "PD,R";
  s.user = "bob smith";
  s.project = "p1";
  EXPECT_EQ(*jobsQuery(s),
            "?state=queued%2Cdispatched%2Cpending%2Crunning&user=bob%20smith&project=p1&"
            "sort=-submitted");
}

TEST(SubmitRenderTest, SubmittedArrayAndPlan) {
  EXPECT_EQ(renderSubmitted(json::parse(
                R"({"array":{"id":"a-3","max_running":50},"jobs":["j-40","j-41","j-42"]})")),
            "Submitted array a-3: 3 tasks j-40 .. j-42, at most 50 running at once\n"
            "  follow it with: aifed array a-3\n");
  std::string plan = renderPlan(json::parse(R"({"accepted":true,"project":"p1","user":"alice",
    "decision":{"action":"dispatch","site":"site-a","partition":"gpu",
      "tie_break":"equal scores: federation order","reason":"starts now",
      "sites":[{"site":"site-a","feasible":true,"estimated_start_s":0,"score":100},
               {"site":"site-b","feasible":false,"rejected_by":"accelerator",
                "reason":"needs h100; the site offers a100"}]}})"));
  EXPECT_THAT(plan, HasSubstr("nothing was submitted"));
  EXPECT_THAT(plan, HasSubstr("It would go to site-a (partition gpu) now: starts now"));
  EXPECT_THAT(plan, HasSubstr("Tie-break: equal scores: federation order"));
  EXPECT_THAT(plan, HasSubstr("site-a *  yes   now    100.0"));
  EXPECT_THAT(plan, HasSubstr("site-b    no    -      -      accelerator: needs h100"));
  EXPECT_THAT(
      renderPlan(json::parse(R"({"accepted":false,"error":{"message":"no such project"}})")),
      HasSubstr("would refuse this job: no such project"));
}

}  // namespace
}  // namespace aifed::cli
