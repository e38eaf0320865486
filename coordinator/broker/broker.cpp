#include "coordinator/broker/broker.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "coordinator/broker/placement.h"

#ifndef AIFED_VERSION
#define AIFED_VERSION "0.0.0"
#endif

namespace aifed::broker {

std::vector<std::string> knownPolicies() {
  std::vector<std::string> names;
  for (const PolicySpec& p : builtinPolicies()) names.push_back(p.name);
  return names;
}

void Effects::clear() {
  jobs.clear();
  sites.clear();
  decisions.clear();
  messages.clear();
  policy_changes.clear();
  audit.clear();
}

namespace {

// Ordering of the states a job moves through at a site; a report never moves a job back.
int progressRank(JobState s) {
  switch (s) {
    case JobState::kQueued:
    case JobState::kDispatched:
      return 0;
    case JobState::kPending:
      return 1;
    case JobState::kRunning:
      return 2;
    default:
      return 3;
  }
}

bool isActive(JobState s) {
  return s == JobState::kDispatched || s == JobState::kPending || s == JobState::kRunning;
}

double hours(Duration d) {
  return std::chrono::duration<double>(d).count() / 3600.0;
}

std::optional<int64_t> parseSeq(const std::string& id) {
  if (id.size() < 3 || id.compare(0, 2, "j-") != 0) return std::nullopt;
  int64_t v = 0;
  for (size_t i = 2; i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return std::nullopt;
    v = v * 10 + (id[i] - '0');
  }
  return v;
}

}  // namespace

struct Broker::Impl {
  // What the broker knows about a site beyond its persisted record.
  struct SiteRuntime {
    SiteState liveness = SiteState::kUnknown;
    bool session = false;
    bool lease_handled = false;
    bool fresh_session = false;  // the first CAPACITY after HELLO is applied whatever its epoch
    std::optional<Time> unknown_since;  // restored sites that never said HELLO
  };
  // Nodes held for a dispatched job until a newer capacity report accounts for it.
  struct Reservation {
    std::string site;
    std::string partition;
    int nodes = 0;
    double node_hours = 0;
    Time created{};
    bool acked = false;
    uint64_t release_after_epoch = 0;  // released by a report with a larger epoch
  };

  Federation fed;
  BrokerConfig cfg;
  std::vector<SiteRecord> sites;
  std::vector<SiteRuntime> runtime;
  std::unordered_map<std::string, size_t> site_index;

  std::map<int64_t, JobRecord> jobs;  // by sequence number: submission order
  std::unordered_map<std::string, int64_t> seq_of;
  int64_t next_seq = 1;
  std::set<std::pair<int, int64_t>> queue;  // (-priority, seq) of queued jobs
  // Queue entries added since the last placement pass whose job had no decision then
  // (hasDecision() false). While no site is open a tick decides only these, so intake
  // does not walk the whole queue. Appended cheaply; place() sorts, drops entries that
  // left the queue or were decided meanwhile, and empties it.
  std::vector<std::pair<int, int64_t>> undecided;
  std::set<std::pair<int, int64_t>> undecided_now;  // place()'s buffer
  std::set<int64_t> active;                         // seqs of dispatched/pending/running jobs
  // Seqs of active jobs that may need a resend (dispatched, being cancelled or being
  // withdrawn), so retries and deadlines do not walk every running job. Entries that no
  // longer qualify are dropped by retry().
  std::set<int64_t> awaiting;
  std::map<std::string, Reservation> reservations;  // by job id
  std::unordered_map<std::string, PlacementDecision> last_decision;
  std::unordered_map<std::string, Time> missing_since;  // active jobs a HELLO left out
  // Why a withdrawal was asked, for the re-queued job's reason (lost on restart: the
  // reason then is shorter).
  std::unordered_map<std::string, std::string> withdraw_why;
  // cfg.forget_ended_jobs: seqs of jobs that ended during the current call (dropped at
  // its end), and per dropped seq the attempt and site index it ended with (attempt -1:
  // not dropped), so later messages about it are answered as before.
  struct Ended {
    int32_t attempt = -1;
    int32_t site = -1;  // -1: no site held it
  };
  std::vector<int64_t> ended_now;
  std::vector<Ended> ended;
  // cfg.effects == kEndedJobsOnly: seqs that have a decision (what last_decision tells
  // under kFull, where decisions are kept).
  std::vector<uint8_t> decided;
  // The decision being made, reused from job to job (recordDecision moves it out when
  // decisions are kept).
  PlacementDecision decision;
  std::vector<SiteView> view_buf;  // views(), kept from tick to tick

  // Policies: every one on offer, compiled; the active one; switches this process made.
  std::vector<PolicySpec> policy_specs;
  std::map<std::string, Policy> compiled;
  const Policy* active_policy = nullptr;
  std::vector<PolicyChange> policy_history;

  // Allocation charged per job (so a state change replaces, never adds twice), by job
  // seq: the ledger entry it was added to (entries are never erased, so the pointer
  // stays valid), the site of that entry, and the amount.
  struct Charge {
    double* slot = nullptr;
    std::string site;
    double gpu_hours = 0;
  };
  std::unordered_map<int64_t, Charge> charges;
  AllocationLedger ledger;
  // Fair share: per project, usage decayed with cfg.fair_share_half_life as of `at`.
  struct DecayedUsage {
    double value = 0;
    Time at{};
  };
  std::map<std::string, DecayedUsage> fair_usage;

  Impl(Federation f, BrokerConfig c) : fed(std::move(f)), cfg(std::move(c)) {
    for (const SiteConfig& s : fed.sites) {
      site_index[s.id] = sites.size();
      SiteRecord r;
      r.id = s.id;
      sites.push_back(std::move(r));
      runtime.emplace_back();
    }
    policy_specs = cfg.policies.empty() ? builtinPolicies() : cfg.policies;
    for (const PolicySpec& spec : policy_specs) {
      Result<Policy> p = Policy::make(spec);
      if (!p.ok()) throw std::invalid_argument(p.status().message());
      compiled.insert_or_assign(spec.name, std::move(*p));
    }
    auto it = compiled.find(cfg.policy);
    if (it == compiled.end()) {
      std::string list;
      for (const PolicySpec& spec : policy_specs) list += (list.empty() ? "" : ", ") + spec.name;
      throw std::invalid_argument("unknown placement policy \"" + cfg.policy +
                                  "\" (known: " + list + ")");
    }
    active_policy = &it->second;
  }

