#include "coordinator/rest_api.h"

#include <set>

#include "protocol/codec.h"

namespace aifed::coordinator {
namespace json = boost::json;
namespace {

json::value optTime(const std::optional<Time>& t) {
  return t ? json::value(toMillis(*t)) : json::value(nullptr);
}

Result<size_t> sizeParam(const api::HttpRequest& req, const std::string& name, size_t dflt,
                         size_t max) {
  auto it = req.query.find(name);
  if (it == req.query.end() || it->second.empty()) return dflt;
  size_t value = 0;
  for (char c : it->second) {
    if (c < '0' || c > '9' || value > max) {
      return invalidArgument(name + " must be an integer from 0 to " + std::to_string(max), name);
    }
    value = value * 10 + static_cast<size_t>(c - '0');
  }
  if (value > max) {
    return invalidArgument(name + " must be an integer from 0 to " + std::to_string(max), name);
  }
  return value;
}

// The request body as JSON, or a 400 naming the parse error.
Result<json::value> parseJsonBody(const api::HttpRequest& req) {
  boost::system::error_code ec;
  json::value body = json::parse(req.body, ec);
  if (ec) return invalidArgument("request body is not valid JSON: " + ec.message());
  return body;
}

}  // namespace

json::object jobJson(const broker::JobRecord& job, const broker::PlacementDecision* last) {
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
  json::array excluded;
  for (const auto& s : job.excluded_sites) excluded.push_back(json::value(s));
  o["excluded_sites"] = std::move(excluded);
  o["spec"] = toJson(job.spec);
  if (last) {
    o["placement"] = json::object{{"policy", last->policy},
                                  {"policy_version", last->policy_version},
                                  {"chosen_site", last->chosen_site},
                                  {"summary", last->summary},
                                  {"decided_at", toMillis(last->decided_at)}};
  } else {
    o["placement"] = nullptr;
  }
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

json::object siteJson(const broker::SiteRecord& site, const SiteConfig& config, int reserved_nodes,
                      Time now) {
  json::object o;
  o["id"] = site.id;
  o["name"] = config.name;
  o["country"] = config.country;
  o["city"] = config.city;
  o["state"] = siteStateName(site.state);
  o["drained"] = site.drained;
  o["degraded"] = site.degraded;
  o["degraded_reason"] = site.degraded_reason;
  o["agent_version"] = site.agent_version;
  o["last_heard_at"] = optTime(site.last_heard);
  o["report_age_ms"] =
      site.last_report ? json::value((now - *site.last_report).count()) : json::value(nullptr);
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
  o["reserved_nodes"] = reserved_nodes;
  o["partitions"] = std::move(partitions);
  return o;
}

void addRestRoutes(api::Router& router, JobService& svc) {
  using api::HttpRequest;
  using api::HttpResponse;
  using api::PathParams;

  // Answered once the job is durable: commitAsync group-commits concurrent submissions.
  router.addAsync(
      "POST", "/api/v1/jobs", [&svc](const HttpRequest& req, const PathParams&, api::Reply reply) {
        Result<json::value> parsed = parseJsonBody(req);
        if (!parsed.ok()) return reply(api::errorResponse(parsed.status()));
        json::value body = std::move(*parsed);
        Result<JobSpec> spec = jobSpecFromJson(body);
        if (!spec.ok()) return reply(api::errorResponse(spec.status()));
        broker::Effects fx;
        Time now = svc.now();
        Result<broker::JobRecord> job = svc.broker().submit(*spec, now, fx);
        if (!job.ok()) return reply(api::errorResponse(job.status()));
        // The commit's tick places the job, so the answer already says where it went.
        svc.commitAsync(std::move(fx), [&svc, id = job->id, reply](Status s) {
          if (!s.ok()) return reply(api::errorResponse(s));
          const broker::JobRecord* placed = svc.broker().findJob(id);
          reply(api::jsonResponse(201, jobJson(*placed, svc.broker().lastDecision(id))));
        });
      });

  router.add("GET", "/api/v1/jobs", [&svc](const HttpRequest& req, const PathParams&) {
    std::optional<JobState> state;
    if (auto it = req.query.find("state"); it != req.query.end() && !it->second.empty()) {
      state = parseJobState(it->second);
      if (!state) {
        return api::errorResponse(400, "invalid_argument",
                                  "unknown job state \"" + it->second + "\"", "state");
      }
    }
    std::string site;
    if (auto it = req.query.find("site"); it != req.query.end()) site = it->second;
    Result<size_t> limit = sizeParam(req, "limit", 100, 10000);
    if (!limit.ok()) return api::errorResponse(limit.status());
    Result<size_t> offset = sizeParam(req, "offset", 0, SIZE_MAX / 16);
    if (!offset.ok()) return api::errorResponse(offset.status());
    json::array jobs;
    for (const broker::JobRecord* j : svc.broker().listJobs(state, site, *offset, *limit)) {
      jobs.push_back(jobJson(*j, svc.broker().lastDecision(j->id)));
    }
    // `total` counts every job matching the filters, ignoring paging.
    size_t total = site.empty() ? svc.broker().countJobs(state)
                                : svc.broker().listJobs(state, site, 0, SIZE_MAX).size();
    return api::jsonResponse(200, json::object{{"jobs", std::move(jobs)}, {"total", total}});
  });

  router.add("GET", "/api/v1/jobs/{id}", [&svc](const HttpRequest&, const PathParams& p) {
    const broker::JobRecord* job = svc.broker().findJob(p.at("id"));
    if (!job) return api::errorResponse(notFound("no job \"" + p.at("id") + "\""));
    return api::jsonResponse(200, jobJson(*job, svc.broker().lastDecision(job->id)));
  });

  router.add("GET", "/api/v1/jobs/{id}/explain", [&svc](const HttpRequest&, const PathParams& p) {
    const broker::JobRecord* job = svc.broker().findJob(p.at("id"));
    if (!job) return api::errorResponse(notFound("no job \"" + p.at("id") + "\""));
    const broker::PlacementDecision* d = svc.broker().lastDecision(job->id);
    std::vector<broker::PlacementDecision> stored;
    if (!d) {
      Result<std::vector<broker::PlacementDecision>> r = svc.storedDecisions(job->id);
      if (!r.ok()) return api::errorResponse(r.status());
      stored = std::move(*r);
      if (!stored.empty()) d = &stored.back();
    }
    return api::jsonResponse(200, explainJson(*job, d));
  });

  router.add("GET", "/api/v1/policy", [&svc](const HttpRequest&, const PathParams&) {
    const broker::Broker& b = svc.broker();
    json::array all;
    for (const broker::PolicySpec& p : b.policies()) all.push_back(policyJson(p));
    json::array history;
    for (const broker::PolicyChange& c : b.policyHistory()) {
      history.push_back(json::object{{"at", toMillis(c.at)},
                                     {"from", c.from},
                                     {"to", c.to},
                                     {"to_version", c.to_version},
                                     {"actor", c.actor},
                                     {"reason", c.reason}});
    }
    return api::jsonResponse(200, json::object{{"active", policyJson(b.policy())},
                                               {"policies", std::move(all)},
                                               {"history", std::move(history)}});
  });

  // Switches the active policy; body {"policy": "green", "reason": "...", "actor": "..."}.
  router.add("PUT", "/api/v1/policy", [&svc](const HttpRequest& req, const PathParams&) {
    Result<json::value> parsed = parseJsonBody(req);
    if (!parsed.ok()) return api::errorResponse(parsed.status());
    json::value body = std::move(*parsed);
    const json::object* o = body.if_object();
    const json::value* name = o ? o->if_contains("policy") : nullptr;
    if (!name || !name->is_string()) {
      return api::errorResponse(400, "invalid_argument",
                                "body must be an object with a string \"policy\"", "policy");
    }
    auto text = [&](const char* key) -> std::string {
      const json::value* v = o->if_contains(key);
      return v && v->is_string() ? std::string(v->get_string()) : std::string();
    };
    std::string actor = text("actor");
    if (actor.empty()) actor = req.remote_address;
    broker::Effects fx;
    Time now = svc.now();
    Status s =
        svc.broker().setPolicy(std::string(name->get_string()), actor, text("reason"), now, fx);
    if (!s.ok()) {
      if (s.code() == StatusCode::kNotFound) {
        return api::errorResponse(400, "invalid_argument", s.message(), "policy");
      }
      return api::errorResponse(s);
    }
    bool changed = !fx.policy_changes.empty();
    svc.broker().tick(now, fx);  // re-examine waiting jobs under the new policy
    if (Status c = svc.commit(fx); !c.ok()) return api::errorResponse(c);
    return api::jsonResponse(
        200, json::object{{"active", policyJson(svc.broker().policy())}, {"changed", changed}});
  });

  router.add("POST", "/api/v1/jobs/{id}/cancel", [&svc](const HttpRequest&, const PathParams& p) {
    broker::Effects fx;
    Result<broker::JobRecord> job = svc.broker().cancel(p.at("id"), svc.now(), fx);
    if (!job.ok()) return api::errorResponse(job.status());
    if (Status s = svc.commit(fx); !s.ok()) return api::errorResponse(s);
    return api::jsonResponse(200, jobJson(*job, svc.broker().lastDecision(job->id)));
  });

  router.add("GET", "/api/v1/sites", [&svc](const HttpRequest&, const PathParams&) {
    json::array sites;
    Time now = svc.now();
    for (const broker::SiteRecord& s : svc.broker().sites()) {
      const SiteConfig* cfg = svc.broker().federation().findSite(s.id);
      sites.push_back(siteJson(s, *cfg, svc.broker().reservedNodes(s.id), now));
    }
    return api::jsonResponse(200, json::object{{"sites", std::move(sites)}});
  });

  router.add("GET", "/api/v1/sites/{id}", [&svc](const HttpRequest&, const PathParams& p) {
    const broker::SiteRecord* s = svc.broker().findSite(p.at("id"));
    if (!s) return api::errorResponse(notFound("no site \"" + p.at("id") + "\""));
    const SiteConfig* cfg = svc.broker().federation().findSite(s->id);
    return api::jsonResponse(200, siteJson(*s, *cfg, svc.broker().reservedNodes(s->id), svc.now()));
  });

  router.add("GET", "/api/v1/federation", [&svc](const HttpRequest&, const PathParams&) {
    const broker::Broker& b = svc.broker();
    json::object jobs;
    for (JobState st :
         {JobState::kQueued, JobState::kDispatched, JobState::kPending, JobState::kRunning,
          JobState::kCompleted, JobState::kFailed, JobState::kCancelled, JobState::kTimeout,
          JobState::kNodeFail, JobState::kLost}) {
      jobs[jobStateName(st)] = b.countJobs(st);
    }
    int64_t up = 0, acc_total = 0, acc_free = 0;
    Time now = svc.now();
    for (const broker::SiteRecord& s : b.sites()) {
      if (s.state == SiteState::kUp) ++up;
      json::object sj = siteJson(s, *b.federation().findSite(s.id), 0, now);
      acc_total += sj["accelerators_total"].as_int64();
      acc_free += sj["accelerators_free"].as_int64();
    }
    return api::jsonResponse(200, json::object{{"name", b.federation().name},
                                               {"policy", b.config().policy},
                                               {"sites_total", b.sites().size()},
                                               {"sites_up", up},
                                               {"jobs_total", b.countJobs(std::nullopt)},
                                               {"jobs", std::move(jobs)},
                                               {"accelerators_total", acc_total},
                                               {"accelerators_free", acc_free},
                                               {"transport", svc.transportStats()}});
  });
}

}  // namespace aifed::coordinator
