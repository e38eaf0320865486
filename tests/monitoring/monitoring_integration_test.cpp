// The monitoring a real federation ships with: a real coordinator and two simulated
// agents on loopback. The agents' health reaches the site JSON (`agent`) and /metrics;
// the page passes `promtool check metrics`; and every metric name the shipped alert
// rules and Grafana dashboard use is on the scraped page.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "cli/http_client.h"
#include "cli/local_federation.h"
#include "tests/integration/local_federation_test.h"
#include "tests/monitoring/metric_names.h"

namespace aifed::monitoring {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// The value of the sample whose name and labels are exactly `series`.
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

class MonitoringIntegrationTest : public testing::LocalFederationTest {
 protected:
  void SetUp() override {
    cli::LocalFederationOptions o;
    o.federation_file = std::string(AIFED_SOURCE_DIR) + "/config/federation-7.toml";
    o.heartbeat_interval_ms = 300;
    ASSERT_NO_FATAL_FAILURE(prepareFederation("aifed-monitoring", std::move(o)));
    ASSERT_NO_FATAL_FAILURE(startCoordinator());
  }
  std::string get(const std::string& target) {
    auto r = client_->request("GET", target, "");
    EXPECT_TRUE(r.ok()) << r.status().toString();
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, 200) << r->body;
    return r->body;
  }
  // The `agent` object of a site in GET /api/v1/sites/<id> (null until reported).
  json::value agentOf(const std::string& site) {
    return json::parse(get("/api/v1/sites/" + site)).at("agent");
  }
  bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return done();
  }
};

TEST_F(MonitoringIntegrationTest, AgentHealthReachesSitesAndMetricsAndTheRulesFindTheirSeries) {
  const std::vector<std::string> started = {"mimer", "lumi-aif"};
  for (const std::string& site : started) ASSERT_TRUE(fed_->startAgent(site).ok()) << site;
  for (const std::string& site : started) {
    ASSERT_TRUE(waitFor([&] { return agentOf(site).is_object(); }, 20s)) << site;
  }
  json::object agent = agentOf("mimer").as_object();
  EXPECT_FALSE(agent.at("version").as_string().empty());
  EXPECT_EQ(agent.at("backend_ok"), true);  // a simulated backend always answers
  EXPECT_EQ(agent.at("backend_error"), "");
  EXPECT_GT(agent.at("last_backend_ok_at").as_int64(), 0);
  EXPECT_GE(agent.at("outbox_depth").as_int64(), 0);
  EXPECT_GT(agent.at("reported_at").as_int64(), 0);
  EXPECT_EQ(agent.at("stale"), false);
  EXPECT_TRUE(agentOf("bsc-aif").is_null()) << "a site whose agent never ran reported nothing";

  std::string page = get("/metrics");
  for (const std::string& site : started) {
    EXPECT_EQ(sampleValue(page, "aifed_site_backend_up{site=\"" + site + "\"}"), 1.0) << site;
    EXPECT_TRUE(
        sampleValue(page, "aifed_site_agent_outbox_depth{site=\"" + site + "\"}").has_value());
    EXPECT_GT(sampleValue(
                  page, "aifed_site_backend_last_success_timestamp_seconds{site=\"" + site + "\"}")
                  .value_or(0),
              1.7e9);
    EXPECT_EQ(sampleValue(page, "aifed_site_state{site=\"" + site + "\",state=\"up\"}"), 1.0);
  }
  std::string version(agent.at("version").as_string());
  EXPECT_EQ(sampleValue(page, "aifed_site_agent_info{site=\"mimer\",version=\"" + version + "\"}"),
            1.0);
  EXPECT_FALSE(sampleValue(page, "aifed_site_backend_up{site=\"bsc-aif\"}").has_value());
  // The self-signed certificate is valid for years.
  double expiry = sampleValue(page, "aifed_tls_certificate_expiry_timestamp_seconds").value_or(0);
  double now_s =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_GT(expiry - now_s, 365.0 * 86400);

  std::filesystem::path file = state_ / "metrics.txt";
  std::ofstream(file) << page;
  FILE* p = popen(("promtool check metrics < " + file.string() + " 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << "promtool check metrics (is the Debian package prometheus "
                             "installed?):\n"
                          << out;

  // Every series the alert rules and the dashboard ask for is exported.
  EXPECT_THAT(missingFrom(namesUsedByShippedFiles(), exportedMetricNames(page)),
              ::testing::IsEmpty());
}

}  // namespace
}  // namespace aifed::monitoring
