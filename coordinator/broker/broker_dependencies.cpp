// Jobs held by their dependencies (docs/placement.md, "Dependencies"). A queued job whose
// dependencies do not hold yet waits outside the pending queue, filed under the jobs it
// waits on (DependencyWaits); when one of those ends, the next tick examines exactly the
// jobs waiting on it: queued when every dependency holds, cancelled through the life
// cycle when one never can, filed again otherwise. The coordinator decides, so a job may
// depend on one that ran at any site.
#include "coordinator/broker/broker_impl.h"

namespace aifed::broker {
namespace {

bool holds(DependencyCondition c, JobState ended) {
  switch (c) {
    case DependencyCondition::kAfterOk:
      return ended == JobState::kCompleted;
    case DependencyCondition::kAfterNotOk:
      return ended != JobState::kCompleted;
    case DependencyCondition::kAfterAny:
      return true;
  }
  return false;
}

}  // namespace

Dispatch Broker::Impl::dispatchOf(const JobRecord& j) {
  Dispatch d{j.id, j.attempt, j.spec};
  d.spec.dependencies.clear();  // the coordinator's business: sites never see them
  return d;
}

Broker::Impl::DependencyCheck Broker::Impl::checkDependencies(const JobRecord& j) const {
  DependencyCheck check;
  for (const JobDependency& dep : j.spec.dependencies) {
    std::optional<JobState> state;
    if (const JobRecord* other = jobs.find(dep.job)) {
      state = other->state;
    } else if (const JobTable::Ended* e = jobs.ended(dep.job)) {
      state = e->state;
    }
    if (!state) {
      check.kind = DependencyCheck::Kind::kNever;
      check.reason = "dependency never satisfied: " + dep.job + " is unknown";
      return check;
    }
    if (!isTerminal(*state)) {
      if (check.waits_on.empty()) {
        check.reason = "waiting for " + dep.job + " to complete (" +
                       std::string(dependencyConditionName(dep.condition)) + ")";
      }
      check.waits_on.push_back(dep.job);
      continue;
    }
    if (!holds(dep.condition, *state)) {
      check.kind = DependencyCheck::Kind::kNever;
      check.reason = "dependency never satisfied: " + dep.job + " ended " +
                     std::string(jobStateName(*state));
      check.waits_on.clear();
      return check;
    }
  }
  if (!check.waits_on.empty()) check.kind = DependencyCheck::Kind::kWaiting;
  return check;
}

Status Broker::Impl::checkDependenciesExist(const JobSpec& spec) const {
  for (const JobDependency& dep : spec.dependencies) {
    if (!jobs.find(dep.job) && !jobs.ended(dep.job)) {
      return invalidArgument("dependency " + dep.job + " is not a job of this federation",
                             "dependencies");
    }
  }
  return Status::Ok();
}

void Broker::Impl::holdOrQueue(JobRecord& j, int64_t seq) {
  if (j.spec.dependencies.empty()) {
    queue.add(seq, j.spec.priority);
    return;
  }
  DependencyCheck check = checkDependencies(j);
  switch (check.kind) {
    case DependencyCheck::Kind::kSatisfied:
      queue.add(seq, j.spec.priority);
      return;
    case DependencyCheck::Kind::kWaiting:
      j.reason = check.reason;
      waits.add(seq, check.waits_on);
      return;
    case DependencyCheck::Kind::kNever:
      waits.add(seq, {});
      waits.markDue(seq);
      return;
  }
}

void Broker::Impl::releaseWaiting(Instant now, Effects& fx) {
  // Cancelling a job can make the jobs waiting on it due in turn: until none is left.
  while (waits.anyDue()) {
    for (int64_t seq : waits.takeDue()) {
      auto it = jobs.all().find(seq);
      if (it == jobs.all().end() || !waits.waiting(seq)) continue;
      JobRecord& j = jobs.at(seq);
      DependencyCheck check = checkDependencies(j);
      switch (check.kind) {
        case DependencyCheck::Kind::kSatisfied:
          waits.remove(seq);
          queue.add(seq, j.spec.priority);
          j.reason.clear();
          j.updated_at = now.wall;
          emit(j, fx);
          break;
        case DependencyCheck::Kind::kWaiting:
          waits.remove(seq);
          waits.add(seq, check.waits_on);
          if (j.reason != check.reason) {
            j.reason = check.reason;
            j.updated_at = now.wall;
            emit(j, fx);
          }
          break;
        case DependencyCheck::Kind::kNever:
          j.reason = check.reason;
          (void)transition(j, seq, JobEvent::kCancelQueued, now);
          emit(j, fx);
          break;
      }
    }
  }
}

void Broker::Impl::restoreArrays(std::vector<ArrayRecord> stored, int64_t next_array_seq) {
  for (ArrayRecord& a : stored) arrays.restore(std::move(a));
  arrays.reserveSequence(next_array_seq);
  for (const auto& [seq, j] : jobs.all()) {
    if (!j.array_id.empty()) arrays.addTask(j.array_id, seq, j.state);
  }
  // Dependencies name older jobs, all restored by now.
  for (const auto& [seq, j] : jobs.all()) {
    if (j.state == JobState::kQueued) holdOrQueue(jobs.at(seq), seq);
  }
}

}  // namespace aifed::broker
