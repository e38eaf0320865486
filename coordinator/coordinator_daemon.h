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
//   auto cfg = loadCoordinatorConfig("coordinator.toml");   // coordinator_config.h
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
#include "coordinator/coordinator_config.h"
#include "protocol/clock.h"
#include "protocol/status.h"

namespace aifed::coordinator {

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
  // Re-reads the federation file on the loop (SIGHUP; docs/operations.md, "Reloading the
  // federation file"). Safe from any thread: it posts. The outcome is logged and audited.
  virtual void reload() = 0;
  virtual std::string zmqEndpoint() const = 0;
  virtual uint16_t httpPort() const = 0;
  // Every (method, pattern) the HTTP router serves (the OpenAPI test compares them).
  virtual std::vector<std::pair<std::string, std::string>> routes() const = 0;
};

}  // namespace aifed::coordinator
