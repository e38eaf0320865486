#include "coordinator/config_check.h"

#include <filesystem>
#include <map>
#include <ostream>

#include "coordinator/store/store_probe.h"
#include "protocol/transport/curve_keys.h"

namespace aifed::coordinator {

using common::CheckEnvironment;
using common::CheckReport;

std::optional<Federation> checkFederationFile(CheckReport& report, const std::string& path) {
  Result<Federation> fed = loadFederationFile(path);
  if (!fed.ok()) {
    report.fail("federation file " + path, fed.status().message());
    return std::nullopt;
  }
  // A key listed for two sites is refused by the parser itself (protocol/federation.cpp).
  int keyed = 0;
  for (const SiteConfig& s : fed->sites) {
    if (s.curve_public_key.empty()) {
      report.warn("site " + s.id, "no curve_public_key in " + path + ": its agent cannot connect");
      continue;
    }
    ++keyed;
  }
  if (keyed == 0) {
    report.fail("federation file " + path,
                "no site has a curve_public_key, so no agent could connect");
  } else {
    report.ok("federation file " + path + ": federation \"" + fed->name + "\", " +
              std::to_string(fed->sites.size()) + " sites, " + std::to_string(keyed) +
              " with a CURVE key");
  }
  return std::move(*fed);
}

void checkCoordinatorKey(CheckReport& report, const CheckEnvironment& env,
                         const std::string& path) {
  const std::string what = "coordinator key file " + path;
  if (!common::checkPrivateFile(report, env, what, path)) return;
  Result<transport::CurveKeyPair> keys = transport::readKeyPairFile(path);
  if (!keys.ok()) {
    report.fail(what, keys.status().message());
    return;
  }
  if (keys->secret_key.empty()) {
    report.fail(what,
                "holds no secret key: the coordinator needs its own key pair "
                "(aifed keygen --out DIR --name coordinator)");
    return;
  }
  Result<std::string> fp = transport::curveKeyFingerprint(keys->public_key);
  report.ok(what + " (public key " + keys->public_key + ", " + (fp.ok() ? *fp : "?") +
            ": the agents' coordinator_public_key)");
}

void checkListeners(CheckReport& report, const CoordinatorConfig& config) {
  if (Status s = common::validateTcpEndpoint(config.zmq_bind, /*bind=*/true); !s.ok()) {
    report.fail("zmq_bind", s.message());
  } else if (config.zmq_bind.find("://[") != std::string::npos) {
    report.fail("zmq_bind", "\"" + config.zmq_bind +
                                "\": aifed's ZeroMQ sockets are IPv4 only (docs/network.md, IPv6)");
  } else {
    report.ok("zmq_bind " + config.zmq_bind + " (not bound by --check)");
  }
  if (config.http_address.empty()) {
    report.fail("http_address", "is empty");
  } else {
    report.ok("HTTPS on " + config.http_address + ":" +
              (config.http_port == 0 ? std::string("<any free port>")
                                     : std::to_string(config.http_port)) +
              " (not bound by --check)");
  }
}

namespace {

// What start does with a database that does not exist (or holds nothing yet).
std::string checkNewDatabase(CheckReport& report, const CheckEnvironment& env,
                             const std::string& path, const std::string& name, bool init,
                             const std::string& state) {
  if (!init) {
    report.fail("database " + path,
                state +
                    ": start refuses it (a failed restore or a wrong --database?); restore "
                    "the database, or make a NEW federation with aifed-coordinator --init");
    return "no database";
  }
  common::checkDatabaseDirectory(report, env, "database", path);
  report.ok("database " + path + " " + state + ": --init would make it federation \"" + name +
            "\"'s, schema " + std::to_string(store::currentCoordinatorSchema()));
  return "new database (schema " + std::to_string(store::currentCoordinatorSchema()) + ")";
}

// Whose the database is: this federation's, or (before schema 5) one holding records.
void checkIdentity(CheckReport& report, const std::string& path, const std::string& name, bool init,
                   const store::CoordinatorStoreProbe& p) {
  const std::string what = "database " + path + " federation";
  if (p.identity) {
    if (init) {
      report.fail(what, "--init refused: the database holds federation \"" + p.identity->name +
                            "\" already (id " + p.identity->id + ")");
    } else if (p.identity->name != name) {
      report.fail(what, "the database holds federation \"" + p.identity->name +
                            "\", but the federation file names \"" + name +
                            "\": a wrong --database or federation file?");
    } else {
      report.ok(what + " \"" + name + "\" (id " + p.identity->id + ")");
    }
  } else if (p.holds_records && !init) {
    report.ok(what + ": no identity recorded yet; start records it as \"" + name + "\"");
  } else if (!init) {
    report.fail(what,
                "the database holds no federation (a failed restore or a wrong "
                "--database?); start a NEW federation with aifed-coordinator --init");
  }
}

}  // namespace

std::string checkDatabase(CheckReport& report, const CheckEnvironment& env, const std::string& path,
                          const std::string& name, bool init) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return checkNewDatabase(report, env, path, name, init, "does not exist");
  }
  common::checkDatabaseFile(report, env, "database", path);
  Result<store::CoordinatorStoreProbe> p = store::probeCoordinatorStore(path);
  if (!p.ok()) {
    report.fail("database " + path, p.status().message());
    return "unreadable database";
  }
  if (!p->aifed_coordinator) {
    report.fail("database " + path,
                "is not an aifed coordinator database (another application's "
                "SQLite file?)");
    return "foreign database";
  }
  if (p->empty) return checkNewDatabase(report, env, path, name, init, "is empty");
  const int current = store::currentCoordinatorSchema();
  const std::string have = "schema " + std::to_string(p->schema);
  std::string summary = "database " + have + " (current)";
  if (p->schema > current) {
    report.fail("database " + path + " " + have,
                "made by a newer aifed (this build knows schema " + std::to_string(current) +
                    "): start refuses it; run that version, or restore an older backup");
    return "database " + have + " (newer than this build)";
  }
  if (p->schema < current) {
    report.warn("database " + path + " " + have,
                "start migrates it to schema " + std::to_string(current) +
                    " (one way: back it up first, docs/operations.md)");
    summary = "database " + have + " migrated to " + std::to_string(current);
  } else {
    report.ok("database " + path + " " + have + " (current)");
  }
  if (p->wal && *p->wal) {
    report.ok("database journal mode WAL");
  } else {
    report.ok("database journal mode not WAL yet: start switches it to WAL");
  }
  checkIdentity(report, path, name, init, *p);
  return summary;
}

