// aifed-sim sweep --local: a 4-point sweep run by the real aifed-sim binary (one
// process per point), merged, and checked against direct runs of the same options.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <sstream>

#include "sim/metrics.h"
#include "sim/sweep.h"
#include "tests/common/test_files.h"

namespace aifed::sim {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A small, busy federation (3 sites x 16 nodes at offered load 1.2): jobs queue, so the
// local scheduler and the policy weights both change the outcome.
RunArgs busyBase() {
  RunArgs base;
  base.federation = AIFED_SOURCE_DIR "/tests/data/federation-3.toml";
  base.synthetic = 150;
  base.load = 1.2;
  base.skip_unplaceable = true;
  return base;
}

std::vector<SweepAxis> fourPoints() {
  return {{"earliest-start.weight.load", {"0", "1"}}, {"sched", {"easy", "conservative"}}};
}

fs::path freshDir(const std::string& name) {
  fs::path dir = fs::path(AIFED_BINARY_DIR) / "tests/sim" / (name + "-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

Status sweepInto(const fs::path& dir) {
  Result<SweepManifest> m = makeManifest(busyBase(), fourPoints());
  if (!m.ok()) return m.status();
  if (Status s = writeManifest(*m, (dir / "manifest.json").string()); !s.ok()) return s;
  return runLocal(*m, dir.string(), AIFED_SIM_BINARY, 2);
}

TEST(SweepLocalTest, RunsFourPointsAndMergesThemByteIdentically) {
  fs::path dir = freshDir("sweep-local");
  ASSERT_TRUE(sweepInto(dir).ok());

  std::string csv = testing_support::readTestFile(dir / "sweep.csv");
  std::vector<std::string> rows = lines(csv);
  ASSERT_EQ(rows.size(), 5u) << csv;
  EXPECT_EQ(rows[0].rfind("point,earliest-start.weight.load,sched,policy,jobs,completed,", 0), 0u)
      << rows[0];
  EXPECT_EQ(rows[1].rfind("p0000,0,easy,earliest-start,150,", 0), 0u) << rows[1];
  EXPECT_EQ(rows[2].rfind("p0001,0,conservative,earliest-start,150,", 0), 0u) << rows[2];
  EXPECT_EQ(rows[3].rfind("p0002,1,easy,earliest-start,150,", 0), 0u) << rows[3];
  EXPECT_EQ(rows[4].rfind("p0003,1,conservative,earliest-start,150,", 0), 0u) << rows[4];
  // The load weight changes where jobs go, hence the waits.
  EXPECT_NE(rows[1].substr(rows[1].find(",150,")), rows[3].substr(rows[3].find(",150,")));

  std::string js = testing_support::readTestFile(dir / "sweep.json");
  json::value v = json::parse(js);
  const json::array& points = v.at("points").as_array();
  ASSERT_EQ(points.size(), 4u);
  EXPECT_EQ(points[3].at("id").as_string(), "p0003");
  EXPECT_EQ(points[3].at("params").at("sched").as_string(), "conservative");
  EXPECT_EQ(points[3].at("metrics").at("jobs").as_int64(), 150);
  EXPECT_TRUE(points[3].at("metrics").at("wait_mean_s").is_number());

  // Every point's own outputs, in its own directory.
  for (const char* id : {"p0000", "p0001", "p0002", "p0003"}) {
    for (const char* file : {"summary.csv", "summary.json", "report.html", "log.txt"}) {
      EXPECT_TRUE(fs::exists(dir / "points" / id / file)) << id << "/" << file;
    }
  }

  // Merging again, and a whole second sweep elsewhere, give the same bytes.
  Result<SweepManifest> m = loadManifest((dir / "manifest.json").string());
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(mergeSweep(*m, dir.string()).ok());
  EXPECT_EQ(testing_support::readTestFile(dir / "sweep.csv"), csv);
  EXPECT_EQ(testing_support::readTestFile(dir / "sweep.json"), js);
  fs::path again = freshDir("sweep-local-again");
  ASSERT_TRUE(sweepInto(again).ok());
  EXPECT_EQ(testing_support::readTestFile(again / "sweep.csv"), csv);
  EXPECT_EQ(testing_support::readTestFile(again / "sweep.json"), js);
  fs::remove_all(again);

  // Point p0003 is exactly a direct run with those options.
  RunArgs args = busyBase();
  args.sched = "conservative";
  Result<RunInputs> in = loadRunInputs(args);
  ASSERT_TRUE(in.ok());
  for (broker::PolicySpec& p : in->policies) {
    if (p.name == "earliest-start") p.weights.push_back({"load", 1});
  }
  Result<EngineOptions> o = engineOptionsFor(args, *in);
  ASSERT_TRUE(o.ok());
  Result<RunResult> run = runFederation(in->federation, in->workload, *o);
  ASSERT_TRUE(run.ok());
  fs::path direct = dir / "direct";
  ASSERT_TRUE(writeOutputs({computeMetrics(*run, in->federation)}, in->federation, direct.string(),
                           in->workload.source)
                  .ok());
  EXPECT_EQ(testing_support::readTestFile(direct / "summary.csv"),
            testing_support::readTestFile(dir / "points/p0003/summary.csv"));

  // A missing point is named, and nothing is merged over it.
  fs::remove(dir / "points/p0002/summary.csv");
  Status missing = mergeSweep(*m, dir.string());
  EXPECT_EQ(missing.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(missing.message(), "1 of 4 points have no summary.csv yet: p0002");
  fs::remove_all(dir);
}

TEST(SweepLocalTest, AFailingPointIsNamedAndNothingIsMerged) {
  fs::path dir = freshDir("sweep-local-fail");
  Result<SweepManifest> m = makeManifest(busyBase(), {{"seed", {"1", "2"}}});
  ASSERT_TRUE(m.ok());
  m->base.federation = (dir / "gone.toml").string();  // every point fails to load it
  ASSERT_TRUE(writeManifest(*m, (dir / "manifest.json").string()).ok());
  Status s = runLocal(*m, dir.string(), AIFED_SIM_BINARY, 2);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(s.message(),
            "2 points failed (see " + dir.string() + "/points/<id>/log.txt): p0000, p0001");
  EXPECT_FALSE(fs::exists(dir / "sweep.csv"));
  EXPECT_NE(testing_support::readTestFile(dir / "points/p0001/log.txt").find("gone.toml"),
            std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace aifed::sim
