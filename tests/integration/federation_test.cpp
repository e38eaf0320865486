// The real daemons as processes on loopback: a coordinator and three agents with
// simulated backends, ports chosen at run time, CURVE on. The test talks to them the
// way users and agents do: REST for jobs, ZeroMQ for the wire protocol.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "cli/http_client.h"
#include "cli/local_federation.h"
#include "protocol/codec.h"
#include "protocol/messages.h"
#include "protocol/transport/curve_keys.h"
#include "protocol/transport/zmq_socket.h"
#include "tests/integration/local_federation_test.h"

namespace aifed::cli {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string sourcePath(const std::string& rel) {
  return std::string(AIFED_SOURCE_DIR) + "/" + rel;
}

class FederationTest : public testing::LocalFederationTest {
 protected:
  void SetUp() override {
    LocalFederationOptions o;
    o.federation_file = sourcePath("tests/data/federation-3.toml");
    o.speedup = 10;
    o.heartbeat_interval_ms = 200;  // suspect after 0.6 s, unreachable after 1.2 s
    o.retry_interval_ms = 500;
    o.log_level = "debug";
    ASSERT_NO_FATAL_FAILURE(prepareFederation("aifed-it", std::move(o)));
    ASSERT_NO_FATAL_FAILURE(startCoordinator());
  }

  json::value get(const std::string& target) {
    auto r = client_->request("GET", target, "");
    EXPECT_TRUE(r.ok()) << r.status().toString();
    if (!r.ok()) return nullptr;
    EXPECT_EQ(r->status, 200) << target << ": " << r->body;
    return json::parse(r->body);
  }
  HttpResult post(const std::string& target, const std::string& body) {
    auto r = client_->request("POST", target, body);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return r.ok() ? *r : HttpResult{};
  }
  std::map<std::string, std::string> siteStates() {
    std::map<std::string, std::string> out;
    json::value v = get("/api/v1/sites");
    if (!v.is_object()) return out;
    for (const auto& s : v.at("sites").as_array()) {
      out[json::value_to<std::string>(s.at("id"))] = json::value_to<std::string>(s.at("state"));
    }
    return out;
  }
  // Polls `done` every 50 ms until it holds or `limit` passes.
  bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return done();
  }
  void startAgents(const std::vector<std::string>& sites) {
    for (const auto& s : sites) ASSERT_TRUE(fed_->startAgent(s).ok());
    ASSERT_TRUE(waitFor(
        [&] {
          auto st = siteStates();
          for (const auto& s : sites) {
            if (st[s] != "up") return false;
          }
          return true;
        },
        20s))
        << "sites did not come up";
  }
  JobSpec shortJob(int i) {
    JobSpec spec;
    spec.name = "it-" + std::to_string(i);
    spec.project = "it";
    spec.nodes = 1 + i % 2;
    spec.gpus_per_node = 4;
    spec.walltime = 60s;
    spec.simulated_runtime = Duration(2000 + (i % 7) * 1000);  // 0.2-0.8 s at speedup 10
    return spec;
  }
  std::string submit(const JobSpec& spec) {
    HttpResult r = post("/api/v1/jobs", json::serialize(toJson(spec)));
    EXPECT_EQ(r.status, 201) << r.body;
    if (r.status != 201) return "";
    return json::value_to<std::string>(json::parse(r.body).at("id"));
  }
  std::map<std::string, int64_t> jobCounts() {
    std::map<std::string, int64_t> out;
    json::value f = get("/api/v1/federation");
    if (!f.is_object()) return out;
    for (const auto& [k, v] : f.at("jobs").as_object()) out[k] = v.to_number<int64_t>();
    return out;
  }
  json::array allJobs() {
    json::value v = get("/api/v1/jobs?limit=10000");
    return v.is_object() ? v.at("jobs").as_array() : json::array{};
  }
  transport::CurveKeyPair siteKeys(const std::string& site) {
    auto kp = transport::readKeyPairFile(fed_->keysDir() + "/" + site + ".key");
    EXPECT_TRUE(kp.ok());
    return *kp;
  }
  std::string coordinatorPublicKey() {
    auto kp = transport::readKeyPairFile(fed_->keysDir() + "/coordinator.pub");
    EXPECT_TRUE(kp.ok());
    return kp->public_key;
  }
};

