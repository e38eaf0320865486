// The site agent daemon: the DEALER socket, the backend chosen by the config, the
// SQLite store and the SiteAgent logic, driven by one poll loop on the real clock.
//
//   auto cfg = loadAgentConfig("/etc/aifed/agent.toml");
//   std::atomic<bool> stop{false};
//   Status s = runAgentDaemon(*cfg, clock, stop);   // returns when stop becomes true
#pragma once

#include <atomic>

#include "protocol/clock.h"
#include "protocol/status.h"
#include "site-agent/agent_config.h"

namespace aifed::agent {

// Runs until `stop` is set (checked at least every 200 ms). Fails only at start-up
// (unreadable key, store, backend); afterwards every trouble is logged and retried.
Status runAgentDaemon(const AgentConfig& config, const Clock& clock, const std::atomic<bool>& stop);

}  // namespace aifed::agent
