// The coordinator daemon: one event loop (Boost.Asio, one thread) that carries the
// ZeroMQ ROUTER (through its fd), the REST API and the broker's timer. The broker is
// pure; this file is where time, sockets and SQLite meet it.
//
// Every batch of inputs (a burst of agent frames, a REST request, a timer) runs the
// broker and hands the resulting Effects to the group commit: Effects that arrive while
// a transaction is being written (on a writer thread, with its own SQLite connection)
// wait and go together into the next ONE transaction. Only once it is durable are the
// Effects' messages sent and the waiting REST submissions answered: nothing is sent or
// acknowledged that a restart would forget.
//
//   auto cfg = loadCoordinatorConfig("coordinator.toml");
//   auto daemon = CoordinatorDaemon::create(*cfg, clock, monotonic);
//   (*daemon)->start();   // binds; `ready_file` gets the endpoints
//   (*daemon)->run();     // until stop()
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "coordinator/api/metrics.h"
#include "coordinator/broker/broker.h"
#include "protocol/clock.h"
#include "protocol/status.h"

namespace aifed::coordinator {

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
  // "tls_cert"}.
  std::string ready_file;
  std::string log_level = "info";
  // Where the bootstrap admin token is written when the token table is empty at start
  // (mode 0600). Default: admin.token beside the database.
  std::string admin_token_file;
  broker::BrokerConfig broker;
};

// Reads the coordinator's TOML file; relative paths are resolved against its directory.
Result<CoordinatorConfig> loadCoordinatorConfig(const std::string& path);

class CoordinatorDaemon {
 public:
  // `monotonic` times placement for the metrics; both clocks must outlive the daemon.
  static Result<std::unique_ptr<CoordinatorDaemon>> create(CoordinatorConfig config,
                                                           const Clock& clock,
                                                           const MonotonicClock& monotonic);
  virtual ~CoordinatorDaemon() = default;
  // Binds the ROUTER and the HTTP listener and writes the ready file.
  virtual Status start() = 0;
  // Runs the event loop until stop().
  virtual void run() = 0;
  // Safe to call from a signal handler's context via the loop (it posts).
  virtual void stop() = 0;
  virtual std::string zmqEndpoint() const = 0;
  virtual uint16_t httpPort() const = 0;
  // Every (method, pattern) the HTTP router serves (the OpenAPI test compares them).
  virtual std::vector<std::pair<std::string, std::string>> routes() const = 0;
};

}  // namespace aifed::coordinator
