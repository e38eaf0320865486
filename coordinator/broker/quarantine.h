// The quarantine: attempts that agents report and the coordinator has no record of
// (after a restore from an older backup, or a database that lost its last writes). The
// coordinator never cancels a job it does not know: each such attempt is held here, in
// the effects for the store and in the API for an admin, who either lets it be (the site
// runs it to its end, the federation ignores it) or has it cancelled.
//
//   reported unknown ──> held ──admin: cancel──> cancelling (CANCEL sent, retried until
//          │               │                     the site reports it ended or gone)
//          │               └──admin: release──> released (left alone, kept for the record)
//          └─ a later report refreshes what is known (state, local id, last seen)
//
//   Quarantine q;
//   if (q.report(site, report, now)) emit(q.find(site, id, attempt));
//   Result<QuarantinedJob> c = q.decide(site, id, attempt, QuarantineAction::kCancel, who, now);
#pragma once

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "coordinator/broker/records.h"

namespace aifed::broker {

enum class QuarantineAction { kCancel, kRelease };

class Quarantine {
 public:
  using Key = std::tuple<std::string, std::string, int>;  // site, job id, attempt

  // An agent reported this attempt (HELLO, JOB_STATUS, DISPATCH_ACK). True when the
  // entry is new or changed (the caller emits it).
  bool report(const std::string& site, const std::string& job_id, int attempt,
              const std::string& local_id, JobState state, Time now);
  // An admin's decision. kNotFound for an unknown entry, kFailedPrecondition when it was
  // decided already.
  Result<QuarantinedJob> decide(const Key& key, QuarantineAction action, const std::string& actor,
                                Time now);
  const QuarantinedJob* find(const Key& key) const;
  // Entries being cancelled at `site` (their CANCEL is sent at every HELLO of the site
  // and re-sent with the retries).
  std::vector<const QuarantinedJob*> cancelling(const std::string& site) const;
  const std::map<Key, QuarantinedJob>& all() const { return held_; }
  // Whether the CANCEL of an entry being cancelled is due (never sent, or `interval`
  // ago); sent() restarts its interval. Monotonic times; not persisted.
  bool cancelDue(const Key& key, MonoTime now, Duration interval) const {
    auto it = sent_.find(key);
    return it == sent_.end() || now - it->second >= interval;
  }
  void sent(const Key& key, MonoTime now) { sent_[key] = now; }
  void restore(std::vector<QuarantinedJob> stored);
  // The highest job sequence number among the entries (ids the coordinator must never
  // hand out again), 0 when none.
  int64_t highestSeq() const { return highest_seq_; }

 private:
  std::map<Key, QuarantinedJob> held_;
  std::map<Key, MonoTime> sent_;
  int64_t highest_seq_ = 0;
};

}  // namespace aifed::broker
