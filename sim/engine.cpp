#include "sim/engine.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <queue>
#include <set>
#include <sstream>
#include <unordered_map>

#include "common/ids.h"
#include "common/strings.h"
#include "coordinator/broker/broker.h"
#include "sim/simulated_agent.h"
#include "site-agent/backends/simulated_backend.h"

namespace aifed::sim {
namespace {

using broker::Broker;
using broker::BrokerConfig;
using broker::Effects;

// Same-instant order: a smaller kind goes first (see engine.h).
enum class EventKind : uint8_t {
  kOutageStart = 0,
  kOutageEnd = 1,
  kSiteWake = 2,
  kReportSend = 3,
  kReportDeliver = 4,
  kBrokerTick = 5,
};

struct Event {
  int64_t t;
  EventKind kind;
  uint64_t seq;  // insertion order: the last tie-break, so the order is total
  int32_t site;
  uint64_t arg;  // generation (wake, report) or payload slot (delivery)
  bool operator>(const Event& o) const {
    if (t != o.t) return t > o.t;
    if (kind != o.kind) return kind > o.kind;
    return seq > o.seq;
  }
};

struct Site {
  const SiteConfig* config = nullptr;
  std::unique_ptr<SimulatedAgent> agent;  // null while the site is out
  bool up = true;
  uint64_t generation = 0;  // bumped by outages: events of an older life are ignored
  uint64_t epoch = 0;
  int64_t wake_at = -1;  // the pending wake event's time (-1: none)
  bool dirty = false;    // has updates to poll at this instant
  bool touched = false;  // the backend was called since its next wake was scheduled
  agent::SimulatedBackend& backend() { return agent->backend(); }
};

// Deterministic report loss: SplitMix64 of (seed, site, epoch).
double lossDraw(uint64_t seed, size_t site, uint64_t epoch) {
  uint64_t z = seed ^ (site * 0x9e3779b97f4a7c15ULL) ^ (epoch * 0xbf58476d1ce4e5b9ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

// Every id here was made by the broker, so it parses; 0 would name no workload job.
int64_t seqOf(const std::string& id) {
  return common::parseJobSeq(id).value_or(0);
}

class Engine {
 public:
  Engine(const Federation& fed, const Workload& workload, const EngineOptions& options)
      : fed_(fed),
        workload_(workload),
        options_(options),
        // The engine needs from the effects only the messages and the jobs that ended,
        // and nothing of a job once it ended: memory stays in proportion to the active jobs.
        broker_(fed, brokerConfig(options), broker::keepOutcomesOnly()) {}

  Result<RunResult> run();

 private:
  static BrokerConfig brokerConfig(const EngineOptions& o) {
    BrokerConfig c;
    c.policy = o.policy;
    c.policies = o.policies;
    // Capacity reports double as heartbeats: a site is suspect after three missed.
    c.heartbeat_interval = o.report_interval;
    return c;
  }

  void push(int64_t t, EventKind kind, int32_t site, uint64_t arg) {
    events_.push(Event{t, kind, next_event_seq_++, site, arg});
  }
  // One envelope reused for every message to the broker (what makeMessage() builds,
  // without building the version string and the strings anew each time).
  // The frequent bodies (CAPACITY, JOB_STATUS) have an envelope each, filled in place.
  template <typename T>
  void toBroker(size_t site, Time now, T&& body) {
    envelope_.body = std::forward<T>(body);
    deliver(site, now, envelope_);
  }
  void deliver(size_t site, Time now, Message& envelope) {
    ++result_.messages;
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, ++next_msg_);
    envelope.msg_id.assign(buf, end);
    envelope.site = fed_.sites[site].id;
    envelope.sent_at = now;
    // The broker may take the body (a report's partitions): every envelope is refilled.
    broker_.onMessage(site, std::move(envelope), now, fx_);
  }

  Status prepare();
  Status handle(const Event& e, Time now, bool& tick_needed);
  Status submitArrivals(int64_t t, Time now);
  void tickIfNeeded(int64_t t, Time now, bool tick_needed);
  Status startSite(size_t i, Time now);
  void sendReport(size_t i, Time now);
  void route(Time now);
  void pollSite(size_t i, Time now);
  void scheduleWake(size_t i);
  void scheduleTick(int64_t t) {
    if (broker_tick_at_ != -1 && broker_tick_at_ <= t) return;
    broker_tick_at_ = t;
    push(t, EventKind::kBrokerTick, -1, 0);
  }
  void recordUpdate(size_t i, const agent::LocalJobUpdate& u);

  const Federation& fed_;
  const Workload& workload_;
  const EngineOptions& options_;
  Broker broker_;
  Effects fx_;
  Message envelope_ = makeMessage("", "", Time{}, Heartbeat{});
  Message report_envelope_ = makeMessage("", "", Time{}, Capacity{});
  std::vector<agent::LocalJobUpdate> polled_;       // pollSite()'s buffer
  std::vector<broker::OutboundMessage> route_out_;  // route()'s buffer
  Message status_envelope_ = makeMessage("", "", Time{}, JobStatus{});
  std::vector<Site> sites_;
  std::unordered_map<std::string, size_t> site_index_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  uint64_t next_event_seq_ = 0;
  uint64_t next_msg_ = 0;
  std::vector<Capacity> in_flight_;  // delayed reports, by slot
  std::vector<size_t> free_slots_;
  std::vector<int64_t> seq_to_job_ = {-1};  // broker job seq -> workload index
  std::unordered_map<std::string, int32_t> project_index_;
  int64_t broker_tick_at_ = -1;
  std::vector<uint8_t> done_flags_;  // the broker holds the job in a terminal state
  int64_t done_ = 0;
  size_t next_job_ = 0;     // the next workload job to submit
  int64_t horizon_ms_ = 0;  // the last submission or outage end
  int64_t stall_ms_ = 0;    // quiet time after the horizon that ends the run as stalled
  RunResult result_;

  Status stalled(int64_t quiet_ms) const;
};

Status Engine::startSite(size_t i, Time now) {
  Site& s = sites_[i];
  agent::SimulatedBackendOptions bo;
  bo.mode = options_.scheduler;
  bo.forget_ended = true;
  auto agent = SimulatedAgent::create(*s.config, fed_, bo);
  if (!agent.ok()) return agent.status();
  s.agent = std::move(*agent);
  s.touched = true;
  s.up = true;
  s.wake_at = -1;
  ++s.generation;
  Hello h;
  h.agent_version = "aifed-sim";
  h.backend = "simulated";
  toBroker(i, now, std::move(h));
  sendReport(i, now);
  push(toMillis(now + options_.report_interval), EventKind::kReportSend, static_cast<int32_t>(i),
       s.generation);
  return Status::Ok();
}

void Engine::sendReport(size_t i, Time now) {
  Site& s = sites_[i];
  s.touched = true;
  Capacity& c = std::get<Capacity>(report_envelope_.body);
  s.backend().capacityInto(now, c.capacity);
  if (s.backend().hasUpdates()) s.dirty = true;  // catching up may have made updates
  c.capacity.epoch = ++s.epoch;
  if (options_.report_loss > 0 && lossDraw(options_.seed, i, s.epoch) < options_.report_loss) {
    return;
  }
  if (options_.report_delay.count() == 0) {
    deliver(i, now, report_envelope_);
    return;
  }
  size_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
    in_flight_[slot] = c;
  } else {
    slot = in_flight_.size();
    in_flight_.push_back(c);
  }
  push(toMillis(now + options_.report_delay), EventKind::kReportDeliver, static_cast<int32_t>(i),
       slot);
}

void Engine::recordUpdate(size_t i, const agent::LocalJobUpdate& u) {
  int64_t seq = seqOf(u.tag.job_id);
  if (seq <= 0 || seq >= static_cast<int64_t>(seq_to_job_.size())) return;
  JobOutcome& o = result_.jobs[static_cast<size_t>(seq_to_job_[static_cast<size_t>(seq)])];
  if (u.state == JobState::kRunning && u.started_at) {
    o.start_ms = toMillis(*u.started_at);
    o.site = static_cast<int32_t>(i);
    o.attempts = u.tag.attempt;
  } else if (isTerminal(u.state) && u.ended_at) {
    o.end_ms = toMillis(*u.ended_at);
    o.completed = u.state == JobState::kCompleted || u.state == JobState::kTimeout ||
                  u.state == JobState::kFailed;
  }
}

void Engine::pollSite(size_t i, Time now) {
  Site& s = sites_[i];
  s.dirty = false;
  if (!s.up) return;
  s.touched = true;
  s.backend().pollInto(now, polled_);
  for (agent::LocalJobUpdate& u : polled_) {
    recordUpdate(i, u);
    if (isTerminal(u.state)) s.agent->ended(u.tag);
    agent::statusInto(std::move(u), std::get<JobStatus>(status_envelope_.body));
    deliver(i, now, status_envelope_);
  }
}

void Engine::scheduleWake(size_t i) {
  Site& s = sites_[i];
  s.touched = false;
  if (!s.up) return;
  std::optional<Time> next = s.backend().nextEventTime();
  if (!next) return;
  int64_t t = toMillis(*next);
  if (s.wake_at != -1 && s.wake_at <= t) return;  // an earlier or equal wake is pending
  s.wake_at = t;
  push(t, EventKind::kSiteWake, static_cast<int32_t>(i), s.generation);
}

// Delivers the broker's messages to the sites and the sites' answers back, until quiet.
void Engine::route(Time now) {
  std::vector<broker::OutboundMessage>& out = route_out_;
  for (;;) {
    out.clear();
    for (const broker::JobRecord& j : fx_.jobs) {
      if (!isTerminal(j.state)) continue;
      int64_t seq = seqOf(j.id);
      if (seq <= 0 || seq >= static_cast<int64_t>(seq_to_job_.size())) continue;
      uint8_t& flag = done_flags_[static_cast<size_t>(seq_to_job_[static_cast<size_t>(seq)])];
      if (!flag) {
        flag = 1;
        ++done_;
      }
    }
    out.swap(fx_.messages);
    fx_.clear();
    if (out.empty()) {
      bool any = false;
      for (size_t i = 0; i < sites_.size(); ++i) {
        if (sites_[i].dirty) {
          pollSite(i, now);
          any = true;
        }
      }
      if (!any) return;
      continue;
    }
    for (broker::OutboundMessage& m : out) {
      // WELCOME, ACK, ERROR need no answer from a simulated agent (the broker sends only
      // to the federation's sites, so the lookup below always succeeds).
      if (!std::holds_alternative<Dispatch>(m.body) && !std::holds_alternative<Cancel>(m.body)) {
        ++result_.messages;
        continue;
      }
      auto it = site_index_.find(m.site);
      if (it == site_index_.end()) continue;
      size_t i = it->second;
      Site& s = sites_[i];
      ++result_.messages;
      if (!s.up) continue;  // the agent is down: the message is lost
      if (auto* d = std::get_if<Dispatch>(&m.body)) {
        s.touched = true;
        std::optional<DispatchAck> ack = s.agent->dispatch(*d, now);
        if (ack && ack->accepted) {
          int64_t seq = seqOf(d->job_id);
          if (seq > 0 && seq < static_cast<int64_t>(seq_to_job_.size())) {
            result_.jobs[static_cast<size_t>(seq_to_job_[static_cast<size_t>(seq)])].staged_gb =
                s.agent->lastStagedGb();
          }
        }
        if (ack) toBroker(i, now, std::move(*ack));
        s.dirty = true;
      } else if (auto* c = std::get_if<Cancel>(&m.body)) {
        if (s.agent->cancel(*c, now)) s.touched = s.dirty = true;
      }
    }
  }
}

Status Engine::stalled(int64_t quiet_ms) const {
  const std::vector<SimJob>& jobs = workload_.jobs;
  std::vector<const broker::JobRecord*> waiting =
      broker_.listJobs(JobState::kQueued, "", 0, std::numeric_limits<size_t>::max());
  std::ostringstream msg;
  msg << "the simulation cannot finish: no job has ended for " << quiet_ms / (24 * 3600 * 1000)
      << " simulated days after the last submission and outage, and "
      << (jobs.size() - static_cast<size_t>(result_.rejected) - static_cast<size_t>(done_))
      << " jobs have not ended (" << waiting.size() << " of them held at the coordinator by policy "
      << options_.policy << ")";
  size_t shown = 0;
  for (const broker::JobRecord* j : waiting) {
    int64_t seq = seqOf(j->id);
    if (seq <= 0 || seq >= static_cast<int64_t>(seq_to_job_.size())) continue;
    msg << (shown == 0 ? "; first: " : ", ")
        << jobs[static_cast<size_t>(seq_to_job_[static_cast<size_t>(seq)])].origin;
    if (++shown == 3) break;
  }
  return failedPrecondition(msg.str());
}

Status Engine::prepare() {
  const std::vector<SimJob>& jobs = workload_.jobs;
  result_.jobs.resize(jobs.size());
  seq_to_job_.reserve(jobs.size() + 1);
  done_flags_.assign(jobs.size(), 0);
  for (const SiteConfig& sc : fed_.sites) {
    site_index_[sc.id] = sites_.size();
    Site s;
    s.config = &sc;
    sites_.push_back(std::move(s));
  }
  for (const Outage& o : options_.outages) {
    auto it = site_index_.find(o.site);
    if (it == site_index_.end()) return invalidArgument("outage names unknown site " + o.site);
    if (o.to <= o.from) return invalidArgument("outage of " + o.site + " ends before it starts");
    push(toMillis(o.from), EventKind::kOutageStart, static_cast<int32_t>(it->second), 0);
    push(toMillis(o.to), EventKind::kOutageEnd, static_cast<int32_t>(it->second), 0);
  }

  // A run in which jobs remain but nothing has ended for this long after the last
  // submission and the last outage can never finish (jobs no site will ever take, e.g. a
  // policy that holds them for ever): it stops with an error instead of running on.
  horizon_ms_ = toMillis(jobs.back().submit);
  for (const Outage& o : options_.outages) horizon_ms_ = std::max(horizon_ms_, toMillis(o.to));
  Duration longest{0};
  for (const SimJob& j : jobs) longest = std::max(longest, j.spec.walltime);
  stall_ms_ =
      std::max<int64_t>(int64_t{30} * 24 * 3600 * 1000,
                        2 * std::chrono::duration_cast<std::chrono::milliseconds>(longest).count());

  Time t0 = jobs.front().submit - options_.report_interval;
  result_.start_ms = toMillis(jobs.front().submit);
  for (size_t i = 0; i < sites_.size(); ++i) RETURN_IF_ERROR(startSite(i, t0));
  broker_.tick(t0, fx_);
  route(t0);
  return Status::Ok();
}

// One event of the queue. Sets `tick_needed` when the broker must look at the federation
// again at this instant.
Status Engine::handle(const Event& e, Time now, bool& tick_needed) {
  Site* s = e.site >= 0 ? &sites_[static_cast<size_t>(e.site)] : nullptr;
  switch (e.kind) {
    case EventKind::kOutageStart:
      // The site and everything running there vanish; the agent falls silent.
      s->up = false;
      s->agent.reset();
      ++s->generation;
      tick_needed = true;
      break;
    case EventKind::kOutageEnd:
      if (!s->up) {
        RETURN_IF_ERROR(startSite(static_cast<size_t>(e.site), now));
        tick_needed = true;
      }
      break;
    case EventKind::kSiteWake:
      if (e.arg != s->generation || !s->up || s->wake_at != e.t) break;
      s->wake_at = -1;
      s->dirty = true;
      break;
    case EventKind::kReportSend:
      if (e.arg != s->generation || !s->up) break;
      sendReport(static_cast<size_t>(e.site), now);
      push(e.t + options_.report_interval.count(), EventKind::kReportSend, e.site, s->generation);
      break;
    case EventKind::kReportDeliver:
      if (s->up) toBroker(static_cast<size_t>(e.site), now, std::move(in_flight_[e.arg]));
      free_slots_.push_back(e.arg);
      break;
    case EventKind::kBrokerTick:
      if (broker_tick_at_ == e.t) broker_tick_at_ = -1;
      if (broker_tick_at_ != -1 && broker_tick_at_ < e.t) broker_tick_at_ = -1;
      tick_needed = true;
      break;
  }
  return Status::Ok();
}

// The workload's jobs submitted at `t`, from `next_job_` on.
Status Engine::submitArrivals(int64_t t, Time now) {
  const std::vector<SimJob>& jobs = workload_.jobs;
  const int64_t progress_step = std::max<int64_t>(1, static_cast<int64_t>(jobs.size()) / 100);
  while (next_job_ < jobs.size() && toMillis(jobs[next_job_].submit) == t) {
    const SimJob& j = jobs[next_job_];
    JobOutcome& o = result_.jobs[next_job_];
    o.submit_ms = t;
    o.nodes = j.spec.nodes;
    o.gpus_per_node = j.spec.gpus_per_node;
    auto p = project_index_.find(j.spec.project);
    if (p == project_index_.end()) {
      p = project_index_.emplace(j.spec.project, static_cast<int32_t>(result_.projects.size()))
              .first;
      result_.projects.push_back(j.spec.project);
    }
    o.project = p->second;
    Result<std::string> rec = broker_.enqueue(j.spec, now, fx_);
    if (!rec.ok()) {
      if (!options_.skip_unplaceable) {
        return invalidArgument(j.origin + ": job refused: " + rec.status().message() +
                               " (use --skip-unplaceable to count and skip such jobs)");
      }
      o.rejected = true;
      ++result_.rejected;
    } else {
      seq_to_job_.push_back(static_cast<int64_t>(next_job_));
    }
    ++next_job_;
    ++result_.events;
    if (options_.progress && next_job_ % static_cast<size_t>(progress_step) == 0) {
      options_.progress(static_cast<int64_t>(next_job_), static_cast<int64_t>(jobs.size()));
    }
  }
  return Status::Ok();
}

// A tick does deadline work (liveness, leases, retries, reservation expiry), which runs
// at the broker's own nextDeadline(), and placement, which can only do something when
// jobs wait in the broker's queue. Other ticks would change nothing, and each costs time
// proportional to the active jobs, so they are skipped; nextDeadline() only moves earlier
// through a tick (messages only push liveness deadlines later).
void Engine::tickIfNeeded(int64_t t, Time now, bool tick_needed) {
  const int64_t cycle = options_.placement_cycle.count();
  bool place_now = cycle == 0 && broker_.countJobs(JobState::kQueued) > 0;
  if (tick_needed || place_now) {
    broker_.tick(now, fx_);
    route(now);
    if (std::optional<MonoTime> d = broker_.nextDeadline())
      scheduleTick(std::max(toMillis(*d), t + 1));
  }
  if (cycle > 0 && broker_.countJobs(JobState::kQueued) > 0) scheduleTick((t / cycle + 1) * cycle);
}

Result<RunResult> Engine::run() {
  auto wall0 = std::chrono::steady_clock::now();
  result_.policy = options_.policy;
  const std::vector<SimJob>& jobs = workload_.jobs;
  if (jobs.empty()) return result_;
  RETURN_IF_ERROR(prepare());

  int64_t last_done = -1;
  int64_t quiet_since = horizon_ms_;
  // Runs until every job has ended; report and tick events alone do not keep it going.
  int64_t unfinished = static_cast<int64_t>(jobs.size());
  while (true) {
    int64_t t = INT64_MAX;
    if (next_job_ < jobs.size()) t = toMillis(jobs[next_job_].submit);
    if (!events_.empty()) t = std::min(t, events_.top().t);
    if (t == INT64_MAX) break;
    if (next_job_ >= jobs.size() && unfinished <= 0) break;
    Time now = fromMillis(t);
    bool tick_needed = false;
    while (!events_.empty() && events_.top().t == t) {
      Event e = events_.top();
      events_.pop();
      ++result_.events;
      RETURN_IF_ERROR(handle(e, now, tick_needed));
    }
    // Completions at this instant reach the broker before the arrivals (engine.h).
    for (size_t i = 0; i < sites_.size(); ++i) {
      if (sites_[i].dirty) pollSite(i, now);
    }
    RETURN_IF_ERROR(submitArrivals(t, now));
    route(now);
    tickIfNeeded(t, now, tick_needed);
    // Only a backend that was called can have a new next event.
    for (size_t i = 0; i < sites_.size(); ++i) {
      if (sites_[i].touched) scheduleWake(i);
    }
    unfinished = static_cast<int64_t>(jobs.size()) - result_.rejected - done_;
    if (done_ != last_done) {
      last_done = done_;
      quiet_since = std::max(t, horizon_ms_);
    }
    if (unfinished > 0 && t - quiet_since > stall_ms_) return stalled(t - quiet_since);
  }
  result_.end_ms = 0;
  for (const JobOutcome& o : result_.jobs) result_.end_ms = std::max(result_.end_ms, o.end_ms);
  for (const JobOutcome& o : result_.jobs) {
    if (!o.rejected && !o.completed) ++result_.lost;
  }
  result_.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  return std::move(result_);
}

}  // namespace

Status checkPolicy(const std::string& policy, const std::vector<broker::PolicySpec>& policies) {
  std::vector<std::string> known;
  if (policies.empty()) {
    known = broker::knownPolicies();
  } else {
    for (const broker::PolicySpec& p : policies) known.push_back(p.name);
  }
  if (std::find(known.begin(), known.end(), policy) != known.end()) return Status::Ok();
  return invalidArgument(
      "unknown policy '" + policy + "'; known policies: " + common::join(known, ", "), "policy");
}

Result<RunResult> runFederation(const Federation& federation, const Workload& workload,
                                const EngineOptions& options) {
  for (const broker::PolicySpec& p : options.policies) {
    if (Status s = broker::validatePolicy(p); !s.ok()) return s;  // the broker would throw
  }
  if (Status s = checkPolicy(options.policy, options.policies); !s.ok()) return s;
  if (options.report_interval.count() <= 0) {
    return invalidArgument("report interval must be positive", "report_interval");
  }
  Engine engine(federation, workload, options);
  return engine.run();
}

}  // namespace aifed::sim
