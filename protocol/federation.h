// The federation file: which sites exist, what they have, where they are, who may
// speak for them. Sites are data: adding an AI factory is an edit to this file.
//
//   Result<Federation> fed = loadFederationFile("config/federation-7.toml");
//   if (!fed.ok()) die(fed.status().toString());   // names file, line and key
//   for (const SiteConfig& s : fed->sites) ...
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/status.h"
#include "protocol/types.h"

namespace aifed {

struct PartitionConfig {
  std::string name;
  int nodes = 0;
  NodeType node_type;
};

struct SiteConfig {
  std::string id;
  std::string name;
  std::string city;
  std::string country;  // ISO 3166 alpha-2
  std::string host;
  double energy_price_eur_mwh = 0;
  double carbon_g_kwh = 0;
  double pue = 1.0;
  std::vector<PartitionConfig> partitions;
  // Z85 CURVE public key of the site's agent: the first of curve_public_keys. Empty:
  // the site cannot connect.
  std::string curve_public_key;
  // Every key accepted for the site: `curve_public_key` (if set) then the file's
  // `curve_public_keys` list. Two during a key rotation's overlap (docs/security.md,
  // "Rotating a site's key"); no key is listed twice, nor at two sites.
  std::vector<std::string> curve_public_keys;
};

struct DatasetConfig {
  std::string id;
  std::string site;
  double size_gb = 0;
};

struct LinkConfig {
  std::string a;
  std::string b;
  double bandwidth_gbps = 0;
};

struct ProjectConfig {
  std::string id;
  std::string country;
  std::map<std::string, double> allocations;  // site id -> GPU-hours
  std::vector<std::string> allowed_countries;
};

struct Federation {
  std::string name;
  double default_bandwidth_gbps = 10;
  std::vector<SiteConfig> sites;
  std::vector<DatasetConfig> datasets;
  std::vector<LinkConfig> links;
  std::vector<ProjectConfig> projects;

  const SiteConfig* findSite(std::string_view id) const;
  const ProjectConfig* findProject(std::string_view id) const;
  double bandwidthGbps(std::string_view a, std::string_view b) const;
  // Whether any site offers this accelerator model (lower-case).
  bool offersAccelerator(std::string_view model) const;
};

// Parses and validates (unique ids, positive node counts, known sites in datasets,
// links and allocations). Errors name the source, the line where known, and the key.
Result<Federation> parseFederation(std::string_view toml_text, std::string_view source_name);
Result<Federation> loadFederationFile(const std::string& path);

}  // namespace aifed