  // --- Allocation and fair share ---
  // What the job charges now: its walltime while a site holds it, its actual runtime
  // once it ended there, nothing while queued.
  // Called on every state change, so it avoids lookups by name when it can: the same
  // subtraction and addition on the same ledger entry as a lookup would find.
  void recharge(int64_t seq, const JobRecord& j) {
    auto old = charges.find(seq);
    if (old != charges.end()) *old->second.slot -= old->second.gpu_hours;
    double h = 0;
    if (j.site.empty()) {
      h = 0;
    } else if (isActive(j.state)) {
      h = hours(j.spec.walltime);
    } else if (isTerminal(j.state) && j.started_at && j.ended_at) {
      h = std::max(0.0, hours(*j.ended_at - *j.started_at));
    }
    if (h <= 0) {
      if (old != charges.end()) charges.erase(old);
      return;
    }
    double gpu_hours = allocationCharge(j.spec, h);
    if (old == charges.end()) {
      old = charges.emplace(seq, Charge{&ledger[j.spec.project][j.site], j.site, 0}).first;
    } else if (old->second.site != j.site) {
      old->second.slot = &ledger[j.spec.project][j.site];
      old->second.site = j.site;
    }
    old->second.gpu_hours = gpu_hours;
    *old->second.slot += gpu_hours;
  }

  double decayedUsage(const std::string& project, Time now) const {
    auto it = fair_usage.find(project);
    if (it == fair_usage.end()) return 0;
    double dt_h = hours(now - it->second.at);
    double half_h = std::max(1e-9, hours(cfg.fair_share_half_life));
    return it->second.value * std::exp2(-std::max(0.0, dt_h) / half_h);
  }

  void addUsage(const JobSpec& spec, Time now) {
    DecayedUsage& u = fair_usage[spec.project];
    u.value = decayedUsage(spec.project, now) + allocationCharge(spec, hours(spec.walltime));
    u.at = now;
  }

  double share(const std::string& project) const {
    auto it = cfg.project_shares.find(project);
    return it == cfg.project_shares.end() || it->second <= 0 ? 1.0 : it->second;
  }

  Duration suspectAfter() const { return cfg.heartbeat_interval * cfg.suspect_after_missed; }
  Duration unreachableAfter() const {
    return cfg.heartbeat_interval * cfg.unreachable_after_missed;
  }
  // How long a job left out of a HELLO may take to show up in the agent's outbox flush.
  Duration missingGrace() const { return cfg.retry_interval * 2; }

  JobRecord* job(const std::string& id) {
    auto it = seq_of.find(id);
    return it == seq_of.end() ? nullptr : &jobs.at(it->second);
  }
  int64_t seqOf(const JobRecord& j) const { return seq_of.at(j.id); }

  // --- Effects bookkeeping ---
  void emit(const JobRecord& j, Effects& fx) {
    if (cfg.effects != EffectsDetail::kFull && !isTerminal(j.state)) return;
    for (JobRecord& e : fx.jobs) {
      if (e.id == j.id) {
        e = j;
        return;
      }
    }
    fx.jobs.push_back(j);
  }
  void emit(const SiteRecord& s, Effects& fx) {
    if (cfg.effects != EffectsDetail::kFull) return;
    for (SiteRecord& e : fx.sites) {
      if (e.id == s.id) {
        e = s;
        return;
      }
    }
    fx.sites.push_back(s);
  }
  void send(const std::string& site, Body body, Effects& fx) {
    fx.messages.push_back({site, std::move(body)});
  }

  void setState(JobRecord& j, JobState s, Time now) {
    int64_t seq = seqOf(j);
    if (j.state == JobState::kQueued) queue.erase({-j.spec.priority, seq});
    if (isActive(j.state)) active.erase(seq);
    j.state = s;
    j.updated_at = now;
    if (s != JobState::kPending && j.withdrawing) {
      j.withdrawing = false;  // withdrawn (re-queued), started, ended or lost
      withdraw_why.erase(j.id);
    }
    if (s == JobState::kQueued) enqueueSeq(seq, j);
    if (isActive(s)) active.insert(seq);
    if (s == JobState::kDispatched) awaiting.insert(seq);
    if (isTerminal(s)) {
      if (!j.ended_at) j.ended_at = now;
      releaseReservation(j.id);
      missing_since.erase(j.id);
      if (cfg.forget_ended_jobs) ended_now.push_back(seq);
    }
    recharge(seq, j);
  }

  // cfg.forget_ended_jobs: drops the jobs that ended in this call. Their charge stays in
  // the ledger (recharge() made it final) and their usage in fair_usage.
  void forgetEnded() {
    for (int64_t seq : ended_now) {
      auto it = jobs.find(seq);
      if (it == jobs.end() || !isTerminal(it->second.state)) continue;
      const JobRecord& j = it->second;
      if (static_cast<size_t>(seq) >= ended.size()) ended.resize(static_cast<size_t>(seq) + 1);
      ended[static_cast<size_t>(seq)] = {
          j.attempt, j.site.empty() ? -1 : static_cast<int32_t>(site_index.at(j.site))};
      if (static_cast<size_t>(seq) < decided.size()) decided[static_cast<size_t>(seq)] = 0;
      // (Most of these are empty in a simulation: no hashing then.)
      if (!last_decision.empty()) last_decision.erase(j.id);
      if (!withdraw_why.empty()) withdraw_why.erase(j.id);
      if (!missing_since.empty()) missing_since.erase(j.id);
      if (!reservations.empty()) reservations.erase(j.id);
      if (!awaiting.empty()) awaiting.erase(seq);
      charges.erase(seq);
      seq_of.erase(j.id);
      jobs.erase(it);
    }
    ended_now.clear();
  }

  // A job dropped by forgetEnded(), or nullptr.
  const Ended* forgotten(const std::string& id) const {
    if (!cfg.forget_ended_jobs) return nullptr;
    std::optional<int64_t> seq = parseSeq(id);
    if (!seq || *seq <= 0 || static_cast<size_t>(*seq) >= ended.size()) return nullptr;
    const Ended& e = ended[static_cast<size_t>(*seq)];
    return e.attempt < 0 ? nullptr : &e;
  }

  bool hasDecision(int64_t seq, const JobRecord& j) const {
    if (cfg.effects == EffectsDetail::kFull) return last_decision.count(j.id) > 0;
    return static_cast<size_t>(seq) < decided.size() && decided[static_cast<size_t>(seq)];
  }

  // `j` (job `seq`) joins the queue.
  void enqueueSeq(int64_t seq, const JobRecord& j) {
    queue.insert({-j.spec.priority, seq});
    if (!hasDecision(seq, j)) undecided.emplace_back(-j.spec.priority, seq);
  }

  // --- Sites ---
  void refreshDisplayedState(size_t i) {
    SiteState live = runtime[i].liveness;
    sites[i].state = (sites[i].drained && live == SiteState::kUp) ? SiteState::kDraining : live;
  }

