#include "site-agent/agent_config.h"

#include <toml++/toml.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "protocol/transport/curve_keys.h"
#include "site-agent/backends/local_scheduler.h"

namespace aifed::agent {
namespace {

std::string resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

Status keyError(const std::string& source, const std::string& key, const std::string& what) {
  return invalidArgument(source + ": " + key + ": " + what, key);
}

Status parseStringMap(const toml::table& t, const char* key, const std::string& source,
                      std::map<std::string, std::string>& out) {
  const toml::node* n = t.get(key);
  if (!n) return Status::Ok();
  const toml::table* m = n->as_table();
  if (!m) return keyError(source, std::string("slurm.") + key, "must be a table of strings");
  for (const auto& [k, v] : *m) {
    auto value = v.value<std::string>();
    if (!value || value->empty()) {
      return keyError(source, std::string("slurm.") + key + "." + std::string(k.str()),
                      "must be a non-empty string");
    }
    out[std::string(k.str())] = *value;
  }
  return Status::Ok();
}

Status parseSlurmTable(const toml::table& t, const std::string& source, const std::string& base_dir,
                       SlurmOptions& o) {
  static const std::set<std::string> kKnown = {
      "partitions", "gpu_partitions",  "gres_types",      "gpu_partition", "cpu_partition",
      "accounts",   "default_account", "bin_dir",         "slurm_conf",    "workdir",
      "output",     "job_path",        "tag_prefix",      "use_sacct",     "command_timeout_s",
      "refresh_s",  "probe",           "probe_interval_s"};
  for (const auto& [k, v] : t) {
    if (!kKnown.count(std::string(k.str()))) {
      return keyError(source, "slurm." + std::string(k.str()), "unknown key");
    }
  }
  if (const toml::node* n = t.get("partitions")) {
    const toml::array* a = n->as_array();
    if (!a) return keyError(source, "slurm.partitions", "must be an array of partition names");
    for (const toml::node& e : *a) {
      auto name = e.value<std::string>();
      if (!name || name->empty()) {
        return keyError(source, "slurm.partitions", "must hold non-empty strings");
      }
      o.partitions.push_back(*name);
    }
  }
  if (Status s = parseStringMap(t, "gpu_partitions", source, o.gpu_partitions); !s.ok()) return s;
  if (Status s = parseStringMap(t, "gres_types", source, o.gres_types); !s.ok()) return s;
  if (Status s = parseStringMap(t, "accounts", source, o.accounts); !s.ok()) return s;
  // GPU model names are lower-case in aifed ("h100").
  std::map<std::string, std::string> lowered;
  for (auto& [k, v] : o.gpu_partitions) {
    std::string l = k;
    for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    lowered[l] = v;
  }
  o.gpu_partitions = std::move(lowered);
  o.gpu_partition = t["gpu_partition"].value_or(std::string());
  o.cpu_partition = t["cpu_partition"].value_or(std::string());
  o.default_account = t["default_account"].value_or(std::string());
  o.bin_dir = resolve(base_dir, t["bin_dir"].value_or(std::string()));
  o.slurm_conf = resolve(base_dir, t["slurm_conf"].value_or(std::string()));
  o.workdir = t["workdir"].value_or(std::string());
  o.output = t["output"].value_or(std::string());
  o.job_path = t["job_path"].value_or(o.job_path);
  o.tag_prefix = t["tag_prefix"].value_or(o.tag_prefix);
  o.use_sacct = t["use_sacct"].value_or(false);
  double timeout = t["command_timeout_s"].value_or(20.0);
  double refresh = t["refresh_s"].value_or(5.0);
  if (timeout <= 0) return keyError(source, "slurm.command_timeout_s", "must be positive");
  if (refresh < 0) return keyError(source, "slurm.refresh_s", "must not be negative");
  o.command_timeout = Duration(static_cast<int64_t>(timeout * 1000));
  o.refresh = Duration(static_cast<int64_t>(refresh * 1000));
  if (const toml::node* n = t.get("probe")) {
    const toml::array* a = n->as_array();
    if (!a) return keyError(source, "slurm.probe", "must be an array of tables ([[slurm.probe]])");
    for (size_t i = 0; i < a->size(); ++i) {
      std::string where = "slurm.probe[" + std::to_string(i) + "]";
      const toml::table* p = a->get(i)->as_table();
      if (!p) return keyError(source, where, "must be a table");
      for (const auto& [k, v] : *p) {
        static const std::set<std::string> kProbeKeys = {"gpu_type", "nodes", "gpus_per_node",
                                                         "walltime_s"};
        if (!kProbeKeys.count(std::string(k.str()))) {
          return keyError(source, where + "." + std::string(k.str()), "unknown key");
        }
      }
      SlurmOptions::ProbeShape shape;
      shape.gpu_type = (*p)["gpu_type"].value_or(std::string());
      for (char& c : shape.gpu_type)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      shape.nodes = static_cast<int>((*p)["nodes"].value_or(int64_t{1}));
      shape.gpus_per_node = static_cast<int>((*p)["gpus_per_node"].value_or(int64_t{0}));
      int64_t walltime_s = (*p)["walltime_s"].value_or(int64_t{3600});
      if (shape.nodes < 1) return keyError(source, where + ".nodes", "must be at least 1");
      if (shape.gpus_per_node < 0) {
        return keyError(source, where + ".gpus_per_node", "must not be negative");
      }
      if (walltime_s <= 0) return keyError(source, where + ".walltime_s", "must be positive");
      shape.walltime = std::chrono::seconds(walltime_s);
      o.probes.push_back(shape);
    }
  }
  double probe_interval = t["probe_interval_s"].value_or(60.0);
  if (probe_interval <= 0) return keyError(source, "slurm.probe_interval_s", "must be positive");
  o.probe_interval = Duration(static_cast<int64_t>(probe_interval * 1000));
  if (o.tag_prefix.empty() || o.tag_prefix.find(':') != std::string::npos) {
    return keyError(source, "slurm.tag_prefix", "must be non-empty and contain no ':'");
  }
  if (o.gpu_partitions.empty() && o.gpu_partition.empty() && o.cpu_partition.empty()) {
    return keyError(source, "slurm",
                    "maps no job to a partition: give gpu_partitions, gpu_partition or "
                    "cpu_partition");
  }
  return Status::Ok();
}

}  // namespace

Result<AgentConfig> parseAgentConfig(std::string_view toml_text, const std::string& source_name,
                                     const std::string& base_dir) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << source_name << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return invalidArgument(msg.str());
  }
  AgentConfig cfg;
  auto requireString = [&](const char* key, std::string& out) -> Status {
    auto v = root[key].value<std::string>();
    if (!v || v->empty()) return keyError(source_name, key, "required (a non-empty string)");
    out = *v;
    return Status::Ok();
  };
  for (auto [key, out] :
       {std::pair{"site", &cfg.site}, std::pair{"coordinator", &cfg.coordinator_endpoint},
        std::pair{"key_file", &cfg.key_file}, std::pair{"state_db", &cfg.state_db}}) {
    if (Status s = requireString(key, *out); !s.ok()) return s;
  }
  cfg.key_file = resolve(base_dir, cfg.key_file);
  cfg.state_db = resolve(base_dir, cfg.state_db);
  cfg.backend = root["backend"].value_or(std::string("simulated"));
  cfg.log_level = root["log_level"].value_or(std::string("info"));
  if (cfg.backend != "simulated" && cfg.backend != "slurm") {
    return keyError(source_name, "backend",
                    "unknown backend \"" + cfg.backend + "\" (simulated or slurm)");
  }

  if (auto key = root["coordinator_public_key"].value<std::string>()) {
    cfg.coordinator_public_key = *key;
  } else if (auto file = root["coordinator_public_key_file"].value<std::string>()) {
    Result<transport::CurveKeyPair> pub = transport::readKeyPairFile(resolve(base_dir, *file));
    if (!pub.ok())
      return keyError(source_name, "coordinator_public_key_file", pub.status().message());
    cfg.coordinator_public_key = pub->public_key;
  } else {
    return keyError(source_name, "coordinator_public_key",
                    "required (or coordinator_public_key_file): CURVE is always on");
  }
  if (!transport::isValidZ85Key(cfg.coordinator_public_key)) {
    return keyError(source_name, "coordinator_public_key", "not a 40-character Z85 key");
  }

  if (cfg.backend == "slurm") {
    const toml::table* slurm = root["slurm"].as_table();
    if (!slurm) return keyError(source_name, "slurm", "the slurm backend needs a [slurm] table");
    if (Status s = parseSlurmTable(*slurm, source_name, base_dir, cfg.slurm); !s.ok()) return s;
    return cfg;
  }

  const toml::table* sim = root["simulated"].as_table();
  if (!sim)
    return keyError(source_name, "simulated", "the simulated backend needs a [simulated] table");
  cfg.speedup = (*sim)["speedup"].value_or(1.0);
  if (cfg.speedup <= 0) return keyError(source_name, "simulated.speedup", "must be positive");
  cfg.scheduler = (*sim)["scheduler"].value_or(std::string("easy"));
  if (Result<SchedulerMode> mode = parseSchedulerMode(cfg.scheduler); !mode.ok()) {
    return keyError(source_name, "simulated.scheduler", mode.status().message());
  }
  if (auto fed_path = (*sim)["federation"].value<std::string>()) {
    Result<Federation> fed = loadFederationFile(resolve(base_dir, *fed_path));
    if (!fed.ok()) return keyError(source_name, "simulated.federation", fed.status().message());
    const SiteConfig* site = fed->findSite(cfg.site);
    if (!site) {
      return keyError(source_name, "site", "site \"" + cfg.site + "\" is not in " + *fed_path);
    }
    cfg.partitions = site->partitions;
  } else if (const toml::array* parts = (*sim)["partition"].as_array()) {
    for (size_t i = 0; i < parts->size(); ++i) {
      const toml::table* p = (*parts)[i].as_table();
      std::string where = "simulated.partition[" + std::to_string(i) + "]";
      if (!p) return keyError(source_name, where, "must be a table");
      PartitionConfig pc;
      pc.name = (*p)["name"].value_or(std::string());
      pc.nodes = static_cast<int>((*p)["nodes"].value_or(int64_t{0}));
      pc.node_type.accelerator = (*p)["accelerator"].value_or(std::string());
      pc.node_type.accelerators_per_node =
          static_cast<int>((*p)["accelerators_per_node"].value_or(int64_t{0}));
      pc.node_type.cores = static_cast<int>((*p)["cores_per_node"].value_or(int64_t{0}));
      pc.node_type.memory_gib = static_cast<int>((*p)["memory_gib"].value_or(int64_t{0}));
      if (pc.name.empty()) return keyError(source_name, where + ".name", "required");
      if (pc.nodes < 1) return keyError(source_name, where + ".nodes", "must be at least 1");
      cfg.partitions.push_back(pc);
    }
  }
  if (cfg.partitions.empty()) {
    return keyError(source_name, "simulated",
                    "give `federation = \"...\"` or at least one [[simulated.partition]]");
  }
  return cfg;
}

Result<AgentConfig> loadAgentConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return notFound("cannot read agent config " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  std::string dir = std::filesystem::absolute(path).parent_path().string();
  return parseAgentConfig(buf.str(), path, dir);
}

}  // namespace aifed::agent
