#include "coordinator/api/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace aifed::api {
namespace {

bool nameChar(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool validName(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!nameChar(name[i], i == 0, colon)) return false;
  }
  return true;
}

constexpr JobState kJobStates[] = {JobState::kQueued,    JobState::kDispatched, JobState::kPending,
                                   JobState::kRunning,   JobState::kCompleted,  JobState::kFailed,
                                   JobState::kCancelled, JobState::kTimeout,    JobState::kNodeFail,
                                   JobState::kLost};
constexpr SiteState kSiteStates[] = {SiteState::kUnknown, SiteState::kUp, SiteState::kSuspect,
                                     SiteState::kUnreachable, SiteState::kDraining};

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && !(bounds_[i - 1] < bounds_[i]))) {
      throw std::invalid_argument("histogram bounds must be finite and strictly ascending");
    }
  }
  counts_.assign(bounds_.size() + 1, 0);
}

void Histogram::observe(double value) {
  // The first bucket whose upper bound is >= value; past the last: the +Inf bucket.
  size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                 bounds_.begin());
  ++counts_[i];
  ++count_;
  sum_ += value;
}

std::vector<uint64_t> Histogram::cumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size());
  uint64_t running = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    running += counts_[i];
    out[i] = running;
  }
  return out;
}

bool validMetricName(std::string_view name) {
  return validName(name, true);
}

bool validLabelName(std::string_view name) {
  return validName(name, false) && name.substr(0, 2) != "__";
}

namespace {
// The text format escapes backslash and newline everywhere, and the double quote inside
// label values only.
std::string escapeText(std::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}
}  // namespace

std::string escapeLabelValue(std::string_view value) {
  return escapeText(value, true);
}

std::string escapeHelp(std::string_view help) {
  return escapeText(help, false);
}

std::string formatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // The shortest text that reads back as the same double; integers come out without
  // ".0". Plain decimals for the magnitudes metrics have (1800000000, 0.00005), the
  // exponent form beyond them.
  double magnitude = std::fabs(value);
  bool fixed = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e15);
  auto [end, ec] = fixed ? std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed)
                         : std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return "NaN";  // cannot happen with 64 bytes for a double
  return std::string(buf, end);
}

void PrometheusText::family(std::string_view name, std::string_view type, std::string_view help) {
  if (!validMetricName(name)) {
    throw std::invalid_argument("invalid metric name \"" + std::string(name) + "\"");
  }
  if (std::find(written_.begin(), written_.end(), name) != written_.end()) {
    throw std::invalid_argument("metric family \"" + std::string(name) + "\" written twice");
  }
  written_.emplace_back(name);
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  text_ += escapeHelp(help);
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += type;
  text_ += '\n';
}

void PrometheusText::sample(std::string_view name, const Labels& labels, double value) {
  text_ += name;
  if (!labels.empty()) {
    text_ += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!validLabelName(k)) throw std::invalid_argument("invalid label name \"" + k + "\"");
      if (!first) text_ += ',';
      first = false;
      text_ += k;
      text_ += "=\"";
      text_ += escapeLabelValue(v);
      text_ += '"';
    }
    text_ += '}';
  }
  text_ += ' ';
  text_ += formatValue(value);
  text_ += '\n';
}

void PrometheusText::counter(std::string_view name, std::string_view help,
                             const std::vector<Sample>& samples) {
  family(name, "counter", help);
  for (const Sample& s : samples) sample(name, s.labels, s.value);
}

void PrometheusText::gauge(std::string_view name, std::string_view help,
                           const std::vector<Sample>& samples) {
  family(name, "gauge", help);
  for (const Sample& s : samples) sample(name, s.labels, s.value);
}

void PrometheusText::histogram(std::string_view name, std::string_view help, const Histogram& h,
                               const Labels& labels) {
  family(name, "histogram", help);
  std::string n(name);
  std::vector<uint64_t> cumulative = h.cumulativeCounts();
  for (const auto& [k, v] : labels) {
    if (k == "le") throw std::invalid_argument("a histogram cannot carry its own \"le\" label");
  }
  for (size_t i = 0; i < cumulative.size(); ++i) {
    Labels l = labels;
    l.emplace_back("le", formatValue(h.upperBounds()[i]));
    sample(n + "_bucket", l, static_cast<double>(cumulative[i]));
  }
  Labels inf = labels;
  inf.emplace_back("le", "+Inf");
  sample(n + "_bucket", inf, static_cast<double>(h.count()));
  sample(n + "_sum", labels, h.sum());
  sample(n + "_count", labels, static_cast<double>(h.count()));
}

