// Maintenance windows (broker.h, "Maintenance windows"): declared and cancelled by an
// admin or the site's site-admin, acknowledged by the site's agent. The site table keeps
// them and turns them into lease pauses; the site-state filter keeps jobs away.
#include "coordinator/broker/broker_impl.h"
#include "protocol/maintenance.h"

namespace aifed::broker {
namespace {

constexpr size_t kMaxReasonLength = 500;

Status validateWindow(Time start, Time end, const std::string& reason, Time now) {
  if (end <= start) return invalidArgument("end must be after start", "end");
  if (end <= now) return invalidArgument("end must be in the future", "end");
  if (end - start > kMaxMaintenanceWindow) {
    return invalidArgument("a window lasts at most " +
                               std::to_string(std::chrono::duration_cast<std::chrono::hours>(
                                                  kMaxMaintenanceWindow)
                                                  .count() /
                                              24) +
                               " days",
                           "end");
  }
  if (reason.empty()) return invalidArgument("a reason is required", "reason");
  if (reason.size() > kMaxReasonLength) {
    return invalidArgument("reason is longer than " + std::to_string(kMaxReasonLength) + " bytes",
                           "reason");
  }
  return Status::Ok();
}

}  // namespace

Result<MaintenanceWindow> Broker::declareMaintenance(const std::string& site, Time start, Time end,
                                                     const std::string& reason,
                                                     const std::string& actor, Instant now,
                                                     Effects& fx) {
  Impl& m = *impl_;
  Impl::CallGuard guard(m);
  std::optional<size_t> i = m.sites.find(site);
  if (!i) return notFound("no site " + site);
  RETURN_IF_ERROR(validateWindow(start, end, reason, now.wall));
  std::vector<MaintenanceWindow> windows = m.sites.record(*i).maintenance;
  if (windows.size() >= kMaxMaintenanceWindows) {
    return invalidArgument("site " + site + " holds " + std::to_string(windows.size()) +
                               " windows already; cancel one first",
                           "start");
  }
  MaintenanceWindow w{"mw-" + std::to_string(m.next_window_seq), start, end, reason, actor};
  fx.next_window_seq = ++m.next_window_seq;
  windows.push_back(w);
  m.sites.setMaintenance(*i, std::move(windows));
  m.emitSite(*i, fx);
  return w;
}

Result<MaintenanceWindow> Broker::cancelMaintenance(const std::string& site,
                                                    const std::string& window, Instant now,
                                                    Effects& fx) {
  Impl& m = *impl_;
  Impl::CallGuard guard(m);
  (void)now;
  std::optional<size_t> i = m.sites.find(site);
  if (!i) return notFound("no site " + site);
  std::vector<MaintenanceWindow> windows = m.sites.record(*i).maintenance;
  auto it = std::find_if(windows.begin(), windows.end(),
                         [&](const MaintenanceWindow& w) { return w.id == window; });
  if (it == windows.end()) return notFound("site " + site + " has no window " + window);
  MaintenanceWindow cancelled = *it;
  windows.erase(it);
  m.sites.setMaintenance(*i, std::move(windows));
  m.emitSite(*i, fx);
  return cancelled;
}

void Broker::maintenanceAcknowledged(const std::string& site, const std::vector<std::string>& held,
                                     Effects& fx) {
  Impl& m = *impl_;
  Impl::CallGuard guard(m);
  std::optional<size_t> i = m.sites.find(site);
  if (i && m.sites.retireAcknowledged(*i, held)) m.emitSite(*i, fx);
}

Maintenance Broker::maintenanceFor(const std::string& site) const {
  std::optional<size_t> i = impl_->sites.find(site);
  if (!i) return {};
  return {impl_->sites.record(*i).maintenance, impl_->cfg.maintenance_grace};
}

}  // namespace aifed::broker
