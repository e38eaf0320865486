// The Prometheus text writer (format 0.0.4) and the coordinator's metrics page rendered
// from a real broker driven with explicit times.
#include "coordinator/api/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>

namespace aifed::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(PrometheusText, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(escapeLabelValue(R"(plain)"), "plain");
  EXPECT_EQ(escapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escapeLabelValue("tab\tstays"), "tab\tstays");
  EXPECT_EQ(escapeLabelValue("Linköping"), "Linköping");  // UTF-8 passes through
  // Help escapes backslash and line feed but not quotes.
  EXPECT_EQ(escapeHelp("say \"hi\"\\\nnext"), "say \"hi\"\\\\\\nnext");
}

TEST(PrometheusText, ValidatesNames) {
  EXPECT_TRUE(validMetricName("aifed_jobs"));
  EXPECT_TRUE(validMetricName("job:rate5m"));
  EXPECT_TRUE(validMetricName("_x"));
  EXPECT_FALSE(validMetricName(""));
  EXPECT_FALSE(validMetricName("9lives"));
  EXPECT_FALSE(validMetricName("aifed-jobs"));
  EXPECT_FALSE(validMetricName("aifed jobs"));
  EXPECT_TRUE(validLabelName("site"));
  EXPECT_FALSE(validLabelName("a:b"));  // colons only in metric names
  EXPECT_FALSE(validLabelName("__name__"));
  EXPECT_FALSE(validLabelName("0x"));
}

