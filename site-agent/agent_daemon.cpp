#include "site-agent/agent_daemon.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <zmq.hpp>

#include "protocol/transport/curve_keys.h"
#include "protocol/transport/zmq_socket.h"
#include "site-agent/agent.h"
#include "site-agent/agent_store.h"
#include "site-agent/identity_map.h"
#include "site-agent/site_admission.h"
#include "site-agent/backends/simulated_backend.h"
#include "site-agent/backends/slurm_backend.h"
#include "site-agent/time_scaled_backend.h"

namespace aifed::agent {
namespace {

Result<std::unique_ptr<Backend>> makeBackend(const AgentConfig& config) {
  if (config.backend == "slurm") {
    auto slurm = SlurmBackend::create(config.slurm, std::make_unique<ProcessRunner>());
    if (!slurm.ok()) return slurm.status();
    return std::unique_ptr<Backend>(std::move(*slurm));
  }
  SimulatedBackendOptions options;
  // Validated by parseAgentConfig: "fcfs", "easy" or "conservative".
  Result<SchedulerMode> mode = parseSchedulerMode(config.scheduler);
  options.mode = mode.ok() ? *mode : SchedulerMode::kEasy;
  options.output_dir = config.output_dir;  // jobs write real output files (logs work)
  options.site = config.site;
  auto sim = SimulatedBackend::create(config.partitions, options);
  if (!sim.ok()) return sim.status();
  std::unique_ptr<Backend> backend = std::move(*sim);
  if (config.speedup != 1.0) {
    backend = std::make_unique<TimeScaledBackend>(std::move(backend), config.speedup);
  }
  return backend;
}

// The site's mapping from its config: a map file (read now, so a bad one stops the start
// with its line number), a command, or none.
Result<std::unique_ptr<IdentityMap>> makeIdentityMap(const AgentConfig& config,
                                                     CommandRunner& runner) {
  const SitePolicyConfig& p = config.policy;
  if (!p.map_file.empty()) {
    auto map = MapFile::load(p.map_file);
    if (!map.ok()) return map.status();
    spdlog::info("identity mapping: {} rules from {}", (*map)->size(), p.map_file);
    return std::unique_ptr<IdentityMap>(std::move(*map));
  }
  if (!p.map_command.empty()) {
    spdlog::info("identity mapping: command {}", p.map_command);
    return std::unique_ptr<IdentityMap>(
        std::make_unique<MapCommand>(p.map_command, runner, p.map_timeout));
  }
  spdlog::warn("no [identity] mapping: every federation job runs as this agent's own account");
  return std::unique_ptr<IdentityMap>();
}

}  // namespace

Status runAgentDaemon(const AgentConfig& config, const Clock& clock,
                      const std::atomic<bool>& stop) {
  Result<transport::CurveKeyPair> keys = transport::readKeyPairFile(config.key_file);
  if (!keys.ok()) return keys.status();
  if (keys->secret_key.empty()) {
    return invalidArgument(config.key_file + ": the agent needs its secret key", "key_file");
  }
  if (auto dir = std::filesystem::path(config.state_db).parent_path(); !dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
  }
  auto store = AgentStore::open(config.state_db);
  if (!store.ok()) return store.status();
  auto backend = makeBackend(config);
  if (!backend.ok()) return backend.status();

  ProcessRunner map_runner;
  auto identity_map = makeIdentityMap(config, map_runner);
  if (!identity_map.ok()) return identity_map.status();
  SystemUserDirectory users;
  SiteAdmission admission(config.site, config.policy.rules.value_or(SiteRules{}),
                          identity_map->get(), users);

  zmq::context_t context;
  transport::DealerSocket dealer(context, config.site, *keys, config.coordinator_public_key);
  if (Status s = dealer.connect(config.coordinator_endpoint); !s.ok()) return s;

  SiteAgentOptions options;
  options.site = config.site;
  options.agent_version = AIFED_VERSION;
  options.admission = &admission;
  options.publish_rules = config.policy.rules.has_value();
  options.output_max_bytes = config.output_max_bytes;
  SiteAgent agent(options, **backend, **store,
                  [&dealer](const std::string& frame) { return dealer.send(frame); });
  SteadyClock monotonic;
  auto now = [&] { return Instant{clock.now(), monotonic.now()}; };
  if (Status s = agent.start(now()); !s.ok()) return s;
  spdlog::info("agent for site {} ({} backend) connecting to {} as {}", config.site,
               (*backend)->kind(), config.coordinator_endpoint, dealer.routingId());

  transport::DealerSocket::Events seen;
  bool had_session = false;
  while (!stop) {
    Instant at = now();
    auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(agent.nextWakeup(at) - at.mono);
    wait = std::clamp(wait, std::chrono::milliseconds(0), std::chrono::milliseconds(200));
    zmq::pollitem_t items[] = {{nullptr, dealer.fd(), ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 1, wait);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) spdlog::warn("poll: {}", e.what());
    }
    transport::DealerSocket::Events ev = dealer.pollEvents();
    if (ev.auth_failed > seen.auth_failed) {
      spdlog::error(
          "the coordinator refused this agent's CURVE key: is the public key of {} in the "
          "federation file under site \"{}\", and coordinator_public_key right?",
          config.key_file, config.site);
    }
    if (ev.connected > seen.connected) agent.onReconnected(now());
    if (ev.disconnected > seen.disconnected) spdlog::warn("disconnected from the coordinator");
    seen = ev;
    while (auto in = dealer.tryReceive()) agent.onFrame(in->payload, now());
    agent.tick(now());
    if (agent.hasSession() != had_session) {
      had_session = agent.hasSession();
      if (!had_session) spdlog::info("session lost; saying HELLO until welcomed");
    }
  }
  spdlog::info("agent for site {} stopped", config.site);
  return Status::Ok();
}

}  // namespace aifed::agent