std::vector<double> placementDurationBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5};
}

namespace {

double unixSeconds(Time t) {
  return static_cast<double>(toMillis(t)) / 1000.0;
}

// Each site's displayed state as one series per state (1 for the current one), so an
// alert can name the site.
void writeSiteStates(PrometheusText& out, const std::vector<broker::SiteRecord>& sites) {
  std::vector<Sample> samples;
  for (const broker::SiteRecord& s : sites) {
    for (SiteState st : kSiteStates) {
      samples.push_back(
          {{{"site", s.id}, {"state", std::string(siteStateName(st))}}, s.state == st ? 1.0 : 0.0});
    }
  }
  out.gauge("aifed_site_state",
            "Each site's state (unknown, up, suspect, unreachable, draining): 1 for the current "
            "one.",
            samples);
}

// The agents' own health (protocol/agent_health.h), for the sites whose agent reported it.
void writeAgentHealth(PrometheusText& out, const std::vector<broker::SiteRecord>& sites) {
  std::vector<Sample> info, up, last_ok, outbox;
  for (const broker::SiteRecord& s : sites) {
    if (!s.agent_health) continue;
    const AgentHealth& h = *s.agent_health;
    info.push_back({{{"site", s.id}, {"version", h.version}}, 1});
    up.push_back({{{"site", s.id}}, h.backend_ok ? 1.0 : 0.0});
    if (h.last_backend_ok_at)
      last_ok.push_back({{{"site", s.id}}, unixSeconds(*h.last_backend_ok_at)});
    outbox.push_back({{{"site", s.id}}, static_cast<double>(h.outbox_depth)});
  }
  out.gauge("aifed_site_agent_info", "The site agent's version as it last reported it (always 1).",
            info);
  out.gauge("aifed_site_backend_up",
            "Whether the site's local scheduler answered its agent's last command (1) or not (0).",
            up);
  out.gauge("aifed_site_backend_last_success_timestamp_seconds",
            "When a command of the site's local scheduler last succeeded, in Unix seconds.",
            last_ok);
  out.gauge("aifed_site_agent_outbox_depth",
            "Messages waiting at the site agent for the coordinator's acknowledgement.", outbox);
}

}  // namespace

