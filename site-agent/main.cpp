// aifed-agent: the site agent daemon. See docs/operations.md.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <iostream>
#include <memory>

#include "common/log_level.h"
#include "site-agent/agent_check.h"
#include "site-agent/agent_daemon.h"

namespace {
std::atomic<bool> g_stop{false};
extern "C" void onSignal(int) {
  g_stop = true;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"aifed-agent: reports a site's capacity to the coordinator and runs its jobs"};
  app.set_version_flag("--version", std::string("aifed-agent ") + AIFED_VERSION,
                       "print the version and exit");
  std::string config_path, coordinator, log_level;
  bool check = false;
  app.add_option("-c,--config", config_path, "agent TOML file")->required();
  app.add_flag("--check", check,
               "check the configuration, keys, state database and backend (for Slurm: sinfo, "
               "sbatch --test-only), print what a start would do and exit (0: fine, 1: "
               "something FAILed); connects, creates and submits nothing");
  app.add_option("--coordinator", coordinator, "override the coordinator endpoint");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|critical|off")
      ->check([](const std::string& level) {
        return aifed::common::isLogLevel(level) ? std::string() : "not a log level: " + level;
      });
  CLI11_PARSE(app, argc, argv);

  if (check) {
    aifed::RealClock clock;
    return aifed::agent::runAgentCheck(
        config_path,
        [&](aifed::agent::AgentConfig& c) {
          if (!coordinator.empty()) c.coordinator_endpoint = coordinator;
        },
        aifed::common::CheckEnvironment::real(clock.now()),
        std::make_unique<aifed::agent::ProcessRunner>(), std::cout);
  }
  auto config = aifed::agent::loadAgentConfig(config_path);
  if (!config.ok()) {
    spdlog::error("cannot start: {}", config.status().message());
    return 2;
  }
  if (!coordinator.empty()) config->coordinator_endpoint = coordinator;
  if (!log_level.empty()) config->log_level = log_level;
  spdlog::set_level(spdlog::level::from_str(config->log_level));
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [" + config->site + "] [%l] %v");

  struct sigaction sa = {};
  sa.sa_handler = onSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  aifed::RealClock clock;
  aifed::Status s = aifed::agent::runAgentDaemon(*config, clock, g_stop);
  if (!s.ok()) {
    spdlog::error("cannot start: {}", s.toString());
    return 1;
  }
  return 0;
}
