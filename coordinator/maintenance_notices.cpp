#include "coordinator/maintenance_notices.h"

#include <cstdlib>
#include <type_traits>

namespace aifed::coordinator {
namespace {

// Whether the version WELCOME negotiated ("major.minor") carries MAINTENANCE (1.2).
bool hearsMaintenance(const std::string& version) {
  size_t dot = version.find('.');
  if (dot == std::string::npos) return false;
  int major = std::atoi(version.c_str());
  int minor = std::atoi(version.c_str() + dot + 1);
  return major > kProtocolMajor || (major == kProtocolMajor && minor >= 2);
}

}  // namespace

void MaintenanceNotices::seed(const std::vector<broker::SiteRecord>& sites) {
  sites_.clear();
  for (const broker::SiteRecord& r : sites) sites_[r.id].wanted = r.maintenance;
}

void MaintenanceNotices::observe(const broker::Effects& fx) {
  for (const broker::SiteRecord& r : fx.sites) sites_[r.id].wanted = r.maintenance;
  for (const broker::OutboundMessage& out : fx.messages) {
    const Welcome* w = std::get_if<Welcome>(&out.body);
    if (!w) continue;
    SiteNotice& n = sites_[out.site];
    n.session = hearsMaintenance(w->protocol_version);
    n.acked.reset();
    n.in_flight.clear();
    n.in_flight_windows.clear();
    n.sent_at.reset();
  }
}

std::vector<MaintenanceNotices::Notice> MaintenanceNotices::due(MonoTime now) const {
  std::vector<Notice> out;
  for (const auto& [site, n] : sites_) {
    if (!n.session || (n.acked && *n.acked == n.wanted)) continue;
    bool same = !n.in_flight.empty() && n.in_flight_windows == n.wanted;
    if (same && n.sent_at && now - *n.sent_at < retry_interval_) continue;
    out.push_back({site, Maintenance{n.wanted, grace_}});
  }
  return out;
}

void MaintenanceNotices::sent(const std::string& site, const std::string& msg_id, MonoTime now) {
  auto it = sites_.find(site);
  if (it == sites_.end() || msg_id.empty()) return;
  it->second.in_flight = msg_id;
  it->second.in_flight_windows = it->second.wanted;
  it->second.sent_at = now;
}

std::optional<std::vector<std::string>> MaintenanceNotices::acknowledged(
    const std::string& site, const std::string& ack_msg_id) {
  auto it = sites_.find(site);
  if (it == sites_.end() || it->second.in_flight.empty() || it->second.in_flight != ack_msg_id) {
    return std::nullopt;
  }
  SiteNotice& n = it->second;
  n.acked = n.in_flight_windows;
  n.in_flight.clear();
  std::vector<std::string> held;
  for (const MaintenanceWindow& w : *n.acked) held.push_back(w.id);
  return held;
}

bool MaintenanceNotices::upToDate(const std::string& site) const {
  auto it = sites_.find(site);
  return it != sites_.end() && it->second.acked && *it->second.acked == it->second.wanted;
}

}  // namespace aifed::coordinator