std::string renderCoordinatorMetrics(const broker::Broker& broker,
                                     const CoordinatorCounters& counters, Time now,
                                     std::string_view version) {
  PrometheusText out;
  out.gauge("aifed_build_info", "The coordinator's version (always 1).",
            {{{{"version", std::string(version)}}, 1}});
  out.gauge("aifed_start_time_seconds", "When the coordinator started, in Unix seconds.",
            {{{}, unixSeconds(counters.started_at)}});

  const std::vector<broker::SiteRecord>& sites = broker.sites();
  std::map<SiteState, int> by_state;
  for (const broker::SiteRecord& s : sites) ++by_state[s.state];
  std::vector<Sample> site_states;
  for (SiteState st : kSiteStates) {
    site_states.push_back({{{"state", std::string(siteStateName(st))}}, double(by_state[st])});
  }
  out.gauge("aifed_sites", "Sites of the federation by liveness state.", site_states);

  // Per site: accelerators by type (total and free) and nodes by kind, from the last
  // CAPACITY report, or from the federation file for a site that never reported (no
  // free capacity known then).
  std::vector<Sample> accelerators, nodes, report_age, reserved, placed, partitions_jobs;
  for (const broker::SiteRecord& s : sites) {
    const SiteConfig* cfg = broker.federation().findSite(s.id);
    std::map<std::string, std::pair<int64_t, int64_t>> acc;  // type -> total, free
    int64_t total = 0, idle = 0, allocated = 0, down = 0, draining = 0, running = 0, pending = 0;
    if (s.capacity) {
      for (const PartitionCapacity& p : s.capacity->partitions) {
        total += p.nodes_total;
        idle += p.nodes_idle;
        allocated += p.nodes_allocated;
        down += p.nodes_down;
        draining += p.nodes_draining;
        running += p.running_jobs;
        pending += p.pending_jobs;
        if (p.node_type.accelerator.empty() || p.node_type.accelerators_per_node <= 0) continue;
        auto& [t, f] = acc[p.node_type.accelerator];
        t += int64_t{p.nodes_total} * p.node_type.accelerators_per_node;
        f += int64_t{p.nodes_idle} * p.node_type.accelerators_per_node;
      }
    } else if (cfg) {
      for (const PartitionConfig& p : cfg->partitions) {
        total += p.nodes;
        if (p.node_type.accelerator.empty() || p.node_type.accelerators_per_node <= 0) continue;
        acc[p.node_type.accelerator].first += int64_t{p.nodes} * p.node_type.accelerators_per_node;
      }
    }
    for (const auto& [type, tf] : acc) {
      accelerators.push_back(
          {{{"site", s.id}, {"type", type}, {"kind", "total"}}, double(tf.first)});
      accelerators.push_back(
          {{{"site", s.id}, {"type", type}, {"kind", "free"}}, double(tf.second)});
    }
    for (const auto& [kind, n] :
         std::initializer_list<std::pair<const char*, int64_t>>{{"total", total},
                                                                {"idle", idle},
                                                                {"allocated", allocated},
                                                                {"down", down},
                                                                {"draining", draining}}) {
      nodes.push_back({{{"site", s.id}, {"kind", kind}}, double(n)});
    }
    partitions_jobs.push_back({{{"site", s.id}, {"state", "running"}}, double(running)});
    partitions_jobs.push_back({{{"site", s.id}, {"state", "pending"}}, double(pending)});
    if (s.last_report) {
      report_age.push_back(
          {{{"site", s.id}}, std::chrono::duration<double>(now - *s.last_report).count()});
    }
    reserved.push_back({{{"site", s.id}}, double(broker.reservedNodes(s.id))});
    placed.push_back({{{"site", s.id}}, double(s.jobs_placed)});
  }
  out.gauge("aifed_site_accelerators",
            "Accelerators per site and type from the last capacity report (kind total or free).",
            accelerators);
  out.gauge("aifed_site_nodes", "Nodes per site by kind from the last capacity report.", nodes);
  out.gauge("aifed_site_local_jobs",
            "Jobs in the site's local scheduler by state, from the last capacity report.",
            partitions_jobs);
  out.gauge("aifed_site_report_age_seconds", "Time since the site's last capacity report.",
            report_age);
  out.gauge("aifed_site_reserved_nodes",
            "Nodes reserved by dispatches the site has not yet confirmed in a report.", reserved);
  out.counter("aifed_site_jobs_placed_total", "Dispatches accepted by the site, ever.", placed);
  writeSiteStates(out, sites);
  writeAgentHealth(out, sites);

  std::vector<Sample> jobs;
  for (JobState st : kJobStates) {
    jobs.push_back({{{"state", std::string(jobStateName(st))}}, double(broker.countJobs(st))});
  }
  out.gauge("aifed_jobs", "Jobs known to the coordinator by state.", jobs);
  out.histogram("aifed_placement_duration_seconds",
                "Duration of broker ticks that made at least one placement decision.",
                counters.placement_duration);

  auto byType = [](const std::map<std::string, uint64_t, std::less<>>& m) {
    std::vector<Sample> v;
    for (const auto& [type, n] : m) v.push_back({{{"type", type}}, double(n)});
    return v;
  };
  out.counter("aifed_messages_received_total",
              "Protocol frames received from site agents by message type.",
              byType(counters.messages_received));
  out.counter("aifed_messages_sent_total", "Protocol frames sent to site agents by message type.",
              byType(counters.messages_sent));
  out.counter("aifed_handshakes_total", "CURVE handshakes of site agents by outcome.",
              {{{{"outcome", "accepted"}}, double(counters.handshakes_accepted)},
               {{{"outcome", "refused"}}, double(counters.handshakes_refused)}});
  std::vector<Sample> http;
  for (const auto& [code, n] : counters.http_requests) {
    http.push_back({{{"code", std::to_string(code)}}, double(n)});
  }
  out.counter("aifed_http_requests_total", "HTTP requests answered by response status.", http);
  out.counter("aifed_store_failed_writes_total",
              "Group commits the database refused (nothing of them was accepted or sent).",
              {{{}, double(counters.failed_writes)}});
  out.counter("aifed_state_rebuilds_total",
              "Times the coordinator rebuilt its state from the database after a failed write.",
              {{{}, double(counters.state_rebuilds)}});
  if (counters.tls_certificate_not_after) {
    out.gauge("aifed_tls_certificate_expiry_timestamp_seconds",
              "When the coordinator's HTTPS certificate expires (its notAfter), in Unix seconds.",
              {{{}, unixSeconds(*counters.tls_certificate_not_after)}});
  }
  return out.text();
}

}  // namespace aifed::api
