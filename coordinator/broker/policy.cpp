#include "coordinator/broker/policy.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "common/files.h"
#include "common/strings.h"
#include "common/toml_reader.h"

namespace aifed::broker {

std::string_view bindingModeName(BindingMode mode) {
  return mode == BindingMode::kLate ? "late" : "immediate";
}

std::vector<std::string> scorePluginNames() {
  return {"estimated-start", "load",       "energy",       "carbon",
          "allocation",      "preference", "data-locality"};
}

std::vector<PolicySpec> builtinPolicies() {
  auto make = [](std::string name, std::string description, std::vector<PolicyWeight> weights) {
    PolicySpec p;
    p.name = std::move(name);
    p.description = std::move(description);
    p.weights = std::move(weights);
    return p;
  };
  return {
      make("first-fit",
           "the first feasible site in federation order; predictable, for tests and "
           "for federations with a clear site of first resort",
           {}),
      make("least-loaded", "the site with the largest share of its nodes free; spreads load evenly",
           {{"load", 1}}),
      make("earliest-start",
           "the site that starts the job soonest, counting its queue and the time to "
           "stage the job's input data (default)",
           {{"estimated-start", 1}}),
      make("green",
           "the site with the lowest carbon intensity (times PUE), then the earliest "
           "start; for flexible jobs whose owners care about emissions",
           {{"carbon", 3}, {"energy", 1}, {"estimated-start", 1}}),
      make("data-gravity",
           "the site that already holds the job's input data, then the earliest start; "
           "for jobs with large data sets",
           {{"data-locality", 3}, {"estimated-start", 1}}),
      make("balanced",
           "a blend of start time, load, cost, carbon, allocation balance and user "
           "preference",
           {{"estimated-start", 3},
            {"load", 1},
            {"energy", 1},
            {"carbon", 1},
            {"allocation", 1},
            {"preference", 1},
            {"data-locality", 1}}),
  };
}

Status validatePolicy(const PolicySpec& spec) {
  const std::string where = "policy \"" + spec.name + "\"";
  bool name_ok = !spec.name.empty() && spec.name.size() <= 64;
  for (char c : spec.name) {
    name_ok = name_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  }
  if (!name_ok) {
    return invalidArgument("policy name \"" + spec.name + "\" must be 1 to 64 of [a-z0-9-]",
                           "name");
  }
  if (spec.version < 1) return invalidArgument(where + ": version must be at least 1", "version");
  if (!(spec.start_half_life_s > 0) || !std::isfinite(spec.start_half_life_s)) {
    return invalidArgument(where + ": start_half_life_s must be positive", "start_half_life_s");
  }
  if (spec.bind_within < Duration::zero()) {
    return invalidArgument(where + ": bind_within_s must not be negative", "bind_within_s");
  }
  if (spec.withdraw_after < Duration::zero()) {
    return invalidArgument(where + ": withdraw_after_s must not be negative", "withdraw_after_s");
  }
  std::vector<std::string> known = scorePluginNames();
  std::set<std::string> seen;
  for (const PolicyWeight& w : spec.weights) {
    if (std::find(known.begin(), known.end(), w.plugin) == known.end()) {
      return invalidArgument(where + ": unknown score plugin \"" + w.plugin +
                                 "\" (known: " + common::join(known, ", ") + ")",
                             "weights");
    }
    if (!seen.insert(w.plugin).second) {
      return invalidArgument(where + ": plugin \"" + w.plugin + "\" weighted twice", "weights");
    }
    if (!(w.weight > 0) || !std::isfinite(w.weight)) {
      return invalidArgument(where + ": weight of \"" + w.plugin + "\" must be positive",
                             "weights." + w.plugin);
    }
  }
  return Status::Ok();
}

namespace {

// Seconds as a Duration: a number within 0..1e9.
Status readSeconds(const common::TomlTable& t, std::string_view key, Duration& out) {
  if (!t.has(key)) return Status::Ok();
  double seconds = 0;
  RETURN_IF_ERROR(t.number(key, seconds));
  if (seconds < 0 || seconds > 1e9) return t.error(key, "must be a number of seconds >= 0");
  out = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  return Status::Ok();
}

// [policy.weights]: plugin = weight. The keys are plugin names, checked here so that the
// error can point at the line.
Status readWeights(common::TomlTable& t, std::vector<PolicyWeight>& out) {
  const std::vector<std::string> known = scorePluginNames();
  for (const std::string& plugin : t.keys()) {
    if (std::find(known.begin(), known.end(), plugin) == known.end()) {
      std::string what = "unknown score plugin \"" + plugin + "\"";
      if (std::optional<std::string> near = common::closestMatch(plugin, known)) {
        what += " (did you mean \"" + *near + "\"?)";
      } else {
        what += " (known: " + common::join(known, ", ") + ")";
      }
      return t.error(plugin, what);
    }
    double weight = 0;
    RETURN_IF_ERROR(t.number(plugin, weight, common::kRequired));
    if (!(weight > 0)) return t.error(plugin, "must be positive");
    out.push_back({plugin, weight});
  }
  return Status::Ok();
}

Status readPolicy(common::TomlTable& t, PolicySpec& p) {
  RETURN_IF_ERROR(t.expectKeys({"name", "version", "description", "binding", "bind_within_s",
                                "withdraw_after_s", "start_half_life_s", "weights"}));
  RETURN_IF_ERROR(t.str("name", p.name, common::kRequired));
  RETURN_IF_ERROR(t.integer("version", p.version));
  RETURN_IF_ERROR(t.str("description", p.description));
  std::string binding(bindingModeName(p.binding));
  RETURN_IF_ERROR(t.str("binding", binding));
  if (binding == "immediate") {
    p.binding = BindingMode::kImmediate;
  } else if (binding == "late") {
    p.binding = BindingMode::kLate;
  } else {
    return t.error("binding", "must be \"immediate\" or \"late\", got \"" + binding + "\"");
  }
  RETURN_IF_ERROR(readSeconds(t, "bind_within_s", p.bind_within));
  RETURN_IF_ERROR(readSeconds(t, "withdraw_after_s", p.withdraw_after));
  RETURN_IF_ERROR(t.number("start_half_life_s", p.start_half_life_s));
  std::optional<common::TomlTable> weights;
  RETURN_IF_ERROR(t.table("weights", weights));
  if (weights) RETURN_IF_ERROR(readWeights(*weights, p.weights));
  // The rules that do not depend on the file format (name, version, half-life).
  if (Status s = validatePolicy(p); !s.ok()) return t.error(s.field(), s.message());
  return Status::Ok();
}

}  // namespace

Result<std::vector<PolicySpec>> parsePolicies(std::string_view toml_text,
                                              std::string_view source_name) {
  ASSIGN_OR_RETURN(common::TomlDocument doc,
                   common::TomlDocument::parse(toml_text, std::string(source_name)));
  common::TomlTable root = doc.root();
  RETURN_IF_ERROR(root.expectKeys({"policy"}));
  std::vector<common::TomlTable> tables;
  RETURN_IF_ERROR(root.tables("policy", tables));
  std::vector<PolicySpec> out;
  std::set<std::string> names;
  for (common::TomlTable& t : tables) {
    PolicySpec p;
    RETURN_IF_ERROR(readPolicy(t, p));
    if (!names.insert(p.name).second) {
      return t.error("name", "policy \"" + p.name + "\" defined twice");
    }
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<PolicySpec>> loadPolicyFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, common::readFile(path));
  return parsePolicies(text, path);
}

std::vector<PolicySpec> mergePolicies(std::vector<PolicySpec> base,
                                      const std::vector<PolicySpec>& overrides) {
  for (const PolicySpec& o : overrides) {
    auto it = std::find_if(base.begin(), base.end(),
                           [&](const PolicySpec& p) { return p.name == o.name; });
    if (it == base.end()) {
      base.push_back(o);
    } else {
      *it = o;
    }
  }
  return base;
}

}  // namespace aifed::broker
