// aifed-coordinator: the federation's coordinator daemon. See docs/operations.md.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <iostream>
#include <thread>

#include "common/log_level.h"
#include "coordinator/config_check.h"
#include "coordinator/coordinator_daemon.h"

int main(int argc, char** argv) {
  CLI::App app{"aifed-coordinator: places jobs across the federation's sites"};
  app.set_version_flag("--version", std::string("aifed-coordinator ") + AIFED_VERSION,
                       "print the version and exit");
  std::string config_path;
  std::string zmq_bind, database, ready_file, log_level;
  int http_port = -1;
  bool init = false;
  bool check = false;
  app.add_option("-c,--config", config_path, "coordinator TOML file")->required();
  app.add_flag("--init", init,
               "make the database of a NEW federation (refused when the database holds one)");
  app.add_flag("--check", check,
               "check the configuration, keys, certificate and database, print what a start "
               "would do and exit (0: fine, 1: something FAILed); binds, migrates and writes "
               "nothing");
  app.add_option("--zmq-bind", zmq_bind, "override zmq_bind (tcp://127.0.0.1:* picks a port)");
  app.add_option("--http-port", http_port, "override http_port (0 picks a port)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--database", database, "override database");
  app.add_option("--ready-file", ready_file, "write endpoints as JSON here once listening");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|critical|off")
      ->check([](const std::string& level) {
        return aifed::common::isLogLevel(level) ? std::string() : "not a log level: " + level;
      });
  CLI11_PARSE(app, argc, argv);

  auto overrides = [&](aifed::coordinator::CoordinatorConfig& c) {
    if (!zmq_bind.empty()) c.zmq_bind = zmq_bind;
    if (http_port >= 0) c.http_port = static_cast<uint16_t>(http_port);
    if (!database.empty()) c.database = database;
    c.init = init;
  };
  if (check) {
    aifed::RealClock clock;
    return aifed::coordinator::runCoordinatorCheck(
        config_path, overrides, aifed::common::CheckEnvironment::real(clock.now()), std::cout);
  }
  // A configuration error (unknown key, mistyped value: "coordinator.toml:4: http_port:
  // must be an integer, got a string") stops the daemon before it starts, exit code 2.
  auto config = aifed::coordinator::loadCoordinatorConfig(config_path);
  if (!config.ok()) {
    spdlog::error("cannot start: {}", config.status().message());
    return 2;
  }
  overrides(*config);
  if (!ready_file.empty()) config->ready_file = ready_file;
  if (!log_level.empty()) config->log_level = log_level;
  spdlog::set_level(spdlog::level::from_str(config->log_level));

  // Signals go to one waiting thread that asks the loop to stop, or (SIGHUP) to re-read
  // the federation file: nothing runs in a signal handler's context.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  aifed::RealClock clock;
  aifed::SteadyClock monotonic;
  auto daemon = aifed::coordinator::CoordinatorDaemon::create(*config, clock, monotonic);
  if (!daemon.ok()) {
    spdlog::error("cannot start: {}", daemon.status().toString());
    return 1;
  }
  if (aifed::Status s = (*daemon)->start(); !s.ok()) {
    spdlog::error("cannot start: {}", s.toString());
    return 1;
  }
  std::atomic<bool> signalled{false};
  std::atomic<bool> ended{false};
  std::thread waiter([&] {
    while (true) {
      int sig = 0;
      sigwait(&signals, &sig);
      if (ended) return;
      if (sig == SIGHUP) {
        spdlog::info("SIGHUP: reloading the federation file");
        (*daemon)->reload();
        continue;
      }
      signalled = true;
      spdlog::info("signal {}: stopping", sig);
      (*daemon)->stop();
      return;
    }
  });
  (*daemon)->run();
  ended = true;
  // If the loop ended without a signal, wake the waiter so it can be joined.
  if (!signalled) pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  spdlog::info("coordinator stopped");
  return 0;
}
