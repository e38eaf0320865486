#include "coordinator/broker/policy_set.h"

#include <stdexcept>

#include "common/strings.h"

namespace aifed::broker {

PolicySet::PolicySet(std::vector<PolicySpec> specs, const std::string& active)
    : specs_(specs.empty() ? builtinPolicies() : std::move(specs)) {
  for (const PolicySpec& spec : specs_) {
    Result<Policy> p = Policy::make(spec);
    if (!p.ok()) throw std::invalid_argument(p.status().message());
    compiled_.insert_or_assign(spec.name, std::move(*p));
  }
  auto it = compiled_.find(active);
  if (it == compiled_.end()) {
    throw std::invalid_argument("unknown placement policy \"" + active +
                                "\" (known: " + knownList() + ")");
  }
  active_ = &it->second;
}

Result<std::optional<PolicyChange>> PolicySet::switchTo(const std::string& name,
                                                        const std::string& actor,
                                                        const std::string& reason, Time now) {
  auto it = compiled_.find(name);
  if (it == compiled_.end()) {
    return notFound("no policy \"" + name + "\" (known: " + knownList() + ")");
  }
  if (&it->second == active_) return std::optional<PolicyChange>();
  PolicyChange change{now, active_->spec().name, name, it->second.spec().version, actor, reason};
  active_ = &it->second;
  history_.push_back(change);
  return std::optional<PolicyChange>(std::move(change));
}

std::string PolicySet::knownList() const {
  return common::join(specs_, ", ", [](const PolicySpec& p) { return p.name; });
}

}  // namespace aifed::broker
