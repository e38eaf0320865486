#include "coordinator/site_transition_log.h"

#include "protocol/maintenance.h"

namespace aifed::coordinator {

std::string quoted(const std::string& key, const std::string& value) {
  std::string out = key + "=\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out + "\"";
}

SiteTransitionLog::Seen SiteTransitionLog::seenOf(const broker::SiteRecord& r) {
  SiteState live = r.state == SiteState::kDraining ? SiteState::kUp : r.state;
  return {live, r.drained, r.maintenance_active};
}

void SiteTransitionLog::seed(const std::vector<broker::SiteRecord>& sites) {
  seen_.clear();
  for (const broker::SiteRecord& r : sites) seen_[r.id] = seenOf(r);
}

std::vector<LogLine> SiteTransitionLog::observe(const std::vector<broker::SiteRecord>& sites) {
  std::vector<LogLine> lines;
  for (const broker::SiteRecord& r : sites) {
    Seen now = seenOf(r);
    Seen& was = seen_[r.id];
    std::string head = "site-transition site=" + r.id + " event=";
    std::string heard = r.last_heard ? " " + quoted("last_heard", formatUtc(*r.last_heard)) : "";
    std::string window = r.maintenance_active.empty() ? "" : " window=" + r.maintenance_active;
    if (now.liveness != was.liveness) {
      switch (now.liveness) {
        case SiteState::kUp:
          if (was.liveness == SiteState::kUnknown) {
            lines.push_back({false, head + "connected " + quoted("agent", r.agent_version)});
          } else {
            lines.push_back(
                {false, head + "back after=" + std::string(siteStateName(was.liveness))});
          }
          break;
        case SiteState::kSuspect:
          lines.push_back({true, head + "suspect" + heard + window});
          break;
        case SiteState::kUnreachable:
          lines.push_back({true, head + "unreachable" + heard + window});
          break;
        default:
          break;
      }
    }
    if (now.drained != was.drained) {
      if (now.drained) {
        lines.push_back({true, head + "drained " + quoted("by", r.drained_by) + " " +
                                   quoted("reason", r.drain_reason)});
      } else {
        lines.push_back({false, head + "resumed"});
      }
    }
    if (now.maintenance_active != was.maintenance_active) {
      if (!was.maintenance_active.empty()) {
        lines.push_back({false, head + "maintenance-end window=" + was.maintenance_active});
      }
      for (const MaintenanceWindow& w : r.maintenance) {
        if (w.id != now.maintenance_active) continue;
        lines.push_back({true, head + "maintenance-start window=" + w.id + " " +
                                   quoted("until", formatUtc(w.end)) + " " +
                                   quoted("by", w.declared_by) + " " + quoted("reason", w.reason)});
      }
    }
    was = now;
  }
  return lines;
}

}  // namespace aifed::coordinator
