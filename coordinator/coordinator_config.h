// The coordinator's configuration file (docs/operations.md, "Coordinator configuration";
// docs/placement.md for [placement]). Read with the strict TOML reader: an unknown key,
// a value of the wrong type or out of range is an error naming the file, the line and
// the key, and aifed-coordinator exits with it before it starts.
//
//   Result<CoordinatorConfig> cfg = loadCoordinatorConfig("/etc/aifed/coordinator.toml");
//   if (!cfg.ok()) die(cfg.status().message());
//     // "coordinator.toml:4: http_port: must be an integer, got a string"
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <string>

#include "coordinator/broker/broker.h"
#include "coordinator/identity/oidc.h"
#include "protocol/status.h"

namespace aifed::coordinator {

// The console's history (coordinator/history_recorder.h): a sample of every site every
// `interval`, samples and site events kept for `retention`.
struct HistoryConfig {
  Duration interval = std::chrono::seconds(60);
  Duration retention = std::chrono::hours(24 * 14);
};

struct CoordinatorConfig {
  std::string federation_file;
  std::string key_file;  // the coordinator's CURVE key pair
  std::string database;
  std::string zmq_bind = "tcp://127.0.0.1:7781";
  std::string http_address = "127.0.0.1";
  uint16_t http_port = 7780;
  // HTTPS: PEM certificate (chain) and key. Both empty: a self-signed certificate is
  // created on first start in <database dir>/tls/ and reused (coordinator/api/tls.h).
  std::string tls_cert;
  std::string tls_key;
  // Written once listening: {"zmq_endpoint", "http_port", "public_key", "tls_fingerprint",
  // "tls_cert"}. Set by --ready-file, not by the file.
  std::string ready_file;
  std::string log_level = "info";
  // Where the bootstrap admin token is written when the token table is empty at start
  // (mode 0600). Empty: admin.token beside the database, decided when the daemon starts
  // (so --database moves it too).
  std::string admin_token_file;
  // --init: make a new federation's database (refused when the database holds one).
  // Set by the command line, not by the file.
  bool init = false;
  broker::BrokerConfig broker;
  // [oidc]: trusted OpenID Connect issuers (docs/security.md); none by default.
  identity::OidcConfig oidc;
  // history_interval ("60s") and history_retention ("14d").
  HistoryConfig history;
};

// "90s", "15m", "2h", "14d", "500ms": a positive whole number and its unit; nullopt
// when it is not one.
std::optional<Duration> parseDurationText(std::string_view text);

// Reads the coordinator's TOML file; relative paths are resolved against its directory.
// kInvalidArgument "<path>:<line>: <key>: <what>" for an unknown key, a mistyped or
// out-of-range value, a missing required key or an unknown policy; kNotFound when the
// file (or its policy_file) does not exist.
Result<CoordinatorConfig> loadCoordinatorConfig(const std::string& path);

}  // namespace aifed::coordinator