TEST(PrometheusText, FormatsValuesSoTheyReadBack) {
  EXPECT_EQ(formatValue(7), "7");
  EXPECT_EQ(formatValue(0), "0");
  EXPECT_EQ(formatValue(-3), "-3");
  EXPECT_EQ(formatValue(0.25), "0.25");
  EXPECT_EQ(formatValue(1e21), "1e+21");
  EXPECT_EQ(formatValue(1.8e9), "1800000000");
  EXPECT_EQ(formatValue(0.00005), "0.00005");
  EXPECT_EQ(formatValue(1e-9), "1e-09");
  EXPECT_EQ(formatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(formatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(formatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(std::stod(formatValue(0.1 + 0.2)), 0.1 + 0.2);
}

TEST(PrometheusText, WritesFamiliesWithHelpTypeAndEscapedLabels) {
  PrometheusText out;
  out.gauge("aifed_sites", "Sites by state.",
            {{{{"state", "up"}}, 7}, {{{"state", "unreachable"}}, 0}});
  out.counter("aifed_http_requests_total", "Requests\nby code.", {{{{"code", "200"}}, 12}});
  out.gauge("aifed_odd", "Odd labels.", {{{{"site", "a\"b\\c\nd"}, {"kind", "x"}}, 0.5}});
  out.gauge("aifed_empty", "No samples yet.", {});
  EXPECT_EQ(out.text(),
            "# HELP aifed_sites Sites by state.\n"
            "# TYPE aifed_sites gauge\n"
            "aifed_sites{state=\"up\"} 7\n"
            "aifed_sites{state=\"unreachable\"} 0\n"
            "# HELP aifed_http_requests_total Requests\\nby code.\n"
            "# TYPE aifed_http_requests_total counter\n"
            "aifed_http_requests_total{code=\"200\"} 12\n"
            "# HELP aifed_odd Odd labels.\n"
            "# TYPE aifed_odd gauge\n"
            "aifed_odd{site=\"a\\\"b\\\\c\\nd\",kind=\"x\"} 0.5\n"
            "# HELP aifed_empty No samples yet.\n"
            "# TYPE aifed_empty gauge\n");
}

TEST(PrometheusText, RefusesBadNamesAndRepeatedFamilies) {
  PrometheusText out;
  EXPECT_THROW(out.gauge("bad-name", "x", {}), std::invalid_argument);
  EXPECT_THROW(out.gauge("ok", "x", {{{{"bad-label", "v"}}, 1}}), std::invalid_argument);
  PrometheusText twice;
  twice.gauge("aifed_x", "x", {});
  EXPECT_THROW(twice.counter("aifed_x", "x", {}), std::invalid_argument);
  Histogram h({1});
  PrometheusText le;
  EXPECT_THROW(le.histogram("aifed_h", "x", h, {{"le", "1"}}), std::invalid_argument);
}

TEST(Histogram, CountsCumulativelyWithInclusiveUpperBounds) {
  Histogram h({0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 1.0, 5.0, 50.0}) h.observe(v);
  // 0.1 falls in le="0.1" (bounds are inclusive); 50 only in +Inf.
  EXPECT_EQ(h.cumulativeCounts(), (std::vector<uint64_t>{2, 4, 5}));
  EXPECT_EQ(h.count(), 6u);
  EXPECT_DOUBLE_EQ(h.sum(), 56.65);
  EXPECT_THROW(Histogram({1, 1}), std::invalid_argument);
  EXPECT_THROW(Histogram({2, 1}), std::invalid_argument);
  EXPECT_THROW(Histogram({std::numeric_limits<double>::infinity()}), std::invalid_argument);
}

TEST(PrometheusText, WritesHistogramBucketsSumAndCount) {
  Histogram h({0.001, 0.01});
  h.observe(0.0005);
  h.observe(0.002);
  h.observe(3);
  PrometheusText out;
  out.histogram("aifed_placement_duration_seconds", "Placement.", h, {{"path", "rest"}});
  EXPECT_EQ(out.text(),
            "# HELP aifed_placement_duration_seconds Placement.\n"
            "# TYPE aifed_placement_duration_seconds histogram\n"
            "aifed_placement_duration_seconds_bucket{path=\"rest\",le=\"0.001\"} 1\n"
            "aifed_placement_duration_seconds_bucket{path=\"rest\",le=\"0.01\"} 2\n"
            "aifed_placement_duration_seconds_bucket{path=\"rest\",le=\"+Inf\"} 3\n"
            "aifed_placement_duration_seconds_sum{path=\"rest\"} 3.0025\n"
            "aifed_placement_duration_seconds_count{path=\"rest\"} 3\n");
}

// The coordinator's page from a broker that heard from one of two sites.
class CoordinatorMetricsTest : public ::testing::Test {
 protected:
  static Federation federation() {
    Federation f;
    f.name = "test";
    auto site = [](std::string id, int nodes, std::string acc) {
      SiteConfig s;
      s.id = id;
      s.name = id;
      s.country = "SE";
      PartitionConfig p;
      p.name = "gpu";
      p.nodes = nodes;
      p.node_type = NodeType{acc, 4, 64, 512};
      s.partitions.push_back(p);
      return s;
    };
    f.sites = {site("alpha", 16, "h100"), site("beta", 8, "mi250x")};
    return f;
  }
  CoordinatorMetricsTest() : broker_(federation(), broker::BrokerConfig{}) {}
  Time at(int64_t s) { return fromMillis(1'800'000'000'000 + s * 1000); }
  void send(const std::string& site, Body body, Time now) {
    broker::Effects fx;
    broker_.onMessage(*broker_.siteIndex(site),
                      makeMessage(site, "m" + std::to_string(++n_), now, std::move(body)), now, fx);
    broker_.tick(now, fx);
  }

  broker::Broker broker_;
  int n_ = 0;
};

TEST_F(CoordinatorMetricsTest, ShowsSitesCapacityJobsAndCounters) {
  send("alpha", Hello{"t", "simulated", {}}, at(0));
  PartitionCapacity p;
  p.name = "gpu";
  p.node_type = NodeType{"h100", 4, 64, 512};
  p.nodes_total = 16;
  p.nodes_idle = 10;
  p.nodes_allocated = 5;
  p.nodes_down = 1;
  p.running_jobs = 3;
  Capacity c;
  c.capacity.epoch = 1;
  c.capacity.partitions = {p};
  send("alpha", c, at(1));
  JobSpec spec;
  spec.nodes = 2;
  spec.gpus_per_node = 4;
  spec.gpu_type = "h100";
  spec.walltime = std::chrono::hours(1);
  broker::Effects fx;
  ASSERT_TRUE(broker_.submit(spec, at(2), fx).ok());
  spec.gpu_type = "mi250x";  // beta never said HELLO: this one waits
  ASSERT_TRUE(broker_.submit(spec, at(2), fx).ok());
  broker_.tick(at(2), fx);

  CoordinatorCounters counters;
  counters.started_at = at(0);
  counters.messages_received["HELLO"] = 1;
  counters.messages_received["CAPACITY"] = 1;
  counters.messages_sent["DISPATCH"] = 1;
  counters.http_requests[201] = 2;
  counters.http_requests[404] = 1;
  counters.placement_duration.observe(0.0002);
  std::string text = renderCoordinatorMetrics(broker_, counters, at(4), "9.9.9");

  EXPECT_THAT(text, HasSubstr("aifed_build_info{version=\"9.9.9\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aifed_sites{state=\"up\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aifed_sites{state=\"unknown\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aifed_sites{state=\"draining\"} 0\n"));
  // alpha from its report: 16 nodes x 4; beta from the federation file, nothing known free.
  EXPECT_THAT(
      text, HasSubstr("aifed_site_accelerators{site=\"alpha\",type=\"h100\",kind=\"total\"} 64\n"));
  EXPECT_THAT(
      text, HasSubstr("aifed_site_accelerators{site=\"alpha\",type=\"h100\",kind=\"free\"} 40\n"));
  EXPECT_THAT(
      text,
      HasSubstr("aifed_site_accelerators{site=\"beta\",type=\"mi250x\",kind=\"total\"} 32\n"));
  EXPECT_THAT(
      text, HasSubstr("aifed_site_accelerators{site=\"beta\",type=\"mi250x\",kind=\"free\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("aifed_site_nodes{site=\"alpha\",kind=\"down\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aifed_site_nodes{site=\"beta\",kind=\"total\"} 8\n"));
  EXPECT_THAT(text, HasSubstr("aifed_site_report_age_seconds{site=\"alpha\"} 3\n"));
  EXPECT_THAT(text, Not(HasSubstr("aifed_site_report_age_seconds{site=\"beta\"}")));
  EXPECT_THAT(text, HasSubstr("aifed_site_reserved_nodes{site=\"alpha\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("aifed_jobs{state=\"dispatched\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aifed_jobs{state=\"queued\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aifed_jobs{state=\"lost\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("aifed_placement_duration_seconds_bucket{le=\"0.00025\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aifed_placement_duration_seconds_count 1\n"));
  EXPECT_THAT(text, HasSubstr("aifed_messages_received_total{type=\"CAPACITY\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aifed_messages_sent_total{type=\"DISPATCH\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aifed_http_requests_total{code=\"404\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aifed_start_time_seconds 1800000000\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE aifed_site_jobs_placed_total counter\n"));
  EXPECT_THAT(text, HasSubstr("aifed_site_state{site=\"alpha\",state=\"up\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aifed_site_state{site=\"alpha\",state=\"unknown\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("aifed_site_state{site=\"beta\",state=\"unknown\"} 1\n"));
  // No agent reported its health, and no certificate is known: families without samples.
  EXPECT_THAT(text, HasSubstr("# TYPE aifed_site_backend_up gauge\n"));
  EXPECT_THAT(text, Not(HasSubstr("aifed_site_backend_up{")));
  EXPECT_THAT(text, Not(HasSubstr("aifed_tls_certificate_expiry_timestamp_seconds")));
}

// The agents' own health, per site that reported it, and the certificate's expiry.
TEST_F(CoordinatorMetricsTest, ShowsTheAgentsHealthAndTheCertificateExpiry) {
  send("alpha", Hello{"t", "slurm", {}}, at(0));
  send("beta", Hello{"t", "simulated", {}}, at(0));
  send("alpha",
       Heartbeat{0, 0, 0,
                 AgentHealth{.version = "1.0.0-rc1 \"x\"\\",
                             .backend_ok = false,
                             .backend_error = "sinfo: Socket timed out",
                             .last_backend_ok_at = fromMillis(1'799'999'999'500),
                             .outbox_depth = 12}},
       at(1));
  send("beta",
       Heartbeat{0, 0, 0,
                 AgentHealth{.version = "1.0.0",
                             .backend_ok = true,
                             .backend_error = "",
                             .last_backend_ok_at = std::nullopt,
                             .outbox_depth = 0}},
       at(1));
  CoordinatorCounters counters;
  counters.tls_certificate_not_after = fromMillis(1'801'000'000'000);
  std::string text = renderCoordinatorMetrics(broker_, counters, at(2), "9.9.9");
  // Label values are escaped: the quote and the backslash of alpha's version.
  EXPECT_THAT(text, HasSubstr("# TYPE aifed_site_agent_info gauge\n"));
  EXPECT_THAT(
      text,
      HasSubstr("aifed_site_agent_info{site=\"alpha\",version=\"1.0.0-rc1 \\\"x\\\"\\\\\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aifed_site_agent_info{site=\"beta\",version=\"1.0.0\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aifed_site_backend_up{site=\"alpha\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("aifed_site_backend_up{site=\"beta\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aifed_site_backend_last_success_timestamp_seconds{site=\"alpha\"} "
                              "1799999999.5\n"));
  EXPECT_THAT(text,
              Not(HasSubstr("aifed_site_backend_last_success_timestamp_seconds{site=\"beta\"}")));
  EXPECT_THAT(text, HasSubstr("aifed_site_agent_outbox_depth{site=\"alpha\"} 12\n"));
  EXPECT_THAT(text, HasSubstr("aifed_site_agent_outbox_depth{site=\"beta\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE aifed_tls_certificate_expiry_timestamp_seconds gauge\n"
                              "aifed_tls_certificate_expiry_timestamp_seconds 1801000000\n"));
}

}  // namespace
}  // namespace aifed::api
