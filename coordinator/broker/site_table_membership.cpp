// SiteTable::reconfigure (site_table.h): the federation's sites change at run time (a
// reload of the federation file). Kept sites keep everything, in the new order.
#include <utility>

#include "coordinator/broker/site_table.h"

namespace aifed::broker {

std::vector<int32_t> SiteTable::reconfigure(const Federation& next) {
  std::vector<SiteRecord> records;
  std::vector<Liveness> live;
  std::unordered_map<std::string, size_t> index;
  std::vector<int32_t> new_index(records_.size(), -1);
  for (const SiteConfig& s : next.sites) {
    size_t at = records.size();
    index[s.id] = at;
    if (auto it = index_.find(s.id); it != index_.end()) {
      new_index[it->second] = static_cast<int32_t>(at);
      records.push_back(std::move(records_[it->second]));
      live.push_back(live_[it->second]);
      continue;
    }
    SiteRecord r;
    if (auto back = removed_.find(s.id); back != removed_.end()) {
      // Back in the federation: what it had (drain, jobs placed, windows) and a fresh
      // liveness, as after a restart.
      r = std::move(back->second);
      removed_.erase(back);
      r.unreachable_since.reset();
      r.maintenance_active.clear();
      r.rules.reset();
    }
    r.id = s.id;
    records.push_back(std::move(r));
    live.emplace_back();
  }
  for (size_t i = 0; i < records_.size(); ++i) {
    if (new_index[i] < 0) removed_[records_[i].id] = std::move(records_[i]);
  }
  records_ = std::move(records);
  live_ = std::move(live);
  index_ = std::move(index);
  for (size_t i = 0; i < records_.size(); ++i) refreshDisplayedState(i);
  return new_index;
}

}  // namespace aifed::broker
