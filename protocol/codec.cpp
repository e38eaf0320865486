// The JSON forms of the domain types (codec.h). docs/protocol.md is the normative
// description of what is written here; tests/protocol/golden/ pins the exact bytes.
//
// Encoding is deterministic: every object is built field by field in a fixed order and
// Boost.JSON keeps insertion order, so the same value always gives the same frame.
// Decoding is liberal in what it ignores (unknown fields) and strict in what it reads: a
// missing or mistyped field fails with its full path ("body.capacity.epoch") both in
// Status::field() and in the message.
#include "protocol/codec.h"

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "protocol/json_fields.h"
#include "protocol/site_rules.h"

namespace aifed {

namespace json = boost::json;
using namespace json_fields;

namespace {

// "dependencies": [{"job": "j-12" | "12", "condition": "afterok"}]; the id is stored as
// "j-<n>" whichever way it was written.
Status dependenciesFromJson(const json::object& object, std::string_view path,
                            std::vector<JobDependency>& out) {
  const json::value* deps = object.if_contains("dependencies");
  if (deps == nullptr || deps->is_null()) return Status::Ok();
  const std::string where = joinPath(path, "dependencies");
  if (!deps->is_array()) return invalidArgument(where + " must be an array", where);
  for (size_t i = 0; i < deps->get_array().size(); ++i) {
    const std::string item_path = indexPath(where, i);
    const json::object* item = nullptr;
    RETURN_IF_ERROR(requireObject(deps->get_array()[i], item_path, item));
    FieldReader dr(*item, item_path);
    JobDependency d;
    std::string condition = "afterok";
    RETURN_IF_ERROR(dr.str("job", d.job));
    RETURN_IF_ERROR(dr.str("condition", condition, false));
    if (!d.job.empty() && d.job.find_first_not_of("0123456789") == std::string::npos) {
      d.job = "j-" + d.job;
    }
    std::optional<DependencyCondition> c = parseDependencyCondition(condition);
    if (!c) {
      return invalidArgument(dr.path("condition") + ": \"" + condition +
                                 "\" is not afterok, afterany or afternotok",
                             where);
    }
    d.condition = *c;
    out.push_back(std::move(d));
  }
  return Status::Ok();
}

}  // namespace

json::object toJson(const JobSpec& spec) {
  json::object o;
  o["name"] = spec.name;
  o["project"] = spec.project;
  o["user"] = spec.user;
  o["nodes"] = spec.nodes;
  o["gpus_per_node"] = spec.gpus_per_node;
  o["gpu_type"] = spec.gpu_type;
  o["cores_per_node"] = spec.cores_per_node;
  o["memory_gib_per_node"] = spec.memory_gib_per_node;
  o["walltime_s"] = wholeSeconds(spec.walltime);
  o["priority"] = spec.priority;
  o["allowed_sites"] = toJsonArray(spec.allowed_sites);
  o["allowed_countries"] = toJsonArray(spec.allowed_countries);
  o["requeue_on_site_loss"] = spec.requeue_on_site_loss;
  json::array datasets;
  for (const DatasetRef& d : spec.datasets) {
    datasets.push_back(json::object{{"id", d.id}, {"size_gb", numberToJson(d.size_gb)}});
  }
  o["datasets"] = std::move(datasets);
  o["preferred_sites"] = toJsonArray(spec.preferred_sites);
  if (!spec.partition.empty()) o["partition"] = spec.partition;  // 1.2, only when asked for
  o["script"] = spec.script;
  o["workdir"] = spec.workdir;
  json::object env;
  for (const auto& [key, value] : spec.env) env[key] = value;  // std::map: sorted keys
  o["env"] = std::move(env);
  // Issue 14 fields only when set: a job without them encodes as before.
  if (!spec.dependencies.empty()) {
    json::array deps;
    for (const JobDependency& d : spec.dependencies) {
      deps.push_back(json::object{{"job", d.job}, {"condition", dependencyConditionName(d.condition)}});
    }
    o["dependencies"] = std::move(deps);
  }
  if (!spec.stdout_name.empty()) o["stdout"] = spec.stdout_name;
  if (!spec.stderr_name.empty()) o["stderr"] = spec.stderr_name;
  if (spec.simulated_runtime) o["simulated_runtime_s"] = wholeSeconds(*spec.simulated_runtime);
  o["simulated_exit_code"] = spec.simulated_exit_code;
  return o;
}

Result<JobSpec> jobSpecFromJson(const json::value& value, std::string_view path) {
  const json::object* object = nullptr;
  RETURN_IF_ERROR(requireObject(value, std::string(path), object));
  FieldReader r(*object, std::string(path));
  JobSpec spec;
  RETURN_IF_ERROR(r.str("name", spec.name, false));
  RETURN_IF_ERROR(r.str("project", spec.project, false));
  RETURN_IF_ERROR(r.str("user", spec.user, false));
  RETURN_IF_ERROR(r.integer("nodes", spec.nodes));
  RETURN_IF_ERROR(r.integer("gpus_per_node", spec.gpus_per_node, false));
  RETURN_IF_ERROR(r.str("gpu_type", spec.gpu_type, false));
  RETURN_IF_ERROR(r.integer("cores_per_node", spec.cores_per_node, false));
  RETURN_IF_ERROR(r.integer("memory_gib_per_node", spec.memory_gib_per_node, false));
  RETURN_IF_ERROR(r.seconds("walltime_s", spec.walltime));
  RETURN_IF_ERROR(r.integer("priority", spec.priority, false));
  RETURN_IF_ERROR(r.strings("allowed_sites", spec.allowed_sites, false));
  RETURN_IF_ERROR(r.strings("allowed_countries", spec.allowed_countries, false));
  RETURN_IF_ERROR(r.boolean("requeue_on_site_loss", spec.requeue_on_site_loss, false));
  if (const json::value* datasets = object->if_contains("datasets")) {
    const std::string where = joinPath(path, "datasets");
    if (!datasets->is_array()) return invalidArgument(where + " must be an array", where);
    const json::array& list = datasets->get_array();
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string item_path = where + "[" + std::to_string(i) + "]";
      const json::object* item = nullptr;
      RETURN_IF_ERROR(requireObject(list[i], item_path, item));
      FieldReader dr(*item, item_path);
      DatasetRef d;
      RETURN_IF_ERROR(dr.str("id", d.id));
      RETURN_IF_ERROR(dr.number("size_gb", d.size_gb, false));
      spec.datasets.push_back(std::move(d));
    }
  }
  RETURN_IF_ERROR(r.strings("preferred_sites", spec.preferred_sites, false));
  RETURN_IF_ERROR(r.str("partition", spec.partition, false));
  RETURN_IF_ERROR(r.str("script", spec.script, false));
  RETURN_IF_ERROR(r.str("workdir", spec.workdir, false));
  RETURN_IF_ERROR(r.stringMap("env", spec.env, false));
  RETURN_IF_ERROR(dependenciesFromJson(*object, path, spec.dependencies));
  RETURN_IF_ERROR(r.str("stdout", spec.stdout_name, false));
  RETURN_IF_ERROR(r.str("stderr", spec.stderr_name, false));
  if (object->if_contains("simulated_runtime_s") != nullptr) {
    Duration runtime{0};
    RETURN_IF_ERROR(r.seconds("simulated_runtime_s", runtime));
    spec.simulated_runtime = runtime;
  }
  RETURN_IF_ERROR(r.integer("simulated_exit_code", spec.simulated_exit_code, false));
  if (Status s = validateJobSpec(spec); !s.ok()) {
    std::string field = joinPath(path, s.field());
    std::string message = s.message();
    if (!path.empty()) message = field + ": " + message;
    return invalidArgument(std::move(message), std::move(field));
  }
  return spec;
}

