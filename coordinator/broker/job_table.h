// The job table: every job the broker holds, by sequence number (the submission order;
// a job's id is "j-<seq>"), with its two indexes: by id, and the active jobs (a site
// holds them: dispatched, pending or running).
//
// Ended jobs stay unless the owner's RecordKeeping drops them (the simulator's): a
// dropped job's last attempt and site are remembered, so a late message about it is
// answered as it would have been (ignored, or a CANCEL for another attempt).
//
//   JobTable jobs;
//   JobRecord& j = jobs.create(spec, now.wall);       // "j-1", queued
//   JobState before = j.state; ... change j ...; jobs.stateChanged(seq, before, j.state);
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "coordinator/broker/records.h"

namespace aifed::broker {

bool isActiveState(JobState s);

class JobTable {
 public:
  // What is remembered of a dropped job.
  struct Ended {
    int32_t attempt = -1;  // -1: not dropped
    int32_t site = -1;     // index of the site of its last attempt; -1: none
    JobState state = JobState::kCancelled;  // how it ended (for the jobs depending on it)
  };

  // A new queued job with the next sequence number; its id is returned in the record.
  JobRecord& create(const JobSpec& spec, Time now);
  // A stored job (restart); sequence numbers continue above every one seen.
  JobRecord& restore(int64_t seq, JobRecord record);
  // Sequence numbers never go below this (the store's high-water mark).
  void reserveSequence(int64_t next_seq) { next_seq_ = std::max(next_seq_, next_seq); }

  JobRecord* find(std::string_view id);
  const JobRecord* find(std::string_view id) const;
  JobRecord& at(int64_t seq) { return jobs_.at(seq); }
  const JobRecord& at(int64_t seq) const { return jobs_.at(seq); }
  std::optional<int64_t> seqOf(std::string_view id) const;
  // The job dropped under this id, or null.
  const Ended* ended(std::string_view id) const;

  // The job's state changed from `before` (the active index follows).
  void stateChanged(int64_t seq, JobState before, JobState after);
  // Drops an ended job from memory, remembering its attempt and site index.
  void drop(int64_t seq, int32_t site_index);
  // The sites were renumbered (SiteTable::reconfigure): a dropped job's site index i is
  // now `new_index[i]` (-1: its site left the federation).
  void remapSites(const std::vector<int32_t>& new_index);

  const std::map<int64_t, JobRecord>& all() const { return jobs_; }
  const std::set<int64_t>& active() const { return active_; }
  size_t size() const { return jobs_.size(); }
  int64_t nextSeq() const { return next_seq_; }
  const JobRecord& newest() const { return std::prev(jobs_.end())->second; }

  // Debug builds: the indexes agree with the records.
  void checkInvariants() const;

 private:
  std::map<int64_t, JobRecord> jobs_;  // by seq: submission order
  std::unordered_map<std::string, int64_t> seq_of_;
  std::set<int64_t> active_;
  int64_t next_seq_ = 1;
  std::vector<Ended> ended_;  // by seq, for dropped jobs
};

}  // namespace aifed::broker
