// The log lines an operator greps for when a site changes (docs/operations.md, "Log
// lines"): connected, suspect, unreachable, back, drained, resumed, maintenance start and
// end. The daemon shows it every site record a durable batch changed; it compares each
// with the last one it saw and answers the lines to log. Stable text: tests and
// operators' alerts match it.
//
//   SiteTransitionLog transitions;
//   transitions.seed(broker.sites());                 // after a restore: logs nothing
//   for (const LogLine& l : transitions.observe(fx.sites)) log(l);
#pragma once

#include <map>
#include <string>
#include <vector>

#include "coordinator/broker/records.h"

namespace aifed::coordinator {

struct LogLine {
  bool warn = false;  // spdlog::warn, else spdlog::info
  std::string text;
  bool operator==(const LogLine&) const = default;
};

class SiteTransitionLog {
 public:
  // The records as they stand now (after a restore or rebuild): no lines for them.
  void seed(const std::vector<broker::SiteRecord>& sites);
  // Records that changed, in order; the lines their changes call for.
  std::vector<LogLine> observe(const std::vector<broker::SiteRecord>& sites);

 private:
  struct Seen {
    SiteState liveness = SiteState::kUnknown;  // kDraining shown as kUp
    bool drained = false;
    std::string maintenance_active;
  };
  static Seen seenOf(const broker::SiteRecord& r);
  std::map<std::string, Seen> seen_;
};

// `key="value"` with quotes and backslashes escaped, for values that may hold spaces.
std::string quoted(const std::string& key, const std::string& value);

}  // namespace aifed::coordinator
