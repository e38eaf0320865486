// The site's own terms in the agent's config: [rules] (what it admits, published to the
// coordinator) and [identity] (how federation users map to local accounts, never
// published). docs/operations.md, "Site administrator's guide", documents every key.
//
//   [rules]
//   projects = ["llm-eu", "bio-ai"]        # empty or absent: any project
//   users = ["*@csc.fi", "*@kth.se"]       # published patterns; the mapping decides last
//   max_nodes = 16                         # per job; 0 or absent: no limit
//   max_gpus = 64
//   max_walltime_s = 86400
//   max_gpu_hours = 2000
//   partitions = { llm-eu = ["gpu", "debug"], "*" = ["gpu"] }
//   qos = { llm-eu = "high", "*" = "normal" }
//   sbatch_directives = "refuse"           # or "strip"
//
//   [identity]
//   map_file = "users.map"                 # identity_map.h; or:
//   map_command = "/usr/local/sbin/aifed-map"
//   command_timeout_s = 5
#pragma once

#include <optional>
#include <string>

#include "common/toml_reader.h"
#include "protocol/site_rules.h"

namespace aifed::agent {

struct SitePolicyConfig {
  std::optional<SiteRules> rules;  // absent: the site publishes none and admits any job
  std::string map_file;            // absolute
  std::string map_command;         // absolute
  Duration map_timeout = std::chrono::seconds(5);
};

// Reads [rules] and [identity] from the agent config's root table (both optional).
Status readSitePolicy(const common::TomlTable& root, const std::string& base_dir,
                      SitePolicyConfig& out);

}  // namespace aifed::agent