json::object toJson(const PartitionCapacity& p) {
  json::object node_type;
  node_type["accelerator"] = p.node_type.accelerator;
  node_type["accelerators_per_node"] = p.node_type.accelerators_per_node;
  node_type["cores"] = p.node_type.cores;
  node_type["memory_gib"] = p.node_type.memory_gib;
  json::object o;
  o["name"] = p.name;
  o["node_type"] = std::move(node_type);
  o["nodes_total"] = p.nodes_total;
  o["nodes_idle"] = p.nodes_idle;
  o["nodes_allocated"] = p.nodes_allocated;
  o["nodes_down"] = p.nodes_down;
  o["nodes_draining"] = p.nodes_draining;
  o["pending_jobs"] = p.pending_jobs;
  o["pending_node_hours"] = numberToJson(p.pending_node_hours);
  o["running_jobs"] = p.running_jobs;
  if (!p.start_estimates.empty()) {  // optional: absent unless the agent measures them
    json::array estimates;
    for (const StartEstimate& e : p.start_estimates) {
      estimates.push_back(json::object{{"nodes", e.nodes},
                                       {"gpus_per_node", e.gpus_per_node},
                                       {"start_in_s", numberToJson(e.start_in_s)}});
    }
    o["start_estimates"] = std::move(estimates);
  }
  return o;
}

