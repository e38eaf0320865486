#include "site-agent/agent_check.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <ostream>
#include <set>

#include "common/strings.h"
#include "protocol/transport/curve_keys.h"
#include "site-agent/backends/slurm_backend.h"
#include "site-agent/identity_map.h"
#include "sqlite/read_only_database.h"

namespace aifed::agent {

// agent_store.cpp
int32_t agentStoreApplicationId();
int currentAgentStoreSchema();

using common::CheckEnvironment;
using common::CheckReport;

void checkAgentKey(CheckReport& report, const CheckEnvironment& env, const std::string& path) {
  const std::string what = "key file " + path;
  if (!common::checkPrivateFile(report, env, what, path)) return;
  Result<transport::CurveKeyPair> keys = transport::readKeyPairFile(path);
  if (!keys.ok()) return report.fail(what, keys.status().message());
  if (keys->secret_key.empty()) {
    return report.fail(what,
                       "holds no secret key: the agent needs its site's key pair "
                       "(aifed keygen --out DIR --name SITE)");
  }
  Result<std::string> fp = transport::curveKeyFingerprint(keys->public_key);
  report.ok(what + " (public key " + keys->public_key + ", " + (fp.ok() ? *fp : "?") +
            ": the federation file's curve_public_key for this site)");
}

void checkCoordinatorLink(CheckReport& report, const AgentConfig& config) {
  if (Status s = common::validateTcpEndpoint(config.coordinator_endpoint, /*bind=*/false);
      !s.ok()) {
    report.fail("coordinator endpoint", s.message());
  } else if (config.coordinator_endpoint.find("://[") != std::string::npos) {
    report.fail("coordinator endpoint",
                "\"" + config.coordinator_endpoint +
                    "\": aifed's ZeroMQ sockets are IPv4 only (docs/network.md, IPv6)");
  } else {
    report.ok("coordinator endpoint " + config.coordinator_endpoint +
              " (not connected by --check)");
  }
  Result<std::string> fp = transport::curveKeyFingerprint(config.coordinator_public_key);
  if (!fp.ok()) return report.fail("coordinator public key", fp.status().message());
  report.ok("coordinator public key " + config.coordinator_public_key + " (" + *fp +
            ": compare with the coordinator admin's)");
}

std::string checkStateDatabase(CheckReport& report, const CheckEnvironment& env,
                               const std::string& path) {
  std::error_code ec;
  const int current = currentAgentStoreSchema();
  if (!std::filesystem::exists(path, ec)) {
    common::checkDatabaseDirectory(report, env, "state database", path);
    report.ok("state database " + path + " does not exist: start creates it (schema " +
              std::to_string(current) + ")");
    return "new state database";
  }
  common::checkDatabaseFile(report, env, "state database", path);
  Result<sqlite::ReadOnlyDatabase> db = sqlite::ReadOnlyDatabase::open(path);
  Result<std::optional<int64_t>> app = db.ok() ? db->queryInt64("PRAGMA application_id")
                                               : Result<std::optional<int64_t>>(db.status());
  Result<std::optional<int64_t>> version =
      db.ok() ? db->queryInt64("PRAGMA user_version") : Result<std::optional<int64_t>>(db.status());
  if (!app.ok() || !version.ok()) {
    report.fail("state database " + path, (app.ok() ? version : app).status().message());
    return "unreadable state database";
  }
  int schema = static_cast<int>(version->value_or(0));
  if (app->value_or(0) != agentStoreApplicationId() && !(app->value_or(0) == 0 && schema == 0)) {
    report.fail("state database " + path, "is not an aifed agent database");
    return "foreign state database";
  }
  const std::string have = "schema " + std::to_string(schema);
  if (schema > current) {
    report.fail("state database " + path + " " + have,
                "made by a newer aifed-agent (this build knows schema " + std::to_string(current) +
                    "): start refuses it");
    return "state database " + have + " (newer than this build)";
  }
  std::optional<bool> wal = sqlite::isWalDatabaseFile(path);
  std::string mode = wal && *wal ? ", WAL" : ", not WAL yet: start switches it to WAL";
  if (schema < current) {
    report.warn("state database " + path + " " + have,
                "start migrates it to schema " + std::to_string(current) + mode);
    return "state database " + have + " migrated to " + std::to_string(current);
  }
  report.ok("state database " + path + " " + have + " (current" + mode + ")");
  return "state database " + have + " (current)";
}

namespace {

struct Probe {
  std::string label;  // "CPU job", "h100 GPU job", "project nllm: CPU job"
  JobSpec spec;
};

// One trivial job per configured partition (and per mapped account), as sbatch would get it.
std::vector<Probe> probeShapes(const SlurmOptions& o) {
  std::vector<Probe> probes;
  auto shape = [](int gpus, const std::string& model, const std::string& project) {
    JobSpec spec;
    spec.name = "aifed-check";
    spec.nodes = 1;
    spec.gpus_per_node = gpus;
    spec.gpu_type = model;
    spec.project = project;
    spec.walltime = std::chrono::minutes(1);
    spec.script = "#!/bin/sh\ntrue\n";
    return spec;
  };
  if (!o.cpu_partition.empty()) probes.push_back({"CPU job", shape(0, "", "")});
  for (const auto& [model, partition] : o.gpu_partitions) {
    probes.push_back({model + " GPU job", shape(1, model, "")});
  }
  if (!o.gpu_partition.empty()) probes.push_back({"GPU job", shape(1, "", "")});
  std::set<std::string> accounts;
  for (const auto& [project, account] : o.accounts) {
    if (account == o.default_account || !accounts.insert(account).second || probes.empty()) {
      continue;
    }
    Probe p = probes.front();
    p.label = "project " + project + ": " + p.label;
    p.spec.project = project;
    probes.push_back(p);
  }
  return probes;
}

std::string argumentValue(const std::vector<std::string>& args, const std::string& option) {
  for (const std::string& a : args) {
    if (a.rfind(option + "=", 0) == 0) return a.substr(option.size() + 1);
  }
  return "";
}

std::string checkSlurm(CheckReport& report, const CheckEnvironment& env, const AgentConfig& config,
                       std::unique_ptr<CommandRunner> runner) {
  const std::string as = " as " + common::describeUser(env.uid);
  auto slurm = SlurmBackend::create(config.slurm, std::move(runner));
  if (!slurm.ok()) {
    report.fail("backend slurm", slurm.status().message());
    return "backend slurm";
  }
  Result<SiteCapacity> capacity = (*slurm)->capacity(env.now);
  std::vector<std::string> names;
  if (!capacity.ok()) {
    report.fail("sinfo/squeue" + as, capacity.status().message());
  } else {
    std::string list;
    for (const PartitionCapacity& p : capacity->partitions) {
      names.push_back(p.name);
      list += (list.empty() ? "" : ", ") + p.name + " (" + std::to_string(p.nodes_total) +
              " nodes, " + std::to_string(p.nodes_idle) + " idle)";
    }
    for (const std::string& want : config.slurm.partitions) {
      if (std::find(names.begin(), names.end(), want) == names.end()) {
        report.fail("sinfo" + as, "partition \"" + want + "\" of slurm.partitions is not shown");
      }
    }
    if (names.empty())
      report.fail("sinfo" + as, "shows no partition");
    else
      report.ok("sinfo/squeue" + as + ": " + list);
  }
  for (const Probe& p : probeShapes(config.slurm)) {
    Result<std::vector<std::string>> args = (*slurm)->sbatchArguments({"check", 0}, p.spec);
    std::string where = !args.ok() ? "" : "partition " + argumentValue(*args, "--partition");
    if (args.ok() && !argumentValue(*args, "--account").empty()) {
      where += ", account " + argumentValue(*args, "--account");
    }
    const std::string what = "sbatch --test-only (" + p.label + ", " + where + ")" + as;
    Result<Time> start = args.ok() ? (*slurm)->estimateStart(p.spec) : Result<Time>(args.status());
    if (!start.ok()) {
      report.fail(what, start.status().message());
    } else {
      report.ok(what + ": Slurm would run it");
    }
  }
  return "backend slurm (partitions " + (names.empty() ? "?" : common::join(names, ", ")) + ")";
}

}  // namespace

std::string checkBackend(CheckReport& report, const CheckEnvironment& env,
                         const AgentConfig& config, std::unique_ptr<CommandRunner> runner) {
  if (config.backend == "slurm") return checkSlurm(report, env, config, std::move(runner));
  std::vector<std::string> names;
  int nodes = 0;
  for (const PartitionConfig& p : config.partitions) {
    names.push_back(p.name);
    nodes += p.nodes;
  }
  if (names.empty()) {
    report.fail("backend simulated", "has no partitions ([simulated] federation or partitions)");
    return "backend simulated";
  }
  report.ok("backend simulated: " + std::to_string(names.size()) + " partitions (" +
            common::join(names, ", ") + "), " + std::to_string(nodes) + " modelled nodes");
  return "backend simulated (partitions " + common::join(names, ", ") + ")";
}

void checkSitePolicy(CheckReport& report, const AgentConfig& config) {
  const SitePolicyConfig& p = config.policy;
  if (!p.map_file.empty()) {
    auto map = MapFile::load(p.map_file);
    if (!map.ok()) {
      report.fail("identity map file " + p.map_file, map.status().message());
    } else {
      report.ok("identity map file " + p.map_file + ": " + std::to_string((*map)->size()) +
                " rules");
    }
  } else if (!p.map_command.empty()) {
    if (::access(p.map_command.c_str(), X_OK) != 0) {
      report.fail("identity map command " + p.map_command, "is not an executable file");
    } else {
      report.ok("identity map command " + p.map_command + " is executable (not run by --check)");
    }
  } else {
    report.warn("identity mapping", "none: every federation job runs as the agent's own account");
  }
  report.ok(p.rules ? "site rules: published to the coordinator and enforced on every dispatch"
                    : "site rules: none ([rules] absent: the site admits any job)");
}

std::string checkAgent(CheckReport& report, const CheckEnvironment& env, const AgentConfig& config,
                       std::unique_ptr<CommandRunner> runner) {
  checkAgentKey(report, env, config.key_file);
  checkCoordinatorLink(report, config);
  std::string database = checkStateDatabase(report, env, config.state_db);
  std::string backend = checkBackend(report, env, config, std::move(runner));
  checkSitePolicy(report, config);
  return "would start: site \"" + config.site + "\", " + backend + ", " + database +
         ", connecting to " + config.coordinator_endpoint;
}

int runAgentCheck(const std::string& config_path,
                  const std::function<void(AgentConfig&)>& overrides, const CheckEnvironment& env,
                  std::unique_ptr<CommandRunner> runner, std::ostream& out) {
  CheckReport report;
  Result<AgentConfig> config = loadAgentConfig(config_path);
  if (!config.ok()) {
    report.fail("configuration " + config_path, config.status().message());
    report.print(out, "");
    return report.exitCode();
  }
  if (overrides) overrides(*config);
  report.ok("configuration " + config_path + ": site \"" + config->site + "\", backend " +
            config->backend);
  std::string last = checkAgent(report, env, *config, std::move(runner));
  report.print(out, last);
  return report.exitCode();
}

}  // namespace aifed::agent
