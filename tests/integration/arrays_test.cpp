// Arrays and dependencies on the real local demo federation: a coordinator and seven
// simulated agents as processes on loopback (cli::LocalFederation).
//  - A 1,000-task array with max_running 200: its tasks spread over every site, the
//    counts of GET /api/v1/arrays/{id} add up to 1,000 at every poll, no poll ever sees
//    more than 200 tasks at sites, and every task completes.
//  - Cross-site dependencies: B (afterok A) is pinned to another site than A and starts
//    only after A completed; afterok of a failed job ends cancelled with the contract's
//    reason, afternotok of it runs.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "cli/http_client.h"
#include "cli/local_federation.h"
#include "protocol/codec.h"
#include "tests/integration/local_federation_test.h"

namespace aifed::cli {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class ArraysIntegrationTest : public testing::LocalFederationTest {
 protected:
  void SetUp() override {
    LocalFederationOptions o;
    o.federation_file = std::string(AIFED_SOURCE_DIR) + "/config/federation-7.toml";
    o.speedup = 60;
    o.heartbeat_interval_ms = 500;
    o.log_level = "warn";
    ASSERT_NO_FATAL_FAILURE(prepareFederation("aifed-arrays", std::move(o)));
    ASSERT_NO_FATAL_FAILURE(startCoordinator());
    for (const std::string& site : fed_->sites()) ASSERT_TRUE(fed_->startAgent(site).ok()) << site;
    ASSERT_TRUE(waitFor([&] { return sitesUp() == fed_->sites().size(); }, 30s))
        << "not every site came up";
  }

  json::value call(const std::string& method, const std::string& target,
                   const std::string& body, int expect) {
    auto r = client_->request(method, target, body);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    if (!r.ok()) return nullptr;
    EXPECT_EQ(r->status, expect) << method << " " << target << ": " << r->body;
    return r->body.empty() ? json::value(nullptr) : json::parse(r->body);
  }
  json::value get(const std::string& target) { return call("GET", target, "", 200); }

  size_t sitesUp() {
    auto r = client_->request("GET", "/api/v1/sites", "");
    if (!r.ok() || r->status != 200) return 0;
    size_t up = 0;
    json::value sites = json::parse(r->body);
    for (const json::value& s : sites.at("sites").as_array()) {
      up += s.at("state") == "up";
    }
    return up;
  }

  bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return done();
  }

  static JobSpec task(const std::string& name, int runtime_s) {
    JobSpec spec;
    spec.name = name;
    spec.nodes = 1;
    spec.gpus_per_node = 4;
    spec.walltime = 3600s;
    spec.simulated_runtime = std::chrono::seconds(runtime_s);
    return spec;
  }

  std::string submit(const JobSpec& spec, json::object extra = {}) {
    json::object body = toJson(spec);
    for (auto& [k, v] : extra) body[k] = v;
    json::value job = call("POST", "/api/v1/jobs", json::serialize(body), 201);
    return job.is_object() && job.as_object().contains("id")
               ? std::string(job.at("id").as_string())
               : "";
  }

  std::string state(const std::string& id) {
    return std::string(get("/api/v1/jobs/" + id).at("state").as_string());
  }
};

