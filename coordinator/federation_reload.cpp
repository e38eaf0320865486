#include "coordinator/federation_reload.h"

#include <set>

#include "common/strings.h"

namespace aifed::coordinator {
namespace {

namespace json = boost::json;

bool samePartitions(const SiteConfig& a, const SiteConfig& b) {
  if (a.partitions.size() != b.partitions.size()) return false;
  for (size_t i = 0; i < a.partitions.size(); ++i) {
    const PartitionConfig& p = a.partitions[i];
    const PartitionConfig& q = b.partitions[i];
    if (p.name != q.name || p.nodes != q.nodes || !(p.node_type == q.node_type)) return false;
  }
  return true;
}

// Everything but the keys.
bool sameSite(const SiteConfig& a, const SiteConfig& b) {
  return a.name == b.name && a.city == b.city && a.country == b.country && a.host == b.host &&
         a.energy_price_eur_mwh == b.energy_price_eur_mwh && a.carbon_g_kwh == b.carbon_g_kwh &&
         a.pue == b.pue && samePartitions(a, b);
}

bool sameKeys(const SiteConfig& a, const SiteConfig& b) {
  return std::set<std::string>(a.curve_public_keys.begin(), a.curve_public_keys.end()) ==
         std::set<std::string>(b.curve_public_keys.begin(), b.curve_public_keys.end());
}

json::array toArray(const std::vector<std::string>& ids) {
  json::array out;
  for (const std::string& id : ids) out.emplace_back(id);
  return out;
}

std::string listed(const std::vector<std::string>& ids) {
  return ids.empty() ? "-" : common::join(ids, ",");
}

}  // namespace

json::object FederationDiff::toJson() const {
  return json::object{{"added", toArray(added)},
                      {"removed", toArray(removed)},
                      {"rekeyed", toArray(rekeyed)},
                      {"changed", toArray(changed)},
                      {"unchanged", unchanged}};
}

std::string FederationDiff::summary() const {
  return "added " + listed(added) + "; removed " + listed(removed) + "; rekeyed " +
         listed(rekeyed) + "; changed " + listed(changed) + "; unchanged " +
         std::to_string(unchanged);
}

FederationDiff diffFederations(const Federation& before, const Federation& after) {
  FederationDiff d;
  for (const SiteConfig& s : after.sites) {
    const SiteConfig* was = before.findSite(s.id);
    if (!was) {
      d.added.push_back(s.id);
      continue;
    }
    bool rekeyed = !sameKeys(*was, s);
    bool changed = !sameSite(*was, s);
    if (rekeyed) d.rekeyed.push_back(s.id);
    if (changed) d.changed.push_back(s.id);
    if (!rekeyed && !changed) ++d.unchanged;
  }
  for (const SiteConfig& s : before.sites) {
    if (!after.findSite(s.id)) d.removed.push_back(s.id);
  }
  return d;
}

std::map<std::string, std::string> federationKeyTable(const Federation& federation) {
  std::map<std::string, std::string> keys;
  for (const SiteConfig& s : federation.sites) {
    for (const std::string& k : s.curve_public_keys) keys[k] = s.id;
  }
  return keys;
}

Result<FederationDiff> reloadFederation(const std::string& path, broker::Broker& broker,
                                        Instant now, broker::Effects& fx) {
  Result<Federation> next = loadFederationFile(path);
  if (!next.ok()) return next.status();  // names the file, the line and the key
  if (federationKeyTable(*next).empty()) {
    return invalidArgument(path + ": no site has a curve_public_key, so no agent could connect");
  }
  FederationDiff diff = diffFederations(broker.federation(), *next);
  if (Status s = broker.updateFederation(std::move(*next), now, fx); !s.ok()) {
    return Status(s.code(), path + ": " + s.message(), s.field());
  }
  return diff;
}

}  // namespace aifed::coordinator
