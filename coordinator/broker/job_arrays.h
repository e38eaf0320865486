// Job arrays (docs/placement.md, "Arrays"): one submission that becomes many ordinary
// jobs (tasks), each with its own id from the job sequence and its index in the array,
// and at most `max_running` of them at sites at once (dispatched, pending or running).
// The array table owns the arrays, their tasks and each array's count of active tasks,
// kept up to date on every state change so the throttle costs O(1) per queued task.
//
//   Result<std::vector<int64_t>> indices = parseArrayIndices("0-999:2,1001");
//   ArrayTable arrays;
//   ArrayTable::Entry& a = arrays.create(record);           // "a-1"
//   arrays.addTask(a.record.id, seq);
//   arrays.stateChanged(job, before, after);                 // on every transition
//   if (arrays.throttled(job)) ...stays queued...
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/broker/job_table.h"
#include "coordinator/broker/records.h"
#include "protocol/status.h"

namespace aifed::broker {

// At most this many tasks per array, and no index above kMaxArrayIndex.
inline constexpr size_t kMaxArrayTasks = 10000;
inline constexpr int64_t kMaxArrayIndex = 4000000;

// What an array submission asks for besides the spec its tasks share.
struct ArraySpec {
  std::string indices;  // Slurm's --array syntax without "%": "0-999:2,1001"
  int max_running = 0;  // 0: no limit
};

// The indices of `text` ("N", "N-M" or "N-M:S", comma separated), sorted, each once.
// kInvalidArgument (field "array.indices") when malformed, empty, above kMaxArrayIndex or
// more than kMaxArrayTasks.
Result<std::vector<int64_t>> parseArrayIndices(std::string_view text);

// "a-<seq>" and back (nullopt unless exactly that form with seq >= 1).
std::string formatArrayId(int64_t seq);
std::optional<int64_t> parseArraySeq(std::string_view id);

class ArrayTable {
 public:
  struct Entry {
    ArrayRecord record;
    std::vector<int64_t> tasks;  // job seqs, in index order
    int active = 0;              // tasks dispatched, pending or running
  };

  // A new array with the next sequence number (record.id is set here).
  Entry& create(ArrayRecord record);
  // A stored array (restart); its tasks follow through addTask().
  Entry& restore(ArrayRecord record);
  // Job `seq` (in state `state`) is a task of array `id`; ignored for an unknown array.
  void addTask(const std::string& id, int64_t seq, JobState state);
  // A task's state changed.
  void stateChanged(const JobRecord& task, JobState before, JobState after);
  // Whether `task` must wait because its array has max_running tasks active.
  bool throttled(const JobRecord& task) const;

  const Entry* find(std::string_view id) const;
  const std::map<int64_t, Entry>& all() const { return arrays_; }
  int64_t nextSeq() const { return next_seq_; }
  void reserveSequence(int64_t next) { next_seq_ = std::max(next_seq_, next); }

  // Debug builds: each array's active count is the number of its active tasks.
  void checkInvariants(const JobTable& jobs) const;

 private:
  Entry* findMutable(std::string_view id);

  std::map<int64_t, Entry> arrays_;
  int64_t next_seq_ = 1;
};

}  // namespace aifed::broker