  void setLiveness(size_t i, SiteState s, Time now, Effects& fx) {
    SiteRuntime& rt = runtime[i];
    if (rt.liveness == s) return;
    rt.liveness = s;
    if (s == SiteState::kUnreachable) {
      sites[i].unreachable_since = now;
      rt.lease_handled = false;
    } else if (s == SiteState::kUp) {
      sites[i].unreachable_since.reset();
      rt.unknown_since.reset();
    }
    refreshDisplayedState(i);
    emit(sites[i], fx);
  }

  // --- Reservations ---
  void releaseReservation(const std::string& job_id) { reservations.erase(job_id); }

  void reserve(const JobRecord& j, const std::string& partition, Time now) {
    Reservation r;
    r.site = j.site;
    r.partition = partition;
    r.nodes = j.spec.nodes;
    r.node_hours = j.spec.nodes * hours(j.spec.walltime);
    r.created = now;
    reservations[j.id] = r;
  }

  void confirmReservation(const std::string& job_id, size_t site_idx) {
    auto it = reservations.find(job_id);
    if (it == reservations.end()) return;
    it->second.acked = true;
    const SiteRecord& s = sites[site_idx];
    it->second.release_after_epoch = s.capacity ? s.capacity->epoch : 0;
  }

  // --- Jobs ---
  void dispatch(JobRecord& j, PlacementDecision& d, const std::string& partition, Time now,
                Effects& fx) {
    j.attempt += 1;
    j.site = d.chosen_site;
    j.local_id.clear();
    j.reason = d.summary;
    j.dispatched_at = now;
    j.last_sent_at = now;
    j.started_at.reset();
    j.ended_at.reset();
    j.exit_code.reset();
    setState(j, JobState::kDispatched, now);
    d.attempt = j.attempt;
    addUsage(j.spec, now);
    reserve(j, partition, now);
    send(j.site, Dispatch{j.id, j.attempt, j.spec}, fx);
    emit(j, fx);
  }

  // The site no longer holds the current attempt: re-queue it if the job allows,
  // otherwise it is lost.
  void loseJob(JobRecord& j, const std::string& why, Time now, Effects& fx) {
    releaseReservation(j.id);
    missing_since.erase(j.id);
    if (j.cancel_requested) {
      j.reason = why + "; it was being cancelled";
      setState(j, JobState::kCancelled, now);
    } else if (j.spec.requeue_on_site_loss && j.attempt < cfg.max_attempts) {
      j.reason = why + "; re-queued";
      j.site.clear();
      j.local_id.clear();
      j.started_at.reset();
      setState(j, JobState::kQueued, now);
    } else {
      j.reason = why;
      setState(j, JobState::kLost, now);
    }
    emit(j, fx);
  }

  // The placement snapshot, refilled in `v` (kept from tick to tick by the caller).
  void views(std::vector<SiteView>& v) const {
    v.resize(sites.size());
    for (size_t i = 0; i < sites.size(); ++i) {
      SiteView& sv = v[i];
      sv.config = &fed.sites[i];
      sv.record = &sites[i];
      sv.liveness = runtime[i].liveness;
      sv.reserved_nodes.clear();
      sv.reserved_node_hours.clear();
    }
    for (const auto& [id, r] : reservations) {
      SiteView& sv = v[site_index.at(r.site)];
      sv.reserved_nodes[r.partition] += r.nodes;
      sv.reserved_node_hours[r.partition] += r.node_hours;
    }
  }

  bool anySiteOpen() const {
    for (size_t i = 0; i < sites.size(); ++i) {
      if (runtime[i].liveness == SiteState::kUp && !sites[i].drained && !sites[i].degraded &&
          sites[i].capacity) {
        return true;
      }
    }
    return false;
  }

  // Takes `d` (leaves it moved from) when decisions are kept.
  void recordDecision(int64_t seq, PlacementDecision& d, Effects& fx) {
    if (cfg.effects != EffectsDetail::kFull) {
      if (static_cast<size_t>(seq) >= decided.size()) decided.resize(static_cast<size_t>(seq) + 1);
      decided[static_cast<size_t>(seq)] = 1;
      return;
    }
    auto it = last_decision.find(d.job_id);
    // A waiting job is re-examined on every tick: store only decisions that say
    // something new.
    if (d.chosen_site.empty() && it != last_decision.end() && it->second.chosen_site.empty() &&
        it->second.summary == d.summary) {
      return;
    }
    last_decision[d.job_id] = d;
    fx.decisions.push_back(std::move(d));
    d = PlacementDecision{};
  }

  // Hands out queued jobs in the order they are considered: priority, then submission
  // order; under late binding, jobs of equal priority go to the project whose decayed
  // usage over its share is lowest, re-evaluated after every dispatch so one tick shares
  // out capacity the way many would.
  class PlacementQueue {
   public:
    // Walks `entries`: the whole queue, or a part of it in the same order (the order
    // below restricted to a subset is the subset in that order).
    PlacementQueue(const Impl& m, const std::set<std::pair<int, int64_t>>& entries, Time now)
        : m_(m), now_(now) {
      late_ = m.active_policy->spec().binding == BindingMode::kLate;
      for (const auto& [prio, seq] : entries) {
        if (!late_) {
          flat_.push_back(seq);
          continue;
        }
        const std::string& project = m.jobs.at(seq).spec.project;
        auto [it, fresh] = by_project_.try_emplace(project);
        if (fresh) it->second.ratio = m.decayedUsage(project, now) / m.share(project);
        it->second.seqs.push_back(seq);  // the queue's own order: priority, then seq
      }
    }
    std::optional<int64_t> next() {
      if (!late_) {
        if (pos_ >= flat_.size()) return std::nullopt;
        return flat_[pos_++];
      }
      Lane* best = nullptr;
      for (auto& [project, lane] : by_project_) {
        if (lane.pos >= lane.seqs.size()) continue;
        if (!best || better(lane, *best)) best = &lane;
      }
      if (!best) return std::nullopt;
      return best->seqs[best->pos++];
    }
    // A job of `project` was dispatched: its usage grew.
    void charged(const std::string& project) {
      if (!late_) return;
      auto it = by_project_.find(project);
      if (it != by_project_.end()) {
        it->second.ratio = m_.decayedUsage(project, now_) / m_.share(project);
      }
    }

   private:
    struct Lane {
      std::vector<int64_t> seqs;
      size_t pos = 0;
      double ratio = 0;
    };
    bool better(const Lane& a, const Lane& b) const {
      const JobRecord& ja = m_.jobs.at(a.seqs[a.pos]);
      const JobRecord& jb = m_.jobs.at(b.seqs[b.pos]);
      if (ja.spec.priority != jb.spec.priority) return ja.spec.priority > jb.spec.priority;
      if (a.ratio != b.ratio) return a.ratio < b.ratio;
      return a.seqs[a.pos] < b.seqs[b.pos];
    }

    const Impl& m_;
    Time now_;
    bool late_ = false;
    std::vector<int64_t> flat_;
    size_t pos_ = 0;
    std::map<std::string, Lane> by_project_;
  };

