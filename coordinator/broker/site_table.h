// The site table: one SiteRecord per federation site and its liveness as the coordinator
// sees it. It decides nothing about jobs: advance() reports the sites whose lease ran out
// and the broker acts on them.
//
// Liveness, moved by messages (markUp) and by advance():
//   unknown              --a message-->                 up
//   unknown              --nothing for unreachable_after--> unreachable (never heard)
//   up                   --silent for suspect_after-->   suspect
//   up, suspect          --silent for unreachable_after--> unreachable
//   suspect, unreachable --a message-->                 up
//   unreachable          --for lost_lease-->            lease expired (reported once a spell)
//
// The lease counts only time during which the coordinator heard from at least one site
// (within unreachable_after): when it hears from nobody, the fault is more likely its own
// (its network, its host) than every site's, and no lease runs out for it (Armada's
// lesson, armadaproject/armada#315). Time the coordinator was down never counts either:
// after a restart every site starts `unknown`.
//
// Maintenance windows (protocol/maintenance.h) pause the lease: time whose wall clock
// lies in [start, end + grace) of one of the site's windows (or of a cancelled window its
// agent has not yet acknowledged dropping) does not count. advance() converts windows
// into a pause of monotonic time for the stretch since the previous advance(). It also
// keeps `maintenance_active` (a changed record when a window starts or ends) and drops
// windows whose end plus grace has passed.
//
// The displayed state is `draining` for an up site an admin drained. Intervals run on
// the monotonic clock (Instant::mono); the records carry wall-clock times for people.
//
//   SiteTable sites(federation, {.suspect_after = 15s, .unreachable_after = 30s,
//                                .lost_lease = 1h});
//   if (sites.markUp(i, now)) emit(sites.record(i));
//   sites.advance(now, changed, lease_expired);
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "coordinator/broker/records.h"
#include "protocol/federation.h"

namespace aifed::broker {

class SiteTable {
 public:
  struct Timing {
    Duration suspect_after{};
    Duration unreachable_after{};
    Duration lost_lease{};
    Duration maintenance_grace{};  // a window pauses the lease until its end plus this
  };

  SiteTable(const Federation& federation, Timing timing);

  size_t size() const { return records_.size(); }
  std::optional<size_t> find(std::string_view id) const;
  const std::vector<SiteRecord>& records() const { return records_; }
  const SiteRecord& record(size_t i) const { return records_[i]; }
  SiteState liveness(size_t i) const { return live_[i].liveness; }
  // The liveness advance(now) would give the site (planning looks ahead without changing
  // anything): up turns suspect, and up or suspect unreachable, after their silences.
  SiteState livenessAt(size_t i, MonoTime now) const;
  // The epoch of the last capacity report taken (0 before the first).
  uint64_t epoch(size_t i) const {
    return records_[i].capacity ? records_[i].capacity->epoch : 0;
  }
  // The site said HELLO in this process's life.
  bool hasSession(size_t i) const { return live_[i].session; }
  // Commands can reach it: a session, and up or suspect.
  bool canSend(size_t i) const;
  // Some site could take a job now: up, not drained or degraded, with a capacity report.
  bool anyOpen() const;

