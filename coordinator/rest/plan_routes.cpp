// POST /api/v1/jobs/plan: what a submission of the same body would get now, creating,
// reserving and recording nothing (docs/api.md, "Plan before submit").
//
// Authorized as a submission: a role that may not submit, a project outside the token's
// scope or another user's name is refused (403) as submit would refuse it. Every other
// refusal submit would give (a bad body, an unknown project, a job no site could ever
// run) is the plan's answer: 200 with accepted=false and the error. A plan is a read: it
// writes no audit row and is answered while the database refuses writes; a console
// session still sends its CSRF token, as with every POST.
#include "coordinator/broker/placement.h"
#include "coordinator/rest/job_intake.h"
#include "coordinator/rest/request_parsing.h"
#include "coordinator/rest/rest_context.h"

namespace aifed::coordinator {
namespace {

json::object siteJson(const broker::SiteVerdict& v) {
  json::object sj{{"site", v.site},
                  {"feasible", v.feasible},
                  {"rejected_by", v.rejected_by},
                  {"reason", v.reason},
                  {"partition", v.partition}};
  // Feasible sites only: when it could start there and how the policy scored it.
  sj["estimated_start_s"] = v.feasible ? json::value(v.estimated_start_s) : json::value(nullptr);
  sj["score"] = v.feasible ? json::value(v.score) : json::value(nullptr);
  json::object scores;
  for (const broker::SiteVerdict::ScoreTerm& t : v.scores) scores[t.plugin] = t.score;
  sj["scores"] = std::move(scores);
  return sj;
}

json::object decisionJson(const broker::JobPlan& p) {
  json::array sites;
  for (const broker::SiteVerdict& v : p.decision.verdicts) sites.push_back(siteJson(v));
  return json::object{{"action", broker::planActionName(p.action)},
                      {"site", p.site},
                      {"partition", p.partition},
                      {"tie_break", p.decision.tie_break},
                      {"reason", p.decision.summary},
                      {"policy", p.decision.policy},
                      {"sites", std::move(sites)}};
}

// The error exactly as submit's refusal carries it.
json::object refused(const Status& s, const JobSpec& spec) {
  json::value answer = json::parse(api::errorResponse(s).body);
  return json::object{{"accepted", false},
                      {"error", answer.at("error")},
                      {"project", spec.project},
                      {"user", spec.user},
                      {"decision", nullptr}};
}

api::HttpResponse plan(RestContext& ctx, const api::HttpRequest& req) {
  Result<api::Principal> who = ctx.authenticate(req);
  if (!who.ok()) return unauthenticated(who.status());
  if (Status s = api::checkCsrf(*who, req); !s.ok()) return api::errorResponse(s);
  broker::Broker& b = ctx.svc().broker();
  JobSpec spec;
  if (Status s = readSubmission(req, *who, b.federation(), spec); !s.ok()) {
    if (s.code() == StatusCode::kPermissionDenied) return api::errorResponse(s);
    return api::jsonResponse(200, refused(s, spec));
  }
  Result<broker::JobPlan> p = b.plan(spec, ctx.svc().instant());
  if (!p.ok()) return api::jsonResponse(200, refused(p.status(), spec));
  return api::jsonResponse(200, json::object{{"accepted", true},
                                             {"project", spec.project},
                                             {"user", spec.user},
                                             {"decision", decisionJson(*p)}});
}

}  // namespace

void addPlanRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router) {
  router.add(
      "POST", "/api/v1/jobs/plan",
      [ctx](const api::HttpRequest& req, const api::PathParams&) { return plan(*ctx, req); });
}

}  // namespace aifed::coordinator
