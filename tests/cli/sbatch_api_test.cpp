// The sbatch/squeue/scancel-shaped commands against the real REST API and broker
// (tests/cli/cli_api_bench.h): a script with #SBATCH lines, --gres, an array with a
// throttle, a dependency across sites, --test-only against the decision then taken, and
// cancel with several ids or filters. Two sites: site-a has h100 nodes, site-b a100.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "tests/cli/cli_api_bench.h"

namespace aifed::cli {
namespace {
namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

class SbatchAgainstApi : public CliAgainstApi {
 protected:
  SbatchAgainstApi() { bringUp("site-b", 16); }

  std::string script(const std::string& name, const std::string& text) {
    std::ofstream(dir_.file(name)) << text;
    return dir_.file(name);
  }
  // Submits as admin; returns the new job's id (the CLI's answer as JSON).
  std::string submit(std::vector<std::string> args) {
    args.insert(args.begin(), {"--json", "submit"});
    Run r = aifed("admin", args);
    EXPECT_EQ(r.code, kExitOk) << r.err;
    if (r.code != kExitOk) return "";
    return std::string(json::parse(r.out).at("id").as_string());
  }
  json::value job(const std::string& id) {
    Run r = aifed("admin", {"--json", "job", id});
    EXPECT_EQ(r.code, kExitOk) << r.err;
    return r.code == kExitOk ? json::parse(r.out) : json::value();
  }
  // The site reports the job's attempt 1 running, then ended with `state`; then a tick.
  void finish(const std::string& site, const std::string& id, JobState state) {
    broker::Effects fx;
    Time t = svc_.now();
    size_t index = *svc_.broker().siteIndex(site);
    int seq = 0;
    for (JobState s : {JobState::kRunning, state}) {
      JobStatus st;
      st.job_id = id;
      st.local_id = "42";
      st.state = s;
      st.started_at = t;
      if (s != JobState::kRunning) {
        st.ended_at = t;
        if (s != JobState::kCancelled) st.exit_code = s == JobState::kCompleted ? 0 : 1;
      }
      st.seq = static_cast<uint64_t>(++seq);
      svc_.broker().onMessage(index, makeMessage(site, id + "-" + std::to_string(seq), t, st), t,
                              fx);
    }
    svc_.broker().tick(svc_.instant(), fx);  // releases or cancels its dependants
    svc_.broker().tick(svc_.instant(), fx);  // places the released ones
    ASSERT_TRUE(svc_.commit(fx, {}).ok());
  }
};

// ---- runs against the coordinator as it was before issue 14 -----------------------------

TEST_F(SbatchAgainstApi, ScriptWithDirectivesAndArguments) {
  std::string path = script("train.sh",
                            "#!/bin/bash\n"
                            "#SBATCH -N 2\n"
                            "#SBATCH --gres=gpu:H100:4 --time=0:30:00\n"
                            "#SBATCH -A p1 -J from-script --export=NONE,STAGE=1\n"
                            "srun python train.py \"$@\"\n");
  Run r = aifed("admin", {"submit", "-J", "from-flag", path, "--epochs", "3"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Submitted job j-1: dispatched at site-a")) << r.out;
  const broker::JobRecord* j = svc_.broker().findJob("j-1");
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(j->spec.nodes, 2);
  EXPECT_EQ(j->spec.gpus_per_node, 4);
  EXPECT_EQ(j->spec.gpu_type, "h100");
  EXPECT_EQ(j->spec.walltime, std::chrono::minutes(30));
  EXPECT_EQ(j->spec.project, "p1");
  EXPECT_EQ(j->spec.name, "from-flag") << "the command line overrides the script";
  EXPECT_EQ(j->spec.env.at("STAGE"), "1");
  EXPECT_THAT(j->spec.script, HasSubstr("set -- '--epochs' '3'"));

  // A refused directive: nothing is sent, the line is named.
  std::string bad = script("bad.sh", "#!/bin/bash\n#SBATCH -N 1\n#SBATCH --mail-type=ALL\nx\n");
  r = aifed("admin", {"submit", "-t", "10", bad});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("line 3: #SBATCH --mail-type=ALL: --mail-type is not supported"));
  EXPECT_EQ(svc_.broker().findJob("j-2"), nullptr);
}

TEST_F(SbatchAgainstApi, GresAndGpusPickTheSiteWithThatModel) {
  std::string a100 = submit({"--gres=gpu:A100:2", "-t", "10", "-A", "p1"});
  EXPECT_EQ(svc_.broker().findJob(a100)->site, "site-b");
  EXPECT_EQ(svc_.broker().findJob(a100)->spec.gpu_type, "a100");
  std::string h100 = submit({"-N", "2", "--gpus=h100:8", "-t", "10", "-A", "p1"});
  EXPECT_EQ(svc_.broker().findJob(h100)->site, "site-a");
  EXPECT_EQ(svc_.broker().findJob(h100)->spec.gpus_per_node, 4);
  // -p naming a federation model asks for it (the sites' accelerator_types say which).
  std::string by_p = submit({"-p", "A100", "--gpus-per-node", "1", "-t", "10", "-A", "p1"});
  EXPECT_EQ(svc_.broker().findJob(by_p)->spec.gpu_type, "a100");
  EXPECT_EQ(svc_.broker().findJob(by_p)->site, "site-b");
}

TEST_F(SbatchAgainstApi, JsonAnywhereAndIdsWithoutThePrefix) {
  std::string id = submit({"-t", "10", "-A", "p1", "--gpus-per-node", "4"});
  ASSERT_EQ(id, "j-1");
  Run r = aifed("admin", {"job", "1", "--json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(json::parse(r.out).at("id"), "j-1");
  r = aifed("admin", {"explain", "1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Job j-1"));
}

TEST_F(SbatchAgainstApi, CancelSeveralIdsAndFilters) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(submit({"-t", "10", "-A", "p1"}));
  submitFor("p1", "h100", "submitter");  // j-5: the submitter user's
  Run r = aifed("admin", {"cancel", "j-1", "2"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("j-1: "));
  EXPECT_THAT(r.out, HasSubstr("j-2: "));
  EXPECT_TRUE(svc_.broker().findJob("j-1")->cancel_requested ||
              svc_.broker().findJob("j-1")->state == JobState::kCancelled);

  // One bad id among good ones: the others are still cancelled, the exit code says so.
  r = aifed("admin", {"cancel", "3", "j-999"});
  EXPECT_EQ(r.code, kExitRefused) << r.err;
  EXPECT_THAT(r.out, HasSubstr("j-3: "));
  EXPECT_THAT(r.err, HasSubstr("aifed cancel j-999"));
  EXPECT_EQ(aifed("admin", {"cancel", "j-x"}).code, kExitUsage);
  EXPECT_EQ(aifed("admin", {"cancel"}).code, kExitUsage);
  EXPECT_EQ(aifed("admin", {"cancel", "4", "--me"}).code, kExitUsage) << "ids or filters";

  // --me: the admin user's remaining active job (j-4), not the submitter's (j-5).
  r = aifed("admin", {"cancel", "--me", "-t", "PD,R"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("j-4: "));
  EXPECT_THAT(r.out, Not(HasSubstr("j-5")));
  EXPECT_FALSE(svc_.broker().findJob("j-5")->cancel_requested);
  r = aifed("admin", {"cancel", "--user", "submitter"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("j-5: "));
}

// ---- need issue 14's server: arrays, dependencies and output names; the plan route and --
// ---- the list's new parameters (active, sort, me, user, state lists) for the last two ----

TEST_F(SbatchAgainstApi, OutputNamesReachTheSpec) {
  std::string id = submit({"-t", "10", "-A", "p1", "-o", "train-%j.out", "-e", "train-%j.err"});
  json::value j = job(id);
  EXPECT_EQ(j.at("spec").at("stdout"), "train-%j.out");
  EXPECT_EQ(j.at("spec").at("stderr"), "train-%j.err");
}

TEST_F(SbatchAgainstApi, ArrayWithThrottle) {
  Run r = aifed("admin", {"submit", "--array=0-5%2", "--gres=gpu:h100:4", "-t", "10", "-A", "p1",
                          "-J", "sweep"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Submitted array a-1: 6 tasks j-1 .. j-6, at most 2 running"));

  r = aifed("admin", {"jobs", "--array", "a-1", "--all", "--json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  json::value list = json::parse(r.out);
  EXPECT_EQ(list.at("total"), 6);
  int active = 0, throttled = 0;
  for (const json::value& j : list.at("jobs").as_array()) {
    std::string state(j.at("state").as_string());
    if (state == "queued") {
      EXPECT_THAT(std::string(j.at("reason").as_string()), HasSubstr("array a-1 throttled"));
      ++throttled;
    } else {
      ++active;
    }
    EXPECT_EQ(j.at("array_id"), "a-1");
  }
  EXPECT_EQ(active, 2) << "%2: at most two tasks dispatched at once, though 16 nodes are free";
  EXPECT_EQ(throttled, 4);

  r = aifed("viewer", {"array", "1"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("max running:"));
  EXPECT_THAT(r.out, HasSubstr("4 queued"));
  EXPECT_THAT(r.out, HasSubstr("2 site-a"));

  r = aifed("admin", {"cancel", "a-1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Cancelled array a-1: 6 tasks"));
  for (int i = 1; i <= 6; ++i) {
    const broker::JobRecord* t = svc_.broker().findJob("j-" + std::to_string(i));
    EXPECT_TRUE(t->state == JobState::kCancelled || t->cancel_requested) << t->id;
  }
}

TEST_F(SbatchAgainstApi, DependencyAcrossSites) {
  std::string first = submit({"--gres=gpu:a100:4", "-t", "10", "-A", "p1"});
  ASSERT_EQ(svc_.broker().findJob(first)->site, "site-b");
  std::string number = first.substr(2);  // without "j-", as sbatch users write it
  std::string then =
      submit({"--gres=gpu:h100:4", "-t", "10", "-A", "p1", "--dependency=afterok:" + number});
  std::string otherwise =
      submit({"--gres=gpu:h100:4", "-t", "10", "-A", "p1", "-d", "afternotok:" + first});
  json::value waiting = job(then);
  EXPECT_EQ(waiting.at("state"), "queued");
  EXPECT_THAT(std::string(waiting.at("reason").as_string()),
              HasSubstr("waiting for " + first + " to complete (afterok)"));
  Run r = aifed("admin", {"jobs", "-t", "PD", "--format", "%i %R"});
  EXPECT_THAT(r.out, HasSubstr("waiting for " + first));

  finish("site-b", first, JobState::kCompleted);
  EXPECT_EQ(svc_.broker().findJob(then)->site, "site-a") << "placed once its dependency ended ok";
  json::value never = job(otherwise);
  EXPECT_EQ(never.at("state"), "cancelled");
  EXPECT_THAT(std::string(never.at("reason").as_string()),
              HasSubstr("dependency never satisfied: " + first + " ended completed"));

  r = aifed("admin", {"submit", "-t", "10", "-A", "p1", "--dependency=afterok:999"});
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_THAT(r.err, HasSubstr("field: dependencies (set it with --dependency)"));
}

TEST_F(SbatchAgainstApi, TestOnlyAgreesWithTheDecisionTaken) {
  // Both sites fit a model-less 4-GPU job equally well: the tie-break decides.
  std::vector<std::string> spec = {"-N", "2", "--gpus-per-node", "4", "-t", "1:00:00", "-A", "p1"};
  std::vector<std::string> args = {"submit", "--test-only"};
  args.insert(args.end(), spec.begin(), spec.end());
  Run r = aifed("admin", args);
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("nothing was submitted"));
  EXPECT_THAT(r.out, HasSubstr("Tie-break:"));
  EXPECT_THAT(r.out, HasSubstr("SITE"));
  args.insert(args.begin(), "--json");
  // Each submission changes what is free; each plan must still be the decision then taken.
  for (int round = 1; round <= 3; ++round) {
    r = aifed("admin", args);
    ASSERT_EQ(r.code, kExitOk) << r.err;
    json::value plan = json::parse(r.out);
    EXPECT_EQ(plan.at("accepted"), true);
    EXPECT_EQ(plan.at("decision").at("sites").as_array().size(), 2u);
    std::string planned(plan.at("decision").at("site").as_string());
    std::string next = "j-" + std::to_string(round);
    EXPECT_EQ(svc_.broker().findJob(next), nullptr) << "--test-only creates nothing";
    std::string id = submit(spec);
    ASSERT_EQ(id, next) << "no id was used by the plan";
    EXPECT_EQ(svc_.broker().findJob(id)->site, planned) << "round " << round;
  }

  r = aifed("admin", {"submit", "--test-only", "-t", "10", "-A", "no-such-project"});
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_THAT(r.err, HasSubstr("would refuse the job"));
}

TEST_F(SbatchAgainstApi, JobsListsActiveNewestFirstWithUserAndElapsed) {
  for (int i = 0; i < 3; ++i) submit({"-t", "10", "-A", "p1", "-J", "n" + std::to_string(i)});
  submitFor("p1", "h100", "submitter");  // j-4
  ASSERT_EQ(aifed("admin", {"cancel", "j-2"}).code, kExitOk);
  finish(svc_.broker().findJob("j-2")->site, "j-2", JobState::kCancelled);  // the site confirms
  Run r = aifed("admin", {"jobs"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("USER"));
  EXPECT_THAT(r.out, HasSubstr("ELAPSED"));
  size_t j4 = r.out.find("j-4"), j3 = r.out.find("j-3"), j1 = r.out.find("j-1 ");
  EXPECT_TRUE(j4 < j3 && j3 < j1) << "newest first:\n" << r.out;
  EXPECT_THAT(r.out, Not(HasSubstr("j-2"))) << "cancelled: not active";
  EXPECT_THAT(aifed("admin", {"jobs", "--all"}).out, HasSubstr("j-2"));
  EXPECT_THAT(aifed("admin", {"jobs", "-t", "CA"}).out, HasSubstr("1 job shown of 1"));
  r = aifed("admin", {"jobs", "--me", "--format", "%i %u"});
  EXPECT_THAT(r.out, Not(HasSubstr("j-4")));
  EXPECT_THAT(r.out, HasSubstr("j-3 admin"));
  r = aifed("admin", {"jobs", "-u", "submitter", "--sort", "i", "--json"});
  EXPECT_EQ(json::parse(r.out).at("total"), 1);
}

}  // namespace
}  // namespace aifed::cli
