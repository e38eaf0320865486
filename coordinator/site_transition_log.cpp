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

std::string SiteTransitionLog::shown(const Seen& s) {
  if (s.liveness != SiteState::kUp) return std::string(siteStateName(s.liveness));
  if (!s.maintenance_active.empty()) return "maintenance";
  return s.drained ? "draining" : "up";
}

std::vector<LogLine> SiteTransitionLog::observe(const std::vector<broker::SiteRecord>& sites,
                                                Time at, std::vector<store::SiteEvent>* events) {
  std::vector<LogLine> lines;
  for (const broker::SiteRecord& r : sites) {
    Seen now = seenOf(r);
    Seen& was = seen_[r.id];
    std::string head = "site-transition site=" + r.id + " event=";
    std::string heard = r.last_heard ? " " + quoted("last_heard", formatUtc(*r.last_heard)) : "";
    std::string window = r.maintenance_active.empty() ? "" : " window=" + r.maintenance_active;
    std::string last_heard = r.last_heard ? "last heard " + formatUtc(*r.last_heard) : "never heard";
    // Each change moves `was` one step towards `now`, so an event's from and to are the
    // states shown before and after that one change.
    auto event = [&](auto apply, std::string reason, std::string actor) {
      std::string from = shown(was);
      apply();
      if (events) events->push_back({0, at, r.id, from, shown(was), std::move(reason), std::move(actor)});
    };
    if (now.liveness != was.liveness) {
      SiteState before = was.liveness;
      auto set = [&] { was.liveness = now.liveness; };
      switch (now.liveness) {
        case SiteState::kUp:
          if (before == SiteState::kUnknown) {
            lines.push_back({false, head + "connected " + quoted("agent", r.agent_version)});
            event(set, "agent " + r.agent_version + " connected", "agent");
          } else {
            lines.push_back(
                {false, head + "back after=" + std::string(siteStateName(before))});
            event(set, "agent back after being " + std::string(siteStateName(before)), "agent");
          }
          break;
        case SiteState::kSuspect:
          lines.push_back({true, head + "suspect" + heard + window});
          event(set, "missed heartbeats, " + last_heard, "coordinator");
          break;
        case SiteState::kUnreachable:
          lines.push_back({true, head + "unreachable" + heard + window});
          event(set, "missed heartbeats, " + last_heard, "coordinator");
          break;
        default:
          event(set, "", "coordinator");
          break;
      }
    }
    if (now.drained != was.drained) {
      auto set = [&] { was.drained = now.drained; };
      if (now.drained) {
        lines.push_back({true, head + "drained " + quoted("by", r.drained_by) + " " +
                                   quoted("reason", r.drain_reason)});
        event(set, r.drain_reason, r.drained_by);
      } else {
        lines.push_back({false, head + "resumed"});
        event(set, "resumed", "");
      }
    }
    if (now.maintenance_active != was.maintenance_active) {
      if (!was.maintenance_active.empty()) {
        lines.push_back({false, head + "maintenance-end window=" + was.maintenance_active});
        std::string ended = was.maintenance_active;
        event([&] { was.maintenance_active.clear(); }, "maintenance window " + ended + " ended",
              "coordinator");
      }
      for (const MaintenanceWindow& w : r.maintenance) {
        if (w.id != now.maintenance_active) continue;
        lines.push_back({true, head + "maintenance-start window=" + w.id + " " +
                                   quoted("until", formatUtc(w.end)) + " " +
                                   quoted("by", w.declared_by) + " " + quoted("reason", w.reason)});
        event([&] { was.maintenance_active = w.id; },
              w.reason + " (window " + w.id + " until " + formatUtc(w.end) + ")", w.declared_by);
      }
    }
    was = now;
  }
  return lines;
}

}  // namespace aifed::coordinator
