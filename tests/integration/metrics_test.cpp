// GET /metrics of a real coordinator with seven real agents on loopback: the page passes
// `promtool check metrics` (Debian package `prometheus`) and its values agree with what
// the federation did.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <thread>

#include "cli/http_client.h"
#include "cli/local_federation.h"
#include "protocol/codec.h"

namespace aifed::cli {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// The value of the sample whose name and labels are exactly `series`, e.g.
// `aifed_sites{state="up"}`; nullopt when the page has no such line.
std::optional<double> sampleValue(const std::string& page, const std::string& series) {
  std::istringstream lines(page);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

struct CommandResult {
  int status = -1;
  std::string output;
};

CommandResult run(const std::string& command) {
  CommandResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  r.status = pclose(p);
  return r;
}

class MetricsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = std::filesystem::temp_directory_path() /
             ("aifed-metrics-" + std::to_string(getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(state_);
    LocalFederationOptions o;
    o.bin_dir = AIFED_BINARY_DIR;
    o.federation_file = std::string(AIFED_SOURCE_DIR) + "/config/federation-7.toml";
    o.state_dir = state_.string();
    o.speedup = 10;
    o.heartbeat_interval_ms = 500;
    auto lf = LocalFederation::prepare(o);
    ASSERT_TRUE(lf.ok()) << lf.status().toString();
    fed_ = std::move(*lf);
    ASSERT_TRUE(fed_->startCoordinator().ok());
    client_ =
        std::make_unique<HttpClient>("http://127.0.0.1:" + std::to_string(fed_->httpPort()), 10s);
  }
  void TearDown() override {
    if (fed_) fed_->stopAll();
    if (!HasFailure())
      std::filesystem::remove_all(state_);
    else
      std::cerr << "state and logs kept in " << state_ << "\n";
  }

  HttpResult request(const std::string& method, const std::string& target,
                     const std::string& body = "") {
    auto r = client_->request(method, target, body);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return r.ok() ? *r : HttpResult{};
  }
  std::string metrics() {
    HttpResult r = request("GET", "/metrics");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }
  bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return done();
  }

  std::filesystem::path state_;
  std::unique_ptr<LocalFederation> fed_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(MetricsIntegrationTest, SevenSitesAndTheirJobsShowInAPageThatPromtoolAccepts) {
  for (const std::string& site : fed_->sites()) ASSERT_TRUE(fed_->startAgent(site).ok()) << site;
  ASSERT_EQ(fed_->sites().size(), 7u);
  ASSERT_TRUE(
      waitFor([&] { return sampleValue(metrics(), "aifed_sites{state=\"up\"}") == 7.0; }, 30s))
      << metrics();

  constexpr int kJobs = 20;
  for (int i = 0; i < kJobs; ++i) {
    JobSpec spec;
    spec.name = "metrics-" + std::to_string(i);
    spec.nodes = 1 + i % 3;
    spec.gpus_per_node = 4;
    spec.walltime = 60s;
    spec.simulated_runtime = Duration(1000 + (i % 5) * 500);  // 0.10-0.30 s at speedup 10
    HttpResult r = request("POST", "/api/v1/jobs", json::serialize(toJson(spec)));
    ASSERT_EQ(r.status, 201) << r.body;
  }
  request("GET", "/api/v1/jobs/j-does-not-exist");  // one 404 for the HTTP counters
  ASSERT_TRUE(waitFor(
      [&] { return sampleValue(metrics(), "aifed_jobs{state=\"completed\"}") == kJobs; }, 60s))
      << metrics();

  std::string page = metrics();
  std::filesystem::path file = state_ / "metrics.txt";
  std::ofstream(file) << page;
  CommandResult which = run("command -v promtool");
  ASSERT_EQ(which.status, 0) << "promtool not found: install the Debian package prometheus";
  CommandResult check = run("promtool check metrics < " + file.string());
  EXPECT_EQ(check.status, 0) << "promtool check metrics:\n" << check.output << "\npage:\n" << page;

  EXPECT_EQ(sampleValue(page, "aifed_sites{state=\"up\"}"), 7.0);
  EXPECT_EQ(sampleValue(page, "aifed_sites{state=\"unreachable\"}"), 0.0);
  EXPECT_EQ(sampleValue(page, "aifed_jobs{state=\"completed\"}"), double(kJobs));
  EXPECT_EQ(sampleValue(page, "aifed_jobs{state=\"queued\"}"), 0.0);
  // mimer's h200: 128 nodes of 8 in config/federation-7.toml, all idle again.
  EXPECT_EQ(
      sampleValue(page, "aifed_site_accelerators{site=\"mimer\",type=\"h200\",kind=\"total\"}"),
      1024.0);
  EXPECT_TRUE(waitFor(
      [&] {
        return sampleValue(metrics(),
                           "aifed_site_accelerators{site=\"mimer\",type=\"h200\",kind=\"free\"}") ==
               1024.0;
      },
      10s));
  // Each submission is placed in the tick of its own request; re-placements add more.
  EXPECT_GE(*sampleValue(page, "aifed_placement_duration_seconds_count"), kJobs);
  EXPECT_GT(*sampleValue(page, "aifed_placement_duration_seconds_sum"), 0.0);
  EXPECT_GE(*sampleValue(page, "aifed_messages_received_total{type=\"HELLO\"}"), 7.0);
  EXPECT_GE(*sampleValue(page, "aifed_messages_received_total{type=\"CAPACITY\"}"), 7.0);
  EXPECT_GE(*sampleValue(page, "aifed_messages_received_total{type=\"JOB_STATUS\"}"), kJobs);
  // At least one DISPATCH per job (a slow acknowledgement brings a resend).
  EXPECT_GE(*sampleValue(page, "aifed_messages_sent_total{type=\"DISPATCH\"}"), kJobs);
  EXPECT_GE(*sampleValue(page, "aifed_messages_sent_total{type=\"WELCOME\"}"), 7.0);
  EXPECT_EQ(sampleValue(page, "aifed_http_requests_total{code=\"201\"}"), double(kJobs));
  EXPECT_EQ(sampleValue(page, "aifed_http_requests_total{code=\"404\"}"), 1.0);
  EXPECT_GE(*sampleValue(page, "aifed_handshakes_total{outcome=\"accepted\"}"), 7.0);
  EXPECT_EQ(sampleValue(page, "aifed_handshakes_total{outcome=\"refused\"}"), 0.0);
  double placed = 0;
  for (const std::string& site : fed_->sites()) {
    placed += sampleValue(page, "aifed_site_jobs_placed_total{site=\"" + site + "\"}").value_or(0);
  }
  EXPECT_EQ(placed, double(kJobs));
}

TEST_F(MetricsIntegrationTest, ServesTheOpenApiDocument) {
  HttpResult r = request("GET", "/api/v1/openapi.json");
  ASSERT_EQ(r.status, 200);
  json::value doc = json::parse(r.body);
  EXPECT_EQ(doc.at("openapi").as_string().subview().substr(0, 2), "3.");
  EXPECT_TRUE(doc.at("paths").as_object().contains("/metrics"));
}

}  // namespace
}  // namespace aifed::cli
