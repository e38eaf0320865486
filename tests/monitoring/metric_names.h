// What the shipped monitoring files (deploy/prometheus/aifed-alerts.yml,
// deploy/grafana/aifed-dashboard.json) ask of /metrics, and what a /metrics page has:
// the tests compare the two so a rule or panel never waits on a series the coordinator
// does not export.
//
//   std::set<std::string> used =
//   aifedMetricNames(readSourceFile("deploy/prometheus/aifed-alerts.yml")); std::set<std::string>
//   missing = missingFrom(used, exportedMetricNames(page));
#pragma once

#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace aifed::monitoring {

inline bool identifierChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ':';
}

// Every whole identifier in `text` that starts with "aifed_", the prefix of all the
// coordinator's metrics. Prometheus's own names (up, time(), functions) are left out.
inline std::set<std::string> aifedMetricNames(std::string_view text) {
  std::set<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    if (!identifierChar(text[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < text.size() && identifierChar(text[i])) ++i;
    std::string_view token = text.substr(start, i - start);
    if (token.substr(0, 6) == "aifed_") out.emplace(token);
  }
  return out;
}

// The sample names a /metrics page can have: each `# TYPE` line's family, and for a
// histogram its _bucket, _sum and _count series.
inline std::set<std::string> exportedMetricNames(const std::string& page) {
  std::set<std::string> out;
  std::istringstream lines(page);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string hash, keyword, name, type;
    if (!(words >> hash >> keyword >> name >> type) || hash != "#" || keyword != "TYPE") continue;
    out.insert(name);
    if (type == "histogram") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) out.insert(name + suffix);
    }
  }
  return out;
}

inline std::set<std::string> missingFrom(const std::set<std::string>& used,
                                         const std::set<std::string>& exported) {
  std::set<std::string> out;
  for (const std::string& name : used) {
    if (!exported.count(name)) out.insert(name);
  }
  return out;
}

// Every "expr" string anywhere in the dashboard (panel targets, panels inside rows,
// template variables).
inline void collectExpressions(const boost::json::value& v, std::vector<std::string>& out) {
  if (v.is_object()) {
    for (const auto& [key, value] : v.get_object()) {
      if (key == "expr" && value.is_string()) {
        out.emplace_back(value.get_string());
      } else {
        collectExpressions(value, out);
      }
    }
  } else if (v.is_array()) {
    for (const boost::json::value& e : v.get_array()) collectExpressions(e, out);
  }
}

inline std::string readSourceFile(const std::string& relative) {
  std::ifstream in(std::string(AIFED_SOURCE_DIR) + "/" + relative, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The aifed_ names the shipped alert rules and dashboard use.
inline std::set<std::string> namesUsedByShippedFiles() {
  std::set<std::string> used =
      aifedMetricNames(readSourceFile("deploy/prometheus/aifed-alerts.yml"));
  std::vector<std::string> exprs;
  collectExpressions(boost::json::parse(readSourceFile("deploy/grafana/aifed-dashboard.json")),
                     exprs);
  for (const std::string& e : exprs) {
    for (const std::string& name : aifedMetricNames(e)) used.insert(name);
  }
  return used;
}

}  // namespace aifed::monitoring
