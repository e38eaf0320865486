// The grid of a sweep (sweep.h): --grid options and grid files, their expansion into
// points, and what each point's parameters set in a run.
#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/files.h"
#include "common/strings.h"
#include "common/toml_reader.h"
#include "sim/sweep.h"
#include "site-agent/backends/local_scheduler.h"

namespace aifed::sim {
namespace {

// The run options a grid may set (applyRunParam), and the knobs of a policy.
constexpr std::array<std::string_view, 9> kRunParams = {
    "sched",          "seed",        "load",
    "gpus_per_node",  "policy",      "report_interval_s",
    "report_delay_s", "report_loss", "placement_cycle_s"};
constexpr std::array<std::string_view, 4> kPolicyKnobs = {"binding", "bind_within_s",
                                                          "start_half_life_s", "withdraw_after_s"};
const std::string kKnownKnobs = "weight.<plugin>, " + common::join(kPolicyKnobs, ", ");
const std::string kKnownParams =
    "run options: " + common::join(kRunParams, ", ") + "; policy knobs: " +
    common::join(std::vector<std::string>{"weight.<plugin>", "binding", "bind_within_s",
                                          "start_half_life_s", "withdraw_after_s"},
                 ", ", [](const std::string& k) { return "<policy>." + k; });

// Run options a grid may set, with the check of their value.
Status applyRunParam(const std::string& name, const std::string& value, RunArgs& a) {
  auto bad = [&](const std::string& what) {
    return invalidArgument("grid parameter " + name + ": '" + value + "' " + what, name);
  };
  if (name == "sched") {
    if (Result<agent::SchedulerMode> m = agent::parseSchedulerMode(value); !m.ok()) {
      return bad("is not a scheduler (known: fcfs, easy, conservative)");
    }
    a.sched = value;
    return Status::Ok();
  }
  if (name == "policy") {
    a.policy = value;  // checked against the policies on offer by makeManifest
    return Status::Ok();
  }
  if (name == "seed") {
    std::optional<int64_t> v = common::parseInt64(value);
    if (!v || *v < 0) return bad("is not a non-negative integer");
    a.seed = static_cast<uint64_t>(*v);
    return Status::Ok();
  }
  if (name == "gpus_per_node") {
    std::optional<int64_t> v = common::parseInt64(value);
    if (!v || *v < 1 || *v > 64) return bad("is not an integer within 1..64");
    a.gpus_per_node = static_cast<int>(*v);
    return Status::Ok();
  }
  struct Real {
    const char* name;
    double RunArgs::*field;
    double min;
    bool min_open;  // value must be > min (else >= min)
    double max;     // value must be < max
  };
  static const Real kReals[] = {
      {"load", &RunArgs::load, 0, true, 1e9},
      {"report_interval_s", &RunArgs::report_interval_s, 0, true, 1e12},
      {"report_delay_s", &RunArgs::report_delay_s, 0, false, 1e12},
      {"report_loss", &RunArgs::report_loss, 0, false, 1},
      {"placement_cycle_s", &RunArgs::placement_cycle_s, 0, false, 1e12},
  };
  for (const Real& r : kReals) {
    if (name != r.name) continue;
    std::optional<double> v = common::parseDouble(value);
    if (!v || (r.min_open ? *v <= r.min : *v < r.min) || *v >= r.max) {
      return bad(std::string("is not a number ") + (r.min_open ? "> " : ">= ") +
                 std::to_string(static_cast<int>(r.min)) + (r.max == 1 ? " and < 1" : ""));
    }
    a.*r.field = *v;
    return Status::Ok();
  }
  return invalidArgument("unknown grid parameter '" + name + "' (" + kKnownParams + ")", name);
}

Status applyPolicyParam(const std::string& name, const std::string& value,
                        std::vector<broker::PolicySpec>& policies) {
  size_t dot = name.find('.');
  std::string policy = name.substr(0, dot), knob = name.substr(dot + 1);
  auto it = std::find_if(policies.begin(), policies.end(),
                         [&](const broker::PolicySpec& p) { return p.name == policy; });
  if (it == policies.end()) {
    std::string known =
        common::join(policies, ", ", [](const broker::PolicySpec& p) { return p.name; });
    return invalidArgument(
        "grid parameter " + name + ": unknown policy '" + policy + "' (known: " + known + ")",
        name);
  }
  auto bad = [&](const std::string& what) {
    return invalidArgument("grid parameter " + name + ": '" + value + "' " + what, name);
  };
  broker::PolicySpec& spec = *it;
  std::optional<double> number = common::parseDouble(value);
  if (knob.rfind("weight.", 0) == 0) {
    std::string plugin = knob.substr(7);
    std::vector<std::string> plugins = broker::scorePluginNames();
    if (std::find(plugins.begin(), plugins.end(), plugin) == plugins.end()) {
      return invalidArgument("grid parameter " + name + ": unknown score plugin '" + plugin +
                                 "' (known: " + common::join(plugins, ", ") + ")",
                             name);
    }
    if (!number || *number < 0) return bad("is not a weight >= 0 (0 drops the plugin)");
    auto w = std::find_if(spec.weights.begin(), spec.weights.end(),
                          [&](const broker::PolicyWeight& pw) { return pw.plugin == plugin; });
    if (*number == 0) {
      if (w != spec.weights.end()) spec.weights.erase(w);
    } else if (w != spec.weights.end()) {
      w->weight = *number;
    } else {
      spec.weights.push_back({plugin, *number});
    }
  } else if (knob == "binding") {
    if (value == "immediate") {
      spec.binding = broker::BindingMode::kImmediate;
    } else if (value == "late") {
      spec.binding = broker::BindingMode::kLate;
    } else {
      return bad("is not a binding (immediate, late)");
    }
  } else if (knob == "bind_within_s" || knob == "withdraw_after_s") {
    if (!number || *number < 0) return bad("is not a number of seconds >= 0");
    Duration d(static_cast<int64_t>(std::llround(*number * 1000)));
    (knob == "bind_within_s" ? spec.bind_within : spec.withdraw_after) = d;
  } else if (knob == "start_half_life_s") {
    if (!number || *number <= 0) return bad("is not a number of seconds > 0");
    spec.start_half_life_s = *number;
  } else {
    return invalidArgument(
        "grid parameter " + name + ": unknown policy knob '" + knob + "' (" + kKnownKnobs + ")",
        name);
  }
  if (Status s = broker::validatePolicy(spec); !s.ok()) {
    return invalidArgument("grid parameter " + name + " = " + value + ": " + s.message(), name);
  }
  return Status::Ok();
}

Status checkValues(const SweepAxis& axis, const std::string& where) {
  if (axis.name.empty()) return invalidArgument(where + ": a grid axis needs a name");
  if (axis.values.empty())
    return invalidArgument(where + ": grid axis " + axis.name + " has no values");
  std::set<std::string> seen;
  for (const std::string& v : axis.values) {
    if (v.empty())
      return invalidArgument(where + ": grid axis " + axis.name + " has an empty value");
    if (v.find_first_of(",\"\n\r") != std::string::npos) {
      return invalidArgument(where + ": grid value '" + v + "' of " + axis.name +
                             " contains a comma, quote or line break");
    }
    if (!seen.insert(v).second) {
      return invalidArgument(where + ": grid axis " + axis.name + " repeats the value " + v);
    }
  }
  return Status::Ok();
}

// What is wrong with a grid axis name, or "" when nothing is. Policy names are checked
// by makeManifest, which knows the policy file.
std::string axisNameProblem(const std::string& name) {
  auto suggest = [](const std::string& word, const auto& known) {
    std::optional<std::string> near = common::closestMatch(word, known);
    return near ? " (did you mean \"" + *near + "\"?)" : std::string();
  };
  size_t dot = name.find('.');
  if (dot == std::string::npos) {
    if (std::find(kRunParams.begin(), kRunParams.end(), name) != kRunParams.end()) return "";
    std::string hint = suggest(name, kRunParams);
    return "unknown grid parameter" + (hint.empty() ? " (" + kKnownParams + ")" : hint);
  }
  std::string knob = name.substr(dot + 1);
  if (knob.starts_with("weight.")) {
    std::string plugin = knob.substr(7);
    std::vector<std::string> plugins = broker::scorePluginNames();
    if (std::find(plugins.begin(), plugins.end(), plugin) != plugins.end()) return "";
    std::string hint = suggest(plugin, plugins);
    return "unknown score plugin \"" + plugin + "\"" +
           (hint.empty() ? " (known: " + common::join(plugins, ", ") + ")" : hint);
  }
  if (std::find(kPolicyKnobs.begin(), kPolicyKnobs.end(), knob) != kPolicyKnobs.end()) return "";
  std::string hint = suggest(knob, kPolicyKnobs);
  return "unknown policy knob \"" + knob + "\"" + (hint.empty() ? " (" + kKnownKnobs + ")" : hint);
}

// A grid value as the text a --grid option would give.
std::optional<std::string> valueText(const toml::node& n) {
  if (const auto* s = n.as_string()) return s->get();
  if (const auto* i = n.as_integer()) return std::to_string(i->get());
  if (const auto* b = n.as_boolean()) return std::string(b->get() ? "true" : "false");
  if (const auto* f = n.as_floating_point()) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f->get());
    if (ec == std::errc()) return std::string(buf, end);
  }
  return std::nullopt;
}

