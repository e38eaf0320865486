// aifed-sim sweep, the pure parts: grid options and files, expansion into points with
// stable ids, parameters applied to run options and policies, the manifest round trip
// and the Slurm scripts' text.
#include "sim/sweep.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "tests/common/test_files.h"

namespace aifed::sim {
namespace {

namespace fs = std::filesystem;

using Params = std::vector<std::pair<std::string, std::string>>;

const broker::PolicySpec& policyNamed(const std::vector<broker::PolicySpec>& all,
                                      const std::string& name) {
  auto it = std::find_if(all.begin(), all.end(), [&](const auto& p) { return p.name == name; });
  EXPECT_NE(it, all.end()) << name;
  return *it;
}

TEST(SweepGridTest, ParsesGridOptions) {
  Result<SweepAxis> a = parseGridOption("earliest-start.weight.load= 0, 0.5 ,1");
  ASSERT_TRUE(a.ok()) << a.status().toString();
  EXPECT_EQ(a->name, "earliest-start.weight.load");
  EXPECT_EQ(a->values, (std::vector<std::string>{"0", "0.5", "1"}));

  EXPECT_EQ(parseGridOption("sched").status().message(), "--grid 'sched' is not name=v1,v2,...");
  EXPECT_EQ(parseGridOption("sched=easy,,fcfs").status().message(),
            "--grid 'sched=easy,,fcfs': grid axis sched has an empty value");
  EXPECT_EQ(parseGridOption("seed=1,2,1").status().message(),
            "--grid 'seed=1,2,1': grid axis seed repeats the value 1");
  EXPECT_FALSE(parseGridOption("=1,2").ok());
}

TEST(SweepGridTest, ExpandsTheFirstAxisSlowestWithStableIds) {
  std::vector<SweepAxis> axes = {{"earliest-start.weight.load", {"0", "0.5", "1"}},
                                 {"report_interval_s", {"30", "300"}}};
  Result<std::vector<SweepPoint>> points = expandGrid(axes);
  ASSERT_TRUE(points.ok());
  ASSERT_EQ(points->size(), 6u);
  EXPECT_EQ((*points)[0].id, "p0000");
  EXPECT_EQ((*points)[5].id, "p0005");
  EXPECT_EQ((*points)[3].index, 3u);
  EXPECT_EQ((*points)[3].params,
            (Params{{"earliest-start.weight.load", "0.5"}, {"report_interval_s", "300"}}));
  EXPECT_EQ((*points)[4].params,
            (Params{{"earliest-start.weight.load", "1"}, {"report_interval_s", "30"}}));
  // Same grid, same ids and parameters.
  EXPECT_EQ((*expandGrid(axes))[4].params, (*points)[4].params);

  // No axes: one point, the base run.
  Result<std::vector<SweepPoint>> one = expandGrid({});
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].id, "p0000");
  EXPECT_TRUE((*one)[0].params.empty());

  // Ids widen with the grid so that they still sort as their indices.
  std::vector<std::string> many;
  for (int i = 0; i < 101; ++i) many.push_back(std::to_string(i));
  Result<std::vector<SweepPoint>> big = expandGrid({{"seed", many}, {"load", many}});
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->front().id, "p00000");
  EXPECT_EQ(big->back().id, "p10200");
  EXPECT_TRUE(std::is_sorted(big->begin(), big->end(),
                             [](const auto& a, const auto& b) { return a.id < b.id; }));

  EXPECT_EQ(expandGrid({{"seed", {"1"}}, {"seed", {"2"}}}).status().message(),
            "grid axis seed is given twice");
}

