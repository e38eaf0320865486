// The policy set: every placement policy on offer, compiled, which one is active, and
// the switches made in this process's life.
//
//   PolicySet policies(specs, "earliest-start");      // throws at startup if invalid
//   const Policy& p = policies.active();
//   Result<PolicyChange> c = policies.switchTo("green", "admin", "night", now);
#pragma once

#include <map>
#include <string>
#include <vector>

#include "coordinator/broker/placement.h"
#include "coordinator/broker/policy.h"
#include "coordinator/broker/records.h"

namespace aifed::broker {

class PolicySet {
 public:
  // `specs` empty means builtinPolicies(). Throws std::invalid_argument naming the
  // problem when a spec is invalid or `active` is not among them (startup only).
  PolicySet(std::vector<PolicySpec> specs, const std::string& active);

  const Policy& active() const { return *active_; }
  const std::vector<PolicySpec>& specs() const { return specs_; }
  const std::vector<PolicyChange>& history() const { return history_; }
  // kNotFound listing the known policies; nullopt when `name` is already active.
  Result<std::optional<PolicyChange>> switchTo(const std::string& name, const std::string& actor,
                                               const std::string& reason, Time now);

 private:
  std::string knownList() const;

  std::vector<PolicySpec> specs_;
  std::map<std::string, Policy> compiled_;
  const Policy* active_ = nullptr;
  std::vector<PolicyChange> history_;
};

}  // namespace aifed::broker