Result<PartitionCapacity> partitionFromJson(const json::value& value, std::string_view path) {
  const json::object* object = nullptr;
  RETURN_IF_ERROR(requireObject(value, std::string(path), object));
  FieldReader r(*object, std::string(path));
  PartitionCapacity p;
  RETURN_IF_ERROR(r.str("name", p.name));
  const json::value* node_type_value = nullptr;
  RETURN_IF_ERROR(r.value("node_type", node_type_value));
  const json::object* node_type = nullptr;
  RETURN_IF_ERROR(requireObject(*node_type_value, r.path("node_type"), node_type));
  FieldReader nr(*node_type, r.path("node_type"));
  RETURN_IF_ERROR(nr.str("accelerator", p.node_type.accelerator));
  RETURN_IF_ERROR(nr.integer("accelerators_per_node", p.node_type.accelerators_per_node));
  RETURN_IF_ERROR(nr.integer("cores", p.node_type.cores));
  RETURN_IF_ERROR(nr.integer("memory_gib", p.node_type.memory_gib));
  RETURN_IF_ERROR(r.integer("nodes_total", p.nodes_total));
  RETURN_IF_ERROR(r.integer("nodes_idle", p.nodes_idle));
  RETURN_IF_ERROR(r.integer("nodes_allocated", p.nodes_allocated));
  RETURN_IF_ERROR(r.integer("nodes_down", p.nodes_down));
  RETURN_IF_ERROR(r.integer("nodes_draining", p.nodes_draining));
  RETURN_IF_ERROR(r.integer("pending_jobs", p.pending_jobs));
  RETURN_IF_ERROR(r.number("pending_node_hours", p.pending_node_hours));
  RETURN_IF_ERROR(r.integer("running_jobs", p.running_jobs));
  if (const json::value* estimates = object->if_contains("start_estimates")) {
    const std::string where = r.path("start_estimates");
    if (!estimates->is_array()) return invalidArgument(where + " must be an array", where);
    const json::array& list = estimates->get_array();
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string item_path = indexPath(where, i);
      const json::object* item = nullptr;
      RETURN_IF_ERROR(requireObject(list[i], item_path, item));
      FieldReader er(*item, item_path);
      StartEstimate e;
      RETURN_IF_ERROR(er.integer("nodes", e.nodes));
      RETURN_IF_ERROR(er.integer("gpus_per_node", e.gpus_per_node));
      RETURN_IF_ERROR(er.number("start_in_s", e.start_in_s));
      if (e.nodes < 1)
        return invalidArgument(er.path("nodes") + ": must be at least 1", er.path("nodes"));
      if (e.start_in_s < 0) {
        return invalidArgument(er.path("start_in_s") + ": must not be negative",
                               er.path("start_in_s"));
      }
      p.start_estimates.push_back(e);
    }
  }
  return p;
}

json::object toJson(const SiteCapacity& capacity) {
  json::object o;
  o["epoch"] = capacity.epoch;
  json::array partitions;
  for (const PartitionCapacity& p : capacity.partitions) partitions.emplace_back(toJson(p));
  o["partitions"] = std::move(partitions);
  return o;
}

