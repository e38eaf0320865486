// The shipped monitoring files without a running coordinator: the Grafana dashboard is
// an importable dashboard (valid JSON, the ${DS_PROMETHEUS} input, every panel queries),
// and the alert rules and the dashboard use only metric names the coordinator's /metrics
// page (renderCoordinatorMetrics, the code GET /metrics serves) has.
// tests/monitoring/monitoring_integration_test.cpp checks the same against a real
// coordinator's scrape.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cctype>
#include <sstream>

#include "coordinator/api/metrics.h"
#include "tests/monitoring/metric_names.h"

namespace aifed::monitoring {
namespace {

namespace json = boost::json;
using ::testing::IsEmpty;

json::object dashboard() {
  json::value v = json::parse(readSourceFile("deploy/grafana/aifed-dashboard.json"));
  return v.as_object();
}

// Panels, with those inside collapsed rows.
std::vector<json::object> allPanels(const json::object& d) {
  std::vector<json::object> out;
  for (const json::value& p : d.at("panels").as_array()) {
    out.push_back(p.as_object());
    if (const json::value* inner = p.as_object().if_contains("panels")) {
      for (const json::value& q : inner->as_array()) out.push_back(q.as_object());
    }
  }
  return out;
}

TEST(Dashboard, IsAnImportableDashboardWithThePrometheusInput) {
  json::object d = dashboard();
  EXPECT_GE(d.at("schemaVersion").as_int64(), 36);
  EXPECT_LE(d.at("schemaVersion").as_int64(), 41);
  EXPECT_FALSE(d.at("uid").as_string().empty());
  EXPECT_FALSE(d.at("title").as_string().empty());
  const json::array& inputs = d.at("__inputs").as_array();
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].at("name"), "DS_PROMETHEUS");
  EXPECT_EQ(inputs[0].at("type"), "datasource");
  EXPECT_EQ(inputs[0].at("pluginId"), "prometheus");

  std::set<int64_t> ids;
  size_t queries = 0;
  for (const json::object& p : allPanels(d)) {
    std::string title(p.at("title").as_string());
    EXPECT_TRUE(ids.insert(p.at("id").as_int64()).second) << "panel id repeated: " << title;
    const json::object& grid = p.at("gridPos").as_object();
    EXPECT_GE(grid.at("w").as_int64(), 1) << title;
    EXPECT_LE(grid.at("x").as_int64() + grid.at("w").as_int64(), 24) << title;
    if (p.at("type") == "row") continue;
    EXPECT_EQ(p.at("datasource").at("uid"), "${DS_PROMETHEUS}") << title;
    const json::array& targets = p.at("targets").as_array();
    EXPECT_FALSE(targets.empty()) << title;
    for (const json::value& t : targets) {
      EXPECT_EQ(t.at("datasource").at("uid"), "${DS_PROMETHEUS}") << title;
      EXPECT_FALSE(t.at("expr").as_string().empty()) << title;
      EXPECT_FALSE(t.at("refId").as_string().empty()) << title;
      ++queries;
    }
  }
  EXPECT_GE(queries, 10u);
}

// What an operator looks for first: each has a panel.
TEST(Dashboard, ShowsSitesJobsPlacementsAgentsCertificateAndHttp) {
  std::vector<std::string> exprs;
  collectExpressions(dashboard(), exprs);
  std::set<std::string> used;
  for (const std::string& e : exprs) {
    for (const std::string& name : aifedMetricNames(e)) used.insert(name);
  }
  for (const char* name :
       {"aifed_sites", "aifed_site_state", "aifed_jobs", "aifed_site_jobs_placed_total",
        "aifed_placement_duration_seconds_bucket", "aifed_site_agent_outbox_depth",
        "aifed_site_backend_up", "aifed_tls_certificate_expiry_timestamp_seconds",
        "aifed_http_requests_total"}) {
    EXPECT_TRUE(used.count(name)) << name;
  }
}

TEST(MetricNames, FindsTheProjectsNamesInPromQlAndThePagesFamilies) {
  EXPECT_EQ(aifedMetricNames("sum by (le) (rate(aifed_x_bucket{a=\"aifed_y\"}[5m])) / up + "
                             "xaifed_z - aifed_w:rate5m"),
            (std::set<std::string>{"aifed_x_bucket", "aifed_y", "aifed_w:rate5m"}));
  EXPECT_EQ(exportedMetricNames("# HELP aifed_a A.\n# TYPE aifed_a gauge\naifed_a 1\n"
                                "# TYPE aifed_h histogram\naifed_h_count 0\n"),
            (std::set<std::string>{"aifed_a", "aifed_h", "aifed_h_bucket", "aifed_h_sum",
                                   "aifed_h_count"}));
}

