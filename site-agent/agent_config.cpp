#include "site-agent/agent_config.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <optional>
#include <utility>

#include "common/files.h"
#include "common/log_level.h"
#include "common/strings.h"
#include "common/toml_reader.h"
#include "protocol/transport/curve_keys.h"
#include "site-agent/backends/local_scheduler.h"

namespace aifed::agent {
namespace {

std::string lowerCase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// A required non-empty string.
Status readNonEmpty(const common::TomlTable& t, std::string_view key, std::string& out) {
  RETURN_IF_ERROR(t.str(key, out, common::kRequired));
  if (out.empty()) return t.error(key, "must not be empty");
  return Status::Ok();
}

// A number of seconds > 0 (or >= 0 with `zero_ok`) as a Duration.
Status readSeconds(const common::TomlTable& t, std::string_view key, Duration& out,
                   bool zero_ok = false) {
  double seconds = std::chrono::duration<double>(out).count();
  RETURN_IF_ERROR(t.number(key, seconds));
  if (zero_ok ? seconds < 0 : seconds <= 0) {
    return t.error(key, zero_ok ? "must not be negative" : "must be positive");
  }
  out = Duration(static_cast<int64_t>(seconds * 1000));
  return Status::Ok();
}

// `key = { name = "value", ... }`: the names are data; values are non-empty strings.
Status readStringMap(const common::TomlTable& t, std::string_view key,
                     std::map<std::string, std::string>& out) {
  std::optional<common::TomlTable> map;
  RETURN_IF_ERROR(t.table(key, map));
  if (!map) return Status::Ok();
  for (const std::string& name : map->keys()) {
    std::string value;
    RETURN_IF_ERROR(readNonEmpty(*map, name, value));
    out[name] = value;
  }
  return Status::Ok();
}

// [[slurm.probe]]: the job shapes whose start estimates the agent asks Slurm for.
Status readProbes(const common::TomlTable& slurm, SlurmOptions& o) {
  std::vector<common::TomlTable> probes;
  RETURN_IF_ERROR(slurm.tables("probe", probes));
  for (common::TomlTable& p : probes) {
    RETURN_IF_ERROR(p.expectKeys({"gpu_type", "nodes", "gpus_per_node", "walltime_s"}));
    SlurmOptions::ProbeShape shape;
    RETURN_IF_ERROR(p.str("gpu_type", shape.gpu_type));
    shape.gpu_type = lowerCase(shape.gpu_type);
    RETURN_IF_ERROR(p.integer("nodes", shape.nodes));
    if (shape.nodes < 1) return p.error("nodes", "must be at least 1");
    RETURN_IF_ERROR(p.integer("gpus_per_node", shape.gpus_per_node));
    if (shape.gpus_per_node < 0) return p.error("gpus_per_node", "must not be negative");
    int64_t walltime_s = 3600;
    RETURN_IF_ERROR(p.integer("walltime_s", walltime_s));
    if (walltime_s <= 0) return p.error("walltime_s", "must be positive");
    shape.walltime = std::chrono::seconds(walltime_s);
    o.probes.push_back(shape);
  }
  return Status::Ok();
}

Status readSlurm(common::TomlTable& t, const std::string& base_dir, SlurmOptions& o) {
  RETURN_IF_ERROR(t.expectKeys(
      {"partitions", "gpu_partitions", "gres_types", "gpu_partition", "cpu_partition", "accounts",
       "default_account", "bin_dir", "slurm_conf", "workdir", "output", "output_dir", "job_path",
       "tag_prefix",
       "use_sacct", "command_timeout_s", "refresh_s", "probe", "probe_interval_s"}));
  RETURN_IF_ERROR(t.strings("partitions", o.partitions));
  for (size_t i = 0; i < o.partitions.size(); ++i) {
    if (o.partitions[i].empty()) return t.elementError("partitions", i, "must not be empty");
  }
  std::map<std::string, std::string> gpu_partitions;
  RETURN_IF_ERROR(readStringMap(t, "gpu_partitions", gpu_partitions));
  // GPU model names are lower-case in aifed ("h100").
  for (auto& [model, partition] : gpu_partitions) o.gpu_partitions[lowerCase(model)] = partition;
  RETURN_IF_ERROR(readStringMap(t, "gres_types", o.gres_types));
  RETURN_IF_ERROR(readStringMap(t, "accounts", o.accounts));
  for (auto [key, out] :
       {std::pair{"gpu_partition", &o.gpu_partition}, std::pair{"cpu_partition", &o.cpu_partition},
        std::pair{"default_account", &o.default_account}, std::pair{"bin_dir", &o.bin_dir},
        std::pair{"slurm_conf", &o.slurm_conf}, std::pair{"workdir", &o.workdir},
        std::pair{"output", &o.output}, std::pair{"output_dir", &o.output_dir},
        std::pair{"job_path", &o.job_path},
        std::pair{"tag_prefix", &o.tag_prefix}}) {
    RETURN_IF_ERROR(t.str(key, *out));
  }
  o.bin_dir = common::resolvePath(base_dir, o.bin_dir);
  o.slurm_conf = common::resolvePath(base_dir, o.slurm_conf);
  RETURN_IF_ERROR(t.boolean("use_sacct", o.use_sacct));
  RETURN_IF_ERROR(readSeconds(t, "command_timeout_s", o.command_timeout));
  RETURN_IF_ERROR(readSeconds(t, "refresh_s", o.refresh, /*zero_ok=*/true));
  RETURN_IF_ERROR(readProbes(t, o));
  RETURN_IF_ERROR(readSeconds(t, "probe_interval_s", o.probe_interval));
  if (o.tag_prefix.empty() || o.tag_prefix.find(':') != std::string::npos) {
    return t.error("tag_prefix", "must be non-empty and contain no ':'");
  }
  if (o.gpu_partitions.empty() && o.gpu_partition.empty() && o.cpu_partition.empty()) {
    return t.tableError(
        "maps no job to a partition: give gpu_partitions, gpu_partition or cpu_partition");
  }
  return Status::Ok();
}

// [[simulated.partition]] when no federation file gives the site's partitions.
Status readPartitions(const common::TomlTable& sim, std::vector<PartitionConfig>& out) {
  std::vector<common::TomlTable> parts;
  RETURN_IF_ERROR(sim.tables("partition", parts));
  for (common::TomlTable& p : parts) {
    RETURN_IF_ERROR(p.expectKeys(
        {"name", "nodes", "accelerator", "accelerators_per_node", "cores_per_node", "memory_gib"}));
    PartitionConfig pc;
    RETURN_IF_ERROR(readNonEmpty(p, "name", pc.name));
    RETURN_IF_ERROR(p.integer("nodes", pc.nodes, common::kRequired));
    if (pc.nodes < 1) return p.error("nodes", "must be at least 1");
    RETURN_IF_ERROR(p.str("accelerator", pc.node_type.accelerator));
    RETURN_IF_ERROR(p.integer("accelerators_per_node", pc.node_type.accelerators_per_node));
    RETURN_IF_ERROR(p.integer("cores_per_node", pc.node_type.cores));
    RETURN_IF_ERROR(p.integer("memory_gib", pc.node_type.memory_gib));
    out.push_back(pc);
  }
  return Status::Ok();
}

Status readSimulated(common::TomlTable& t, const std::string& base_dir, AgentConfig& cfg) {
  RETURN_IF_ERROR(t.expectKeys({"federation", "speedup", "scheduler", "partition", "output_dir"}));
  RETURN_IF_ERROR(t.str("output_dir", cfg.output_dir));
  cfg.output_dir = cfg.output_dir.empty()
                       ? (std::filesystem::path(cfg.state_db).parent_path() / "output").string()
                       : common::resolvePath(base_dir, cfg.output_dir);
  RETURN_IF_ERROR(t.number("speedup", cfg.speedup));
  if (cfg.speedup <= 0) return t.error("speedup", "must be positive");
  RETURN_IF_ERROR(t.str("scheduler", cfg.scheduler));
  if (Result<SchedulerMode> mode = parseSchedulerMode(cfg.scheduler); !mode.ok()) {
    return t.error("scheduler", mode.status().message());
  }
  std::string fed_path;
  RETURN_IF_ERROR(t.str("federation", fed_path));
  if (!fed_path.empty()) {
    Result<Federation> fed = loadFederationFile(common::resolvePath(base_dir, fed_path));
    if (!fed.ok()) return t.error("federation", fed.status().message());
    const SiteConfig* site = fed->findSite(cfg.site);
    if (!site) return t.error("federation", "site \"" + cfg.site + "\" is not in " + fed_path);
    cfg.partitions = site->partitions;
  } else {
    RETURN_IF_ERROR(readPartitions(t, cfg.partitions));
  }
  if (cfg.partitions.empty()) {
    return t.tableError("give `federation = \"...\"` or at least one [[simulated.partition]]");
  }
  return Status::Ok();
}

// coordinator_public_key, or the public half of coordinator_public_key_file.
Status readCoordinatorKey(const common::TomlTable& root, const std::string& base_dir,
                          AgentConfig& cfg) {
  std::string file;
  RETURN_IF_ERROR(root.str("coordinator_public_key", cfg.coordinator_public_key));
  RETURN_IF_ERROR(root.str("coordinator_public_key_file", file));
  if (cfg.coordinator_public_key.empty() && !file.empty()) {
    Result<transport::CurveKeyPair> pub =
        transport::readKeyPairFile(common::resolvePath(base_dir, file));
    if (!pub.ok()) return root.error("coordinator_public_key_file", pub.status().message());
    cfg.coordinator_public_key = pub->public_key;
  }
  if (cfg.coordinator_public_key.empty()) {
    return root.error("coordinator_public_key",
                      "is required (or coordinator_public_key_file): CURVE is always on");
  }
  if (!transport::isValidZ85Key(cfg.coordinator_public_key)) {
    return root.error("coordinator_public_key", "not a 40-character Z85 key");
  }
  return Status::Ok();
}

}  // namespace

Result<AgentConfig> parseAgentConfig(std::string_view toml_text, const std::string& source_name,
                                     const std::string& base_dir) {
  ASSIGN_OR_RETURN(common::TomlDocument doc, common::TomlDocument::parse(toml_text, source_name));
  common::TomlTable root = doc.root();
  RETURN_IF_ERROR(root.expectKeys({"site", "coordinator", "coordinator_public_key",
                                   "coordinator_public_key_file", "key_file", "state_db", "backend",
                                   "log_level", "output_max_bytes", "simulated", "slurm", "rules",
                                   "identity"}));
  AgentConfig cfg;
  RETURN_IF_ERROR(readNonEmpty(root, "site", cfg.site));
  RETURN_IF_ERROR(readNonEmpty(root, "coordinator", cfg.coordinator_endpoint));
  RETURN_IF_ERROR(readNonEmpty(root, "key_file", cfg.key_file));
  RETURN_IF_ERROR(readNonEmpty(root, "state_db", cfg.state_db));
  cfg.key_file = common::resolvePath(base_dir, cfg.key_file);
  cfg.state_db = common::resolvePath(base_dir, cfg.state_db);
  RETURN_IF_ERROR(root.str("backend", cfg.backend));
  if (cfg.backend != "simulated" && cfg.backend != "slurm") {
    return root.error("backend", "unknown backend \"" + cfg.backend + "\" (simulated or slurm)");
  }
  RETURN_IF_ERROR(root.str("log_level", cfg.log_level));
  if (!common::isLogLevel(cfg.log_level)) {
    return root.error("log_level", "must be one of " + common::join(common::kLogLevels, ", ") +
                                       ", got \"" + cfg.log_level + "\"");
  }
  RETURN_IF_ERROR(readCoordinatorKey(root, base_dir, cfg));
  RETURN_IF_ERROR(readSitePolicy(root, base_dir, cfg.policy));
  int64_t output_max_bytes = static_cast<int64_t>(cfg.output_max_bytes);
  RETURN_IF_ERROR(root.integer("output_max_bytes", output_max_bytes));
  if (output_max_bytes < 1 || output_max_bytes > kOutputMaxBytesLimit) {
    return root.error("output_max_bytes",
                      "must be between 1 and " + std::to_string(kOutputMaxBytesLimit) + " bytes");
  }
  cfg.output_max_bytes = static_cast<uint64_t>(output_max_bytes);
  // The table of the other backend may stay in the file (switching back is one line).
  std::optional<common::TomlTable> backend;
  RETURN_IF_ERROR(root.table(cfg.backend, backend));
  if (!backend) {
    return root.error(cfg.backend,
                      "the " + cfg.backend + " backend needs a [" + cfg.backend + "] table");
  }
  if (cfg.backend == "slurm") {
    RETURN_IF_ERROR(readSlurm(*backend, base_dir, cfg.slurm));
  } else {
    RETURN_IF_ERROR(readSimulated(*backend, base_dir, cfg));
  }
  return cfg;
}

Result<AgentConfig> loadAgentConfig(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, common::readFile(path));
  std::string dir = std::filesystem::absolute(path).parent_path().string();
  return parseAgentConfig(text, path, dir);
}

}  // namespace aifed::agent