// One `name = [values]` of a [grid] table.
Result<SweepAxis> readAxis(const common::TomlTable& grid, const std::string& name) {
  const toml::node* node = grid.find(name);
  const toml::array* values = node->as_array();
  if (values == nullptr) {
    std::string what = "must be an array, got " + std::string(common::tomlTypeName(*node));
    // An unquoted `green.weight.load = [...]` is a dotted key: nested tables.
    if (node->is_table()) what += " (quote a name with dots: \"green.weight.load\" = [0, 1])";
    return grid.error(name, what);
  }
  if (std::string problem = axisNameProblem(name); !problem.empty()) {
    return grid.error(name, problem);
  }
  SweepAxis axis;
  axis.name = name;
  for (size_t i = 0; i < values->size(); ++i) {
    std::optional<std::string> text = valueText(*values->get(i));
    if (!text) {
      return grid.elementError(name, i,
                               "must be a string, number or boolean, got " +
                                   std::string(common::tomlTypeName(*values->get(i))));
    }
    axis.values.push_back(std::move(*text));
  }
  RETURN_IF_ERROR(
      checkValues(axis, grid.source() + ":" + std::to_string(node->source().begin.line)));
  return axis;
}

}  // namespace

Result<SweepAxis> parseGridOption(std::string_view text) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos) {
    return invalidArgument("--grid '" + std::string(text) + "' is not name=v1,v2,...", "grid");
  }
  SweepAxis axis;
  axis.name = std::string(common::trim(text.substr(0, eq)));
  for (std::string_view value : common::split(text.substr(eq + 1), ',')) {
    axis.values.emplace_back(common::trim(value));
  }
  if (Status s = checkValues(axis, "--grid '" + std::string(text) + "'"); !s.ok()) return s;
  return axis;
}

