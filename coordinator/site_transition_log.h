// The log lines an operator greps for when a site changes (docs/operations.md, "Log
// lines"): connected, suspect, unreachable, back, drained, resumed, maintenance start and
// end. The daemon shows it every site record a durable batch changed; it compares each
// with the last one it saw and answers the lines to log. Stable text: tests and
// operators' alerts match it. The same transitions come out as site events (the console's
// health timeline, GET /api/v1/sites/{id}/events), which the daemon persists.
//
//   SiteTransitionLog transitions;
//   transitions.seed(broker.sites());                 // after a restore: logs nothing
//   std::vector<store::SiteEvent> events;
//   for (const LogLine& l : transitions.observe(fx.sites, now, &events)) log(l);
#pragma once

#include <map>
#include <string>
#include <vector>

#include "coordinator/broker/records.h"
#include "coordinator/store/coordinator_store.h"

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
  // Records that changed, in order; the lines their changes call for. With `events`,
  // also one event per transition at `now` (from and to as the console shows a site's
  // state: unknown, up, suspect, unreachable, draining, maintenance); a resume's actor
  // is left empty (the record does not say who resumed).
  std::vector<LogLine> observe(const std::vector<broker::SiteRecord>& sites, Time now = {},
                               std::vector<store::SiteEvent>* events = nullptr);

 private:
  struct Seen {
    SiteState liveness = SiteState::kUnknown;  // kDraining shown as kUp
    bool drained = false;
    std::string maintenance_active;
  };
  static Seen seenOf(const broker::SiteRecord& r);
  // The state the console shows for what was seen (liveness first, then maintenance,
  // then drain).
  static std::string shown(const Seen& s);
  std::map<std::string, Seen> seen_;
};

// `key="value"` with quotes and backslashes escaped, for values that may hold spaces.
std::string quoted(const std::string& key, const std::string& value);

}  // namespace aifed::coordinator