// Every alert has a severity, a summary, a description and a runbook link to a section of
// docs/operations.md that exists (GitHub's anchor of a heading: lower case, spaces to
// hyphens).
TEST(AlertRules, EachHasASeverityAndARunbookSectionInOperationsMd) {
  std::string rules = readSourceFile("deploy/prometheus/aifed-alerts.yml");
  std::set<std::string> anchors;
  std::istringstream doc(readSourceFile("docs/operations.md"));
  for (std::string line; std::getline(doc, line);) {
    if (line.rfind("#", 0) != 0) continue;
    std::string title = line.substr(line.find_first_not_of('#'));
    title = title.substr(title.find_first_not_of(' '));
    std::string anchor;
    for (char c : title) {
      if (c == ' ')
        anchor += '-';
      else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')
        anchor += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    anchors.insert(anchor);
  }
  // One block per "- alert:" line, up to the next.
  std::vector<std::string> blocks;
  for (size_t at = rules.find("- alert: "); at != std::string::npos;) {
    size_t next = rules.find("- alert: ", at + 1);
    blocks.push_back(rules.substr(at, next == std::string::npos ? std::string::npos : next - at));
    at = next;
  }
  EXPECT_EQ(blocks.size(), 7u);
  const std::string kPrefix = "runbook_url: \"docs/operations.md#";
  for (const std::string& b : blocks) {
    std::string name = b.substr(9, b.find('\n') - 9);
    EXPECT_TRUE(b.find("severity: warning") != std::string::npos ||
                b.find("severity: critical") != std::string::npos)
        << name;
    EXPECT_NE(b.find("summary: "), std::string::npos) << name;
    EXPECT_NE(b.find("description: "), std::string::npos) << name;
    size_t link = b.find(kPrefix);
    ASSERT_NE(link, std::string::npos) << name;
    std::string anchor = b.substr(link + kPrefix.size(),
                                  b.find('"', link + kPrefix.size()) - (link + kPrefix.size()));
    EXPECT_TRUE(anchors.count(anchor)) << name << ": no section #" << anchor;
  }
}

// The page of a coordinator whose one site's agent reported its health, with a known
// certificate: every family the coordinator can write.
std::string fullPage() {
  Federation f;
  f.name = "test";
  SiteConfig s;
  s.id = "mimer";
  s.country = "SE";
  PartitionConfig p;
  p.name = "gpu";
  p.nodes = 4;
  s.partitions.push_back(p);
  f.sites.push_back(s);
  broker::Broker broker(f, broker::BrokerConfig{});
  Time now = fromMillis(1'800'000'000'000);
  broker::Effects fx;
  broker.onMessage(0, makeMessage("mimer", "m-1", now, Hello{"1.0.0", "slurm", {}}), now, fx);
  broker.onMessage(0,
                   makeMessage("mimer", "m-2", now,
                               Heartbeat{0, 0, 0,
                                         AgentHealth{.version = "1.0.0",
                                                     .backend_ok = true,
                                                     .backend_error = "",
                                                     .last_backend_ok_at = now,
                                                     .outbox_depth = 0}}),
                   now, fx);
  api::CoordinatorCounters counters;
  counters.tls_certificate_not_after = now + std::chrono::hours(24 * 90);
  return api::renderCoordinatorMetrics(broker, counters, now, "1.0.0");
}

TEST(MetricNames, TheRulesAndTheDashboardUseOnlyWhatTheCoordinatorExports) {
  std::set<std::string> used = namesUsedByShippedFiles();
  EXPECT_GE(used.size(), 10u);
  std::set<std::string> exported = exportedMetricNames(fullPage());
  EXPECT_THAT(missingFrom(used, exported), IsEmpty());
  // The check can fail: a name the page lacks is reported.
  used.insert("aifed_site_backend_upp");
  EXPECT_EQ(missingFrom(used, exported), (std::set<std::string>{"aifed_site_backend_upp"}));
}

}  // namespace
}  // namespace aifed::monitoring