TEST(SweepGridTest, ReadsAGridFileInKeyOrder) {
  Result<std::vector<SweepAxis>> axes = parseGridFile(
      "# a study\n[grid]\nsched = [\"easy\", \"conservative\"]\n"
      "\"earliest-start.weight.load\" = [0, 0.5, 1.0]\nreport_interval_s = [30, 300]\n",
      "grid.toml");
  ASSERT_TRUE(axes.ok()) << axes.status().toString();
  ASSERT_EQ(axes->size(), 3u);
  EXPECT_EQ((*axes)[0].name, "earliest-start.weight.load");
  EXPECT_EQ((*axes)[0].values, (std::vector<std::string>{"0", "0.5", "1"}));
  EXPECT_EQ((*axes)[1].name, "report_interval_s");
  EXPECT_EQ((*axes)[2].values, (std::vector<std::string>{"easy", "conservative"}));

  // The strict reader: wrong types and unknown keys name the file, the line and the key.
  EXPECT_EQ(parseGridFile("[grid]\nseed = 3\n", "g.toml").status().message(),
            "g.toml:2: grid.seed: must be an array, got an integer");
  EXPECT_EQ(parseGridFile("[grid]\nseed = [1, [2]]\n", "g.toml").status().message(),
            "g.toml:2: grid.seed[1]: must be a string, number or boolean, got an array");
  EXPECT_EQ(parseGridFile("[grids]\nseed = [3]\n", "g.toml").status().message(),
            "g.toml:1: grids: unknown key (did you mean \"grid\"?)");
  EXPECT_EQ(parseGridFile("[grid]\nsched = ['easy']\nlaod = [0.5]\n", "g.toml").status().message(),
            "g.toml:3: grid.laod: unknown grid parameter (did you mean \"load\"?)");
  EXPECT_EQ(parseGridFile("[grid]\n\"green.weight.carbn\" = [1]\n", "g.toml").status().message(),
            "g.toml:2: grid.green.weight.carbn: unknown score plugin \"carbn\" (did you mean "
            "\"carbon\"?)");
  EXPECT_EQ(parseGridFile("[grid]\ngreen.weight.load = [1]\n", "g.toml").status().message(),
            "g.toml:2: grid.green: must be an array, got a table (quote a name with dots: "
            "\"green.weight.load\" = [0, 1])");
  EXPECT_EQ(parseGridFile("# nothing\n", "g.toml").status().message(), "g.toml: grid: is required");
  EXPECT_EQ(parseGridFile("[grid]\nseed = [1, 1]\n", "g.toml").status().message(),
            "g.toml:2: grid axis seed repeats the value 1");
  Result<std::vector<SweepAxis>> syntax = parseGridFile("[grid\n", "g.toml");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.status().message().rfind("g.toml:1: ", 0), 0u) << syntax.status().message();
}

