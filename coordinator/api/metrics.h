// Metrics in the Prometheus text exposition format, version 0.0.4, and the coordinator's
// own metrics (`GET /metrics`, docs/api.md "Metrics").
//
// PrometheusText writes whole metric families: a `# HELP` and a `# TYPE` line, then every
// sample of the family, so families never interleave (the format requires it). Label
// values and help texts are escaped; values are printed so that they parse back exactly.
//
//   PrometheusText out;
//   out.gauge("aifed_sites", "Sites by state.", {{{{"state", "up"}}, 7}, {{{"state", "down"}},
//   0}}); Histogram h({0.001, 0.01, 0.1}); h.observe(0.004);
//   out.histogram("aifed_placement_duration_seconds", "Broker ticks that placed.", h);
//   response.body = out.text();   // content type kPrometheusContentType
//
// renderCoordinatorMetrics() builds the coordinator's page from the broker's state and the
// counters the daemon keeps (CoordinatorCounters).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coordinator/broker/broker.h"
#include "protocol/clock.h"

namespace aifed::api {

inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// Label name/value pairs, written in this order.
using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
  Labels labels;
  double value = 0;
};

// Cumulative-bucket histogram with fixed upper bounds (the `le` labels).
class Histogram {
 public:
  // `upper_bounds`: finite and strictly ascending; +Inf is implicit. Anything else is a
  // programming error (the bounds are constants): the constructor throws
  // std::invalid_argument.
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  const std::vector<double>& upperBounds() const { return bounds_; }
  // Observations <= upperBounds()[i], cumulative; size upperBounds().size().
  std::vector<uint64_t> cumulativeCounts() const;
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; last is (max bound, +Inf)
  uint64_t count_ = 0;
  double sum_ = 0;
};

// [a-zA-Z_:][a-zA-Z0-9_:]* and [a-zA-Z_][a-zA-Z0-9_]* (no "__" prefix: reserved).
bool validMetricName(std::string_view name);
bool validLabelName(std::string_view name);
// Label values: backslash, double quote and line feed become \\, \" and \n.
std::string escapeLabelValue(std::string_view value);
// Help text: backslash and line feed become \\ and \n.
std::string escapeHelp(std::string_view help);
// Integers without a fraction ("7"), other values with enough digits to read back
// exactly, and "+Inf", "-Inf", "NaN".
std::string formatValue(double value);

class PrometheusText {
 public:
  // Each call writes one complete family. Names must be valid (validMetricName, and
  // validLabelName for every label) and each family written once per page: names are
  // constants of the caller, so a violation throws std::invalid_argument.
  void counter(std::string_view name, std::string_view help, const std::vector<Sample>& samples);
  void gauge(std::string_view name, std::string_view help, const std::vector<Sample>& samples);
  // `name` without the _bucket/_sum/_count suffixes; `labels` are added to every line.
  void histogram(std::string_view name, std::string_view help, const Histogram& histogram,
                 const Labels& labels = {});

  const std::string& text() const { return text_; }

 private:
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);

  std::string text_;
  std::vector<std::string> written_;
};

// Upper bounds of aifed_placement_duration_seconds: 50 µs to 2.5 s.
std::vector<double> placementDurationBuckets();

// What the coordinator daemon counts beside the broker's own state. Owned by the daemon
// (one thread); renderCoordinatorMetrics reads it.
struct CoordinatorCounters {
  // Frames by wire type ("HELLO", "CAPACITY", ...); frames that did not decode count as
  // "invalid" on the way in.
  std::map<std::string, uint64_t, std::less<>> messages_received;
  std::map<std::string, uint64_t, std::less<>> messages_sent;
  std::map<int, uint64_t> http_requests;  // by response status
  // Broker ticks that made at least one placement decision, in seconds.
  Histogram placement_duration{placementDurationBuckets()};
  uint64_t handshakes_accepted = 0;
  uint64_t handshakes_refused = 0;
  // Writes that failed, and times the state was rebuilt from the store after one.
  uint64_t failed_writes = 0;
  uint64_t state_rebuilds = 0;
  Time started_at{};
  // When the HTTPS certificate expires; none: not known (no metric is written).
  std::optional<Time> tls_certificate_not_after{};
};

// The coordinator's /metrics page: build info, sites by state, capacity per site and
// accelerator type, nodes, jobs by state, placement latency, message and HTTP counters,
// each site's state and its agent's own health, the HTTPS certificate's expiry.
// Every state is listed (0 when empty) so a dashboard sees a series before it moves.
std::string renderCoordinatorMetrics(const broker::Broker& broker,
                                     const CoordinatorCounters& counters, Time now,
                                     std::string_view version);

}  // namespace aifed::api