TEST_F(FederationTest, TwoHundredJobsCompleteExactlyOnceThenALostSiteGetsNoNewJobs) {
  startAgents({"site-a", "site-b", "site-c"});
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) ids.insert(submit(shortJob(i)));
  ASSERT_EQ(ids.size(), 200u);
  ASSERT_TRUE(waitFor([&] { return jobCounts()["completed"] == 200; }, 120s))
      << json::serialize(get("/api/v1/federation"));

  std::map<std::string, int> per_site;
  for (const auto& v : allJobs()) {
    const json::object& j = v.as_object();
    std::string id = json::value_to<std::string>(j.at("id"));
    EXPECT_TRUE(ids.count(id)) << id;
    EXPECT_EQ(j.at("state").as_string(), "completed") << id;
    EXPECT_EQ(j.at("attempt").as_int64(), 1) << id << " ran more than once";
    EXPECT_EQ(j.at("exit_code").as_int64(), 0) << id;
    per_site[json::value_to<std::string>(j.at("site"))]++;
  }
  // Every site took work, and the sites accepted exactly the 200 dispatches.
  int64_t placed = 0;
  json::value sites = get("/api/v1/sites");  // keep it alive for the loop
  for (const auto& s : sites.at("sites").as_array()) {
    placed += s.at("jobs_placed").as_int64();
    EXPECT_GT(per_site[json::value_to<std::string>(s.at("id"))], 0);
  }
  EXPECT_EQ(placed, 200);

  // Kill one agent outright: its site turns unreachable and gets nothing new.
  ASSERT_TRUE(fed_->stopAgent("site-b", SIGKILL).ok());
  ASSERT_TRUE(waitFor([&] { return siteStates()["site-b"] == "unreachable"; }, 10s))
      << siteStates()["site-b"];
  std::set<std::string> later;
  for (int i = 0; i < 30; ++i) later.insert(submit(shortJob(i)));
  ASSERT_TRUE(waitFor([&] { return jobCounts()["completed"] == 230; }, 60s));
  for (const auto& v : allJobs()) {
    const json::object& j = v.as_object();
    if (later.count(json::value_to<std::string>(j.at("id")))) {
      EXPECT_NE(j.at("site").as_string(), "site-b");
    }
  }
  EXPECT_EQ(jobCounts()["lost"], 0);
}

TEST_F(FederationTest, InvalidJobSpecsAreRefusedNamingTheField) {
  struct Case {
    std::string body;
    std::string field;
  } cases[] = {
      {R"({"nodes":-2,"walltime_s":60})", "nodes"},
      {R"({"nodes":1,"walltime_s":0})", "walltime_s"},
      {R"({"nodes":1,"gpus_per_node":4,"gpu_type":"h900","walltime_s":60})", "gpu_type"},
      {R"({"nodes":1})", "walltime_s"},
  };
  for (const Case& c : cases) {
    HttpResult r = post("/api/v1/jobs", c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    json::value v = json::parse(r.body);
    EXPECT_EQ(v.at("error").at("field").as_string(), c.field) << r.body;
    EXPECT_FALSE(v.at("error").at("message").as_string().empty());
  }
  HttpResult unknown_type = post("/api/v1/jobs", cases[2].body);
  EXPECT_NE(unknown_type.body.find("h100"), std::string::npos)
      << "the error should list the accelerator types the federation offers: " << unknown_type.body;
  HttpResult malformed = post("/api/v1/jobs", "{\"nodes\":");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(jobCounts()["queued"], 0);
  EXPECT_EQ(get("/api/v1/jobs").at("total").as_int64(), 0);
}

// A client written from docs/protocol.md alone: JSON by hand, no aifed codec.
class RawAgent {
 public:
  RawAgent(zmq::context_t& ctx, const std::string& site, const transport::CurveKeyPair& keys,
           const std::string& server_key, const std::string& endpoint)
      : socket_(ctx, site, keys, server_key) {
    EXPECT_TRUE(socket_.connect(endpoint).ok());
  }
  bool send(const std::string& frame, std::chrono::milliseconds limit = 5s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (socket_.send(frame).ok()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  std::optional<json::object> receive(std::chrono::milliseconds limit = 5s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto in = socket_.tryReceive()) return json::parse(in->payload).as_object();
      std::this_thread::sleep_for(5ms);
    }
    return std::nullopt;
  }
  transport::DealerSocket& socket() { return socket_; }

 private:
  transport::DealerSocket socket_;
};

std::string envelope(const std::string& type, const std::string& site, const std::string& id,
                     const std::string& body, const std::string& v = "1.0") {
  return R"({"v":")" + v + R"(","type":")" + type + R"(","msg_id":")" + id + R"(","site":")" +
         site + R"(","sent_at":1732500000000,"body":)" + body + "}";
}

