// Commands sent to sites that wait for their answer: a DISPATCH until the site
// acknowledges it, a CANCEL (a user's, or a withdrawal's only_if_pending) until the
// job's running or final state arrives. Each is re-sent every `interval` while its site
// can be reached: delivery is at-least-once, and the agent makes repeats harmless.
//
//   sent(seq, now) ──> waiting ──interval passes──> due ──resend──> waiting ...
//        └── dueNow(seq): due at once (the site restarted, or this coordinator did)
//   settle(seq): the answer came (or the job left the site): nothing is outstanding
//
// Times are monotonic. The broker keeps one entry per job that has a command outstanding
// and settles it on the transition that answers it.
//
//   CommandRetries retries(std::chrono::seconds(3));
//   retries.sent(seq, now.mono);
//   retries.forEachDue(now.mono, [&](int64_t seq) { return resend(seq); });
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "protocol/clock.h"

namespace aifed::broker {

class CommandRetries {
 public:
  explicit CommandRetries(Duration interval) : interval_(interval) {}

  void sent(int64_t seq, MonoTime at) { last_sent_[seq] = at; }
  void dueNow(int64_t seq) { last_sent_[seq] = std::nullopt; }
  void settle(int64_t seq) { last_sent_.erase(seq); }
  bool outstanding(int64_t seq) const { return last_sent_.count(seq) > 0; }
  size_t size() const { return last_sent_.size(); }

  // Calls `resend(seq)` for every command due at `now`, in seq order. `resend` returns
  // true when it sent the command again (its interval restarts) and false when its site
  // cannot be reached now (it stays due).
  template <typename Resend>
  void forEachDue(MonoTime now, Resend&& resend) {
    for (auto& [seq, last] : last_sent_) {
      if (last && now - *last < interval_) continue;
      if (resend(seq)) last = now;
    }
  }

  // The earliest moment a command whose site `reachable(seq)` becomes due (possibly
  // already past), or nullopt when none is.
  template <typename Reachable>
  std::optional<MonoTime> nextDeadline(Reachable&& reachable) const {
    std::optional<MonoTime> next;
    for (const auto& [seq, last] : last_sent_) {
      if (!reachable(seq)) continue;
      if (!last) return MonoTime{};  // due now
      MonoTime t = *last + interval_;
      if (!next || t < *next) next = t;
    }
    return next;
  }

  const std::map<int64_t, std::optional<MonoTime>>& all() const { return last_sent_; }

 private:
  Duration interval_;
  std::map<int64_t, std::optional<MonoTime>> last_sent_;  // by job seq; nullopt: due now
};

}  // namespace aifed::broker
