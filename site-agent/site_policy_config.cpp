#include "site-agent/site_policy_config.h"

#include <filesystem>

#include "common/files.h"

namespace aifed::agent {
namespace {

Status readPartitions(const common::TomlTable& t, SiteRules& rules) {
  std::optional<common::TomlTable> table;
  RETURN_IF_ERROR(t.table("partitions", table));
  if (!table) return Status::Ok();
  for (const std::string& project : table->keys()) {
    std::vector<std::string> names;
    RETURN_IF_ERROR(table->strings(project, names, common::kRequired));
    if (names.empty()) return table->error(project, "name at least one partition");
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i].empty()) return table->elementError(project, i, "must not be empty");
    }
    rules.partitions[project] = std::move(names);
  }
  return Status::Ok();
}

Status readQos(const common::TomlTable& t, SiteRules& rules) {
  std::optional<common::TomlTable> table;
  RETURN_IF_ERROR(t.table("qos", table));
  if (!table) return Status::Ok();
  for (const std::string& project : table->keys()) {
    std::string name;
    RETURN_IF_ERROR(table->str(project, name, common::kRequired));
    if (name.empty()) return table->error(project, "must not be empty");
    rules.qos[project] = std::move(name);
  }
  return Status::Ok();
}

Status readRules(common::TomlTable& t, SiteRules& rules) {
  RETURN_IF_ERROR(t.expectKeys({"projects", "users", "max_nodes", "max_gpus", "max_walltime_s",
                                "max_gpu_hours", "partitions", "qos", "sbatch_directives"}));
  RETURN_IF_ERROR(t.strings("projects", rules.projects));
  RETURN_IF_ERROR(t.strings("users", rules.users));
  RETURN_IF_ERROR(t.integer("max_nodes", rules.max_nodes));
  RETURN_IF_ERROR(t.integer("max_gpus", rules.max_gpus));
  int64_t walltime_s = 0;
  RETURN_IF_ERROR(t.integer("max_walltime_s", walltime_s, common::kOptional, 0,
                            std::chrono::duration_cast<std::chrono::seconds>(kMaxWalltime).count()));
  rules.max_walltime = std::chrono::seconds(walltime_s);
  RETURN_IF_ERROR(t.number("max_gpu_hours", rules.max_gpu_hours));
  if (rules.max_nodes < 0) return t.error("max_nodes", "must not be negative");
  if (rules.max_gpus < 0) return t.error("max_gpus", "must not be negative");
  if (rules.max_gpu_hours < 0) return t.error("max_gpu_hours", "must not be negative");
  RETURN_IF_ERROR(readPartitions(t, rules));
  RETURN_IF_ERROR(readQos(t, rules));
  std::string directives = "refuse";
  RETURN_IF_ERROR(t.str("sbatch_directives", directives));
  std::optional<DirectivePolicy> policy = parseDirectivePolicy(directives);
  if (!policy) return t.error("sbatch_directives", "must be \"refuse\" or \"strip\"");
  rules.directives = *policy;
  return Status::Ok();
}

Status readIdentity(common::TomlTable& t, const std::string& base_dir,
                    SitePolicyConfig& out) {
  RETURN_IF_ERROR(t.expectKeys({"map_file", "map_command", "command_timeout_s"}));
  RETURN_IF_ERROR(t.str("map_file", out.map_file));
  RETURN_IF_ERROR(t.str("map_command", out.map_command));
  if (out.map_file.empty() == out.map_command.empty()) {
    return t.tableError("give exactly one of map_file and map_command");
  }
  out.map_file = common::resolvePath(base_dir, out.map_file);
  out.map_command = common::resolvePath(base_dir, out.map_command);
  double seconds = 5;
  RETURN_IF_ERROR(t.number("command_timeout_s", seconds));
  if (seconds <= 0 || seconds > 300) {
    return t.error("command_timeout_s", "must be more than 0 and at most 300");
  }
  out.map_timeout = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  return Status::Ok();
}

}  // namespace

Status readSitePolicy(const common::TomlTable& root, const std::string& base_dir,
                      SitePolicyConfig& out) {
  std::optional<common::TomlTable> rules;
  RETURN_IF_ERROR(root.table("rules", rules));
  if (rules) {
    out.rules.emplace();
    RETURN_IF_ERROR(readRules(*rules, *out.rules));
  }
  std::optional<common::TomlTable> identity;
  RETURN_IF_ERROR(root.table("identity", identity));
  if (identity) RETURN_IF_ERROR(readIdentity(*identity, base_dir, out));
  return Status::Ok();
}

}  // namespace aifed::agent