Result<SiteCapacity> siteCapacityFromJson(const json::value& value, std::string_view path) {
  const json::object* object = nullptr;
  RETURN_IF_ERROR(requireObject(value, std::string(path), object));
  FieldReader r(*object, std::string(path));
  SiteCapacity capacity;
  RETURN_IF_ERROR(r.uint64("epoch", capacity.epoch));
  const json::array* partitions = nullptr;
  RETURN_IF_ERROR(r.array("partitions", partitions));
  for (size_t i = 0; i < partitions->size(); ++i) {
    Result<PartitionCapacity> p =
        partitionFromJson((*partitions)[i], indexPath(r.path("partitions"), i));
    if (!p.ok()) return p.status();
    capacity.partitions.push_back(std::move(*p));
  }
  return capacity;
}

json::object toJson(const SiteRules& rules) {
  json::object o;
  o["projects"] = toJsonArray(rules.projects);
  o["users"] = toJsonArray(rules.users);
  o["max_nodes"] = rules.max_nodes;
  o["max_gpus"] = rules.max_gpus;
  o["max_walltime_s"] = wholeSeconds(rules.max_walltime);
  o["max_gpu_hours"] = numberToJson(rules.max_gpu_hours);
  json::object partitions;
  for (const auto& [project, names] : rules.partitions) partitions[project] = toJsonArray(names);
  o["partitions"] = std::move(partitions);
  if (!rules.qos.empty()) {  // since 1.2's first frames: written only when set
    json::object qos;
    for (const auto& [project, name] : rules.qos) qos[project] = name;
    o["qos"] = std::move(qos);
  }
  o["sbatch_directives"] = directivePolicyName(rules.directives);
  return o;
}

Result<SiteRules> siteRulesFromJson(const json::value& value, std::string_view path) {
  const json::object* object = nullptr;
  RETURN_IF_ERROR(requireObject(value, std::string(path), object));
  FieldReader r(*object, std::string(path));
  SiteRules rules;
  RETURN_IF_ERROR(r.strings("projects", rules.projects, false));
  RETURN_IF_ERROR(r.strings("users", rules.users, false));
  RETURN_IF_ERROR(r.integer("max_nodes", rules.max_nodes, false));
  RETURN_IF_ERROR(r.integer("max_gpus", rules.max_gpus, false));
  RETURN_IF_ERROR(r.seconds("max_walltime_s", rules.max_walltime, false));
  RETURN_IF_ERROR(r.number("max_gpu_hours", rules.max_gpu_hours, false));
  for (auto [key, v] : {std::pair{"max_nodes", rules.max_nodes}, {"max_gpus", rules.max_gpus}}) {
    if (v < 0) return invalidArgument(r.path(key) + " must not be negative", r.path(key));
  }
  if (rules.max_walltime < Duration::zero()) {
    return invalidArgument(r.path("max_walltime_s") + " must not be negative",
                           r.path("max_walltime_s"));
  }
  if (!(rules.max_gpu_hours >= 0)) {
    return invalidArgument(r.path("max_gpu_hours") + " must not be negative",
                           r.path("max_gpu_hours"));
  }
  if (const json::value* partitions = object->if_contains("partitions")) {
    const std::string where = r.path("partitions");
    if (!partitions->is_object()) return mistyped(where, "an object of string arrays");
    FieldReader pr(partitions->get_object(), where);
    for (const auto& entry : partitions->get_object()) {
      std::vector<std::string> names;
      RETURN_IF_ERROR(pr.strings(entry.key(), names));
      rules.partitions[std::string(entry.key())] = std::move(names);
    }
  }
  if (const json::value* qos = object->if_contains("qos")) {
    const std::string where = r.path("qos");
    if (!qos->is_object()) return mistyped(where, "an object of strings");
    FieldReader qr(qos->get_object(), where);
    for (const auto& entry : qos->get_object()) {
      std::string name;
      RETURN_IF_ERROR(qr.str(entry.key(), name));
      rules.qos[std::string(entry.key())] = std::move(name);
    }
  }
  std::string directives = "refuse";
  RETURN_IF_ERROR(r.str("sbatch_directives", directives, false));
  std::optional<DirectivePolicy> policy = parseDirectivePolicy(directives);
  if (!policy) {
    return invalidArgument(r.path("sbatch_directives") + " must be \"refuse\" or \"strip\"",
                           r.path("sbatch_directives"));
  }
  rules.directives = *policy;
  return rules;
}

}  // namespace aifed
