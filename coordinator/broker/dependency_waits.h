// The jobs held back by their dependencies (JobSpec::dependencies): queued at the
// coordinator but not in the pending queue, indexed by the job each one waits on, so
// that a job's end re-examines exactly the jobs waiting on it (no scan of the queue on
// every tick).
//
//   DependencyWaits waits;
//   waits.add(seq, {"j-12", "j-13"});     // examined: still waits on j-12 and j-13
//   waits.ended("j-12");                   // j-12 ended: seq is due for examination
//   for (int64_t s : waits.takeDue()) { ...examine: remove(s) and queue it, cancel it,
//                                          or remove(s) and add(s, what it still waits on) }
//
// A job is "waiting" from add() until remove(); the due list may name a job that left
// meanwhile (the caller checks).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace aifed::broker {

class DependencyWaits {
 public:
  // Job `seq` waits on the jobs `on` (ids of jobs that have not ended). An empty `on`
  // still makes it wait: for an examination (markDue).
  void add(int64_t seq, const std::vector<std::string>& on);
  // It no longer waits; false if it was not waiting.
  bool remove(int64_t seq);
  bool waiting(int64_t seq) const { return on_.count(seq) > 0; }
  size_t size() const { return on_.size(); }
  // Job `id` ended: the jobs waiting on it are due for examination.
  void ended(const std::string& id);
  // Job `seq` is due for examination (its dependencies are known to have changed).
  void markDue(int64_t seq) { due_.push_back(seq); }
  bool anyDue() const { return !due_.empty(); }
  // The jobs due for examination, each once, in the order they became due. Clears the list.
  std::vector<int64_t> takeDue();
  // Every waiting job (seq -> the ids it waits on).
  const std::unordered_map<int64_t, std::vector<std::string>>& all() const { return on_; }

  // Debug builds: the index by job waited on agrees with the waiting jobs.
  void checkInvariants() const;

 private:
  std::unordered_map<int64_t, std::vector<std::string>> on_;
  std::unordered_map<std::string, std::vector<int64_t>> by_job_;
  std::vector<int64_t> due_;
};

}  // namespace aifed::broker
