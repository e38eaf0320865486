// JSON mapping of the domain types, shared by the wire codec (messages.h), the REST
// API and the SQLite stores, so a JobSpec has exactly one JSON form everywhere.
//
// Field names carry their unit: `walltime_s`, `heartbeat_interval_ms`; instants are
// `*_at` in integer milliseconds since the Unix epoch. Readers ignore unknown fields and
// report a missing or mistyped one with its full path ("body.spec.nodes").
#pragma once

#include <boost/json.hpp>
#include <string_view>

#include "protocol/agent_health.h"
#include "protocol/site_rules.h"
#include "protocol/status.h"
#include "protocol/types.h"

namespace aifed {

boost::json::object toJson(const JobSpec& spec);
// `path` prefixes field names in errors ("body.spec"). Also runs validateJobSpec.
Result<JobSpec> jobSpecFromJson(const boost::json::value& value, std::string_view path = "");

boost::json::object toJson(const PartitionCapacity& partition);
Result<PartitionCapacity> partitionFromJson(const boost::json::value& value,
                                            std::string_view path = "");

boost::json::object toJson(const SiteCapacity& capacity);
Result<SiteCapacity> siteCapacityFromJson(const boost::json::value& value,
                                          std::string_view path = "");

// (1.2) A site's admission rules, as HELLO carries them and GET /api/v1/sites shows them.
boost::json::object toJson(const SiteRules& rules);
Result<SiteRules> siteRulesFromJson(const boost::json::value& value, std::string_view path = "");

// The site agent's own health (HEARTBEAT and CAPACITY `health`). Every field is optional
// when read (a default when absent); a field of the wrong type is kInvalidArgument naming
// it with `path` ("body.health.outbox_depth").
boost::json::object toJson(const AgentHealth& health);
Result<AgentHealth> agentHealthFromJson(const boost::json::value& value,
                                        std::string_view path = "");

}  // namespace aifed
