// A federation on this machine: the coordinator and one agent per site as real
// processes on loopback, with CURVE keys, configs and state under one directory.
// `aifed demo` runs one; the integration tests run small ones.
//
//   LocalFederationOptions o;
//   o.bin_dir = "build/release"; o.federation_file = "config/federation-7.toml";
//   o.state_dir = ".aifed-demo";
//   auto fed = LocalFederation::prepare(o);        // keys (first run), configs
//   (*fed)->startCoordinator();                    // picks free ports, waits until ready
//   for (auto& site : (*fed)->sites()) (*fed)->startAgent(site);
//   HttpClient client((*fed)->baseUrl(), (*fed)->clientOptions());   // HTTPS, pinned
//   (*fed)->stopAll();                             // SIGTERM, then SIGKILL after a grace
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/http_client.h"
#include "protocol/clock.h"
#include "protocol/status.h"

namespace aifed::cli {

struct LocalFederationOptions {
  std::string bin_dir;          // holds coordinator/aifed-coordinator, site-agent/aifed-agent
  std::string federation_file;  // the federation without keys; keys are added
  std::string state_dir;
  double speedup = 60;  // simulated sites run this much faster than job figures
  std::string scheduler = "easy";
  int heartbeat_interval_ms = 1000;
  int suspect_after_missed = 3;
  int unreachable_after_missed = 6;
  int lost_lease_ms = 600000;
  int retry_interval_ms = 2000;
  int maintenance_grace_ms = 1800000;  // a window pauses leases until its end plus this
  std::string history_interval;  // the coordinator's history_interval ("" keeps its default)
  bool fresh_state = true;  // remove databases from an earlier run (keys are kept)
  std::string log_level = "info";
  // The address the coordinator's ROUTER binds (port chosen at start); agents connect to
  // it. The chaos suite binds a veth address so an agent in a network namespace reaches it.
  std::string zmq_host = "127.0.0.1";
  // The coordinator's database, relative to the state directory or absolute. Default
  // db/coordinator.db. When set, the admin token still goes to db/admin.token.
  std::string coordinator_database;
};

// Inserts `curve_public_key = "..."` into each [[site]] table of a federation file's
// text (replacing any key already there), keeping everything else byte for byte.
std::string addSiteKeys(const std::string& federation_text,
                        const std::map<std::string, std::string>& public_keys);

class LocalFederation {
 public:
  // Creates the state directory, generates missing key pairs (coordinator + each site),
  // writes federation.toml with the keys, coordinator.toml and agents/<site>.toml.
  static Result<std::unique_ptr<LocalFederation>> prepare(LocalFederationOptions options);
  ~LocalFederation();

  const std::vector<std::string>& sites() const { return sites_; }
  const std::string& stateDir() const { return options_.state_dir; }
  std::string agentConfigPath(const std::string& site) const;
  std::string keysDir() const;
  std::string logPath(const std::string& name) const;

  // Starts the coordinator on free loopback ports (a restart keeps the ports of the first
  // start, so running agents reconnect) and waits for its ready file.
  Status startCoordinator(Duration timeout = std::chrono::seconds(20));
  Status stopCoordinator(int signal_number = 15);
  Status startAgent(const std::string& site);
  // Sends the signal (SIGTERM by default, SIGKILL to simulate a crash) and reaps it.
  Status stopAgent(const std::string& site, int signal_number = 15);
  bool running(const std::string& name) const;
  void stopAll();
  // The process id of a running daemon ("coordinator" or a site), 0 if none.
  pid_t pid(const std::string& name) const;

  // Hooks for tests, applied at every later start of the process `name`: extra environment
  // variables (an empty value unsets the variable; e.g. AIFED_FAULTS), a command the daemon
  // is started under (e.g. {"ip", "netns", "exec", "ns1"}), extra arguments.
  void setEnvironment(const std::string& name, std::map<std::string, std::string> env);
  void setLaunchPrefix(const std::string& name, std::vector<std::string> prefix);
  void setExtraArguments(const std::string& name, std::vector<std::string> args);
  // The coordinator's database file, absolute.
  std::string coordinatorDatabasePath() const;

  uint16_t httpPort() const { return http_port_; }
  // The coordinator's bootstrap admin token (db/admin.token), read once it is ready.
  const std::string& adminToken() const { return admin_token_; }
  const std::string& zmqEndpoint() const { return zmq_endpoint_; }
  // "https://127.0.0.1:PORT", once the coordinator has started.
  std::string baseUrl() const;
  // The coordinator's certificate fingerprint from its ready file ("AB:CD:...").
  const std::string& tlsFingerprint() const { return tls_fingerprint_; }
  // What a client of this federation needs: the fingerprint pinned, the admin token,
  // a 10 s timeout.
  HttpClientOptions clientOptions() const;

 private:
  explicit LocalFederation(LocalFederationOptions options) : options_(std::move(options)) {}
  Status spawn(const std::string& name, const std::vector<std::string>& argv);
  Status stop(const std::string& name, int signal_number);

  LocalFederationOptions options_;
  std::vector<std::string> sites_;
  std::map<std::string, pid_t> processes_;  // "coordinator" or a site id
  std::map<std::string, std::map<std::string, std::string>> environment_;
  std::map<std::string, std::vector<std::string>> launch_prefix_;
  std::map<std::string, std::vector<std::string>> extra_args_;
  uint16_t http_port_ = 0;
  std::string zmq_endpoint_;
  std::string tls_fingerprint_;
  std::string admin_token_;
};

// Starts `argv` (argv[0] looked up in PATH) with stdout and stderr appended to
// `log_path`, stdin from /dev/null and no blocked signals; with `environment`
// ("K=V" entries) as its whole environment, or this process's when null. The pid.
Result<pid_t> spawnLogged(const std::vector<std::string>& argv, const std::string& log_path,
                          const std::vector<std::string>* environment = nullptr);

}  // namespace aifed::cli