  // Late binding: a feasible choice whose queue wait exceeds the threshold is held at
  // the coordinator; the decision says where it would go and when. Only the queue wait
  // counts: data staging starts after binding, so holding the job cannot shorten it
  // (counting it would hold a job with a large remote data set for ever).
  void holdIfLate(PlacementDecision& d) const {
    const PolicySpec& spec = active_policy->spec();
    if (spec.binding != BindingMode::kLate || d.chosen_site.empty()) return;
    const SiteVerdict* best = chosenVerdict(d);
    double limit_s = std::chrono::duration<double>(spec.bind_within).count();
    if (best->queue_wait_s <= limit_s) return;
    d.summary = "held at the coordinator: the best site, " + best->site + ", starts it " +
                formatStart(best->queue_wait_s) + "; binds when a site can start it " +
                formatStart(limit_s);
    d.chosen_site.clear();
  }

  void place(Time now, Effects& fx) {
    if (queue.empty()) {
      undecided.clear();
      return;
    }
    bool open = anySiteOpen();
    if (!open) {
      undecided_now.clear();
      for (const auto& entry : undecided) {
        auto it = jobs.find(entry.second);
        if (it == jobs.end() || it->second.state != JobState::kQueued ||
            hasDecision(entry.second, it->second)) {
          continue;
        }
        undecided_now.insert(entry);
      }
    }
    // Every job in the pass below gets a decision: none is left undecided after it.
    undecided.clear();
    std::vector<SiteView>& v = view_buf;
    views(v);
    const Policy& policy = *active_policy;
    // A snapshot of the queue: dispatching removes entries from it. With no site open
    // nothing can be dispatched and a decided job has nothing new to learn: only the
    // undecided are walked.
    PlacementQueue order(*this, open ? queue : undecided_now, now);
    while (std::optional<int64_t> next = order.next()) {
      JobRecord& j = jobs.at(*next);
      if (!open && hasDecision(*next, j)) continue;  // nothing could have changed
      PlacementInput in{j, fed, now, &ledger};
      in.explain = cfg.effects == EffectsDetail::kFull;  // else the decision is not kept
      PlacementDecision& d = decision;
      policy.decideInto(in, v, d);
      holdIfLate(d);
      if (!d.chosen_site.empty()) {
        std::string partition = chosenVerdict(d)->partition;
        dispatch(j, d, partition, now, fx);
        order.charged(j.spec.project);
        SiteView& target = v[site_index.at(j.site)];
        target.reserved_nodes[partition] += j.spec.nodes;
        target.reserved_node_hours[partition] += j.spec.nodes * hours(j.spec.walltime);
      }
      recordDecision(*next, d, fx);
    }
  }

  // --- Withdrawal ---
  // A site "could start it now" when its estimated start is within this.
  static constexpr double kStartsNowS = 1.0;

  Cancel withdrawal(const JobRecord& j) const {
    Cancel c{j.id, j.attempt, "withdrawn by the coordinator"};
    c.only_if_pending = true;
    return c;
  }

  // Jobs pending at a site for longer than the policy's withdraw_after, while another
  // site could start them now, are asked back (CANCEL only_if_pending). Nothing else
  // changes until the site answers: the job stays held there until it reports kCancelled
  // (completeWithdrawal re-queues it) or kRunning (the withdrawal lapses).
  void withdraw(Time now, Effects& fx) {
    const PolicySpec& spec = active_policy->spec();
    if (spec.withdraw_after <= Duration::zero()) return;
    std::vector<int64_t> due;
    for (int64_t seq : active) {
      const JobRecord& j = jobs.at(seq);
      if (j.state != JobState::kPending || j.withdrawing || j.cancel_requested) continue;
      if (!j.dispatched_at || now - *j.dispatched_at < spec.withdraw_after) continue;
      if (j.attempt >= cfg.max_attempts || !canSend(j.site)) continue;
      due.push_back(seq);
    }
    if (due.empty()) return;
    std::vector<SiteView>& v = view_buf;
    views(v);
    for (int64_t seq : due) {
      JobRecord& j = jobs.at(seq);
      PlacementInput in{j, fed, now, &ledger};
      in.explain = cfg.effects == EffectsDetail::kFull;
      PlacementDecision& d = decision;
      active_policy->decideInto(in, v, d);
      const SiteVerdict* best = nullptr;
      for (const SiteVerdict& sv : d.verdicts) {
        if (!sv.feasible || sv.site == j.site || sv.estimated_start_s > kStartsNowS) continue;
        if (!best || sv.score > best->score) best = &sv;
      }
      if (!best) continue;
      double waited_s = std::chrono::duration<double>(now - *j.dispatched_at).count();
      std::ostringstream why;
      why << "withdrawn from " << j.site << " after " << static_cast<int64_t>(waited_s)
          << " s pending: " << best->site << " could start it now";
      withdraw_why[j.id] = why.str();
      d.chosen_site.clear();
      d.attempt = 0;
      d.summary = "withdrawal from " + j.site + " requested after " +
                  std::to_string(static_cast<int64_t>(waited_s)) + " s pending: " + best->site +
                  " could start it now";
      j.withdrawing = true;
      awaiting.insert(seqOf(j));
      j.updated_at = now;
      j.last_sent_at = now;
      send(j.site, withdrawal(j), fx);
      emit(j, fx);
      recordDecision(seq, d, fx);
    }
  }

  // The site cancelled a job we asked back: nobody holds it now, so it may be placed
  // again. The site it left is excluded for this job, so it cannot bounce back.
  void completeWithdrawal(JobRecord& j, Time now, Effects& fx) {
    auto why = withdraw_why.find(j.id);
    std::string reason =
        why != withdraw_why.end() ? why->second : "withdrawn from " + j.site + " while pending";
    releaseReservation(j.id);
    if (std::find(j.excluded_sites.begin(), j.excluded_sites.end(), j.site) ==
        j.excluded_sites.end()) {
      j.excluded_sites.push_back(j.site);
    }
    j.reason = reason;
    j.site.clear();
    j.local_id.clear();
    j.started_at.reset();
    j.ended_at.reset();
    j.exit_code.reset();
    setState(j, JobState::kQueued, now);
    emit(j, fx);
  }