TEST(SweepGridTest, AppliesPolicyKnobsAndRunOptions) {
  RunArgs args;
  std::vector<broker::PolicySpec> policies = broker::builtinPolicies();
  ASSERT_TRUE(applyParams({{"earliest-start.weight.load", "0.5"},
                           {"green.weight.carbon", "0"},
                           {"green.weight.estimated-start", "2"},
                           {"balanced.binding", "late"},
                           {"balanced.bind_within_s", "600"},
                           {"balanced.withdraw_after_s", "1800"},
                           {"least-loaded.start_half_life_s", "7200"},
                           {"sched", "conservative"},
                           {"report_interval_s", "300"},
                           {"report_loss", "0.1"},
                           {"seed", "7"},
                           {"policy", "green"}},
                          args, policies)
                  .ok());
  EXPECT_EQ(policyNamed(policies, "earliest-start").weights,
            (std::vector<broker::PolicyWeight>{{"estimated-start", 1}, {"load", 0.5}}));
  EXPECT_EQ(policyNamed(policies, "green").weights,
            (std::vector<broker::PolicyWeight>{{"energy", 1}, {"estimated-start", 2}}));
  const broker::PolicySpec& balanced = policyNamed(policies, "balanced");
  EXPECT_EQ(balanced.binding, broker::BindingMode::kLate);
  EXPECT_EQ(balanced.bind_within, std::chrono::minutes(10));
  EXPECT_EQ(balanced.withdraw_after, std::chrono::minutes(30));
  EXPECT_EQ(policyNamed(policies, "least-loaded").start_half_life_s, 7200);
  EXPECT_EQ(args.sched, "conservative");
  EXPECT_EQ(args.report_interval_s, 300);
  EXPECT_EQ(args.report_loss, 0.1);
  EXPECT_EQ(args.seed, 7u);
  EXPECT_EQ(args.policy, "green");
  // Dropping every weight leaves first fit, which is a valid policy.
  ASSERT_TRUE(applyParams({{"earliest-start.weight.estimated-start", "0"},
                           {"earliest-start.weight.load", "0"}},
                          args, policies)
                  .ok());
  EXPECT_TRUE(policyNamed(policies, "earliest-start").weights.empty());

  auto error = [&](const std::string& name, const std::string& value) {
    RunArgs a;
    std::vector<broker::PolicySpec> p = broker::builtinPolicies();
    Status s = applyParams({{name, value}}, a, p);
    EXPECT_FALSE(s.ok()) << name << "=" << value;
    EXPECT_EQ(s.field(), name);
    return s.message();
  };
  EXPECT_EQ(error("earliest-start.weight.load", "-1"),
            "grid parameter earliest-start.weight.load: '-1' is not a weight >= 0 (0 drops "
            "the plugin)");
  EXPECT_EQ(
      error("fastest.weight.load", "1")
          .rfind("grid parameter fastest.weight.load: unknown policy 'fastest' (known: first-fit",
                 0),
      0u);
  EXPECT_EQ(error("green.weight.speed", "1")
                .rfind("grid parameter green.weight.speed: unknown score plugin 'speed'", 0),
            0u);
  EXPECT_EQ(error("green.colour", "1").rfind("grid parameter green.colour: unknown policy knob", 0),
            0u);
  EXPECT_EQ(error("sched", "sjf"),
            "grid parameter sched: 'sjf' is not a scheduler (known: fcfs, easy, conservative)");
  EXPECT_EQ(error("report_interval_s", "0"),
            "grid parameter report_interval_s: '0' is not a number > 0");
  EXPECT_EQ(error("report_loss", "1"),
            "grid parameter report_loss: '1' is not a number >= 0 and < 1");
  EXPECT_EQ(error("balanced.binding", "soon"),
            "grid parameter balanced.binding: 'soon' is not a binding (immediate, late)");
  EXPECT_EQ(error("speed", "1").rfind("unknown grid parameter 'speed' (run options: ", 0), 0u);
}

RunArgs smallBase() {
  RunArgs base;
  base.federation = AIFED_SOURCE_DIR "/tests/data/federation-3.toml";
  base.synthetic = 50;
  return base;
}

