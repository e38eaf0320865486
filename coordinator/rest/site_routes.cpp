// /api/v1/sites (list, one, drain, resume), the federation summary and the public health
// probe.
#include <memory>

#include "coordinator/rest/request_parsing.h"
#include "coordinator/rest/rest_context.h"
#include "coordinator/rest/rest_json.h"

namespace aifed::coordinator {

namespace {

json::object siteView(JobService& svc, const broker::SiteRecord& s, Time now) {
  broker::Broker& b = svc.broker();
  return siteJson(s, *b.federation().findSite(s.id), b.reservedNodes(s.id), now,
                  b.config().heartbeat_interval);
}

HttpResponse drain(JobService& svc, const HttpRequest& req, const std::string& id, bool drained,
                   const Principal& who, Change& c) {
  c.audit.target = id;
  if (!svc.broker().findSite(id)) return api::errorResponse(notFound("no site \"" + id + "\""));
  if (Status s = api::authorize(who, drained ? Action::kSiteDrain : Action::kSiteResume,
                                Resource::ofSite(id));
      !s.ok()) {
    return api::errorResponse(s);
  }
  Result<json::object> body = objectBody(req, true);
  if (!body.ok()) return api::errorResponse(body.status());
  Result<std::string> reason = optionalString(*body, "reason");
  if (!reason.ok()) return api::errorResponse(reason.status());
  c.audit.detail = *reason;
  Instant now = svc.instant();
  if (Status s = svc.broker().setDrained(id, drained, now, c.fx, *reason, who.name); !s.ok()) {
    return api::errorResponse(s);
  }
  svc.tick(now, c.fx);  // a resumed site may take waiting jobs at once
  return api::jsonResponse(200, siteView(svc, *svc.broker().findSite(id), now.wall));
}

HttpResponse federationSummary(JobService& svc) {
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
                                             {"policy", b.policy().name},
                                             {"sites_total", b.sites().size()},
                                             {"sites_up", up},
                                             {"jobs_total", b.countJobs(std::nullopt)},
                                             {"jobs", std::move(jobs)},
                                             {"accelerators_total", acc_total},
                                             {"accelerators_free", acc_free},
                                             {"transport", svc.transportStats()}});
}

}  // namespace

void addSiteRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router) {
  JobService* svc = &ctx->svc();
  ctx->read(router, "GET", "/api/v1/sites",
            [svc](const HttpRequest&, const PathParams&, const Principal&) {
              json::array sites;
              Time now = svc->now();
              for (const broker::SiteRecord& s : svc->broker().sites()) {
                sites.push_back(siteView(*svc, s, now));
              }
              return api::jsonResponse(200, json::object{{"sites", std::move(sites)}});
            });
  ctx->read(router, "GET", "/api/v1/sites/{id}",
            [svc](const HttpRequest&, const PathParams& p, const Principal&) {
              const broker::SiteRecord* s = svc->broker().findSite(p.at("id"));
              if (!s) return api::errorResponse(notFound("no site \"" + p.at("id") + "\""));
              return api::jsonResponse(200, siteView(*svc, *s, svc->now()));
            });
  for (bool drained : {true, false}) {
    ctx->change(
        router, "POST", drained ? "/api/v1/sites/{id}/drain" : "/api/v1/sites/{id}/resume",
        drained ? "site.drain" : "site.resume",
        [svc, drained](const HttpRequest& req, const PathParams& p, const Principal& who,
                       Change& c) { return drain(*svc, req, p.at("id"), drained, who, c); });
  }
  ctx->read(router, "GET", "/api/v1/federation",
            [svc](const HttpRequest&, const PathParams&, const Principal&) {
              return federationSummary(*svc);
            });
  // Public: load balancers and probes call it without a token; it reveals only counts.
  router.add("GET", "/api/v1/health", [self = ctx, svc](const HttpRequest&, const PathParams&) {
    int64_t up = 0;
    for (const broker::SiteRecord& s : svc->broker().sites()) {
      if (s.state == SiteState::kUp) ++up;
    }
    int64_t total = static_cast<int64_t>(svc->broker().sites().size());
    return api::jsonResponse(200, json::object{{"status", up == total ? "ok" : "degraded"},
                                               {"sites_up", up},
                                               {"sites_total", total}});
  });
}

}  // namespace aifed::coordinator
