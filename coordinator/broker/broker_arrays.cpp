// Job arrays at the broker (docs/placement.md, "Arrays"): one submission becomes one
// ordinary job per index, placed each on its own merits; the array's throttle keeps all
// but max_running of them queued; a cancel reaches every task that has not ended.
#include "coordinator/broker/broker_impl.h"
#include "coordinator/broker/admission.h"

namespace aifed::broker {

bool Broker::Impl::throttle(JobRecord& j, Effects& fx) {
  if (!arrays.throttled(j)) return false;
  const ArrayTable::Entry* a = arrays.find(j.array_id);
  std::string why = "array " + j.array_id + " throttled: " + std::to_string(a->active) +
                    " of its tasks are active (%" + std::to_string(a->record.max_running) + ")";
  if (j.reason != why) {
    j.reason = std::move(why);
    emit(j, fx);
  }
  return true;
}

void Broker::Impl::cancelJob(JobRecord& j, int64_t seq, const std::string& reason, Instant now,
                             Effects& fx) {
  if (j.state == JobState::kQueued) {
    j.reason = reason;
    (void)transition(j, seq, JobEvent::kCancelQueued, now);
  } else if (!j.cancel_requested) {
    (void)transition(j, seq, JobEvent::kRequestCancel, now);
    j.last_sent_at = now.wall;
    retries.sent(seq, now.mono);
    send(j.site, Cancel{j.id, j.attempt, reason}, fx);
  }
  emit(j, fx);
}

Result<Broker::ArraySubmission> Broker::submitArray(const JobSpec& spec, const ArraySpec& array,
                                                    Instant now, Effects& fx) {
  Impl& m = *impl_;
  Impl::CallGuard guard(m);
  Result<std::vector<int64_t>> indices = parseArrayIndices(array.indices);
  if (!indices.ok()) return indices.status();
  if (array.max_running < 0) {
    return invalidArgument("array max_running must not be negative (0: no limit)",
                           "array.max_running");
  }
  if (Status s = validateJobSpec(spec); !s.ok()) return s;
  if (Status s = checkAgainstFederation(spec, m.fed); !s.ok()) return s;
  if (Status s = m.checkDependenciesExist(spec); !s.ok()) return s;
  ArrayRecord record{"",       spec.name,      spec.project,       spec.user,
                     now.wall, array.indices,  array.max_running,  static_cast<int>(indices->size())};
  ArrayTable::Entry& a = m.arrays.create(std::move(record));
  ArraySubmission out;
  out.array = a.record;
  out.jobs.reserve(indices->size());
  JobSpec task_spec = spec;
  task_spec.env["AIFED_ARRAY_ID"] = a.record.id;
  for (int64_t index : *indices) {
    task_spec.env["AIFED_ARRAY_TASK_ID"] = std::to_string(index);
    task_spec.env["SLURM_ARRAY_TASK_ID"] = std::to_string(index);
    int64_t seq = m.jobs.nextSeq();
    JobRecord& j = m.jobs.create(task_spec, now.wall);
    j.array_id = a.record.id;
    j.array_index = index;
    m.arrays.addTask(a.record.id, seq, j.state);
    m.holdOrQueue(j, seq);
    m.emit(j, fx);
    out.jobs.push_back(j.id);
  }
  fx.arrays.push_back(a.record);
  fx.next_array_seq = m.arrays.nextSeq();
  return out;
}

Result<ArrayRecord> Broker::cancelArray(const std::string& id, const std::string& reason,
                                        Instant now, Effects& fx) {
  Impl& m = *impl_;
  Impl::CallGuard guard(m);
  const ArrayTable::Entry* a = m.arrays.find(id);
  if (!a) return notFound("no array " + id);
  for (int64_t seq : a->tasks) {
    auto it = m.jobs.all().find(seq);
    if (it == m.jobs.all().end() || isTerminal(it->second.state)) continue;
    m.cancelJob(m.jobs.at(seq), seq, reason, now, fx);
  }
  return a->record;
}

const ArrayRecord* Broker::findArray(const std::string& id) const {
  const ArrayTable::Entry* a = impl_->arrays.find(id);
  return a ? &a->record : nullptr;
}

std::vector<const ArrayRecord*> Broker::listArrays() const {
  std::vector<const ArrayRecord*> out;
  out.reserve(impl_->arrays.all().size());
  for (const auto& [seq, a] : impl_->arrays.all()) out.push_back(&a.record);
  return out;
}

std::vector<const JobRecord*> Broker::arrayTasks(const std::string& id) const {
  std::vector<const JobRecord*> out;
  const ArrayTable::Entry* a = impl_->arrays.find(id);
  if (!a) return out;
  out.reserve(a->tasks.size());
  for (int64_t seq : a->tasks) {
    auto it = impl_->jobs.all().find(seq);
    if (it != impl_->jobs.all().end()) out.push_back(&it->second);
  }
  return out;
}

int64_t Broker::nextArraySeq() const {
  return impl_->arrays.nextSeq();
}

void Broker::reserveArraySeq(int64_t next) {
  impl_->arrays.reserveSequence(next);
}

}  // namespace aifed::broker