  // --- Messages ---
  void onHello(size_t i, const Hello& h, Time now, Effects& fx) {
    SiteRecord& s = sites[i];
    runtime[i].session = true;
    runtime[i].fresh_session = true;
    s.agent_version = h.agent_version;
    Welcome w;
    w.coordinator_version = AIFED_VERSION;
    w.protocol_version = protocolVersionString();
    w.heartbeat_interval = cfg.heartbeat_interval;
    w.capacity_interval = cfg.heartbeat_interval * 6;
    send(s.id, w, fx);
    setLiveness(i, SiteState::kUp, now, fx);
    emit(s, fx);

    // Reconcile what the agent holds with what we believe it holds.
    std::set<std::string> reported;
    for (const JobReport& r : h.jobs) {
      reported.insert(r.job_id);
      JobRecord* j = job(r.job_id);
      if (!j || j->attempt != r.attempt || j->site != s.id || isTerminal(j->state)) {
        send(s.id, Cancel{r.job_id, r.attempt, "the coordinator does not expect this attempt here"},
             fx);
        continue;
      }
      missing_since.erase(j->id);
      if (!r.local_id.empty()) j->local_id = r.local_id;
      if (j->state == JobState::kDispatched) {
        confirmReservation(j->id, i);
        s.jobs_placed++;
      }
      if (progressRank(r.state) > progressRank(j->state) && !isTerminal(r.state)) {
        setState(*j, r.state, now);
      }
      emit(*j, fx);
    }
    for (int64_t seq : active) {
      JobRecord& j = jobs.at(seq);
      if (j.site != s.id || reported.count(j.id)) continue;
      if (j.state == JobState::kDispatched) {
        j.last_sent_at.reset();  // resend on this tick
      } else {
        missing_since.emplace(j.id, now);
      }
    }
  }

  // One message from site `i` (Broker::onMessage after the site's lookup).
  void onMessage(size_t i, const Message& message, Time now, Effects& fx);

  // `take` (the same object as `c`, or null): the report may be taken instead of copied;
  // it is left holding the site's previous report.
  void onCapacity(size_t i, const Capacity& c, Time now, Effects& fx, Capacity* take = nullptr) {
    SiteRecord& s = sites[i];
    setLiveness(i, SiteState::kUp, now, fx);
    if (s.capacity && c.capacity.epoch <= s.capacity->epoch && !runtime[i].fresh_session) {
      return;  // a late duplicate
    }
    runtime[i].fresh_session = false;
    if (take && s.capacity) {
      std::swap(*s.capacity, take->capacity);
    } else if (take) {
      s.capacity = std::move(take->capacity);
    } else {
      s.capacity = c.capacity;
    }
    const uint64_t epoch = s.capacity->epoch;
    s.degraded = c.degraded;
    s.degraded_reason = c.degraded_reason;
    s.last_report = now;
    for (auto it = reservations.begin(); it != reservations.end();) {
      if (it->second.site == s.id && it->second.acked && it->second.release_after_epoch < epoch) {
        it = reservations.erase(it);
      } else {
        ++it;
      }
    }
    emit(s, fx);
  }

  void onDispatchAck(size_t i, const DispatchAck& a, Time now, Effects& fx) {
    SiteRecord& s = sites[i];
    JobRecord* j = job(a.job_id);
    if (const Ended* e = j ? nullptr : forgotten(a.job_id);
        e && e->attempt == a.attempt && e->site == static_cast<int32_t>(i)) {
      return;  // a repeated ack of an attempt that has ended
    }
    if (!j || j->attempt != a.attempt || j->site != s.id) {
      // An attempt we no longer want there.
      if (a.accepted) send(s.id, Cancel{a.job_id, a.attempt, "attempt superseded"}, fx);
      return;
    }
    if (j->state != JobState::kDispatched) {
      if (a.accepted && j->local_id.empty() && !a.local_id.empty()) {
        j->local_id = a.local_id;
        emit(*j, fx);
      }
      return;  // a repeated ack
    }
    if (a.accepted) {
      j->local_id = a.local_id;
      j->reason.clear();
      setState(*j, JobState::kPending, now);
      confirmReservation(j->id, i);
      s.jobs_placed++;
      emit(s, fx);
      if (j->cancel_requested) {
        j->last_sent_at = now;
        send(s.id, Cancel{j->id, j->attempt, "cancelled by user"}, fx);
      }
      emit(*j, fx);
      return;
    }
    releaseReservation(j->id);
    if (std::find(j->excluded_sites.begin(), j->excluded_sites.end(), s.id) ==
        j->excluded_sites.end()) {
      j->excluded_sites.push_back(s.id);
    }
    j->reason = "refused by " + s.id + ": " + a.reason;
    j->site.clear();
    if (j->cancel_requested) {
      setState(*j, JobState::kCancelled, now);
    } else if (j->attempt >= cfg.max_attempts) {
      j->reason += " (after " + std::to_string(j->attempt) + " attempts)";
      setState(*j, JobState::kFailed, now);
    } else {
      setState(*j, JobState::kQueued, now);
    }
    emit(*j, fx);
  }

  void onJobStatus(size_t i, const Message& m, const JobStatus& st, Time now, Effects& fx) {
    const std::string& site = sites[i].id;
    // Acknowledged once the effects are durable (the caller persists before sending).
    send(site, Ack{m.msg_id}, fx);
    JobRecord* j = job(st.job_id);
    if (const Ended* e = j ? nullptr : forgotten(st.job_id);
        e && e->attempt == st.attempt && e->site == static_cast<int32_t>(i)) {
      return;  // the job has ended already
    }
    if (!j || j->attempt != st.attempt || j->site != site) {
      if (!isTerminal(st.state)) {
        send(site, Cancel{st.job_id, st.attempt, "attempt superseded"}, fx);
      }
      return;
    }
    if (isTerminal(j->state)) return;
    if (progressRank(st.state) < progressRank(j->state)) return;  // late report
    if (j->state == JobState::kDispatched) {
      confirmReservation(j->id, i);
      sites[i].jobs_placed++;
      emit(sites[i], fx);
    }
    missing_since.erase(j->id);
    if (st.state == JobState::kCancelled && j->withdrawing && !j->cancel_requested) {
      completeWithdrawal(*j, now, fx);
      return;
    }
    if (!st.local_id.empty()) j->local_id = st.local_id;
    if (st.started_at) j->started_at = st.started_at;
    if (st.ended_at) j->ended_at = st.ended_at;
    if (st.exit_code) j->exit_code = st.exit_code;
    j->reason = st.reason;  // the site's word on the current state, or none
    setState(*j, st.state, now);
    emit(*j, fx);
  }

  // --- Time ---
  void checkLiveness(Time now, Effects& fx) {
    for (size_t i = 0; i < sites.size(); ++i) {
      SiteRuntime& rt = runtime[i];
      const SiteRecord& s = sites[i];
      if (rt.liveness == SiteState::kUnknown) {
        if (!rt.unknown_since) continue;
        if (now - *rt.unknown_since >= unreachableAfter()) {
          setLiveness(i, SiteState::kUnreachable, now, fx);
        }
        continue;
      }
      if (!s.last_heard) continue;
      Duration silent = now - *s.last_heard;
      if (rt.liveness != SiteState::kUnreachable && silent >= unreachableAfter()) {
        setLiveness(i, SiteState::kUnreachable, now, fx);
      } else if (rt.liveness == SiteState::kUp && silent >= suspectAfter()) {
        setLiveness(i, SiteState::kSuspect, now, fx);
      }
    }
  }