TEST_F(ArraysIntegrationTest, AThousandTaskArraySpreadsOverEverySiteUnderItsThrottle) {
  constexpr int kTasks = 1000, kMaxRunning = 200;
  // Every site starts a one-node task at once, so under earliest-start (the default) the
  // tie goes to the first site in federation order; least-loaded shares the tasks out.
  call("PUT", "/api/v1/policy", R"({"name": "least-loaded", "reason": "spread the sweep"})", 200);
  json::object body = toJson(task("sweep", 30));  // 0.5 s at speedup 60
  body["array"] = {{"indices", "0-999"}, {"max_running", kMaxRunning}};
  auto started = std::chrono::steady_clock::now();
  json::value made = call("POST", "/api/v1/jobs", json::serialize(body), 201);
  ASSERT_TRUE(made.is_object());
  ASSERT_EQ(made.at("jobs").as_array().size(), size_t(kTasks));
  const std::string id(made.at("array").at("id").as_string());

  int polls = 0, most_active = 0;
  std::set<std::string> sites_used;
  bool done = waitFor(
      [&] {
        json::value a = get("/api/v1/arrays/" + id);
        if (!a.is_object()) return false;
        ++polls;
        int64_t total = 0, active = 0;
        for (const auto& [st, n] : a.at("counts").as_object()) {
          total += n.as_int64();
          if (st == "dispatched" || st == "pending" || st == "running") active += n.as_int64();
        }
        EXPECT_EQ(total, kTasks) << "poll " << polls << ": " << json::serialize(a);
        EXPECT_LE(active, kMaxRunning) << "poll " << polls << ": " << json::serialize(a);
        most_active = std::max<int>(most_active, static_cast<int>(active));
        for (const auto& [site, n] : a.at("sites").as_object()) {
          if (n.as_int64() > 0) sites_used.insert(std::string(site));
        }
        const json::value* completed = a.at("counts").as_object().if_contains("completed");
        return completed && completed->as_int64() == kTasks;
      },
      50s);
  double took_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(done) << json::serialize(get("/api/v1/arrays/" + id));
  std::cerr << "1000 tasks completed in " << took_s << " s over " << polls << " polls; at most "
            << most_active << " active at once; sites used: " << sites_used.size() << "\n";
  // Every site of the federation has room for a one-node task, and each got some.
  EXPECT_EQ(sites_used.size(), fed_->sites().size());
  EXPECT_GT(most_active, kMaxRunning / 2) << "the throttle, not the sites, should limit";
  json::value tasks = get("/api/v1/jobs?array=" + id + "&limit=10000");
  EXPECT_EQ(tasks.at("total"), kTasks);
  std::set<int64_t> indices;
  for (const json::value& t : tasks.at("jobs").as_array()) {
    indices.insert(t.at("array_index").as_int64());
    EXPECT_EQ(std::string(t.at("spec").at("env").at("AIFED_ARRAY_TASK_ID").as_string()),
              std::to_string(t.at("array_index").as_int64()));
  }
  EXPECT_EQ(indices.size(), size_t(kTasks));
}

TEST_F(ArraysIntegrationTest, ACrossSiteChainStartsOnlyAfterItsDependencyCompleted) {
  JobSpec a = task("step-a", 120);  // 2 s at speedup 60
  a.allowed_sites = {"mimer"};
  std::string first = submit(a);
  ASSERT_FALSE(first.empty());
  JobSpec b = task("step-b", 30);
  b.allowed_sites = {"lumi-aif"};
  b.dependencies = {{first, DependencyCondition::kAfterOk}};
  std::string second = submit(b);
  ASSERT_FALSE(second.empty());
  // While A has not completed, B waits at the coordinator, with its reason.
  ASSERT_TRUE(waitFor([&] { return state(first) == "running"; }, 20s)) << state(first);
  json::value waiting = get("/api/v1/jobs/" + second);
  EXPECT_EQ(waiting.at("state"), "queued");
  EXPECT_EQ(std::string(waiting.at("reason").as_string()),
            "waiting for " + first + " to complete (afterok)");
  ASSERT_TRUE(waitFor([&] { return state(second) == "completed"; }, 30s)) << state(second);
  json::value ja = get("/api/v1/jobs/" + first), jb = get("/api/v1/jobs/" + second);
  EXPECT_EQ(ja.at("state"), "completed");
  EXPECT_EQ(ja.at("site"), "mimer");
  EXPECT_EQ(jb.at("site"), "lumi-aif");
  EXPECT_GE(jb.at("dispatched_at").as_int64(), ja.at("ended_at").as_int64())
      << "B was sent to its site before A ended";
}