std::string checkCoordinator(CheckReport& report, const CheckEnvironment& env,
                             const CoordinatorConfig& config) {
  std::optional<Federation> fed = checkFederationFile(report, config.federation_file);
  checkCoordinatorKey(report, env, config.key_file);
  std::string db_dir = std::filesystem::path(config.database).parent_path().string();
  checkTls(report, env, config.tls_cert, config.tls_key,
           (std::filesystem::path(db_dir) / "tls").lexically_normal().string());
  std::string database =
      fed ? checkDatabase(report, env, config.database, fed->name, config.init) : "database ?";
  checkListeners(report, config);
  if (!fed) return "";
  return "would start: federation \"" + fed->name + "\" with " + std::to_string(fed->sites.size()) +
         " sites, " + database + ", HTTPS on " + config.http_address + ":" +
         std::to_string(config.http_port) + ", ZeroMQ on " + config.zmq_bind;
}

int runCoordinatorCheck(const std::string& config_path,
                        const std::function<void(CoordinatorConfig&)>& overrides,
                        const CheckEnvironment& env, std::ostream& out) {
  CheckReport report;
  Result<CoordinatorConfig> config = loadCoordinatorConfig(config_path);
  if (!config.ok()) {
    report.fail("configuration " + config_path, config.status().message());
    report.print(out, "");
    return report.exitCode();
  }
  if (overrides) overrides(*config);
  report.ok("configuration " + config_path);
  std::string last = checkCoordinator(report, env, *config);
  report.print(out, last);
  return report.exitCode();
}

}  // namespace aifed::coordinator
