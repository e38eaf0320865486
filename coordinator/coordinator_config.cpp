#include "coordinator/coordinator_config.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string_view>

#include "common/files.h"
#include "common/log_level.h"
#include "common/strings.h"
#include "common/toml_reader.h"

namespace aifed::coordinator {
namespace {

// A path: a non-empty string when required, resolved against the file's directory.
Status readPath(const common::TomlTable& t, std::string_view key, const std::string& base,
                std::string& out, common::Presence presence = common::kOptional) {
  RETURN_IF_ERROR(t.str(key, out, presence));
  if (presence == common::kRequired && out.empty()) return t.error(key, "must not be empty");
  out = common::resolvePath(base, out);
  return Status::Ok();
}

// A positive number of milliseconds.
Status readMillis(const common::TomlTable& t, std::string_view key, Duration& out) {
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(out).count();
  RETURN_IF_ERROR(t.integer(key, ms, common::kOptional, INT64_MIN, INT64_MAX));
  if (ms <= 0) return t.error(key, "must be positive");
  out = std::chrono::milliseconds(ms);
  return Status::Ok();
}

// [liveness]: heartbeats, suspicion, leases and retries (docs/operations.md).
Status readLiveness(common::TomlTable& t, broker::BrokerConfig& b) {
  RETURN_IF_ERROR(t.expectKeys({"heartbeat_interval_ms", "suspect_after_missed",
                                "unreachable_after_missed", "lost_lease_ms", "retry_interval_ms",
                                "maintenance_grace_ms"}));
  RETURN_IF_ERROR(readMillis(t, "heartbeat_interval_ms", b.heartbeat_interval));
  RETURN_IF_ERROR(readMillis(t, "retry_interval_ms", b.retry_interval));
  RETURN_IF_ERROR(readMillis(t, "lost_lease_ms", b.lost_lease));
  int64_t grace_ms = b.maintenance_grace.count();
  RETURN_IF_ERROR(t.integer("maintenance_grace_ms", grace_ms, common::kOptional, 0,
                            int64_t{24} * 3600 * 1000));
  b.maintenance_grace = Duration(grace_ms);
  RETURN_IF_ERROR(t.integer("suspect_after_missed", b.suspect_after_missed));
  RETURN_IF_ERROR(t.integer("unreachable_after_missed", b.unreachable_after_missed));
  if (b.suspect_after_missed < 1) return t.error("suspect_after_missed", "must be at least 1");
  if (b.unreachable_after_missed <= b.suspect_after_missed) {
    return t.error("unreachable_after_missed", "must be larger than suspect_after_missed (" +
                                                   std::to_string(b.suspect_after_missed) + ")");
  }
  return Status::Ok();
}

// [placement]: policy, policy_file, fair share (docs/placement.md).
Status readPlacement(common::TomlTable& t, const std::string& base, broker::BrokerConfig& b) {
  RETURN_IF_ERROR(
      t.expectKeys({"policy", "policy_file", "fair_share_half_life_h", "project_shares"}));
  std::string policy_file;
  RETURN_IF_ERROR(readPath(t, "policy_file", base, policy_file));
  if (!policy_file.empty()) {
    ASSIGN_OR_RETURN(std::vector<broker::PolicySpec> extra, broker::loadPolicyFile(policy_file));
    b.policies = broker::mergePolicies(std::move(b.policies), extra);
  }
  RETURN_IF_ERROR(t.str("policy", b.policy));
  auto name = [](const broker::PolicySpec& spec) { return spec.name; };
  if (std::ranges::find(b.policies, b.policy, name) == b.policies.end()) {
    return t.error("policy", "no policy \"" + b.policy +
                                 "\" (known: " + common::join(b.policies, ", ", name) + ")");
  }
  if (t.has("fair_share_half_life_h")) {
    double hours = 0;
    RETURN_IF_ERROR(t.number("fair_share_half_life_h", hours));
    if (!(hours > 0)) return t.error("fair_share_half_life_h", "must be positive");
    b.fair_share_half_life =
        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(hours * 3600));
  }
  std::optional<common::TomlTable> shares;
  RETURN_IF_ERROR(t.table("project_shares", shares));
  if (shares) {
    for (const std::string& project : shares->keys()) {  // project = share: keys are data
      double share = 0;
      RETURN_IF_ERROR(shares->number(project, share, common::kRequired));
      if (!(share > 0)) return shares->error(project, "must be a positive number");
      b.project_shares[project] = share;
    }
  }
  return Status::Ok();
}

// One [[oidc.issuer]]: who it is, where its keys are, which claims say what.
Status readOidcIssuer(common::TomlTable& t, const std::string& base, identity::OidcIssuer& i) {
  RETURN_IF_ERROR(t.expectKeys({"issuer", "audience", "jwks_file", "user_claim", "roles_claim",
                                "projects_claim", "sites_claim", "roles"}));
  RETURN_IF_ERROR(t.str("issuer", i.issuer, common::kRequired));
  RETURN_IF_ERROR(t.str("audience", i.audience, common::kRequired));
  if (i.issuer.empty()) return t.error("issuer", "must not be empty");
  if (i.audience.empty()) return t.error("audience", "must not be empty");
  RETURN_IF_ERROR(readPath(t, "jwks_file", base, i.jwks_file, common::kRequired));
  for (auto [key, out] : {std::pair{"user_claim", &i.user_claim}, {"roles_claim", &i.roles_claim},
                          {"projects_claim", &i.projects_claim}, {"sites_claim", &i.sites_claim}}) {
    RETURN_IF_ERROR(t.str(key, *out));
    if (out->empty()) return t.error(key, "must not be empty");
  }
  std::vector<common::TomlTable> rules;
  RETURN_IF_ERROR(t.tables("roles", rules, common::kRequired));
  if (rules.empty()) return t.error("roles", "must map at least one claim value to a role");
  for (common::TomlTable& r : rules) {
    RETURN_IF_ERROR(r.expectKeys({"value", "role"}));
    identity::OidcRoleRule rule;
    std::string role;
    RETURN_IF_ERROR(r.str("value", rule.value, common::kRequired));
    RETURN_IF_ERROR(r.str("role", role, common::kRequired));
    std::optional<identity::Role> parsed = identity::parseRole(role);
    if (!parsed) {
      return r.error("role", "must be one of admin, operator, viewer, submitter, site-admin, "
                             "portal, got \"" + role + "\"");
    }
    rule.role = *parsed;
    i.roles.push_back(std::move(rule));
  }
  return Status::Ok();
}

// [oidc]: the leeway and the trusted issuers (docs/security.md, "OpenID Connect").
Status readOidc(common::TomlTable& t, const std::string& base, identity::OidcConfig& oidc) {
  RETURN_IF_ERROR(t.expectKeys({"leeway_s", "issuer"}));
  int64_t leeway_s = std::chrono::duration_cast<std::chrono::seconds>(oidc.leeway).count();
  RETURN_IF_ERROR(t.integer("leeway_s", leeway_s, common::kOptional, 0, 600));
  oidc.leeway = std::chrono::seconds(leeway_s);
  std::vector<common::TomlTable> issuers;
  RETURN_IF_ERROR(t.tables("issuer", issuers, common::kRequired));
  for (common::TomlTable& it : issuers) {
    identity::OidcIssuer issuer;
    RETURN_IF_ERROR(readOidcIssuer(it, base, issuer));
    for (const identity::OidcIssuer& other : oidc.issuers) {
      if (other.issuer == issuer.issuer) {
        return it.error("issuer", "\"" + issuer.issuer + "\" is configured twice");
      }
    }
    oidc.issuers.push_back(std::move(issuer));
  }
  return Status::Ok();
}

// history_interval and history_retention: durations as text ("60s", "14d").
Status readHistory(const common::TomlTable& t, HistoryConfig& h) {
  for (auto [key, out] : {std::pair{"history_interval", &h.interval},
                          std::pair{"history_retention", &h.retention}}) {
    if (!t.has(key)) continue;
    std::string text;
    RETURN_IF_ERROR(t.str(key, text));
    std::optional<Duration> d = parseDurationText(text);
    if (!d) {
      return t.error(key, "must be a positive duration such as \"60s\", \"15m\", \"2h\" or "
                          "\"14d\", got \"" + text + "\"");
    }
    *out = *d;
  }
  if (h.interval < std::chrono::seconds(1)) {
    return t.error("history_interval", "must be at least 1s");
  }
  if (h.retention < h.interval) {
    return t.error("history_retention", "must be at least history_interval");
  }
  return Status::Ok();
}

}  // namespace