  void expireLeases(Time now, Effects& fx) {
    for (size_t i = 0; i < sites.size(); ++i) {
      SiteRuntime& rt = runtime[i];
      const SiteRecord& s = sites[i];
      if (rt.liveness != SiteState::kUnreachable || rt.lease_handled || !s.unreachable_since) {
        continue;
      }
      if (now - *s.unreachable_since < cfg.lost_lease) continue;
      rt.lease_handled = true;
      std::vector<int64_t> at_site;
      for (int64_t seq : active) {
        if (jobs.at(seq).site == s.id) at_site.push_back(seq);
      }
      for (int64_t seq : at_site) {
        loseJob(jobs.at(seq), "site " + s.id + " unreachable for longer than the lease", now, fx);
      }
    }
  }

  void expireMissing(Time now, Effects& fx) {
    std::vector<std::string> due;
    for (const auto& [id, since] : missing_since) {
      if (now - since >= missingGrace()) due.push_back(id);
    }
    for (const std::string& id : due) {
      JobRecord* j = job(id);
      missing_since.erase(id);
      if (!j || !isActive(j->state)) continue;
      loseJob(*j, "site " + j->site + " no longer holds attempt " + std::to_string(j->attempt), now,
              fx);
    }
  }

  void expireReservations(Time now) {
    for (auto it = reservations.begin(); it != reservations.end();) {
      if (now - it->second.created >= cfg.reservation_timeout) {
        it = reservations.erase(it);
      } else {
        ++it;
      }
    }
  }

  bool canSend(const std::string& site) const {
    size_t i = site_index.at(site);
    return runtime[i].session &&
           (runtime[i].liveness == SiteState::kUp || runtime[i].liveness == SiteState::kSuspect);
  }

  static bool needsResend(const JobRecord& j) {
    return isActive(j.state) &&
           (j.state == JobState::kDispatched || j.cancel_requested || j.withdrawing);
  }

  void retry(Time now, Effects& fx) {
    for (auto it = awaiting.begin(); it != awaiting.end();) {
      JobRecord& j = jobs.at(*it);
      if (!needsResend(j)) {
        it = awaiting.erase(it);
        continue;
      }
      ++it;
      if (j.site.empty() || !canSend(j.site)) continue;
      bool due = !j.last_sent_at || now - *j.last_sent_at >= cfg.retry_interval;
      if (!due) continue;
      if (j.cancel_requested) {
        j.last_sent_at = now;
        send(j.site, Cancel{j.id, j.attempt, "cancelled by user"}, fx);
      } else if (j.state == JobState::kDispatched) {
        j.last_sent_at = now;
        send(j.site, Dispatch{j.id, j.attempt, j.spec}, fx);
      } else if (j.withdrawing && j.state == JobState::kPending) {
        j.last_sent_at = now;
        send(j.site, withdrawal(j), fx);
      }
    }
  }

  std::optional<Time> nextDeadline() const {
    std::optional<Time> next;
    auto consider = [&](Time t) {
      if (!next || t < *next) next = t;
    };
    for (size_t i = 0; i < sites.size(); ++i) {
      const SiteRuntime& rt = runtime[i];
      const SiteRecord& s = sites[i];
      if (rt.liveness == SiteState::kUnknown && rt.unknown_since) {
        consider(*rt.unknown_since + unreachableAfter());
      } else if (rt.liveness == SiteState::kUp && s.last_heard) {
        consider(*s.last_heard + suspectAfter());
      } else if (rt.liveness == SiteState::kSuspect && s.last_heard) {
        consider(*s.last_heard + unreachableAfter());
      } else if (rt.liveness == SiteState::kUnreachable && !rt.lease_handled &&
                 s.unreachable_since) {
        consider(*s.unreachable_since + cfg.lost_lease);
      }
    }
    for (int64_t seq : awaiting) {
      const JobRecord& j = jobs.at(seq);
      if (!needsResend(j)) continue;
      if (j.site.empty() || !canSend(j.site)) continue;
      if (!j.last_sent_at) return Time{};  // due now
      consider(*j.last_sent_at + cfg.retry_interval);
    }
    for (const auto& [id, since] : missing_since) consider(since + missingGrace());
    for (const auto& [id, r] : reservations) consider(r.created + cfg.reservation_timeout);
    return next;
  }

