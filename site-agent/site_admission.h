// The site's last word on a DISPATCH: its rules (protocol/site_rules.h) and its identity
// mapping (identity_map.h) turn a federation job into a local one, or refuse it naming
// the rule. The agent publishes the same rules in HELLO, so the broker's `site-rules`
// filter rarely sends a job that is refused here; the agent checks anyway, on every
// DISPATCH (the federation proposes, the site decides).
//
//   SystemUserDirectory users;
//   SiteAdmission admission("mimer", rules, map.get(), users);
//   auto verdict = admission.admit(dispatch.spec);
//   if (auto* no = std::get_if<RuleRefusal>(&verdict)) refuse(no->rule, no->reason);
//   else submit(std::get<Admitted>(verdict).spec, std::get<Admitted>(verdict).identity);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "protocol/site_rules.h"
#include "site-agent/backends/backend.h"
#include "site-agent/identity_map.h"

namespace aifed::agent {

// One local Unix account, as the host's user database has it.
struct UnixAccount {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
};

// The host's user database (getpwnam_r); tests give a fixed one.
class UserDirectory {
 public:
  virtual ~UserDirectory() = default;
  virtual std::optional<UnixAccount> find(const std::string& name) = 0;
};

class SystemUserDirectory final : public UserDirectory {
 public:
  std::optional<UnixAccount> find(const std::string& name) override;
};

// A job the site takes: as whom, under which terms, and the spec to submit (its script
// without `#SBATCH` lines when the site strips them).
struct Admitted {
  LocalIdentity identity;
  JobSpec spec;
  int stripped_directives = 0;
};

class SiteAdmission {
 public:
  // `map` may be null: no mapping, every job runs as the agent's own account (the demo and
  // the simulated backend; docs/operations.md says why a production site should not).
  SiteAdmission(std::string site, SiteRules rules, IdentityMap* map, UserDirectory& users)
      : site_(std::move(site)), rules_(std::move(rules)), map_(map), users_(users) {}

  std::variant<Admitted, RuleRefusal> admit(const JobSpec& spec);

  const SiteRules& rules() const { return rules_; }
  bool maps() const { return map_ != nullptr; }

 private:
  std::string site_;
  SiteRules rules_;
  IdentityMap* map_;
  UserDirectory& users_;
};

}  // namespace aifed::agent