std::optional<Duration> parseDurationText(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) return std::nullopt;
  int64_t n = std::stoll(std::string(text.substr(0, digits)));
  std::string_view unit = text.substr(digits);
  int64_t ms_per = unit == "ms" ? 1
                   : unit == "s" ? 1000
                   : unit == "m" ? 60'000
                   : unit == "h" ? 3'600'000
                   : unit == "d" ? 86'400'000
                                 : 0;
  if (ms_per == 0 || n <= 0) return std::nullopt;
  return Duration(n * ms_per);
}

Result<CoordinatorConfig> loadCoordinatorConfig(const std::string& path) {
  ASSIGN_OR_RETURN(common::TomlDocument doc, common::TomlDocument::load(path));
  common::TomlTable root = doc.root();
  RETURN_IF_ERROR(root.expectKeys({"federation", "key_file", "database", "zmq_bind", "http_address",
                                   "http_port", "tls_cert", "tls_key", "log_level",
                                   "admin_token_file", "liveness", "placement", "oidc",
                                   "history_interval", "history_retention"}));
  std::string base = std::filesystem::absolute(path).parent_path().string();
  CoordinatorConfig c;
  RETURN_IF_ERROR(readPath(root, "federation", base, c.federation_file, common::kRequired));
  RETURN_IF_ERROR(readPath(root, "key_file", base, c.key_file, common::kRequired));
  RETURN_IF_ERROR(readPath(root, "database", base, c.database, common::kRequired));
  RETURN_IF_ERROR(root.str("zmq_bind", c.zmq_bind));
  RETURN_IF_ERROR(root.str("http_address", c.http_address));
  RETURN_IF_ERROR(root.integer("http_port", c.http_port));
  RETURN_IF_ERROR(root.str("log_level", c.log_level));
  if (!common::isLogLevel(c.log_level)) {
    return root.error("log_level", "must be one of " + common::join(common::kLogLevels, ", ") +
                                       ", got \"" + c.log_level + "\"");
  }
  RETURN_IF_ERROR(readPath(root, "admin_token_file", base, c.admin_token_file));

  RETURN_IF_ERROR(readPath(root, "tls_cert", base, c.tls_cert));
  RETURN_IF_ERROR(readPath(root, "tls_key", base, c.tls_key));
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    std::string_view set = c.tls_cert.empty() ? "tls_key" : "tls_cert";
    return root.error(set, "tls_cert and tls_key go together: set both or neither");
  }
  std::optional<common::TomlTable> liveness;
  RETURN_IF_ERROR(root.table("liveness", liveness));
  if (liveness) RETURN_IF_ERROR(readLiveness(*liveness, c.broker));
  c.broker.policies = broker::builtinPolicies();
  std::optional<common::TomlTable> placement;
  RETURN_IF_ERROR(root.table("placement", placement));
  if (placement) RETURN_IF_ERROR(readPlacement(*placement, base, c.broker));
  std::optional<common::TomlTable> oidc;
  RETURN_IF_ERROR(root.table("oidc", oidc));
  if (oidc) RETURN_IF_ERROR(readOidc(*oidc, base, c.oidc));
  RETURN_IF_ERROR(readHistory(root, c.history));
  return c;
}

}  // namespace aifed::coordinator
