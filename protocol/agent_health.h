// The site agent's own health, as it reports it in HEARTBEAT and CAPACITY (the optional
// `health` object, docs/protocol.md 4.3 and 4.4): whether its local scheduler answers,
// when a command of it last succeeded, how many messages wait in its outbox for an
// acknowledgement, and the agent's version. The coordinator keeps the latest per site
// (site JSON `agent`, /metrics aifed_site_backend_up and friends).
//
//   AgentHealth h{.version = "0.1.0", .backend_ok = false,
//                 .backend_error = "Slurm is not answering: sinfo: Socket timed out",
//                 .last_backend_ok_at = clock.now() - 90s, .outbox_depth = 3};
//   body["health"] = toJson(h);                 // protocol/codec.h
//   Result<AgentHealth> back = agentHealthFromJson(body.at("health"), "body.health");
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "protocol/clock.h"

namespace aifed {

struct AgentHealth {
  std::string version{};  // the agent's version ("0.1.0")
  // The local scheduler answered the agent's last command (a simulated backend: always).
  bool backend_ok = true;
  std::string backend_error{};  // why not, in the scheduler's words; "" when ok
  // When a command of the local scheduler last succeeded; none since the agent started:
  // nullopt (0 on the wire).
  std::optional<Time> last_backend_ok_at{};
  uint64_t outbox_depth = 0;  // messages waiting for the coordinator's acknowledgement
  bool operator==(const AgentHealth&) const = default;
};

}  // namespace aifed
