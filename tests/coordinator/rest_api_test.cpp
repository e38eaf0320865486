// The placement routes of the REST API (explain, policy) through the router, against a
// real broker behind a fake JobService: no sockets, no database.
#include "coordinator/rest_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace aifed::coordinator {
namespace {
namespace json = boost::json;
using ::testing::HasSubstr;

Federation twoSites() {
  Federation f;
  f.name = "test";
  for (auto [id, acc] : {std::pair{"site-a", "h100"}, std::pair{"site-b", "a100"}}) {
    SiteConfig s;
    s.id = id;
    s.name = id;
    s.country = "FI";
    s.partitions.push_back(PartitionConfig{"gpu", 16, NodeType{acc, 4, 64, 512}});
    f.sites.push_back(s);
  }
  return f;
}

class FakeService final : public JobService {
 public:
  FakeService() : broker_(twoSites(), broker::BrokerConfig{}) {}
  // --- JobService ---
  broker::Broker& broker() override { return broker_; }
  Time now() const override { return now_; }
  Status commit(broker::Effects& fx) override {
    for (const broker::PolicyChange& c : fx.policy_changes) committed_changes.push_back(c);
    fx.clear();
    return Status::Ok();
  }
  json::object transportStats() const override { return {}; }

  std::vector<broker::PolicyChange> committed_changes;
  Time now_ = fromMillis(1'800'000'000'000);

 private:
  broker::Broker broker_;
};

class RestPlacementTest : public ::testing::Test {
 protected:
  RestPlacementTest() { addRestRoutes(router_, svc_); }

  json::value call(const std::string& method, const std::string& path, int status,
                   const std::string& body = "") {
    api::HttpRequest r;
    r.method = method;
    r.target = path;
    r.path = path;
    r.body = body;
    r.remote_address = "10.0.0.1:5000";
    api::HttpResponse resp = router_.route(r);
    EXPECT_EQ(resp.status, status) << resp.body;
    return json::parse(resp.body);
  }

  void bringUp(const std::string& site, int idle) {
    broker::Effects fx;
    Time t = svc_.now_;
    svc_.broker().onMessage(site, makeMessage(site, "h", t, Hello{"t", "simulated", {}}), t, fx);
    Capacity c;
    c.capacity.epoch = 1;
    PartitionCapacity p;
    p.name = "gpu";
    p.node_type = svc_.broker().federation().findSite(site)->partitions[0].node_type;
    p.nodes_total = 16;
    p.nodes_idle = idle;
    c.capacity.partitions = {p};
    svc_.broker().onMessage(site, makeMessage(site, "c", t, c), t, fx);
  }

  FakeService svc_;
  api::Router router_;
};

TEST_F(RestPlacementTest, MalformedJsonBodiesAreRefusedWithTheParseError) {
  for (std::string path : {"/api/v1/jobs", "/api/v1/policy"}) {
    std::string method = path == "/api/v1/jobs" ? "POST" : "PUT";
    json::value e = call(method, path, 400, R"({"nodes": 1,)");
    EXPECT_EQ(e.at("error").at("code").as_string(), "invalid_argument") << path;
    std::string message(e.at("error").at("message").as_string());
    EXPECT_NE(message.find("request body is not valid JSON"), std::string::npos) << message;
  }
}

TEST_F(RestPlacementTest, ExplainShowsWhyHereWithEverySite) {
  bringUp("site-a", 16);
  bringUp("site-b", 16);
  json::value job = call("POST", "/api/v1/jobs", 201,
                         R"({"nodes": 2, "gpus_per_node": 4, "gpu_type": "h100",
                             "walltime_s": 3600})");
  std::string id(job.at("id").as_string());
  json::value e = call("GET", "/api/v1/jobs/" + id + "/explain", 200);
  EXPECT_EQ(e.at("question"), "why-here");
  const json::value& d = e.at("decision");
  EXPECT_EQ(d.at("policy"), "earliest-start");
  EXPECT_EQ(d.at("policy_version"), 1);
  EXPECT_EQ(d.at("chosen_site"), "site-a");
  const json::array& sites = d.at("sites").as_array();
  ASSERT_EQ(sites.size(), 2u);
  EXPECT_EQ(sites[0].at("verdict"), "chosen");
  EXPECT_EQ(sites[0].at("total").to_number<double>(), 100);
  EXPECT_EQ(sites[0].at("scores").as_array()[0].at("plugin"), "estimated-start");
  EXPECT_EQ(sites[0].at("scores").as_array()[0].at("unit"), "s");
  EXPECT_EQ(sites[1].at("verdict"), "rejected");
  EXPECT_EQ(sites[1].at("rejected_by"), "accelerator");
  EXPECT_THAT(std::string(sites[1].at("reason").as_string()), HasSubstr("offers a100"));
  call("GET", "/api/v1/jobs/j-99/explain", 404);
}

TEST_F(RestPlacementTest, ExplainShowsWhyNotYetForAWaitingJob) {
  json::value job = call("POST", "/api/v1/jobs", 201, R"({"nodes": 1, "walltime_s": 60})");
  json::value e =
      call("GET", "/api/v1/jobs/" + std::string(job.at("id").as_string()) + "/explain", 200);
  EXPECT_EQ(e.at("question"), "why-not-yet");
  for (const json::value& s : e.at("decision").at("sites").as_array()) {
    EXPECT_EQ(s.at("rejected_by"), "site-state");
  }
}

TEST_F(RestPlacementTest, PolicySwitchIsRecordedAndListed) {
  json::value before = call("GET", "/api/v1/policy", 200);
  EXPECT_EQ(before.at("active").at("name"), "earliest-start");
  EXPECT_EQ(before.at("policies").as_array().size(), 6u);

  json::value bad = call("PUT", "/api/v1/policy", 400, R"({"policy": "fastest"})");
  EXPECT_EQ(bad.at("error").at("field"), "policy");
  call("PUT", "/api/v1/policy", 400, "not json");

  json::value ok = call("PUT", "/api/v1/policy", 200, R"({"policy": "green", "reason": "wind"})");
  EXPECT_EQ(ok.at("active").at("name"), "green");
  EXPECT_EQ(ok.at("changed"), true);
  ASSERT_EQ(svc_.committed_changes.size(), 1u);
  EXPECT_EQ(svc_.committed_changes[0].actor, "10.0.0.1:5000");
  EXPECT_EQ(svc_.committed_changes[0].reason, "wind");

  json::value same = call("PUT", "/api/v1/policy", 200, R"({"policy": "green"})");
  EXPECT_EQ(same.at("changed"), false);
  json::value after = call("GET", "/api/v1/policy", 200);
  ASSERT_EQ(after.at("history").as_array().size(), 1u);
  EXPECT_EQ(after.at("history").as_array()[0].at("to"), "green");
}

}  // namespace
}  // namespace aifed::coordinator
