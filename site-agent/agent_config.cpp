#include "site-agent/agent_config.h"

#include <toml++/toml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "protocol/transport/curve_keys.h"

namespace aifed::agent {
namespace {

std::string resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

Status keyError(const std::string& source, const std::string& key, const std::string& what) {
  return invalidArgument(source + ": " + key + ": " + what, key);
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
  if (cfg.backend != "simulated") {
    return keyError(source_name, "backend",
                    "unknown backend \"" + cfg.backend + "\" (this build offers: simulated)");
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

  const toml::table* sim = root["simulated"].as_table();
  if (!sim)
    return keyError(source_name, "simulated", "the simulated backend needs a [simulated] table");
  cfg.speedup = (*sim)["speedup"].value_or(1.0);
  if (cfg.speedup <= 0) return keyError(source_name, "simulated.speedup", "must be positive");
  cfg.scheduler = (*sim)["scheduler"].value_or(std::string("easy"));
  if (cfg.scheduler != "easy" && cfg.scheduler != "fcfs") {
    return keyError(source_name, "simulated.scheduler",
                    "unknown scheduler \"" + cfg.scheduler + "\" (fcfs or easy)");
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
