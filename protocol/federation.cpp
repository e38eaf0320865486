// Reading the federation file (federation.h) with the strict TOML reader
// (common/toml_reader.h).
//
// Every error names the source, the line of the offending value (or of the table that
// lacks a key) and the key path in the document, e.g.
//   "federation-7.toml:23: site[1].partition[0].nodes: must be positive"
// A key this reader does not know is an error too ("did you mean" the nearest known
// one): a misspelt `carbon_g_kwh` must not silently become 0. A file written for a
// newer aifed with keys this one does not know is therefore refused, naming the key.
#include "protocol/federation.h"

#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/files.h"
#include "common/toml_reader.h"

namespace aifed {
namespace {

bool isSiteIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool isSiteId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!isSiteIdChar(c)) return false;
  }
  return true;
}

bool isCountryCode(std::string_view c) {
  return c.size() == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z';
}

bool isAcceleratorName(std::string_view name) {
  for (char c : name) {
    if (!isSiteIdChar(c)) return false;
  }
  return true;
}

// A Z85-encoded 32-byte CURVE key is exactly 40 characters from the Z85 alphabet.
bool isZ85Key(std::string_view key) {
  static constexpr std::string_view kZ85 =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  if (key.size() != 40) return false;
  for (char c : key) {
    if (kZ85.find(c) == std::string_view::npos) return false;
  }
  return true;
}

constexpr std::string_view kCountryRule =
    "\" is not an ISO 3166 alpha-2 code (two upper-case letters)";

Status nonNegative(const common::TomlTable& t, std::string_view key, double v) {
  if (v < 0) return t.error(key, "must not be negative");
  return Status::Ok();
}

Status readPartition(common::TomlTable& t, PartitionConfig& p) {
  RETURN_IF_ERROR(t.expectKeys(
      {"name", "nodes", "accelerator", "accelerators_per_node", "cores_per_node", "memory_gib"}));
  RETURN_IF_ERROR(t.str("name", p.name, common::kRequired));
  if (p.name.empty()) return t.error("name", "must not be empty");
  RETURN_IF_ERROR(t.integer("nodes", p.nodes, common::kRequired));
  if (p.nodes <= 0) return t.error("nodes", "must be positive");
  RETURN_IF_ERROR(t.str("accelerator", p.node_type.accelerator));
  if (!isAcceleratorName(p.node_type.accelerator)) {
    return t.error("accelerator", "must be a lower-case model name ([a-z0-9-]), got \"" +
                                      p.node_type.accelerator + "\"");
  }
  RETURN_IF_ERROR(t.integer("accelerators_per_node", p.node_type.accelerators_per_node));
  if (p.node_type.accelerators_per_node < 0) {
    return t.error("accelerators_per_node", "must not be negative");
  }
  if (!p.node_type.accelerator.empty() && p.node_type.accelerators_per_node == 0) {
    return t.error("accelerators_per_node", "must be positive when accelerator is set");
  }
  if (p.node_type.accelerator.empty() && p.node_type.accelerators_per_node > 0) {
    return t.error("accelerator", "missing: accelerators_per_node is set");
  }
  RETURN_IF_ERROR(t.integer("cores_per_node", p.node_type.cores, common::kRequired));
  if (p.node_type.cores <= 0) return t.error("cores_per_node", "must be positive");
  RETURN_IF_ERROR(t.integer("memory_gib", p.node_type.memory_gib, common::kRequired));
  if (p.node_type.memory_gib <= 0) return t.error("memory_gib", "must be positive");
  return Status::Ok();
}

// Z85 public key -> the site it was listed for: a key may act for one site only.
using KeySites = std::map<std::string, std::string>;

// What is wrong with `key` as site `site`'s next key ("" when nothing).
std::string keyProblem(const std::string& key, const std::string& site, const SiteConfig& s,
                       const KeySites& key_sites) {
  if (!isZ85Key(key)) {
    return "must be a Z85-encoded CURVE public key (40 characters), got \"" + key + "\"";
  }
  for (const std::string& have : s.curve_public_keys) {
    if (have == key) return "the key " + key + " is listed twice for this site";
  }
  if (auto it = key_sites.find(key); it != key_sites.end() && it->second != site) {
    return "the key " + key + " is site \"" + it->second +
           "\"'s already: a key may act for one site only";
  }
  return {};
}

