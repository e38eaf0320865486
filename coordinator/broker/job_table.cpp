#include "coordinator/broker/job_table.h"

#include <cassert>

#include "common/ids.h"

namespace aifed::broker {

bool isActiveState(JobState s) {
  return s == JobState::kDispatched || s == JobState::kPending || s == JobState::kRunning;
}

JobRecord& JobTable::create(const JobSpec& spec, Time now) {
  int64_t seq = next_seq_++;
  // Sequence numbers only grow: the new record goes at the end of the map.
  JobRecord& j = jobs_.emplace_hint(jobs_.end(), seq, JobRecord{})->second;
  j.id = common::formatJobId(seq);
  j.spec = spec;
  j.submitted_at = now;
  j.updated_at = now;
  seq_of_[j.id] = seq;
  return j;
}

JobRecord& JobTable::restore(int64_t seq, JobRecord record) {
  next_seq_ = std::max(next_seq_, seq + 1);
  seq_of_[record.id] = seq;
  JobRecord& j = jobs_[seq] = std::move(record);
  if (isActiveState(j.state)) active_.insert(seq);
  return j;
}

std::optional<int64_t> JobTable::seqOf(std::string_view id) const {
  auto it = seq_of_.find(std::string(id));
  if (it == seq_of_.end()) return std::nullopt;
  return it->second;
}

JobRecord* JobTable::find(std::string_view id) {
  std::optional<int64_t> seq = seqOf(id);
  return seq ? &jobs_.at(*seq) : nullptr;
}

const JobRecord* JobTable::find(std::string_view id) const {
  std::optional<int64_t> seq = seqOf(id);
  return seq ? &jobs_.at(*seq) : nullptr;
}

const JobTable::Ended* JobTable::ended(std::string_view id) const {
  if (ended_.empty()) return nullptr;
  std::optional<int64_t> seq = common::parseJobSeq(id);
  if (!seq || *seq <= 0 || static_cast<size_t>(*seq) >= ended_.size()) return nullptr;
  const Ended& e = ended_[static_cast<size_t>(*seq)];
  return e.attempt < 0 ? nullptr : &e;
}

void JobTable::stateChanged(int64_t seq, JobState before, JobState after) {
  bool was = isActiveState(before), is = isActiveState(after);
  if (was && !is) active_.erase(seq);
  if (is && !was) active_.insert(seq);
}

void JobTable::drop(int64_t seq, int32_t site_index) {
  auto it = jobs_.find(seq);
  if (it == jobs_.end()) return;
  if (static_cast<size_t>(seq) >= ended_.size()) ended_.resize(static_cast<size_t>(seq) + 1);
  ended_[static_cast<size_t>(seq)] = {it->second.attempt, site_index, it->second.state};
  active_.erase(seq);
  seq_of_.erase(it->second.id);
  jobs_.erase(it);
}

void JobTable::remapSites(const std::vector<int32_t>& new_index) {
  for (Ended& e : ended_) {
    if (e.site >= 0 && static_cast<size_t>(e.site) < new_index.size()) {
      e.site = new_index[static_cast<size_t>(e.site)];
    }
  }
}

void JobTable::checkInvariants() const {
#ifndef NDEBUG
  // Every job is found by its id, and the id names its sequence number.
  assert(seq_of_.size() == jobs_.size());
  size_t active = 0;
  for (const auto& [seq, j] : jobs_) {
    assert(seq_of_.at(j.id) == seq && common::parseJobSeq(j.id) == seq && seq < next_seq_);
    bool is = isActiveState(j.state);
    // The active index holds exactly the jobs a site holds.
    assert(is == (active_.count(seq) > 0));
    active += is;
  }
  assert(active == active_.size());
#endif
}

}  // namespace aifed::broker
