// The JSON renderings declared in rest_json.h.
#include "coordinator/rest/rest_json.h"

#include <boost/json.hpp>
#include <array>
#include <map>
#include <set>

#include "coordinator/broker/placement.h"
#include "coordinator/rest/job_list.h"
#include "protocol/codec.h"
#include "protocol/maintenance.h"

namespace aifed::coordinator {
namespace json = boost::json;
namespace {

json::value optTime(const std::optional<Time>& t) {
  return t ? json::value(toMillis(*t)) : json::value(nullptr);
}

}  // namespace

json::object jobJson(const broker::JobRecord& job, const broker::PlacementDecision* last,
                     std::optional<Time> now) {
  json::object o;
  o["id"] = job.id;
  o["state"] = jobStateName(job.state);
  o["attempt"] = job.attempt;
  o["site"] = job.site;
  o["local_id"] = job.local_id;
  o["reason"] = job.reason;
  o["cancel_requested"] = job.cancel_requested;
  o["withdrawing"] = job.withdrawing;
  o["submitted_at"] = toMillis(job.submitted_at);
  o["updated_at"] = toMillis(job.updated_at);
  o["dispatched_at"] = optTime(job.dispatched_at);
  o["started_at"] = optTime(job.started_at);
  o["ended_at"] = optTime(job.ended_at);
  o["exit_code"] = job.exit_code ? json::value(*job.exit_code) : json::value(nullptr);
  o["elapsed_s"] = elapsedSeconds(job, now.value_or(job.updated_at));
  // What the site said when it accepted the current attempt (empty strings: nothing).
  o["at_site"] = json::object{{"local_user", job.at_site.local_user},
                              {"account", job.at_site.account},
                              {"stdout_path", job.at_site.stdout_path},
                              {"stderr_path", job.at_site.stderr_path}};
  if (const std::optional<broker::SiteUsage>& u = job.at_site.usage) {
    // What the site's accounting says the attempt used; the allocation is charged from it.
    o["at_site"].as_object()["usage"] =
        json::object{{"source", u->source},
                     {"elapsed_s", std::chrono::duration<double>(u->elapsed).count()},
                     {"nodes", u->nodes},
                     {"gpus", u->gpus},
                     {"gpu_hours", broker::usageGpuHours(*u)},
                     {"tres", u->tres},
                     {"state", u->state}};
  } else {
    o["at_site"].as_object()["usage"] = nullptr;
  }
  json::array excluded;
  for (const auto& s : job.excluded_sites) excluded.push_back(json::value(s));
  o["excluded_sites"] = std::move(excluded);
  o["spec"] = toJson(job.spec);
  if (!job.array_id.empty()) {  // a task of an array
    o["array_id"] = job.array_id;
    o["array_index"] = job.array_index;
  }
  if (last) {
    o["placement"] = json::object{{"policy", last->policy},
                                  {"policy_version", last->policy_version},
                                  {"chosen_site", last->chosen_site},
                                  {"tie_break", last->tie_break},
                                  {"summary", last->summary},
                                  {"decided_at", toMillis(last->decided_at)}};
  } else {
    o["placement"] = nullptr;
  }
  return o;
}

json::object arrayJson(const broker::ArrayRecord& array,
                       const std::vector<const broker::JobRecord*>& tasks) {
  json::object o;
  o["id"] = array.id;
  o["name"] = array.name;
  o["project"] = array.project;
  o["user"] = array.user;
  o["submitted_at"] = toMillis(array.submitted_at);
  o["indices"] = array.indices;
  o["max_running"] = array.max_running;
  o["tasks"] = array.tasks;
  std::map<std::string, int64_t> by_site;
  std::array<int64_t, 16> by_state{};
  for (const broker::JobRecord* t : tasks) {
    by_state[static_cast<size_t>(t->state)] += 1;
    if (!t->site.empty()) by_site[t->site] += 1;
  }
  json::object counts;
  for (size_t i = 0; i < by_state.size(); ++i) {
    if (by_state[i] > 0) counts[jobStateName(static_cast<JobState>(i))] = by_state[i];
  }
  o["counts"] = std::move(counts);
  json::object sites;
  for (const auto& [site, n] : by_site) sites[site] = n;
  o["sites"] = std::move(sites);
  return o;
}

json::object explainJson(const broker::JobRecord& job, const broker::PlacementDecision* d) {
  json::object o;
  o["job_id"] = job.id;
  o["state"] = jobStateName(job.state);
  o["site"] = job.site;
  o["reason"] = job.reason;
  // A job that has left the queue asks "why here"; a queued one "why not yet".
  o["question"] = job.state == JobState::kQueued ? "why-not-yet" : "why-here";
  if (!d) {
    o["decision"] = nullptr;
    return o;
  }
  json::object dj;
  dj["policy"] = d->policy;
  dj["policy_version"] = d->policy_version;
  dj["attempt"] = d->attempt;
  dj["decided_at"] = toMillis(d->decided_at);
  dj["chosen_site"] = d->chosen_site;
  dj["tie_break"] = d->tie_break;
  dj["summary"] = d->summary;
  json::array sites;
  for (const broker::SiteVerdict& v : d->verdicts) {
    json::object sj;
    sj["site"] = v.site;
    sj["verdict"] = v.site == d->chosen_site ? "chosen" : v.feasible ? "feasible" : "rejected";
    sj["rejected_by"] = v.rejected_by;
    sj["reason"] = v.reason;
    if (v.feasible) {
      sj["partition"] = v.partition;
      sj["free_nodes"] = v.free_nodes;
      sj["estimated_start_s"] = v.estimated_start_s;
      sj["queue_wait_s"] = v.queue_wait_s;
      sj["staging_s"] = v.staging_s;
      sj["total"] = v.score;
      json::array terms;
      for (const broker::SiteVerdict::ScoreTerm& t : v.scores) {
        terms.push_back(json::object{{"plugin", t.plugin},
                                     {"unit", broker::scoreUnit(t.plugin)},
                                     {"raw", t.raw},
                                     {"score", t.score},
                                     {"weight", t.weight}});
      }
      sj["scores"] = std::move(terms);
    }
    sites.push_back(std::move(sj));
  }
  dj["sites"] = std::move(sites);
  o["decision"] = std::move(dj);
  return o;
}

json::object policyJson(const broker::PolicySpec& p) {
  json::object weights;
  for (const broker::PolicyWeight& w : p.weights) weights[w.plugin] = w.weight;
  return json::object{
      {"name", p.name},
      {"version", p.version},
      {"description", p.description},
      {"binding", broker::bindingModeName(p.binding)},
      {"bind_within_s", std::chrono::duration<double>(p.bind_within).count()},
      {"start_half_life_s", p.start_half_life_s},
      {"withdraw_after_s", std::chrono::duration<double>(p.withdraw_after).count()},
      {"weights", std::move(weights)},
  };
}

json::object maintenanceWindowJson(const MaintenanceWindow& w) {
  return json::object{{"id", w.id},
                      {"start_at", toMillis(w.start)},
                      {"end_at", toMillis(w.end)},
                      {"reason", w.reason},
                      {"declared_by", w.declared_by}};
}

bool siteIsStale(const broker::SiteRecord& site, Time now, Duration heartbeat_interval) {
  if (site.state != SiteState::kUnreachable && site.state != SiteState::kUnknown) return false;
  return !site.last_report || now - *site.last_report > 3 * heartbeat_interval;
}

json::value agentHealthJson(const broker::SiteRecord& site, Time now, Duration heartbeat_interval) {
  if (!site.agent_health || !site.agent_health_at) return nullptr;
  const AgentHealth& h = *site.agent_health;
  json::object o;
  o["version"] = h.version;
  o["backend_ok"] = h.backend_ok;
  o["backend_error"] = h.backend_error;
  o["last_backend_ok_at"] = optTime(h.last_backend_ok_at);
  o["outbox_depth"] = h.outbox_depth;
  o["reported_at"] = toMillis(*site.agent_health_at);
  o["stale"] = now - *site.agent_health_at > 3 * heartbeat_interval;
  return o;
}

json::object siteJson(const broker::SiteRecord& site, const SiteConfig& config, int reserved_nodes,
                      Time now, Duration heartbeat_interval) {
  json::object o;
  o["id"] = site.id;
  o["name"] = config.name;
  o["country"] = config.country;
  o["city"] = config.city;
  o["state"] = siteStateName(site.state);
  o["drained"] = site.drained;
  o["drain_reason"] = site.drain_reason;
  o["drained_by"] = site.drained_by;
  o["drained_at"] = optTime(site.drained_at);
  json::array windows;
  for (const MaintenanceWindow& w : site.maintenance) windows.push_back(maintenanceWindowJson(w));
  o["maintenance"] = std::move(windows);
  // The window in force now ("" when none): no new jobs go to the site.
  const MaintenanceWindow* active = activeWindow(site.maintenance, now);
  o["maintenance_active"] = active ? active->id : "";
  o["degraded"] = site.degraded;
  o["degraded_reason"] = site.degraded_reason;
  o["agent_version"] = site.agent_version;
  o["agent"] = agentHealthJson(site, now, heartbeat_interval);
  o["last_heard_at"] = optTime(site.last_heard);
  o["report_age_ms"] =
      site.last_report ? json::value((now - *site.last_report).count()) : json::value(nullptr);
  o["stale"] = siteIsStale(site, now, heartbeat_interval);
  o["epoch"] = site.capacity ? json::value(site.capacity->epoch) : json::value(nullptr);
  int64_t nodes_total = 0, nodes_idle = 0, acc_total = 0, acc_free = 0;
  int64_t running = 0, pending = 0;
  std::set<std::string> types;
  json::array partitions;
  if (site.capacity) {
    for (const PartitionCapacity& p : site.capacity->partitions) {
      nodes_total += p.nodes_total;
      nodes_idle += p.nodes_idle;
      acc_total += int64_t{p.nodes_total} * p.node_type.accelerators_per_node;
      acc_free += int64_t{p.nodes_idle} * p.node_type.accelerators_per_node;
      running += p.running_jobs;
      pending += p.pending_jobs;
      if (!p.node_type.accelerator.empty()) types.insert(p.node_type.accelerator);
      partitions.push_back(toJson(p));
    }
  } else {
    // Never reported: show what the federation file says the site has.
    for (const PartitionConfig& p : config.partitions) {
      nodes_total += p.nodes;
      acc_total += int64_t{p.nodes} * p.node_type.accelerators_per_node;
      if (!p.node_type.accelerator.empty()) types.insert(p.node_type.accelerator);
    }
  }
  o["nodes_total"] = nodes_total;
  o["nodes_idle"] = nodes_idle;
  o["accelerators_total"] = acc_total;
  o["accelerators_free"] = acc_free;
  json::array type_list;
  for (const auto& t : types) type_list.push_back(json::value(t));
  o["accelerator_types"] = std::move(type_list);
  o["running_jobs"] = running;
  o["pending_jobs"] = pending;
  o["jobs_placed"] = site.jobs_placed;
  if (site.rules) o["rules"] = toJson(*site.rules);  // null: the site published none
  else o["rules"] = nullptr;
  o["reserved_nodes"] = reserved_nodes;
  o["partitions"] = std::move(partitions);
  return o;
}

json::object tokenJson(const identity::TokenRecord& t) {
  json::array scope;
  for (const std::string& s : t.scope) scope.emplace_back(s);
  return json::object{{"id", t.id},
                      {"name", t.name},
                      {"user", t.user},
                      {"role", identity::roleName(t.role)},
                      {"scope", std::move(scope)},
                      {"created_at", toMillis(t.created_at)},
                      {"created_by", t.created_by},
                      {"revoked", t.revoked_at.has_value()},
                      {"revoked_at", optTime(t.revoked_at)},
                      {"last_used_at", optTime(t.last_used_at)}};
}

json::object policyChangeJson(const broker::PolicyChange& c) {
  return json::object{{"at", toMillis(c.at)},       {"from", c.from},   {"to", c.to},
                      {"to_version", c.to_version}, {"actor", c.actor}, {"reason", c.reason}};
}

json::object auditJson(const identity::AuditRecord& a) {
  return json::object{{"id", a.id},           {"at", toMillis(a.at)},
                      {"actor", a.actor},     {"actor_name", a.actor_name},
                      {"role", a.role},       {"action", a.action},
                      {"target", a.target},   {"remote_address", a.remote_address},
                      {"outcome", a.outcome}, {"detail", a.detail},
                      {"on_behalf_of", a.on_behalf_of}};
}

json::object quarantinedJson(const broker::QuarantinedJob& q) {
  return json::object{{"site", q.site},
                      {"job_id", q.job_id},
                      {"attempt", q.attempt},
                      {"local_id", q.local_id},
                      {"state", jobStateName(q.state)},
                      {"first_seen", toMillis(q.first_seen)},
                      {"last_seen", toMillis(q.last_seen)},
                      {"decision", q.decision},
                      {"decided_by", q.decided_by},
                      {"decided_at", optTime(q.decided_at)}};
}

}  // namespace aifed::coordinator