// `curve_public_key` and `curve_public_keys` (a rotation's overlap lists two): each a
// Z85 key, none twice, none another site's. Fills s.curve_public_keys with all of them,
// the single key first, and records them in `key_sites`.
Status readSiteKeys(common::TomlTable& t, KeySites& key_sites, SiteConfig& s) {
  RETURN_IF_ERROR(t.str("curve_public_key", s.curve_public_key));
  if (!s.curve_public_key.empty()) {
    std::string problem = keyProblem(s.curve_public_key, s.id, s, key_sites);
    if (!problem.empty()) return t.error("curve_public_key", problem);
    s.curve_public_keys.push_back(s.curve_public_key);
  }
  std::vector<std::string> listed;
  RETURN_IF_ERROR(t.strings("curve_public_keys", listed));
  for (size_t k = 0; k < listed.size(); ++k) {
    std::string problem = keyProblem(listed[k], s.id, s, key_sites);
    if (!problem.empty()) return t.elementError("curve_public_keys", k, problem);
    s.curve_public_keys.push_back(listed[k]);
  }
  for (const std::string& key : s.curve_public_keys) key_sites.emplace(key, s.id);
  if (s.curve_public_key.empty() && !s.curve_public_keys.empty()) {
    s.curve_public_key = s.curve_public_keys.front();
  }
  return Status::Ok();
}

Status readSite(common::TomlTable& t, KeySites& key_sites, SiteConfig& s) {
  RETURN_IF_ERROR(t.expectKeys({"id", "name", "city", "country", "host", "energy_price_eur_mwh",
                                "carbon_g_kwh", "pue", "curve_public_key", "curve_public_keys",
                                "partition"}));
  RETURN_IF_ERROR(t.str("id", s.id, common::kRequired));
  if (!isSiteId(s.id)) {
    return t.error("id", "\"" + s.id + "\" is not a site id (1-64 characters of [a-z0-9-])");
  }
  RETURN_IF_ERROR(t.str("name", s.name));
  if (s.name.empty()) s.name = s.id;
  RETURN_IF_ERROR(t.str("city", s.city));
  RETURN_IF_ERROR(t.str("country", s.country, common::kRequired));
  if (!isCountryCode(s.country)) {
    return t.error("country", "\"" + s.country + std::string(kCountryRule));
  }
  RETURN_IF_ERROR(t.str("host", s.host));
  RETURN_IF_ERROR(t.number("energy_price_eur_mwh", s.energy_price_eur_mwh));
  RETURN_IF_ERROR(nonNegative(t, "energy_price_eur_mwh", s.energy_price_eur_mwh));
  RETURN_IF_ERROR(t.number("carbon_g_kwh", s.carbon_g_kwh));
  RETURN_IF_ERROR(nonNegative(t, "carbon_g_kwh", s.carbon_g_kwh));
  RETURN_IF_ERROR(t.number("pue", s.pue));
  if (s.pue < 1.0) return t.error("pue", "must be at least 1.0");
  RETURN_IF_ERROR(readSiteKeys(t, key_sites, s));
  std::vector<common::TomlTable> partitions;
  RETURN_IF_ERROR(t.tables("partition", partitions));
  if (partitions.empty())
    return t.error("partition", "a site needs at least one [[site.partition]]");
  std::set<std::string> names;
  for (common::TomlTable& pt : partitions) {
    PartitionConfig p;
    RETURN_IF_ERROR(readPartition(pt, p));
    if (!names.insert(p.name).second) {
      return pt.error("name", "duplicate partition name \"" + p.name + "\" in this site");
    }
    s.partitions.push_back(std::move(p));
  }
  return Status::Ok();
}

