// The site agent's one configuration file (TOML). Relative paths are resolved against
// the file's own directory. docs/operations.md documents every key.
//
//   site = "mimer"
//   coordinator = "tcp://coordinator.example.eu:7781"
//   coordinator_public_key_file = "keys/coordinator.pub"
//   key_file = "keys/mimer.key"
//   state_db = "/var/lib/aifed/agent.db"
//   backend = "simulated"            # or "slurm"
//   [simulated]
//   federation = "federation.toml"   # take this site's partitions from the federation file
//   speedup = 60                     # demo: jobs run 60x faster than their figures
//   scheduler = "easy"               # fcfs | easy | conservative
//   [slurm]                          # with backend = "slurm"; docs/operations.md
//   partitions = ["gpu", "cpu"]
//   cpu_partition = "cpu"
//   gpu_partitions = { h100 = "gpu" }
//   accounts = { nordic-llm = "nllm001" }
#pragma once

#include <string>
#include <vector>

#include "protocol/federation.h"
#include "protocol/status.h"
#include "site-agent/backends/slurm_backend.h"
#include "site-agent/site_policy_config.h"

namespace aifed::agent {

// output_max_bytes at most this (2 MiB): a LOG_DATA frame stays far below the 16 MiB a
// receiver may refuse even when JSON escapes every byte.
inline constexpr int64_t kOutputMaxBytesLimit = 2 << 20;

struct AgentConfig {
  std::string site;
  std::string coordinator_endpoint;
  std::string coordinator_public_key;  // Z85, read from the key or the key file
  std::string key_file;
  std::string state_db;
  std::string backend = "simulated";
  std::string log_level = "info";
  // The most bytes of a job's output one LOG_DATA carries (docs/operations.md).
  uint64_t output_max_bytes = 1 << 20;
  // [simulated]
  std::vector<PartitionConfig> partitions;
  double speedup = 1.0;
  std::string scheduler = "easy";
  // Where simulated jobs write their output files; default: `output` beside state_db.
  std::string output_dir;
  // [slurm]
  SlurmOptions slurm;
  // [rules] and [identity]: the site's own terms (site_policy_config.h)
  SitePolicyConfig policy;
};

Result<AgentConfig> parseAgentConfig(std::string_view toml_text, const std::string& source_name,
                                     const std::string& base_dir);
Result<AgentConfig> loadAgentConfig(const std::string& path);

}  // namespace aifed::agent
