// Reloading the federation file with the real daemons (docs/operations.md, "Reloading
// the federation file"): while site A runs jobs, a SIGHUP adds site B (its agent then
// connects and gets work), the admin API rotates A's key with an overlap (A's session
// and jobs untouched: no new session, no re-dispatch, its jobs complete), an invalid file
// is refused with the federation in force still working, removing a site that holds
// active jobs is refused naming them, and retiring A's old key refuses the connection
// still using it until the agent comes back with the new key.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/http_client.h"
#include "cli/local_federation.h"
#include "common/files.h"
#include "protocol/codec.h"
#include "protocol/transport/curve_keys.h"
#include "tests/integration/local_federation_test.h"

namespace aifed::cli {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// A site of tests/data/federation-3.toml with the keys given.
std::string siteToml(const std::string& id, const std::vector<std::string>& keys) {
  std::string list;
  for (const std::string& k : keys) list += (list.empty() ? "\"" : ", \"") + k + "\"";
  return "\n[[site]]\nid = \"" + id + "\"\ncountry = \"FI\"\ncurve_public_keys = [" + list +
         "]\n  [[site.partition]]\n  name = \"gpu\"\n  nodes = 16\n  accelerator = \"h100\"\n"
         "  accelerators_per_node = 4\n  cores_per_node = 64\n  memory_gib = 512\n";
}

class ReloadIntegrationTest : public testing::LocalFederationTest {
 protected:
  void SetUp() override {
    LocalFederationOptions o;
    o.federation_file = std::string(AIFED_SOURCE_DIR) + "/tests/data/federation-3.toml";
    o.speedup = 10;
    o.heartbeat_interval_ms = 200;
    o.retry_interval_ms = 300;
    ASSERT_NO_FATAL_FAILURE(prepareFederation("aifed-reload", std::move(o)));
    for (const char* site : {"site-a", "site-b"}) {
      auto pair = transport::readKeyPairFile(fed_->keysDir() + "/" + site + ".key");
      ASSERT_TRUE(pair.ok()) << pair.status().toString();
      keys_[site] = pair->public_key;
    }
    // The coordinator starts with site A alone.
    writeFederation({{"site-a", {keys_["site-a"]}}});
    ASSERT_NO_FATAL_FAILURE(startCoordinator());
  }