Status readDataset(common::TomlTable& t, const std::set<std::string>& site_ids, DatasetConfig& d) {
  RETURN_IF_ERROR(t.expectKeys({"id", "site", "size_gb"}));
  RETURN_IF_ERROR(t.str("id", d.id, common::kRequired));
  if (d.id.empty()) return t.error("id", "must not be empty");
  RETURN_IF_ERROR(t.str("site", d.site, common::kRequired));
  if (site_ids.count(d.site) == 0) return t.error("site", "unknown site \"" + d.site + "\"");
  RETURN_IF_ERROR(t.number("size_gb", d.size_gb, common::kRequired));
  return nonNegative(t, "size_gb", d.size_gb);
}

// A data set is listed once per site that holds a copy of it (a replica); replicas
// agree on the size.
Status readDatasets(const common::TomlTable& root, const std::set<std::string>& site_ids,
                    std::vector<DatasetConfig>& out) {
  std::vector<common::TomlTable> datasets;
  RETURN_IF_ERROR(root.tables("dataset", datasets));
  std::map<std::string, double> dataset_sizes;
  std::set<std::pair<std::string, std::string>> held;
  for (common::TomlTable& t : datasets) {
    DatasetConfig d;
    RETURN_IF_ERROR(readDataset(t, site_ids, d));
    if (!held.insert({d.id, d.site}).second) {
      return t.error("site",
                     "dataset \"" + d.id + "\" is already listed at site \"" + d.site + "\"");
    }
    if (auto [it, fresh] = dataset_sizes.emplace(d.id, d.size_gb);
        !fresh && it->second != d.size_gb) {
      std::ostringstream elsewhere;
      elsewhere << it->second;
      return t.error("size_gb", "a replica of dataset \"" + d.id + "\" must have the same size (" +
                                    elsewhere.str() + " GB elsewhere)");
    }
    out.push_back(std::move(d));
  }
  return Status::Ok();
}

Status readLink(common::TomlTable& t, const std::set<std::string>& site_ids, LinkConfig& link) {
  RETURN_IF_ERROR(t.expectKeys({"between", "bandwidth_gbps"}));
  std::vector<std::string> between;
  RETURN_IF_ERROR(t.strings("between", between, common::kRequired));
  if (between.size() != 2) return t.error("between", "must name exactly two sites");
  for (const std::string& id : between) {
    if (site_ids.count(id) == 0) return t.error("between", "unknown site \"" + id + "\"");
  }
  if (between[0] == between[1]) return t.error("between", "must name two different sites");
  link.a = between[0];
  link.b = between[1];
  RETURN_IF_ERROR(t.number("bandwidth_gbps", link.bandwidth_gbps, common::kRequired));
  if (link.bandwidth_gbps <= 0) return t.error("bandwidth_gbps", "must be positive");
  return Status::Ok();
}

Status readProject(common::TomlTable& t, const std::set<std::string>& site_ids, ProjectConfig& p) {
  RETURN_IF_ERROR(t.expectKeys({"id", "country", "allocations", "allowed_countries"}));
  RETURN_IF_ERROR(t.str("id", p.id, common::kRequired));
  if (p.id.empty()) return t.error("id", "must not be empty");
  RETURN_IF_ERROR(t.str("country", p.country, common::kRequired));
  if (!isCountryCode(p.country)) {
    return t.error("country", "\"" + p.country + std::string(kCountryRule));
  }
  std::optional<common::TomlTable> allocations;
  RETURN_IF_ERROR(t.table("allocations", allocations));
  if (allocations) {
    // site = GPU-hours: the keys are data.
    for (const std::string& site : allocations->keys()) {
      if (site_ids.count(site) == 0) {
        return allocations->error(site, "unknown site \"" + site + "\"");
      }
      double hours = 0;
      RETURN_IF_ERROR(allocations->number(site, hours, common::kRequired));
      RETURN_IF_ERROR(nonNegative(*allocations, site, hours));
      p.allocations[site] = hours;
    }
  }
  RETURN_IF_ERROR(t.strings("allowed_countries", p.allowed_countries));
  for (size_t c = 0; c < p.allowed_countries.size(); ++c) {
    if (!isCountryCode(p.allowed_countries[c])) {
      return t.elementError("allowed_countries", c,
                            "\"" + p.allowed_countries[c] + std::string(kCountryRule));
    }
  }
  return Status::Ok();
}