TEST_F(FederationTest, ClientWrittenFromTheSpecRegistersAndReportsCapacity) {
  zmq::context_t ctx;
  RawAgent agent(ctx, "site-c", siteKeys("site-c"), coordinatorPublicKey(), fed_->zmqEndpoint());
  ASSERT_TRUE(agent.send(envelope(
      "HELLO", "site-c", "raw-1",
      R"({"agent_version":"raw-0.1","backend":"simulated","jobs":[],"future_field":{"x":1}})")));
  auto welcome = agent.receive();
  ASSERT_TRUE(welcome.has_value());
  EXPECT_EQ(welcome->at("type").as_string(), "WELCOME");
  EXPECT_EQ(welcome->at("site").as_string(), "site-c");
  EXPECT_EQ(welcome->at("body").at("protocol_version").as_string(), "1.0");
  EXPECT_EQ(welcome->at("body").at("heartbeat_interval_ms").as_int64(), 200);

  ASSERT_TRUE(
      agent.send(envelope("CAPACITY", "site-c", "raw-2", R"({"capacity":{"epoch":1,"partitions":[
      {"name":"booster","node_type":{"accelerator":"a100","accelerators_per_node":4,"cores":32,
       "memory_gib":256},"nodes_total":16,"nodes_idle":12,"nodes_allocated":3,"nodes_down":1,
       "nodes_draining":0,"pending_jobs":0,"pending_node_hours":0,"running_jobs":3}]},
       "degraded":false})")));
  ASSERT_TRUE(waitFor(
      [&] {
        json::value v = get("/api/v1/sites");
        if (!v.is_object()) return false;
        for (const auto& s : v.at("sites").as_array()) {
          if (s.at("id").as_string() == "site-c") {
            return s.at("state").as_string() == "up" && s.at("nodes_idle").as_int64() == 12 &&
                   s.at("accelerators_total").as_int64() == 64;
          }
        }
        return false;
      },
      5s));

  // Bad input gets an ERROR naming what is wrong, and the connection stays up.
  ASSERT_TRUE(agent.send("{this is not json"));
  auto e1 = agent.receive();
  ASSERT_TRUE(e1.has_value());
  EXPECT_EQ(e1->at("type").as_string(), "ERROR");
  EXPECT_EQ(e1->at("body").at("code").as_string(), "bad_message");

  ASSERT_TRUE(agent.send(envelope("HEARTBEAT", "site-c", "raw-3", "{}", "2.0")));
  auto e2 = agent.receive();
  ASSERT_TRUE(e2.has_value());
  EXPECT_EQ(e2->at("body").at("code").as_string(), "version_mismatch");
  std::string msg = json::value_to<std::string>(e2->at("body").at("message"));
  EXPECT_NE(msg.find("2.0"), std::string::npos) << msg;
  const std::string ours =
      std::to_string(kProtocolMajor) + "." + std::to_string(kProtocolMinor);
  EXPECT_NE(msg.find(ours), std::string::npos) << msg;
  EXPECT_EQ(e2->at("body").at("ref_msg_id").as_string(), "raw-3");

  ASSERT_TRUE(agent.send(envelope("HEARTBEAT", "site-c", "raw-4", R"({"running_jobs":0})")));
  auto e3 = agent.receive();
  ASSERT_TRUE(e3.has_value());
  EXPECT_EQ(e3->at("body").at("field").as_string(), "body.epoch");

  ASSERT_TRUE(agent.send(envelope("HEARTBEAT", "site-c", "raw-5",
                                  R"({"epoch":1,"running_jobs":3,"pending_jobs":0})")));
  // A good heartbeat is acknowledged (protocol 1.1: the agent's half of the job lease
  // counts from it; a 1.0 agent ignores the ACK of a message it keeps no record of).
  auto ack = agent.receive();
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->at("type").as_string(), "ACK");
  EXPECT_EQ(ack->at("body").at("ack_msg_id").as_string(), "raw-5");
  EXPECT_EQ(siteStates()["site-c"], "up");
}

TEST_F(FederationTest, UnknownKeyCannotRegister) {
  zmq::context_t ctx;
  auto stranger = transport::generateCurveKeyPair();
  ASSERT_TRUE(stranger.ok());
  RawAgent agent(ctx, "site-a", *stranger, coordinatorPublicKey(), fed_->zmqEndpoint());
  (void)agent.send(envelope("HELLO", "site-a", "x-1",
                            R"({"agent_version":"x","backend":"simulated","jobs":[]})"),
                   1s);
  EXPECT_FALSE(agent.receive(1s).has_value());
  EXPECT_GE(agent.socket().pollEvents().auth_failed, 1u);
  EXPECT_EQ(siteStates()["site-a"], "unknown");
  EXPECT_GE(get("/api/v1/federation").at("transport").at("handshakes_refused").as_int64(), 1);
  // The refusal is logged with the key presented and the peer's address (docs/operations.md,
  // "Log lines").
  std::string wanted = "key-refused key=" + stranger->public_key + " address=127.0.0.1";
  EXPECT_TRUE(waitFor(
      [&] {
        std::ifstream in(fed_->logPath("coordinator"));
        std::stringstream text;
        text << in.rdbuf();
        return text.str().find(wanted) != std::string::npos;
      },
      5s))
      << wanted;
}

