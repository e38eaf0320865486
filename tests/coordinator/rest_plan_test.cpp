// Issue 14 through the router: POST /api/v1/jobs/plan against the submission that follows
// it, the jobs list's order and filters, job ids without "j-", intake defaults and
// spellings, the cancel reason and tie_break in explain.
#include <gmock/gmock.h>

#include "cli/tables.h"
#include "tests/coordinator/rest_fixture.h"

namespace aifed::coordinator {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using testing_support::RestBench;

json::object gpuJob(int nodes, const std::string& gpu, const std::string& project = "p1") {
  return json::object{{"nodes", nodes},
                      {"gpus_per_node", 4},
                      {"gpu_type", gpu},
                      {"walltime_s", 3600},
                      {"project", project}};
}

class RestPlanTest : public RestBench {
 protected:
  // Plans then submits `spec` as `who` at once: the plan's site when it dispatches ("" when
  // it holds or waits) and the submitted job's site.
  std::pair<std::string, std::string> planThenSubmit(const json::object& spec,
                                                     const std::string& who = "admin") {
    std::string body = json::serialize(spec);
    json::value plan = call("POST", "/api/v1/jobs/plan", 200, body, who);
    EXPECT_EQ(plan.at("accepted"), true) << plan;
    const json::object& d = plan.at("decision").as_object();
    std::string planned = d.at("action") == "dispatch" ? std::string(d.at("site").as_string()) : "";
    json::value job = call("POST", "/api/v1/jobs", 201, body, who);
    return {planned, std::string(job.at("site").as_string())};
  }
  std::vector<std::string> ids(const json::value& list) {
    std::vector<std::string> out;
    for (const json::value& j : list.at("jobs").as_array())
      out.emplace_back(j.at("id").as_string());
    return out;
  }
};

// Several policies and specs: each submission right after its plan lands where the plan
// said, while the earlier jobs' reservations fill the sites.
TEST_F(RestPlanTest, SubmittingRightAfterAPlanTakesItsSite) {
  bringUp("site-a", 10);
  bringUp("site-b", 16);
  const std::vector<json::object> specs = {
      gpuJob(4, "h100"),   gpuJob(2, "a100", "p2"), gpuJob(6, "h100"), gpuJob(16, "a100"),
      gpuJob(1, "", "p2"), gpuJob(12, "h100"),      gpuJob(3, "a100"), gpuJob(8, ""),
  };
  int dispatched = 0, compared = 0;
  for (const char* policy : {"first-fit", "least-loaded", "earliest-start", "balanced"}) {
    call("PUT", "/api/v1/policy", 200, json::serialize(json::object{{"policy", policy}}));
    for (const json::object& spec : specs) {
      auto [planned, site] = planThenSubmit(spec);
      EXPECT_EQ(planned, site) << policy << ": " << json::serialize(spec);
      dispatched += !site.empty();
      ++compared;
    }
  }
  EXPECT_EQ(compared, 32);
  EXPECT_GE(dispatched, 8) << "the run must exercise dispatches, not only waits";
}

TEST_F(RestPlanTest, AnswersTheDecisionAndChangesNothing) {
  bringUp("site-a", 16);
  size_t audit_rows = svc_.audit.size();
  int64_t next = svc_.broker().nextJobSeq();
  json::value plan =
      call("POST", "/api/v1/jobs/plan", 200, json::serialize(gpuJob(2, "h100")), "submitter");
  EXPECT_EQ(plan.at("accepted"), true);
  EXPECT_FALSE(plan.as_object().contains("error"));
  EXPECT_EQ(plan.at("project"), "p1");
  EXPECT_EQ(plan.at("user"), "submitter");
  const json::object& d = plan.at("decision").as_object();
  EXPECT_EQ(d.at("action"), "dispatch");
  EXPECT_EQ(d.at("site"), "site-a");
  EXPECT_EQ(d.at("partition"), "gpu");
  EXPECT_EQ(d.at("tie_break"), "");
  EXPECT_THAT(std::string(d.at("reason").as_string()), HasSubstr("placed on site-a/gpu"));
  const json::array& sites = d.at("sites").as_array();
  ASSERT_EQ(sites.size(), 2u);
  EXPECT_EQ(sites[0].at("feasible"), true);
  EXPECT_EQ(sites[0].at("estimated_start_s").to_number<double>(), 0.0);
  EXPECT_TRUE(sites[0].at("scores").as_object().contains("estimated-start"));
  EXPECT_EQ(sites[1].at("feasible"), false);
  EXPECT_EQ(sites[1].at("rejected_by"), "site-state");
  // Nothing was created, reserved or audited.
  EXPECT_EQ(svc_.audit.size(), audit_rows);
  EXPECT_EQ(svc_.broker().nextJobSeq(), next);
  EXPECT_EQ(svc_.broker().reservedNodes("site-a"), 0);
  EXPECT_EQ(call("GET", "/api/v1/jobs", 200).at("total"), 0);
  // No site up for a100: it would wait.
  json::value wait = call("POST", "/api/v1/jobs/plan", 200, json::serialize(gpuJob(2, "a100")));
  EXPECT_EQ(wait.at("decision").at("action"), "wait");
  EXPECT_EQ(wait.at("decision").at("site"), "");
}

TEST_F(RestPlanTest, RefusalsAreWhatSubmitWouldAnswer) {
  // A job no site could ever run: accepted=false with submit's error.
  std::string bad = json::serialize(gpuJob(2, "mi300"));
  json::value plan = call("POST", "/api/v1/jobs/plan", 200, bad);
  EXPECT_EQ(plan.at("accepted"), false);
  EXPECT_EQ(plan.at("decision"), nullptr);
  json::value submit = call("POST", "/api/v1/jobs", 400, bad);
  EXPECT_EQ(plan.at("error"), submit.at("error"));
  EXPECT_EQ(plan.at("error").at("field"), "gpu_type");
  EXPECT_EQ(plan.at("project"), "p1");
  EXPECT_EQ(plan.at("user"), "admin");
  // Unknown project, broken body: the same.
  json::value unknown =
      call("POST", "/api/v1/jobs/plan", 200, json::serialize(gpuJob(1, "h100", "p9")));
  EXPECT_EQ(unknown.at("error").at("field"), "project");
  EXPECT_EQ(call("POST", "/api/v1/jobs/plan", 200, "{").at("accepted"), false);
  EXPECT_EQ(call("POST", "/api/v1/jobs/plan", 200, R"({"nodes": 0, "walltime_s": 60})")
                .at("error")
                .at("field"),
            "nodes");
  // Who may not submit may not plan: refused as a submission would be.
  std::string ok = json::serialize(gpuJob(1, "h100"));
  call("POST", "/api/v1/jobs/plan", 403, ok, "viewer");
  call("POST", "/api/v1/jobs/plan", 403, ok, "operator");
  call("POST", "/api/v1/jobs/plan", 403, ok, "submitter2");  // p1 is outside its scope
  json::object other = gpuJob(1, "h100");
  other["user"] = "someone-else";
  call("POST", "/api/v1/jobs/plan", 403, json::serialize(other), "submitter");
  call("POST", "/api/v1/jobs/plan", 401, ok, "");
  // A plan is not a job: GET on its path is a job lookup that finds nothing.
  call("GET", "/api/v1/jobs/plan", 404);
}

TEST_F(RestPlanTest, IntakeDefaultsAndSpellings) {
  bringUp("site-a", 16);
  // A token scoped to one project submits for it when the body names none.
  json::object spec = gpuJob(1, "H100");
  spec.erase("project");
  spec["allowed_countries"] = json::array{"fi"};
  json::value plan = call("POST", "/api/v1/jobs/plan", 200, json::serialize(spec), "submitter");
  EXPECT_EQ(plan.at("project"), "p1");
  json::value job = call("POST", "/api/v1/jobs", 201, json::serialize(spec), "submitter");
  EXPECT_EQ(job.at("spec").at("project"), "p1");
  EXPECT_EQ(job.at("spec").at("gpu_type"), "h100");
  EXPECT_EQ(job.at("spec").at("allowed_countries"), (json::array{"FI"}));
  EXPECT_EQ(job.at("site"), "site-a");
  // The admin's token names no project: the job has none.
  json::value admins = call("POST", "/api/v1/jobs", 201, json::serialize(spec));
  EXPECT_EQ(admins.at("spec").at("project"), "");
}

TEST_F(RestPlanTest, RefusalsNameTheirCause) {
  // Every site is in FI: a job allowed only in DE has nowhere to go.
  json::object spec = gpuJob(1, "h100");
  spec["allowed_countries"] = json::array{"de", "fi"};
  call("POST", "/api/v1/jobs", 201, json::serialize(spec));
  spec["allowed_countries"] = json::array{"SE"};
  json::value none = call("POST", "/api/v1/jobs", 400, json::serialize(spec));
  EXPECT_EQ(none.at("error").at("field"), "allowed_countries");
  spec["allowed_countries"] = json::array{};
  spec["nodes"] = 17;
  json::value big = call("POST", "/api/v1/jobs", 400, json::serialize(spec));
  EXPECT_EQ(big.at("error").at("field"), "nodes");
  EXPECT_EQ(big.at("error").at("message"),
            "the job needs 17 nodes; the largest partition it may use has 16 (site-a/gpu)");
}

TEST_F(RestPlanTest, JobIdsWithOrWithoutPrefixAndTheCancelReason) {
  bringUp("site-a", 16);
  std::string id = submitFor("p1", "h100", "submitter");
  ASSERT_EQ(id, "j-1");
  EXPECT_EQ(call("GET", "/api/v1/jobs/1", 200).at("id"), "j-1");
  EXPECT_EQ(call("GET", "/api/v1/jobs/1/explain", 200).at("job_id"), "j-1");
  call("GET", "/api/v1/jobs/2", 404);
  json::value cancelled = call("POST", "/api/v1/jobs/1/cancel", 200, "", "submitter");
  EXPECT_EQ(cancelled.at("id"), "j-1");
  EXPECT_EQ(cancelled.at("reason"), "cancelled by submitter");
  EXPECT_EQ(svc_.audit.back().target, "j-1");
  EXPECT_EQ(svc_.audit.back().outcome, "ok");
  // A queued job cancelled by the admin.
  std::string queued = submitFor("p1", "a100");
  json::value q = call("POST", "/api/v1/jobs/" + queued.substr(2) + "/cancel", 200);
  EXPECT_EQ(q.at("state"), "cancelled");
  EXPECT_EQ(q.at("reason"), "cancelled by admin");
}

TEST_F(RestPlanTest, ExplainShowsTheTieBreak) {
  bringUp("site-a", 16);
  bringUp("site-b", 16);
  // Any accelerator: both sites start it now with 16 free nodes; federation order decides.
  json::value job = call("POST", "/api/v1/jobs", 201, json::serialize(gpuJob(1, "")));
  EXPECT_EQ(job.at("site"), "site-a");
  EXPECT_EQ(job.at("placement").at("tie_break"), "federation order");
  json::value explain = call("GET", "/api/v1/jobs/j-1/explain", 200);
  EXPECT_EQ(explain.at("decision").at("tie_break"), "federation order");
  // `aifed explain` says so; a decision without a tie says nothing of it.
  EXPECT_THAT(cli::renderExplain(explain), HasSubstr("Tie broken by federation order\n"));
  call("POST", "/api/v1/jobs", 201, json::serialize(gpuJob(1, "a100")));
  std::string alone = cli::renderExplain(call("GET", "/api/v1/jobs/j-2/explain", 200));
  EXPECT_THAT(alone, HasSubstr("placed on site-b"));
  EXPECT_THAT(alone, ::testing::Not(HasSubstr("Tie broken")));
}

TEST_F(RestPlanTest, ListsNewestFirstWithSortsAndFilters) {
  bringUp("site-a", 16);
  std::vector<std::string> made;
  for (int i = 0; i < 5; ++i) {
    made.push_back(
        submitFor(i % 2 ? "p2" : "p1", i < 3 ? "h100" : "a100", i == 4 ? "submitter" : ""));
    svc_.clock.advance(std::chrono::seconds(1));
  }
  // j-1..j-3 run at site-a, j-4 (admin) and j-5 (submitter) wait for a100.
  EXPECT_EQ(ids(call("GET", "/api/v1/jobs", 200)),
            (std::vector<std::string>{"j-5", "j-4", "j-3", "j-2", "j-1"}));
  EXPECT_EQ(ids(call("GET", "/api/v1/jobs?sort=submitted", 200)),
            (std::vector<std::string>{"j-1", "j-2", "j-3", "j-4", "j-5"}));
  EXPECT_EQ(ids(call("GET", "/api/v1/jobs?sort=-id&limit=2&offset=1", 200)),
            (std::vector<std::string>{"j-4", "j-3"}));
  // Equal keys keep id order in the sort's direction.
  EXPECT_EQ(ids(call("GET", "/api/v1/jobs?sort=project", 200)),
            (std::vector<std::string>{"j-1", "j-3", "j-5", "j-2", "j-4"}));
  EXPECT_EQ(ids(call("GET", "/api/v1/jobs?sort=-site", 200)),
            (std::vector<std::string>{"j-3", "j-2", "j-1", "j-5", "j-4"}));
  EXPECT_EQ(ids(call("GET", "/api/v1/jobs?sort=state", 200)),
            (std::vector<std::string>{"j-4", "j-5", "j-1", "j-2", "j-3"}));
  EXPECT_EQ(ids(call("GET", "/api/v1/jobs?user=submitter", 200)),
            (std::vector<std::string>{"j-5"}));
  EXPECT_EQ(ids(call("GET", "/api/v1/jobs?me=true", 200, "", "submitter")),
            (std::vector<std::string>{"j-5"}));
  EXPECT_EQ(call("GET", "/api/v1/jobs?me=true", 200).at("total"), 4);  // the admin's own
  EXPECT_EQ(ids(call("GET", "/api/v1/jobs?state=queued,dispatched&sort=id", 200)),
            (std::vector<std::string>{"j-1", "j-2", "j-3", "j-4", "j-5"}));
  call("POST", "/api/v1/jobs/j-4/cancel", 200);
  EXPECT_EQ(ids(call("GET", "/api/v1/jobs?active=true", 200)),
            (std::vector<std::string>{"j-5", "j-3", "j-2", "j-1"}));
  EXPECT_EQ(ids(call("GET", "/api/v1/jobs?state=cancelled", 200)),
            (std::vector<std::string>{"j-4"}));
  for (const char* bad : {"sort=name", "sort=-", "active=yes", "me=2", "state=queued,sleeping"}) {
    json::value e = call("GET", std::string("/api/v1/jobs?") + bad, 400);
    EXPECT_FALSE(std::string(e.at("error").at("field").as_string()).empty()) << bad;
  }
}

TEST_F(RestPlanTest, ElapsedSecondsAndSortByElapsed) {
  bringUp("site-a", 16);
  std::string first = submitFor("p1");
  std::string second = submitFor("p1");
  Time t0 = svc_.now();
  auto report = [&](const std::string& id, JobState state, std::optional<Time> ended) {
    JobStatus st;
    st.job_id = id;
    st.attempt = 1;
    st.state = state;
    st.local_id = "1" + id;
    st.started_at = t0;
    st.ended_at = ended;
    if (ended) st.exit_code = 0;
    broker::Effects fx;
    svc_.broker().onMessage(*svc_.broker().siteIndex("site-a"),
                            makeMessage("site-a", "s-" + id, svc_.now(), st), svc_.now(), fx);
  };
  report(first, JobState::kRunning, std::nullopt);
  report(second, JobState::kCompleted, t0 + std::chrono::seconds(30));
  svc_.clock.advance(std::chrono::seconds(90));
  json::value list = call("GET", "/api/v1/jobs?sort=-elapsed", 200);
  ASSERT_EQ(ids(list), (std::vector<std::string>{first, second}));
  EXPECT_EQ(list.at("jobs").at(0).at("elapsed_s").to_number<double>(), 90.0);
  EXPECT_EQ(list.at("jobs").at(1).at("elapsed_s").to_number<double>(), 30.0);
  std::string queued = submitFor("p1", "a100");
  EXPECT_EQ(call("GET", "/api/v1/jobs/" + queued, 200).at("elapsed_s").to_number<double>(), 0.0);
}

}  // namespace
}  // namespace aifed::coordinator