  std::string federationPath() const { return (state_ / "federation.toml").string(); }
  void writeFederation(const std::vector<std::pair<std::string, std::vector<std::string>>>& sites,
                       const std::string& name = "aifed test federation") {
    std::string text = "[federation]\nname = \"" + name + "\"\n";
    for (const auto& [id, keys] : sites) text += siteToml(id, keys);
    ASSERT_TRUE(common::writeFileAtomically(federationPath(), text).ok());
  }
  HttpResult reload() {
    auto r = client_->request("POST", "/api/v1/admin/reload", "");
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return r.ok() ? *r : HttpResult{};
  }
  json::value get(const std::string& target) {
    auto r = client_->request("GET", target, "");
    if (!r.ok() || r->status != 200) return nullptr;
    return json::parse(r->body);
  }
  std::string siteState(const std::string& site) {
    json::value v = get("/api/v1/sites/" + site);
    return v.is_object() ? json::value_to<std::string>(v.at("state")) : "";
  }
  bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return done();
  }
  std::string log(const std::string& name) {
    std::ifstream in(fed_->logPath(name));
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  size_t sessions(const std::string& site) {
    std::string text = log(site);
    size_t n = 0;
    for (size_t at = text.find("session established"); at != std::string::npos;
         at = text.find("session established", at + 1)) {
      ++n;
    }
    return n;
  }
  void startAgent(const std::string& site) {
    ASSERT_TRUE(fed_->startAgent(site).ok());
    ASSERT_TRUE(waitFor([&] { return siteState(site) == "up"; }, 20s)) << site << " not up";
  }
  // A job allowed only at `site`, running `seconds` real seconds (speedup 10).
  std::string submit(const std::string& site, int seconds) {
    JobSpec spec;
    spec.name = "reload-it";
    spec.project = "it";
    spec.nodes = 1;
    spec.gpus_per_node = 4;
    spec.walltime = std::chrono::hours(1);
    spec.simulated_runtime = std::chrono::seconds(seconds * 10);
    spec.allowed_sites = {site};
    auto r = client_->request("POST", "/api/v1/jobs", json::serialize(toJson(spec)));
    EXPECT_TRUE(r.ok() && r->status == 201) << (r.ok() ? r->body : r.status().toString());
    if (!r.ok() || r->status != 201) return "";
    return json::value_to<std::string>(json::parse(r->body).at("id"));
  }
  struct JobView {
    std::string state, site;
    int64_t attempt = 0;
  };
  JobView job(const std::string& id) {
    json::value v = get("/api/v1/jobs/" + id);
    if (!v.is_object()) return {};
    return {json::value_to<std::string>(v.at("state")), json::value_to<std::string>(v.at("site")),
            v.at("attempt").to_number<int64_t>()};
  }

  std::map<std::string, std::string> keys_;  // site -> public key
};

TEST_F(ReloadIntegrationTest, AddRotateRefuseWhileSiteARunsJobs) {
  ASSERT_NO_FATAL_FAILURE(startAgent("site-a"));
  std::vector<std::string> at_a = {submit("site-a", 20), submit("site-a", 20)};
  for (const std::string& id : at_a) {
    ASSERT_TRUE(waitFor([&] { return job(id).state == "running"; }, 15s)) << id;
  }
  size_t sessions_a = sessions("site-a");
  ASSERT_GE(sessions_a, 1u);

  // 1. SIGHUP adds site B; its agent connects and gets work.
  EXPECT_TRUE(get("/api/v1/sites/site-b").is_null());
  writeFederation({{"site-a", {keys_["site-a"]}}, {"site-b", {keys_["site-b"]}}});
  ASSERT_EQ(::kill(fed_->pid("coordinator"), SIGHUP), 0);
  ASSERT_TRUE(waitFor([&] { return get("/api/v1/sites/site-b").is_object(); }, 5s));
  ASSERT_NO_FATAL_FAILURE(startAgent("site-b"));
  size_t sessions_b = sessions("site-b");  // a fresh agent may say HELLO twice at once
  std::string at_b = submit("site-b", 1);
  EXPECT_TRUE(waitFor([&] { return job(at_b).state == "completed"; }, 15s)) << job(at_b).state;
  EXPECT_EQ(job(at_b).site, "site-b");

  // 2. The admin API rotates A's key with an overlap: old and new both accepted.
  auto fresh = transport::generateCurveKeyPair();
  ASSERT_TRUE(fresh.ok());
  writeFederation({{"site-a", {keys_["site-a"], fresh->public_key}},
                   {"site-b", {keys_["site-b"]}}});
  HttpResult r = reload();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body),
            json::parse(R"({"added":[],"removed":[],"rekeyed":["site-a"],"changed":[],"unchanged":1})"));

  // 3. An invalid file (B given A's key) is refused; the federation in force stays.
  writeFederation({{"site-a", {keys_["site-a"]}}, {"site-b", {keys_["site-a"]}}});
  r = reload();
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.body.find("federation.toml:"), std::string::npos) << r.body;  // file:line
  EXPECT_NE(r.body.find("a key may act for one site only"), std::string::npos) << r.body;
  std::string after_refusal = submit("site-b", 1);
  EXPECT_TRUE(waitFor([&] { return job(after_refusal).state == "completed"; }, 15s));

  // 4. Removing A while it runs jobs is refused, naming them.
  writeFederation({{"site-b", {keys_["site-b"]}}});
  r = reload();
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.body.find("failed_precondition"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(at_a[0]), std::string::npos) << r.body;
  EXPECT_EQ(siteState("site-a"), "up");

  // A's session and jobs were never touched: the same session, attempt 1, completed there.
  for (const std::string& id : at_a) {
    EXPECT_TRUE(waitFor([&] { return job(id).state == "completed"; }, 30s)) << job(id).state;
    EXPECT_EQ(job(id).attempt, 1);
    EXPECT_EQ(job(id).site, "site-a");
  }
  EXPECT_EQ(sessions("site-a"), sessions_a);  // no new session after any reload
  EXPECT_EQ(sessions("site-b"), sessions_b);

  // 5. The old key retired while A's agent still uses it: that connection is refused
  // (ERROR key_retired) until the agent comes back with the new key.
  writeFederation({{"site-a", {fresh->public_key}}, {"site-b", {keys_["site-b"]}}});
  r = reload();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("rekeyed":["site-a"])"), std::string::npos) << r.body;
  EXPECT_TRUE(waitFor([&] { return log("site-a").find("key_retired") != std::string::npos; }, 5s));
  EXPECT_TRUE(waitFor([&] { return siteState("site-a") != "up"; }, 5s)) << siteState("site-a");
  ASSERT_TRUE(fed_->stopAgent("site-a").ok());
  ASSERT_TRUE(transport::writeKeyPair(*fresh, fed_->keysDir(), "site-a", true).ok());
  ASSERT_NO_FATAL_FAILURE(startAgent("site-a"));  // up again, with the new key
  EXPECT_EQ(siteState("site-b"), "up");
  EXPECT_EQ(sessions("site-b"), sessions_b);

  // Each reload is audited, the SIGHUP's too.
  json::value audit = get("/api/v1/audit?action=federation-reloaded");
  ASSERT_TRUE(audit.is_object());
  const json::array& rows = audit.at("entries").as_array();
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(json::value_to<std::string>(rows.back().at("actor")), "SIGHUP");  // oldest last
  EXPECT_EQ(json::value_to<std::string>(rows.back().at("outcome")), "ok");
  EXPECT_EQ(json::value_to<std::string>(rows.front().at("outcome")), "ok");
  EXPECT_EQ(json::value_to<std::string>(rows.at(1).at("outcome")), "error");
}

}  // namespace
}  // namespace aifed::cli
