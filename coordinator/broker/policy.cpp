#include "coordinator/broker/policy.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "common/strings.h"

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

Result<toml::table> parseToml(std::string_view text, std::string_view source) {
#if TOML_EXCEPTIONS
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return invalidArgument(std::string(source) + ":" + std::to_string(e.source().begin.line) +
                           ": " + std::string(e.description()));
  }
#else
  toml::parse_result parsed = toml::parse(text, source);
  if (!parsed) {
    const toml::parse_error& e = parsed.error();
    return invalidArgument(std::string(source) + ":" + std::to_string(e.source().begin.line) +
                           ": " + std::string(e.description()));
  }
  return std::move(parsed).table();
#endif
}

std::optional<double> number(const toml::node& n) {
  if (auto i = n.value<int64_t>(); i && n.is_integer()) return static_cast<double>(*i);
  if (n.is_floating_point()) return n.value<double>();
  return std::nullopt;
}

}  // namespace

Result<std::vector<PolicySpec>> parsePolicies(std::string_view toml_text,
                                              std::string_view source_name) {
  Result<toml::table> root = parseToml(toml_text, source_name);
  if (!root.ok()) return root.status();
  const std::string src(source_name);
  auto fail = [&](const toml::node* at, const std::string& key, const std::string& what) {
    std::string line = at ? ":" + std::to_string(at->source().begin.line) : "";
    return invalidArgument(src + line + ": " + key + ": " + what, key);
  };
  std::vector<PolicySpec> out;
  for (auto&& [key, node] : *root) {
    if (key.str() != "policy") return fail(&node, std::string(key.str()), "unknown table or key");
  }
  const toml::node* list = root->get("policy");
  if (!list) return out;
  if (!list->is_array_of_tables()) return fail(list, "policy", "must be [[policy]] tables");
  std::set<std::string> names;
  size_t index = 0;
  for (const toml::node& item : *list->as_array()) {
    const toml::table& t = *item.as_table();
    const std::string base = "policy[" + std::to_string(index++) + "]";
    PolicySpec p;
    for (auto&& [k, v] : t) {
      const std::string name(k.str());
      const std::string path = base + "." + name;
      if (name == "name") {
        if (!v.is_string()) return fail(&v, path, "must be a string");
        p.name = *v.value<std::string>();
      } else if (name == "version") {
        if (!v.is_integer()) return fail(&v, path, "must be an integer");
        p.version = static_cast<int>(*v.value<int64_t>());
      } else if (name == "description") {
        if (!v.is_string()) return fail(&v, path, "must be a string");
        p.description = *v.value<std::string>();
      } else if (name == "binding") {
        std::optional<std::string> b = v.value<std::string>();
        if (b == "immediate") {
          p.binding = BindingMode::kImmediate;
        } else if (b == "late") {
          p.binding = BindingMode::kLate;
        } else {
          return fail(&v, path, "must be \"immediate\" or \"late\"");
        }
      } else if (name == "bind_within_s") {
        std::optional<double> s = number(v);
        if (!s || *s < 0 || *s > 1e9) return fail(&v, path, "must be a number of seconds >= 0");
        p.bind_within = std::chrono::milliseconds(static_cast<int64_t>(*s * 1000));
      } else if (name == "withdraw_after_s") {
        std::optional<double> s = number(v);
        if (!s || *s < 0 || *s > 1e9) return fail(&v, path, "must be a number of seconds >= 0");
        p.withdraw_after = std::chrono::milliseconds(static_cast<int64_t>(*s * 1000));
      } else if (name == "start_half_life_s") {
        std::optional<double> s = number(v);
        if (!s) return fail(&v, path, "must be a number");
        p.start_half_life_s = *s;
      } else if (name == "weights") {
        if (!v.is_table()) return fail(&v, path, "must be a table of plugin = weight");
        for (auto&& [plugin, w] : *v.as_table()) {
          std::optional<double> weight = number(w);
          if (!weight) return fail(&w, path + "." + std::string(plugin.str()), "must be a number");
          p.weights.push_back({std::string(plugin.str()), *weight});
        }
      } else {
        return fail(&v, path, "unknown key");
      }
    }
    if (p.name.empty()) return fail(&item, base + ".name", "is required");
    if (Status s = validatePolicy(p); !s.ok()) {
      return invalidArgument(src + ": " + base + ": " + s.message(), base + "." + s.field());
    }
    if (!names.insert(p.name).second) {
      return fail(&item, base + ".name", "policy \"" + p.name + "\" defined twice");
    }
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<PolicySpec>> loadPolicyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("cannot open policy file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return parsePolicies(text.str(), path);
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
