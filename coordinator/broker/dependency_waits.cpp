#include "coordinator/broker/dependency_waits.h"

#include <algorithm>
#include <cassert>
#include <unordered_set>

namespace aifed::broker {

void DependencyWaits::add(int64_t seq, const std::vector<std::string>& on) {
  std::vector<std::string>& ids = on_[seq];
  for (const std::string& id : on) {
    if (std::find(ids.begin(), ids.end(), id) != ids.end()) continue;
    ids.push_back(id);
    by_job_[id].push_back(seq);
  }
}

bool DependencyWaits::remove(int64_t seq) {
  auto it = on_.find(seq);
  if (it == on_.end()) return false;
  for (const std::string& id : it->second) {
    auto waiting = by_job_.find(id);
    if (waiting == by_job_.end()) continue;  // that job ended: its list was handed out
    std::erase(waiting->second, seq);
    if (waiting->second.empty()) by_job_.erase(waiting);
  }
  on_.erase(it);
  return true;
}

void DependencyWaits::ended(const std::string& id) {
  auto it = by_job_.find(id);
  if (it == by_job_.end()) return;
  due_.insert(due_.end(), it->second.begin(), it->second.end());
  by_job_.erase(it);
  // The waiting jobs keep the id in on_ until they are examined; remove() skips it.
}

std::vector<int64_t> DependencyWaits::takeDue() {
  std::vector<int64_t> out;
  std::unordered_set<int64_t> seen;
  for (int64_t seq : due_) {
    if (seen.insert(seq).second) out.push_back(seq);
  }
  due_.clear();
  return out;
}

void DependencyWaits::checkInvariants() const {
#ifndef NDEBUG
  // Every entry of the index is a waiting job that names the id it is filed under.
  for (const auto& [id, seqs] : by_job_) {
    for (int64_t seq : seqs) {
      auto it = on_.find(seq);
      assert(it != on_.end());
      assert(std::find(it->second.begin(), it->second.end(), id) != it->second.end());
      (void)it;
    }
  }
#endif
}

}  // namespace aifed::broker
