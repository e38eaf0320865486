// `aifed-coordinator --check -c FILE` (issue 17): validates what a start would use,
// without binding a port, migrating the database or writing any file, and says what the
// start would do. Each check is its own function over an injected CheckEnvironment
// (user, time, free space), so tests make each FAIL and warning happen.
//
//   common::CheckEnvironment env = common::CheckEnvironment::real(RealClock().now());
//   return runCoordinatorCheck(path, [&](CoordinatorConfig& c) { ... overrides ... }, env,
//                              std::cout);
//   // ok   configuration /etc/aifed/coordinator.toml
//   // ...
//   // would start: federation "eurohpc-ai" with 7 sites, database schema 11 (current),
//   //   HTTPS on 0.0.0.0:8443, ZeroMQ on tcp://*:7781
#pragma once

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>

#include "common/check_report.h"
#include "coordinator/coordinator_config.h"
#include "protocol/federation.h"

namespace aifed::coordinator {

// The federation file: parses, has keyed sites, no key listed for two sites. nullopt
// after a FAIL that leaves nothing to check against.
std::optional<Federation> checkFederationFile(common::CheckReport& report, const std::string& path);
// The coordinator's own CURVE key file: private to its owner, holds the secret key.
void checkCoordinatorKey(common::CheckReport& report, const common::CheckEnvironment& env,
                         const std::string& path);
// The HTTPS certificate and key: readable, matching, not expired (warn within 30 days).
// Neither configured: the self-signed pair in `default_dir`, or that start creates one.
void checkTls(common::CheckReport& report, const common::CheckEnvironment& env,
              const std::string& cert, const std::string& key, const std::string& default_dir);
// The database: present (or --init), an aifed coordinator database of a schema this
// build knows, of this federation, its file and directory owned and writable, free
// space, WAL. Returns what start would do with it: "database schema 11 (current)".
std::string checkDatabase(common::CheckReport& report, const common::CheckEnvironment& env,
                          const std::string& path, const std::string& federation_name, bool init);
// zmq_bind and http_address/http_port as text (nothing is bound).
void checkListeners(common::CheckReport& report, const CoordinatorConfig& config);

// Every check of `config` (already read); the last line when nothing FAILed.
std::string checkCoordinator(common::CheckReport& report, const common::CheckEnvironment& env,
                             const CoordinatorConfig& config);

// Reads `config_path` (a FAIL line when it cannot be read), applies the command line's
// overrides, runs every check and prints the report. Returns the exit code: 0 when
// nothing FAILed, 1 otherwise.
int runCoordinatorCheck(const std::string& config_path,
                        const std::function<void(CoordinatorConfig&)>& overrides,
                        const common::CheckEnvironment& env, std::ostream& out);

}  // namespace aifed::coordinator