  // Any message from site `i` arrived now.
  void heard(size_t i, Instant now);
  // A message that proves the site alive (all but ACK and ERROR): it is up. True when
  // its record changed (the caller emits it).
  bool markUp(size_t i, Instant now);
  // HELLO: a new session; the next CAPACITY is taken whatever its epoch.
  void startSession(size_t i, std::string agent_version, uint64_t incarnation, Instant now);
  // The rules the site published in its HELLO (none: it published none).
  void setRules(size_t i, std::optional<SiteRules> rules) { records_[i].rules = std::move(rules); }
  // The agent's health as a HEARTBEAT or CAPACITY reported it at `at`. True when what a
  // person watches changed (backend up or down, the version, or the first report): the
  // caller emits the record then; the figures that move every report (outbox depth,
  // times) are kept without an emit.
  bool setAgentHealth(size_t i, AgentHealth health, Time at);
  // The agent run of the current session (HELLO's incarnation; 0: unknown).
  uint64_t incarnation(size_t i) const { return live_[i].incarnation; }
  // CAPACITY: false for a late duplicate (an epoch not above the last one within the
  // session), which changes nothing; kInvalidArgument naming the field for a report that
  // fails validateCapacity() or whose epoch jumps by more than kMaxEpochJump within a
  // session (also changing nothing). `take`, when given, is the same report, whose
  // capacity may be swapped out instead of copied (left holding the previous one).
  Result<bool> applyCapacity(size_t i, const Capacity& report, Capacity* take, Instant now);
  // Within a session epochs move by one per change; more than this is not an agent's.
  static constexpr uint64_t kMaxEpochJump = 1'000'000;
  // False when already in that state. Draining records who, why and when; resuming
  // clears them.
  bool setDrained(size_t i, bool drained, std::string reason = {}, std::string by = {},
                  std::optional<Time> at = std::nullopt);
  // Replaces the site's windows (validated by the caller); a window no longer listed that
  // has begun pausing, or may pause an agent that has not yet heard, is kept in
  // maintenance_retired until retireAcknowledged().
  void setMaintenance(size_t i, std::vector<MaintenanceWindow> windows);
  // The agent acknowledged a MAINTENANCE listing `held`: retired windows not among them
  // stop pausing. True when the record changed.
  bool retireAcknowledged(size_t i, const std::vector<std::string>& held);
  // The lease time counted so far in the site's current unreachable spell (0 otherwise).
  Duration leaseElapsed(size_t i) const { return live_[i].lease_elapsed; }
  void countPlacement(size_t i) { ++records_[i].jobs_placed; }

  // Liveness and maintenance transitions due at `now`, in site order: the sites whose record changed
  // are appended to `changed`, those whose lease ran out (once per unreachable spell)
  // to `lease_expired`.
  void advance(Instant now, std::vector<size_t>& changed, std::vector<size_t>& lease_expired);
  // The earliest moment advance() has something to do.
  std::optional<MonoTime> nextDeadline() const;

  // After a restart: what the store kept (drained, jobs placed, agent version, the last
  // capacity and times). Every site starts `unknown` until its agent says HELLO.
  // Records of sites no longer in the federation are dropped.
  void restore(const std::vector<SiteRecord>& stored);

  // A federation reload (site_table_membership.cpp): the table takes `next`'s sites in
  // `next`'s order. A kept site keeps its record, liveness and session untouched; an
  // added one starts `unknown` (a site removed earlier in this process's life comes back
  // with the record it left with); a removed one leaves, its record kept aside. Returns,
  // for each old index, the new one (-1: removed), for the parts that hold indexes.
  std::vector<int32_t> reconfigure(const Federation& next);

  // Debug builds: aborts when the records and the liveness disagree.
  void checkInvariants() const;

 private:
  struct Liveness {
    SiteState liveness = SiteState::kUnknown;
    bool session = false;
    bool lease_handled = false;  // advance() reported this unreachable spell's lease
    bool fresh_session = false;  // the first CAPACITY after HELLO is taken whatever its epoch
    uint64_t incarnation = 0;
    std::optional<MonoTime> last_heard;
    std::optional<MonoTime> unreachable_since;
    std::optional<MonoTime> unknown_since;  // never heard since this process started
    // Lease time counted in this unreachable spell: connected, outside maintenance.
    Duration lease_elapsed{0};
  };
  // Whether some site was heard within unreachable_after at `now`.
  bool connectedAt(MonoTime now) const;
  // Counts the stretch since the last advance() toward the leases that run.
  void accrueLeases(Instant now);
  // Drops windows past their end plus grace and updates maintenance_active; true when
  // the record changed.
  bool advanceMaintenance(size_t i, Time now);
  // Every window that pauses site i's lease: declared and retired.
  std::vector<MaintenanceWindow> pausingWindows(size_t i) const;

  bool setLiveness(size_t i, SiteState s, Instant now);
  void refreshDisplayedState(size_t i);

  Timing timing_;
  std::optional<MonoTime> last_advance_;
  Time last_advance_wall_{};
  bool connected_at_last_advance_ = false;
  std::vector<SiteRecord> records_;
  std::vector<Liveness> live_;
  std::unordered_map<std::string, size_t> index_;
  // Records of sites a reload removed, by id: never destroyed, taken back if re-added.
  std::unordered_map<std::string, SiteRecord> removed_;
};

}  // namespace aifed::broker
