// /api/v1/quarantine: attempts agents reported that the coordinator has no record of
// (coordinator/broker/quarantine.h), and an admin's or the site's decision on each.
#include "coordinator/rest/request_parsing.h"
#include "coordinator/rest/rest_context.h"
#include "coordinator/rest/rest_json.h"

namespace aifed::coordinator {

namespace {

HttpResponse decide(JobService& svc, const HttpRequest& req, const PathParams& p,
                    const Principal& who, broker::QuarantineAction action, Change& c) {
  const std::string& site = p.at("site");
  const std::string& job = p.at("job");
  c.audit.target = job + "/" + p.at("attempt") + " at " + site;
  if (Status s = api::authorize(who, Action::kQuarantineDecide, Resource::ofSite(site)); !s.ok()) {
    return api::errorResponse(s);
  }
  Result<int> attempt = positiveIntParam(p.at("attempt"), "attempt");
  if (!attempt.ok()) return api::errorResponse(attempt.status());
  Result<json::object> body = objectBody(req, /*empty_ok=*/true);
  if (!body.ok()) return api::errorResponse(body.status());
  Result<std::string> reason = optionalString(*body, "reason");
  if (!reason.ok()) return api::errorResponse(reason.status());
  c.audit.detail = *reason;
  Result<broker::QuarantinedJob> decided =
      svc.broker().decideQuarantined(site, job, *attempt, action, who.name, svc.instant(), c.fx);
  if (!decided.ok()) return api::errorResponse(decided.status());
  return api::jsonResponse(200, quarantinedJson(*decided));
}

}  // namespace

void addQuarantineRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router) {
  JobService* svc = &ctx->svc();
  ctx->read(router, "GET", "/api/v1/quarantine",
            [svc](const HttpRequest&, const PathParams&, const Principal& who) {
              if (Status s = api::authorize(who, Action::kQuarantineRead, Resource::none());
                  !s.ok()) {
                return api::errorResponse(s);
              }
              json::array entries;
              for (const broker::QuarantinedJob& q : svc->broker().quarantined()) {
                if (api::authorize(who, Action::kQuarantineRead, Resource::ofSite(q.site)).ok()) {
                  entries.push_back(quarantinedJson(q));
                }
              }
              return api::jsonResponse(200, json::object{{"quarantined", std::move(entries)}});
            });
  for (const auto& [verb, action] : {std::pair{"cancel", broker::QuarantineAction::kCancel},
                                     std::pair{"release", broker::QuarantineAction::kRelease}}) {
    ctx->change(
        router, "POST", std::string("/api/v1/quarantine/{site}/{job}/{attempt}/") + verb,
        std::string("quarantine.") + verb,
        [svc, action = action](const HttpRequest& req, const PathParams& p, const Principal& who,
                               Change& c) { return decide(*svc, req, p, who, action, c); });
  }
}

}  // namespace aifed::coordinator