  // --- Submission checks that need the federation ---
  Status validateAgainstFederation(const JobSpec& spec) const {
    if (!spec.gpu_type.empty() && !fed.offersAccelerator(spec.gpu_type)) {
      std::set<std::string> offered;
      for (const SiteConfig& s : fed.sites) {
        for (const PartitionConfig& p : s.partitions) {
          if (!p.node_type.accelerator.empty()) offered.insert(p.node_type.accelerator);
        }
      }
      std::string list;
      for (const std::string& o : offered) list += (list.empty() ? "" : ", ") + o;
      return invalidArgument(
          "no site offers accelerator \"" + spec.gpu_type + "\"; the federation offers: " + list,
          "gpu_type");
    }
    for (const std::string& a : spec.allowed_sites) {
      if (!fed.findSite(a)) {
        return invalidArgument("allowed site \"" + a + "\" is not in the federation",
                               "allowed_sites");
      }
    }
    // A list of allowed countries is a whitelist: countries without a site are harmless,
    // but at least one must have a site.
    if (!spec.allowed_countries.empty()) {
      bool any = std::any_of(fed.sites.begin(), fed.sites.end(), [&](const SiteConfig& s) {
        return std::find(spec.allowed_countries.begin(), spec.allowed_countries.end(), s.country) !=
               spec.allowed_countries.end();
      });
      if (!any) {
        std::string list;
        for (const std::string& c : spec.allowed_countries) list += (list.empty() ? "" : ", ") + c;
        return invalidArgument("no federation site is in any allowed country (" + list + ")",
                               "allowed_countries");
      }
    }
    const ProjectConfig* project = fed.findProject(spec.project);
    bool type_anywhere = false, type_allowed = false;
    int largest = 0;
    std::string largest_where;
    for (const SiteConfig& s : fed.sites) {
      bool allowed = residencyReason(spec, s, project).empty();
      for (const PartitionConfig& p : s.partitions) {
        if (!nodeTypeMatches(p.node_type, spec)) continue;
        type_anywhere = true;
        if (!allowed) continue;
        type_allowed = true;
        if (p.nodes >= spec.nodes) return Status::Ok();
        if (p.nodes > largest) {
          largest = p.nodes;
          largest_where = s.id + "/" + p.name;
        }
      }
    }
    if (!type_anywhere) {
      std::string per_node;
      if (spec.gpus_per_node > 0) {
        per_node = std::to_string(spec.gpus_per_node) + " x " +
                   (spec.gpu_type.empty() ? "any accelerator" : spec.gpu_type);
      }
      if (spec.cores_per_node > 0) {
        per_node += (per_node.empty() ? "" : ", ") + std::to_string(spec.cores_per_node) + " cores";
      }
      if (spec.memory_gib_per_node > 0) {
        per_node +=
            (per_node.empty() ? "" : ", ") + std::to_string(spec.memory_gib_per_node) + " GiB";
      }
      return invalidArgument("no site has nodes with " + per_node + " per node",
                             spec.gpus_per_node > 0 ? "gpus_per_node" : "cores_per_node");
    }
    if (!type_allowed) {
      // Name what restricted it: the job's own lists, else its project's residency.
      std::string field = !spec.allowed_countries.empty() ? "allowed_countries"
                          : !spec.allowed_sites.empty()   ? "allowed_sites"
                                                          : "project";
      std::string why = "no site the job may use has nodes it fits on";
      if (field == "project" && project && !project->allowed_countries.empty()) {
        std::string list;
        for (const std::string& c : project->allowed_countries) {
          list += (list.empty() ? "" : ", ") + c;
        }
        why += ": project " + project->id + " may run only in " + list;
      }
      return invalidArgument(why, field);
    }
    return invalidArgument("the job needs " + std::to_string(spec.nodes) +
                               " nodes; the largest partition it may use has " +
                               std::to_string(largest) + " (" + largest_where + ")",
                           "nodes");
  }
};

Broker::Broker(Federation federation, BrokerConfig config)
    : impl_(std::make_unique<Impl>(std::move(federation), std::move(config))) {}

Broker::~Broker() = default;

void Broker::restore(std::vector<JobRecord> jobs, std::vector<SiteRecord> sites,
                     int64_t next_job_seq) {
  Impl& m = *impl_;
  for (SiteRecord& r : sites) {
    auto it = m.site_index.find(r.id);
    if (it == m.site_index.end()) continue;  // removed from the federation file
    SiteRecord& s = m.sites[it->second];
    s.drained = r.drained;
    s.jobs_placed = r.jobs_placed;
    s.agent_version = r.agent_version;
    s.capacity = r.capacity;
    s.last_heard = r.last_heard;
    s.last_report = r.last_report;
  }
  bool any_active = false;
  for (JobRecord& j : jobs) {
    std::optional<int64_t> seq = parseSeq(j.id);
    if (!seq) continue;
    m.next_seq = std::max(m.next_seq, *seq + 1);
    if (j.state == JobState::kDispatched) j.last_sent_at.reset();
    m.seq_of[j.id] = *seq;
    JobRecord& stored = m.jobs[*seq] = std::move(j);
    if (stored.state == JobState::kQueued) m.enqueueSeq(*seq, stored);
    if (isActive(stored.state)) {
      m.active.insert(*seq);
      if (m.needsResend(stored)) m.awaiting.insert(*seq);
      any_active = true;
      if (stored.state == JobState::kDispatched && !stored.site.empty()) {
        m.reserve(stored, "", stored.dispatched_at.value_or(stored.updated_at));
        // The partition is unknown after a restart: the reservation still blocks the
        // nodes at the site level through the first matching partition.
        if (const SiteRecord* s = &m.sites[m.site_index.at(stored.site)]; s->capacity) {
          for (const PartitionCapacity& p : s->capacity->partitions) {
            if (nodeTypeMatches(p.node_type, stored.spec) && p.nodes_total >= stored.spec.nodes) {
              m.reservations[stored.id].partition = p.name;
              break;
            }
          }
        }
      }
    }
  }
  m.next_seq = std::max(m.next_seq, next_job_seq);
  for (const auto& [seq, j] : m.jobs) {
    m.recharge(seq, j);
    // Fair share restarts from what the jobs say: each dispatched attempt's walltime,
    // decayed from when it was dispatched.
    if (!j.site.empty() && j.dispatched_at) m.addUsage(j.spec, *j.dispatched_at);
  }
  for (size_t i = 0; i < m.sites.size(); ++i) m.refreshDisplayedState(i);
  (void)any_active;
}

Result<JobRecord> Broker::submit(const JobSpec& spec, Time now, Effects& fx) {
  Result<std::string> id = enqueue(spec, now, fx);
  if (!id.ok()) return id.status();
  return std::prev(impl_->jobs.end())->second;  // the newest job (the highest seq)
}

Result<std::string> Broker::enqueue(const JobSpec& spec, Time now, Effects& fx) {
  Impl& m = *impl_;
  if (Status s = validateJobSpec(spec); !s.ok()) return s;
  if (Status s = m.validateAgainstFederation(spec); !s.ok()) return s;
  int64_t seq = m.next_seq++;
  // Sequence numbers only grow: the new record goes at the end of the map.
  JobRecord& stored = m.jobs.emplace_hint(m.jobs.end(), seq, JobRecord{})->second;
  stored.id = "j-" + std::to_string(seq);
  stored.spec = spec;
  stored.submitted_at = now;
  stored.updated_at = now;
  m.seq_of[stored.id] = seq;
  m.enqueueSeq(seq, stored);
  m.emit(stored, fx);
  return stored.id;
}

Result<JobRecord> Broker::cancel(const std::string& job_id, Time now, Effects& fx) {
  Impl& m = *impl_;
  JobRecord* j = m.job(job_id);
  if (!j && m.forgotten(job_id)) return failedPrecondition("job " + job_id + " already ended");
  if (!j) return notFound("no job " + job_id);
  if (isTerminal(j->state)) {
    return failedPrecondition("job " + job_id +
                              " already ended: " + std::string(jobStateName(j->state)));
  }
  if (j->state == JobState::kQueued) {
    j->reason = "cancelled by user";
    m.setState(*j, JobState::kCancelled, now);
  } else {
    j->cancel_requested = true;
    m.awaiting.insert(m.seqOf(*j));
    j->updated_at = now;
    j->last_sent_at = now;
    m.send(j->site, Cancel{j->id, j->attempt, "cancelled by user"}, fx);
  }
  m.emit(*j, fx);
  JobRecord out = *j;
  m.forgetEnded();
  return out;
}

Status Broker::setDrained(const std::string& site, bool drained, Time now, Effects& fx) {
  Impl& m = *impl_;
  auto it = m.site_index.find(site);
  if (it == m.site_index.end()) return notFound("no site " + site);
  SiteRecord& s = m.sites[it->second];
  if (s.drained == drained) return Status::Ok();
  s.drained = drained;
  m.refreshDisplayedState(it->second);
  (void)now;
  m.emit(s, fx);
  return Status::Ok();
}

void Broker::onMessage(const std::string& site, const Message& message, Time now, Effects& fx) {
  Impl& m = *impl_;
  auto it = m.site_index.find(site);
  if (it == m.site_index.end()) return;
  m.onMessage(it->second, message, now, fx);
}

void Broker::Impl::onMessage(size_t i, const Message& message, Time now, Effects& fx) {
  Impl& m = *this;
  const std::string& site = m.sites[i].id;
  m.sites[i].last_heard = now;
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, Hello>) {
          m.onHello(i, body, now, fx);
        } else if constexpr (std::is_same_v<T, Capacity>) {
          m.onCapacity(i, body, now, fx);
        } else if constexpr (std::is_same_v<T, Heartbeat>) {
          m.setLiveness(i, SiteState::kUp, now, fx);
        } else if constexpr (std::is_same_v<T, DispatchAck>) {
          m.setLiveness(i, SiteState::kUp, now, fx);
          m.onDispatchAck(i, body, now, fx);
        } else if constexpr (std::is_same_v<T, JobStatus>) {
          m.setLiveness(i, SiteState::kUp, now, fx);
          m.onJobStatus(i, message, body, now, fx);
        } else if constexpr (std::is_same_v<T, Ack> || std::is_same_v<T, ErrorReply>) {
          // CANCEL is retried until the terminal JOB_STATUS arrives, so its ACK needs no
          // bookkeeping; an agent's ERROR is logged by the daemon.
        } else {
          m.send(site,
                 ErrorReply{
                     "bad_message",
                     std::string(messageTypeName(message.body)) + " is not sent to a coordinator",
                     "type", message.msg_id},
                 fx);
        }
      },
      message.body);
  m.forgetEnded();
}