TEST_F(ArraysIntegrationTest, ADependencyThatCanNeverHoldEndsCancelled) {
  JobSpec failing = task("fails", 30);
  failing.allowed_sites = {"bsc-aif"};
  failing.simulated_exit_code = 3;
  std::string first = submit(failing);
  JobSpec ok_only = task("after-ok", 30);
  ok_only.allowed_sites = {"pharos"};
  ok_only.dependencies = {{first, DependencyCondition::kAfterOk}};
  std::string never = submit(ok_only);
  JobSpec not_ok = task("after-notok", 30);
  not_ok.dependencies = {{first, DependencyCondition::kAfterNotOk}};
  std::string cleanup = submit(not_ok);
  ASSERT_TRUE(waitFor([&] { return state(never) == "cancelled"; }, 30s)) << state(never);
  EXPECT_EQ(state(first), "failed");
  EXPECT_EQ(std::string(get("/api/v1/jobs/" + never).at("reason").as_string()),
            "dependency never satisfied: " + first + " ended failed");
  EXPECT_EQ(get("/api/v1/jobs/" + never).at("site"), "");
  ASSERT_TRUE(waitFor([&] { return state(cleanup) == "completed"; }, 30s)) << state(cleanup);
}

// Restart-safe: a coordinator killed while an array runs under its throttle and a job
// waits on another comes back with the array, its tasks and the held job; the throttle
// holds afterwards, every task completes, the held job runs after its dependency, and
// the next array gets a new id.
TEST_F(ArraysIntegrationTest, ArraysAndDependenciesSurviveACoordinatorKill) {
  json::object body = toJson(task("sweep", 60));  // 1 s at speedup 60
  body["array"] = {{"indices", "1-60"}, {"max_running", 10}};
  json::value made = call("POST", "/api/v1/jobs", json::serialize(body), 201);
  ASSERT_TRUE(made.is_object());
  const std::string id(made.at("array").at("id").as_string());
  JobSpec first = task("first", 360);  // 6 s: still running after the restart
  std::string a = submit(first);
  JobSpec second = task("second", 30);
  second.dependencies = {{a, DependencyCondition::kAfterAny}};
  std::string b = submit(second);
  ASSERT_TRUE(waitFor([&] { return state(a) == "running"; }, 20s));
  ASSERT_TRUE(fed_->stopCoordinator(9).ok());
  ASSERT_NO_FATAL_FAILURE(startCoordinator());
  EXPECT_EQ(state(b), "queued");
  EXPECT_EQ(std::string(get("/api/v1/jobs/" + b).at("reason").as_string()),
            "waiting for " + a + " to complete (afterany)");
  bool done = waitFor(
      [&] {
        json::value arr = get("/api/v1/arrays/" + id);
        if (!arr.is_object()) return false;
        int64_t total = 0, active = 0, completed = 0;
        for (const auto& [st, n] : arr.at("counts").as_object()) {
          total += n.as_int64();
          if (st == "dispatched" || st == "pending" || st == "running") active += n.as_int64();
          if (st == "completed") completed = n.as_int64();
        }
        EXPECT_EQ(total, 60);
        EXPECT_LE(active, 10);
        return completed == 60;
      },
      40s);
  EXPECT_TRUE(done) << json::serialize(get("/api/v1/arrays/" + id));
  ASSERT_TRUE(waitFor([&] { return state(b) == "completed"; }, 20s)) << state(b);
  EXPECT_GE(get("/api/v1/jobs/" + b).at("dispatched_at").as_int64(),
            get("/api/v1/jobs/" + a).at("ended_at").as_int64());
  body["array"] = {{"indices", "0"}};
  json::value next = call("POST", "/api/v1/jobs", json::serialize(body), 201);
  EXPECT_NE(next.at("array").at("id"), made.at("array").at("id"));
}

}  // namespace
}  // namespace aifed::cli
