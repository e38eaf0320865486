// The allocation ledger: what each project has used at each site (GPU-hours; node-hours
// for CPU jobs), which the `allocation` filter and score compare with the federation
// file's allocations, and each project's decayed usage, which orders late binding
// (federation-wide fair share).
//
// A job charges its walltime while a site holds it and its actual runtime once it ended
// there, nothing while queued: recharge() replaces the job's previous charge, so a job is
// never counted twice however often its state changes. Fair-share usage grows by each
// dispatched attempt's walltime and halves every `half_life` of wall-clock time.
//
//   AllocationLedger ledger({{"nordic-llm", 2.0}}, std::chrono::hours(24 * 7));
//   ledger.recharge(seq, job);                 // after every state change of the job
//   double used = ledger.used("nordic-llm", "mimer");
//   double order = ledger.shareRatio("nordic-llm", now);   // lower goes first
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

#include "coordinator/broker/records.h"

namespace aifed::broker {

// Charged so far: project -> site -> GPU-hours (node-hours for CPU jobs).
using AllocationUsage = std::map<std::string, std::map<std::string, double>>;

// GPU-hours a job charges to its allocation for `hours` of runtime (node-hours for a
// CPU job).
double allocationCharge(const JobSpec& spec, double hours);

class AllocationLedger {
 public:
  AllocationLedger(std::map<std::string, double> shares, Duration half_life)
      : shares_(std::move(shares)), half_life_(half_life) {}

  // Sets job `seq`'s charge from its record (state, site, times).
  void recharge(int64_t seq, const JobRecord& job);
  // The job is no longer held in memory: its charge stays in the usage, final.
  void forget(int64_t seq) { charges_.erase(seq); }
  // An attempt was dispatched at `at`: its walltime joins the project's fair-share usage.
  void addDispatch(const JobSpec& spec, Time at);

  const AllocationUsage& usage() const { return usage_; }
  double used(const std::string& project, const std::string& site) const;
  // The project's usage decayed to `now`.
  double decayedUsage(const std::string& project, Time now) const;
  // Its configured share (1 when not listed or not positive).
  double share(const std::string& project) const;
  // Decayed usage over share: the fair-share order (lower first).
  double shareRatio(const std::string& project, Time now) const {
    return decayedUsage(project, now) / share(project);
  }

  // Debug builds: every charge sits in the usage entry of its project and site.
  void checkInvariants() const;

 private:
  struct Charge {
    double* slot = nullptr;  // the usage entry (entries are never erased: stays valid)
    std::string site;
    double gpu_hours = 0;
  };
  struct Decayed {
    double value = 0;
    Time at{};
  };

  std::map<std::string, double> shares_;
  Duration half_life_;
  AllocationUsage usage_;
  std::unordered_map<int64_t, Charge> charges_;  // by job seq
  std::map<std::string, Decayed> fair_usage_;
};

}  // namespace aifed::broker