TEST(SweepManifestTest, RoundTripsAndChecksEveryPointFirst) {
  Result<SweepManifest> m = makeManifest(smallBase(), {{"earliest-start.weight.load", {"0", "1"}},
                                                       {"sched", {"easy", "conservative"}}});
  ASSERT_TRUE(m.ok()) << m.status().toString();
  EXPECT_EQ(m->points.size(), 4u);
  EXPECT_TRUE(fs::path(m->base.federation).is_absolute());
  std::string text = manifestJson(*m);
  EXPECT_NE(text.find("\"format\": \"aifed-sim-sweep/1\""), std::string::npos);
  EXPECT_NE(text.find("\"load\":0.8,"), std::string::npos) << text;
  EXPECT_NE(
      text.find(
          R"({"id":"p0003","params":{"earliest-start.weight.load":"1","sched":"conservative"}})"),
      std::string::npos)
      << text;
  Result<SweepManifest> back = parseManifest(text, "manifest.json");
  ASSERT_TRUE(back.ok()) << back.status().toString();
  EXPECT_EQ(manifestJson(*back), text);
  EXPECT_EQ(back->points[2].params, m->points[2].params);
  EXPECT_EQ(back->base.synthetic, 50);

  // A bad value anywhere in the grid fails before anything runs.
  Result<SweepManifest> bad = makeManifest(smallBase(), {{"policy", {"earliest-start", "nope"}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("unknown policy 'nope'; known policies: first-fit", 0), 0u)
      << bad.status().message();

  EXPECT_EQ(parseManifest("{\"format\": \"x\"}", "m.json").status().message(),
            "m.json: not an aifed-sim sweep manifest (format aifed-sim-sweep/1)");
  EXPECT_EQ(parseManifest("[", "m.json").status().message().rfind("m.json: not JSON", 0), 0u);
  std::string broken = text;
  broken.replace(broken.find("\"seed\":1"), 8, "\"seed\":\"x\"");
  EXPECT_EQ(
      parseManifest(broken, "m.json").status().message().rfind("m.json: malformed manifest", 0),
      0u);
  EXPECT_EQ(runPoint(*m, "/nonexistent", 4).message(), "point index 4 is outside 0..3");
}

TEST(SweepSlurmTest, WritesTheArrayTheMergeAndTheSubmitScript) {
  Result<SweepManifest> m =
      makeManifest(smallBase(), {{"seed", {"1", "2", "3"}}, {"sched", {"easy", "conservative"}}});
  ASSERT_TRUE(m.ok());
  fs::path dir = fs::path(AIFED_BINARY_DIR) / "tests/sim/sweep-scripts";
  fs::remove_all(dir);
  SlurmScriptOptions o;
  o.script = (dir / "study.sbatch").string();
  o.sim_binary = "/opt/aifed/bin/aifed-sim";
  o.sbatch_options = {"--time=00:30:00", "--partition=cpu"};
  o.array_parallel = 2;
  Result<SlurmScripts> s = writeSlurmScripts(*m, dir.string(), o);
  ASSERT_TRUE(s.ok()) << s.status().toString();
  EXPECT_EQ(s->merge_script, (dir / "study-merge.sbatch").string());
  EXPECT_EQ(s->submit_script, (dir / "study-submit.sh").string());
  EXPECT_TRUE(fs::is_directory(dir / "logs"));

  std::string array = testing_support::readTestFile(s->array_script);
  EXPECT_EQ(array.rfind("#!/bin/bash\n", 0), 0u);
  EXPECT_NE(array.find("\n#SBATCH --array=0-5%2\n"), std::string::npos) << array;
  EXPECT_NE(array.find("\n#SBATCH --time=00:30:00\n#SBATCH --partition=cpu\n"), std::string::npos);
  EXPECT_NE(array.find("#SBATCH --output=" + dir.string() + "/logs/%A_%a.out\n"),
            std::string::npos);
  EXPECT_NE(array.find("exec '/opt/aifed/bin/aifed-sim' sweep run-point --manifest '" +
                       dir.string() + "/manifest.json' --index \"$SLURM_ARRAY_TASK_ID\"\n"),
            std::string::npos)
      << array;

  std::string merge = testing_support::readTestFile(s->merge_script);
  EXPECT_EQ(merge.find("--array"), std::string::npos);
  EXPECT_NE(merge.find("exec '/opt/aifed/bin/aifed-sim' sweep merge --manifest '" + dir.string() +
                       "/manifest.json'\n"),
            std::string::npos)
      << merge;

  std::string submit = testing_support::readTestFile(s->submit_script);
  EXPECT_NE(submit.find("array=$(sbatch --parsable '" + s->array_script + "')\n"),
            std::string::npos)
      << submit;
  EXPECT_NE(
      submit.find("sbatch --parsable --dependency=afterok:\"$array\" '" + s->merge_script + "'"),
      std::string::npos);
  EXPECT_EQ(access(s->submit_script.c_str(), X_OK), 0);

  o.job_name = "two words";
  EXPECT_FALSE(writeSlurmScripts(*m, dir.string(), o).ok());
}

}  // namespace
}  // namespace aifed::sim