Result<std::vector<SweepAxis>> parseGridFile(std::string_view toml_text,
                                             std::string_view source_name) {
  ASSIGN_OR_RETURN(common::TomlDocument doc,
                   common::TomlDocument::parse(toml_text, std::string(source_name)));
  common::TomlTable root = doc.root();
  RETURN_IF_ERROR(root.expectKeys({"grid"}));
  std::optional<common::TomlTable> grid;
  RETURN_IF_ERROR(root.table("grid", grid, common::kRequired));
  // The axis names are data, checked here so that the error points at the line; axes
  // come in key order (docs/simulator.md).
  std::vector<std::string> names = grid->keys();
  std::sort(names.begin(), names.end());
  std::vector<SweepAxis> axes;
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(SweepAxis axis, readAxis(*grid, name));
    axes.push_back(std::move(axis));
  }
  return axes;
}

Result<std::vector<SweepAxis>> loadGridFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, common::readFile(path));
  return parseGridFile(text, path);
}

Result<std::vector<SweepPoint>> expandGrid(const std::vector<SweepAxis>& axes) {
  std::set<std::string> names;
  size_t count = 1;
  for (const SweepAxis& a : axes) {
    if (!names.insert(a.name).second) {
      return invalidArgument("grid axis " + a.name + " is given twice", a.name);
    }
    if (a.values.empty()) return invalidArgument("grid axis " + a.name + " has no values", a.name);
    count *= a.values.size();
    if (count > 100'000) return invalidArgument("the grid has more than 100,000 points");
  }
  size_t width = std::max<size_t>(4, std::to_string(count - 1).size());
  std::vector<SweepPoint> points;
  points.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    SweepPoint p;
    p.index = i;
    std::string digits = std::to_string(i);
    p.id = "p" + std::string(width - digits.size(), '0') + digits;
    // Mixed radix, last axis fastest.
    size_t rest = i;
    p.params.resize(axes.size());
    for (size_t k = axes.size(); k-- > 0;) {
      p.params[k] = {axes[k].name, axes[k].values[rest % axes[k].values.size()]};
      rest /= axes[k].values.size();
    }
    points.push_back(std::move(p));
  }
  return points;
}

Status applyParams(const std::vector<std::pair<std::string, std::string>>& params, RunArgs& args,
                   std::vector<broker::PolicySpec>& policies) {
  for (const auto& [name, value] : params) {
    Status s = name.find('.') == std::string::npos ? applyRunParam(name, value, args)
                                                   : applyPolicyParam(name, value, policies);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace aifed::sim