TEST_F(FederationTest, OneSitesKeyCannotSpeakForAnother) {
  zmq::context_t ctx;
  RawAgent agent(ctx, "site-b", siteKeys("site-a"), coordinatorPublicKey(), fed_->zmqEndpoint());
  ASSERT_TRUE(agent.send(envelope("HELLO", "site-b", "y-1",
                                  R"({"agent_version":"y","backend":"simulated","jobs":[]})")));
  auto reply = agent.receive();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->at("type").as_string(), "ERROR");
  EXPECT_EQ(reply->at("body").at("code").as_string(), "wrong_site");
  auto states = siteStates();
  EXPECT_EQ(states["site-b"], "unknown");
  EXPECT_EQ(states["site-a"], "unknown");
  EXPECT_EQ(get("/api/v1/federation").at("transport").at("wrong_site_refused").as_int64(), 1);
  std::ifstream in(fed_->logPath("coordinator"));
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("wrong-site key_site=site-a claimed_site=site-b type=HELLO"),
            std::string::npos)
      << text.str();
}

TEST_F(FederationTest, CoordinatorRestartKeepsEveryJobAndAgentsComeBack) {
  startAgents({"site-a", "site-b", "site-c"});
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    JobSpec spec = shortJob(i);
    spec.simulated_runtime = Duration(20000);  // 2 s at speedup 10: outlives the restart
    ids.push_back(submit(spec));
  }
  json::array before = allJobs();
  ASSERT_EQ(before.size(), 40u);
  std::string fingerprint = fed_->tlsFingerprint();
  ASSERT_TRUE(fed_->stopCoordinator().ok());
  ASSERT_TRUE(fed_->startCoordinator().ok());
  // The self-signed certificate made at the first start is reused: the client's pin holds.
  EXPECT_EQ(fed_->tlsFingerprint(), fingerprint);
  json::array after = allJobs();
  ASSERT_EQ(after.size(), 40u);
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].at("id"), before[i].at("id"));
    EXPECT_EQ(after[i].at("spec"), before[i].at("spec"));
  }
  ASSERT_TRUE(waitFor([&] { return jobCounts()["completed"] == 40; }, 60s))
      << json::serialize(get("/api/v1/federation"));
  for (const auto& v : allJobs()) EXPECT_EQ(v.at("attempt").as_int64(), 1);
  auto states = siteStates();
  for (const char* s : {"site-a", "site-b", "site-c"}) EXPECT_EQ(states[s], "up") << s;
}

// Concurrent submissions share group commits; each 201 means durable: after a SIGKILL
// (no orderly shutdown) the restarted coordinator has every acknowledged job.
TEST_F(FederationTest, ConcurrentSubmissionsAreDurableWhenAcknowledged) {
  constexpr int kThreads = 8, kPerThread = 25;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient client(fed_->baseUrl(), fed_->clientOptions());
      for (int i = 0; i < kPerThread; ++i) {
        auto r = client.request("POST", "/api/v1/jobs", json::serialize(toJson(shortJob(i))));
        if (r.ok() && r->status == 201) {
          ids[t].push_back(json::value_to<std::string>(json::parse(r->body).at("id")));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> acknowledged;
  for (const auto& v : ids) acknowledged.insert(v.begin(), v.end());
  ASSERT_EQ(acknowledged.size(), size_t{kThreads * kPerThread});
  // Submissions that arrived while a transaction was being written shared the next one.
  json::value transport = get("/api/v1/federation").at("transport");
  EXPECT_EQ(transport.at("committed_submissions").to_number<uint64_t>(), acknowledged.size());
  EXPECT_LT(transport.at("commits").to_number<uint64_t>(), acknowledged.size());
  ASSERT_TRUE(fed_->stopCoordinator(SIGKILL).ok());
  ASSERT_TRUE(fed_->startCoordinator().ok());
  std::set<std::string> stored;
  for (const auto& j : allJobs()) stored.insert(json::value_to<std::string>(j.at("id")));
  EXPECT_EQ(stored, acknowledged);
}

}  // namespace
}  // namespace aifed::cli