Status readFederation(common::TomlTable root, Federation& fed) {
  RETURN_IF_ERROR(root.expectKeys({"federation", "site", "dataset", "link", "project"}));
  std::optional<common::TomlTable> header;
  RETURN_IF_ERROR(root.table("federation", header, common::kRequired));
  RETURN_IF_ERROR(header->expectKeys({"name", "default_bandwidth_gbps"}));
  RETURN_IF_ERROR(header->str("name", fed.name, common::kRequired));
  RETURN_IF_ERROR(header->number("default_bandwidth_gbps", fed.default_bandwidth_gbps));
  if (fed.default_bandwidth_gbps <= 0) {
    return header->error("default_bandwidth_gbps", "must be positive");
  }

  std::vector<common::TomlTable> sites;
  RETURN_IF_ERROR(root.tables("site", sites));
  if (sites.empty()) return root.error("site", "the federation has no [[site]]");
  std::set<std::string> site_ids;
  KeySites key_sites;
  for (common::TomlTable& t : sites) {
    SiteConfig site;
    RETURN_IF_ERROR(readSite(t, key_sites, site));
    if (!site_ids.insert(site.id).second) {
      return t.error("id", "duplicate site id \"" + site.id + "\"");
    }
    fed.sites.push_back(std::move(site));
  }

  RETURN_IF_ERROR(readDatasets(root, site_ids, fed.datasets));

  std::vector<common::TomlTable> links;
  RETURN_IF_ERROR(root.tables("link", links));
  for (common::TomlTable& t : links) {
    LinkConfig link;
    RETURN_IF_ERROR(readLink(t, site_ids, link));
    fed.links.push_back(std::move(link));
  }

  std::vector<common::TomlTable> projects;
  RETURN_IF_ERROR(root.tables("project", projects));
  std::set<std::string> project_ids;
  for (common::TomlTable& t : projects) {
    ProjectConfig p;
    RETURN_IF_ERROR(readProject(t, site_ids, p));
    if (!project_ids.insert(p.id).second) {
      return t.error("id", "duplicate project id \"" + p.id + "\"");
    }
    fed.projects.push_back(std::move(p));
  }
  return Status::Ok();
}

}  // namespace

const SiteConfig* Federation::findSite(std::string_view id) const {
  for (const SiteConfig& s : sites) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

const ProjectConfig* Federation::findProject(std::string_view id) const {
  for (const ProjectConfig& p : projects) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

// Bandwidth between two sites in Gbit/s: a [[link]] in either direction, else the
// federation's default. Between a site and itself nothing moves over the network, so
// the answer is +infinity: staging time size / bandwidth is then exactly 0.
double Federation::bandwidthGbps(std::string_view a, std::string_view b) const {
  if (a == b) return std::numeric_limits<double>::infinity();
  for (const LinkConfig& link : links) {
    if ((link.a == a && link.b == b) || (link.a == b && link.b == a)) return link.bandwidth_gbps;
  }
  return default_bandwidth_gbps;
}

bool Federation::offersAccelerator(std::string_view model) const {
  if (model.empty()) return false;
  for (const SiteConfig& s : sites) {
    for (const PartitionConfig& p : s.partitions) {
      if (p.node_type.accelerator == model) return true;
    }
  }
  return false;
}

Result<Federation> parseFederation(std::string_view toml_text, std::string_view source_name) {
  ASSIGN_OR_RETURN(common::TomlDocument doc,
                   common::TomlDocument::parse(toml_text, std::string(source_name)));
  Federation fed;
  RETURN_IF_ERROR(readFederation(doc.root(), fed));
  return fed;
}

Result<Federation> loadFederationFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, common::readFile(path));
  return parseFederation(text, path);
}

}  // namespace aifed