void Broker::onMessage(const std::string& site, Message&& message, Time now, Effects& fx) {
  auto it = impl_->site_index.find(site);
  if (it == impl_->site_index.end()) return;
  onMessage(it->second, std::move(message), now, fx);
}

void Broker::onMessage(size_t site, Message&& message, Time now, Effects& fx) {
  Impl& m = *impl_;
  if (site >= m.sites.size()) return;
  auto* c = std::get_if<Capacity>(&message.body);
  if (!c) return m.onMessage(site, message, now, fx);
  m.sites[site].last_heard = now;
  m.onCapacity(site, *c, now, fx, c);
  m.forgetEnded();
}

bool Broker::hasSession(const std::string& site) const {
  auto it = impl_->site_index.find(site);
  return it != impl_->site_index.end() && impl_->runtime[it->second].session;
}

void Broker::tick(Time now, Effects& fx) {
  Impl& m = *impl_;
  for (size_t i = 0; i < m.sites.size(); ++i) {
    if (m.runtime[i].liveness == SiteState::kUnknown && !m.runtime[i].unknown_since) {
      m.runtime[i].unknown_since = now;
    }
  }
  m.checkLiveness(now, fx);
  m.expireLeases(now, fx);
  m.expireMissing(now, fx);
  m.expireReservations(now);
  m.retry(now, fx);
  m.withdraw(now, fx);
  m.place(now, fx);
  m.forgetEnded();
}

std::optional<Time> Broker::nextDeadline() const {
  return impl_->nextDeadline();
}

const JobRecord* Broker::findJob(const std::string& id) const {
  auto it = impl_->seq_of.find(id);
  return it == impl_->seq_of.end() ? nullptr : &impl_->jobs.at(it->second);
}

std::vector<const JobRecord*> Broker::listJobs(std::optional<JobState> state,
                                               const std::string& site, size_t offset,
                                               size_t limit) const {
  std::vector<const JobRecord*> out;
  size_t skipped = 0;
  for (const auto& [seq, j] : impl_->jobs) {
    if (state && j.state != *state) continue;
    if (!site.empty() && j.site != site) continue;
    if (skipped < offset) {
      ++skipped;
      continue;
    }
    if (out.size() >= limit) break;
    out.push_back(&j);
  }
  return out;
}

size_t Broker::countJobs(std::optional<JobState> state) const {
  if (!state) return impl_->jobs.size();
  if (*state == JobState::kQueued) return impl_->queue.size();
  size_t n = 0;
  for (const auto& [seq, j] : impl_->jobs) n += j.state == *state;
  return n;
}

const std::vector<SiteRecord>& Broker::sites() const {
  return impl_->sites;
}

const SiteRecord* Broker::findSite(const std::string& id) const {
  auto it = impl_->site_index.find(id);
  return it == impl_->site_index.end() ? nullptr : &impl_->sites[it->second];
}

const Federation& Broker::federation() const {
  return impl_->fed;
}
const BrokerConfig& Broker::config() const {
  return impl_->cfg;
}

int Broker::reservedNodes(const std::string& site) const {
  int n = 0;
  for (const auto& [id, r] : impl_->reservations) {
    if (r.site == site) n += r.nodes;
  }
  return n;
}

const PlacementDecision* Broker::lastDecision(const std::string& job_id) const {
  auto it = impl_->last_decision.find(job_id);
  return it == impl_->last_decision.end() ? nullptr : &it->second;
}

Status Broker::setPolicy(const std::string& name, const std::string& actor,
                         const std::string& reason, Time now, Effects& fx) {
  Impl& m = *impl_;
  auto it = m.compiled.find(name);
  if (it == m.compiled.end()) {
    std::string list;
    for (const PolicySpec& p : m.policy_specs) list += (list.empty() ? "" : ", ") + p.name;
    return notFound("no policy \"" + name + "\" (known: " + list + ")");
  }
  if (&it->second == m.active_policy) return Status::Ok();
  PolicyChange change{now,   m.active_policy->spec().name, name, it->second.spec().version, actor,
                      reason};
  m.active_policy = &it->second;
  m.cfg.policy = name;
  // Waiting jobs get a fresh decision under the new policy on the next tick.
  for (const auto& [prio, seq] : m.queue) {
    m.last_decision.erase(m.jobs.at(seq).id);
    if (static_cast<size_t>(seq) < m.decided.size()) m.decided[static_cast<size_t>(seq)] = 0;
  }
  m.undecided.assign(m.queue.begin(), m.queue.end());
  m.policy_history.push_back(change);
  fx.policy_changes.push_back(std::move(change));
  return Status::Ok();
}

const PolicySpec& Broker::policy() const {
  return impl_->active_policy->spec();
}

const std::vector<PolicySpec>& Broker::policies() const {
  return impl_->policy_specs;
}

const std::vector<PolicyChange>& Broker::policyHistory() const {
  return impl_->policy_history;
}

double Broker::allocationUsed(const std::string& project, const std::string& site) const {
  auto p = impl_->ledger.find(project);
  if (p == impl_->ledger.end()) return 0;
  auto s = p->second.find(site);
  return s == p->second.end() ? 0 : s->second;
}

double Broker::fairShareUsage(const std::string& project, Time now) const {
  return impl_->decayedUsage(project, now);
}

}  // namespace aifed::broker
