// Placement policies as data: a named, versioned set of score plugins with weights and a
// binding mode. Every policy runs the same filters (they decide what is *possible*);
// policies differ in what they *prefer*. docs/placement.md lists the built-in ones and
// when to use each.
//
// Policies come from built-in defaults, optionally extended or overridden by a TOML file:
//
//   [[policy]]
//   name = "green"
//   version = 2
//   description = "lowest carbon first, then earliest start"
//   binding = "immediate"          # or "late": hold at the coordinator until a site
//   bind_within_s = 900            #   can start the job within this many seconds
//   start_half_life_s = 3600       # estimated-start scores 50 at this wait
//   withdraw_after_s = 1800        # withdraw a job pending this long at a site when
//                                  #   another could start it now (0: never)
//   [policy.weights]
//   carbon = 3
//   estimated-start = 1
//
//   Result<std::vector<PolicySpec>> file = parsePolicies(text, "policies.toml");
//   std::vector<PolicySpec> all = mergePolicies(builtinPolicies(), *file);
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/clock.h"
#include "protocol/status.h"

namespace aifed::broker {

// When a job is sent to a site. kImmediate: to the best site as soon as one is
// feasible. kLate: the job waits at the coordinator, ordered by priority and fair
// share, until the best site can start it within `bind_within`.
enum class BindingMode { kImmediate, kLate };

std::string_view bindingModeName(BindingMode mode);

struct PolicyWeight {
  std::string plugin;  // a score plugin name (scorePluginNames())
  double weight = 0;   // > 0
  bool operator==(const PolicyWeight&) const = default;
};

struct PolicySpec {
  std::string name;
  int version = 1;
  std::string description;
  BindingMode binding = BindingMode::kImmediate;
  Duration bind_within = std::chrono::minutes(10);  // kLate only
  double start_half_life_s = 3600;  // estimated-start: the wait that scores 50 of 100
  // Withdrawal: a job pending at a site this long since its dispatch is taken back
  // (only while still pending there) and placed again when another site could start
  // it now. Zero: never.
  Duration withdraw_after = Duration::zero();
  // Empty: first fit, the first feasible site in federation order.
  std::vector<PolicyWeight> weights;
  bool operator==(const PolicySpec&) const = default;
};

// The policy the broker uses when none is configured.
inline constexpr std::string_view kDefaultPolicy = "earliest-start";

// first-fit, least-loaded, earliest-start, green, data-gravity, balanced (in this order).
std::vector<PolicySpec> builtinPolicies();

// Names of the score plugins a policy may weight.
std::vector<std::string> scorePluginNames();

// Checks one spec: name well formed, version >= 1, known plugins each weighted once with
// a positive finite weight, positive half-life and threshold.
Status validatePolicy(const PolicySpec& spec);

// Reads `[[policy]]` tables (format above) with the strict reader of
// common/toml_reader.h: an unknown key, a value of the wrong type or an unknown score
// plugin is an error naming the source, the line and the key path, e.g.
// "policies.toml:7: policy[1].weights.carbn: unknown score plugin "carbn" (did you mean
// "carbon"?)".
Result<std::vector<PolicySpec>> parsePolicies(std::string_view toml_text,
                                              std::string_view source_name);
Result<std::vector<PolicySpec>> loadPolicyFile(const std::string& path);

// `base` with every policy of `overrides` replacing the one of the same name or appended.
std::vector<PolicySpec> mergePolicies(std::vector<PolicySpec> base,
                                      const std::vector<PolicySpec>& overrides);

}  // namespace aifed::broker
