#include "site-agent/site_admission.h"

#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace aifed::agent {

std::optional<UnixAccount> SystemUserDirectory::find(const std::string& name) {
  long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(hint > 0 ? static_cast<size_t>(hint) : 16384);
  passwd entry{};
  passwd* found = nullptr;
  while (getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) == ERANGE) {
    buffer.resize(buffer.size() * 2);
  }
  if (found == nullptr) return std::nullopt;
  return UnixAccount{found->pw_uid, found->pw_gid, found->pw_dir ? found->pw_dir : ""};
}

std::variant<Admitted, RuleRefusal> SiteAdmission::admit(const JobSpec& spec) {
  if (std::optional<RuleRefusal> no = checkSiteRules(rules_, spec)) return *no;
  Admitted a;
  a.spec = spec;
  if (rules_.directives == DirectivePolicy::kStrip) {
    a.stripped_directives = static_cast<int>(sbatchDirectives(spec.script).size());
    if (a.stripped_directives > 0) a.spec.script = stripSbatchDirectives(spec.script);
  }
  a.identity.partition = partitionFor(rules_, spec);
  a.identity.qos = qosFor(rules_, spec);
  if (map_ == nullptr) return a;
  Mapping m = map_->lookup(spec.user, spec.project);
  if (!m.mapped) return RuleRefusal{"unmapped_user", m.reason + " (site " + site_ + ")"};
  std::optional<UnixAccount> unix_account = users_.find(m.local_user);
  if (!unix_account) {
    return RuleRefusal{"unmapped_user", "federation user " + spec.user + " maps to local user " +
                                            m.local_user + ", who does not exist at site " +
                                            site_};
  }
  if (unix_account->uid == 0) {
    return RuleRefusal{"unmapped_user", "federation user " + spec.user + " maps to " +
                                            m.local_user + " (uid 0) at site " + site_ +
                                            "; jobs never run as root"};
  }
  a.identity.user = m.local_user;
  a.identity.uid = unix_account->uid;
  a.identity.gid = unix_account->gid;
  a.identity.home = unix_account->home;
  a.identity.account = m.account;
  return a;
}

}  // namespace aifed::agent
