#include "coordinator/output_requests.h"

#include <vector>

namespace aifed::coordinator {

Result<std::string> OutputRequests::add(const std::string& site, const Done& done, MonoTime now) {
  if (waiting_.size() >= options_.max_pending) {
    return unavailable(std::to_string(waiting_.size()) +
                       " output requests are waiting for their sites already");
  }
  std::string id = "out-" + std::to_string(next_id_++);
  waiting_.emplace(id, Waiting{site, now + options_.timeout, done});
  return id;
}

bool OutputRequests::complete(const std::string& site, LogData data) {
  auto it = waiting_.find(data.request_id);
  if (it == waiting_.end() || it->second.site != site) return false;
  Done done = std::move(it->second.done);
  waiting_.erase(it);  // before the call: `done` may add another request
  done(OutputAnswer{OutputAnswer::Failure::kNone, {}, std::move(data)});
  return true;
}

void OutputRequests::expire(MonoTime now) {
  std::vector<std::pair<std::string, Done>> late;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    late.emplace_back(it->second.site, std::move(it->second.done));
    it = waiting_.erase(it);
  }
  for (auto& [site, done] : late) {
    done({OutputAnswer::Failure::kTimeout,
          "site " + site + " did not answer within " +
              std::to_string(
                  std::chrono::duration_cast<std::chrono::seconds>(options_.timeout).count()) +
              " s",
          {}});
  }
}

std::optional<MonoTime> OutputRequests::nextDeadline() const {
  std::optional<MonoTime> next;
  for (const auto& [id, w] : waiting_) {
    if (!next || w.deadline < *next) next = w.deadline;
  }
  return next;
}

}  // namespace aifed::coordinator
