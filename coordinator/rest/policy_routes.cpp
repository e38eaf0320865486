// /api/v1/policy: the active policy and the others, the switch history, a switch.
#include "coordinator/rest/request_parsing.h"
#include "coordinator/rest/rest_context.h"
#include "coordinator/rest/rest_json.h"

namespace aifed::coordinator {

namespace {

HttpResponse setPolicy(JobService& svc, const HttpRequest& req, const Principal& who, Change& c) {
  if (Status s = api::authorize(who, Action::kPolicySet, Resource::none()); !s.ok()) {
    return api::errorResponse(s);
  }
  Result<json::object> body = objectBody(req, false);
  if (!body.ok()) return api::errorResponse(body.status());
  // {"name": ...}; "policy" is the older spelling of the same member, and errors name
  // the member the client used.
  std::string field = body->contains("policy") && !body->contains("name") ? "policy" : "name";
  Result<std::string> name = optionalString(*body, field.c_str());
  if (!name.ok()) return api::errorResponse(name.status());
  if (name->empty()) {
    return api::errorResponse(400, "invalid_argument",
                              "body must be an object with a string \"name\" (the policy)", field);
  }
  Result<std::string> reason = optionalString(*body, "reason");
  if (!reason.ok()) return api::errorResponse(reason.status());
  c.audit.target = *name;
  c.audit.detail = *reason;
  Instant now = svc.instant();
  Status s = svc.broker().setPolicy(*name, who.name, *reason, now.wall, c.fx);
  if (!s.ok()) {
    if (s.code() == StatusCode::kNotFound) {
      return api::errorResponse(400, "invalid_argument", s.message(), field);
    }
    return api::errorResponse(s);
  }
  bool changed = !c.fx.policy_changes.empty();
  svc.tick(now, c.fx);  // re-examine waiting jobs under the new policy
  return api::jsonResponse(
      200, json::object{{"active", policyJson(svc.broker().policy())}, {"changed", changed}});
}

}  // namespace

void addPolicyRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router) {
  JobService* svc = &ctx->svc();
  ctx->read(router, "GET", "/api/v1/policy",
            [svc](const HttpRequest&, const PathParams&, const Principal&) {
              const broker::Broker& b = svc->broker();
              json::array all;
              for (const broker::PolicySpec& p : b.policies()) all.push_back(policyJson(p));
              json::array history;
              for (const broker::PolicyChange& c : b.policyHistory()) {
                history.push_back(policyChangeJson(c));
              }
              return api::jsonResponse(200, json::object{{"active", policyJson(b.policy())},
                                                         {"policies", std::move(all)},
                                                         {"history", std::move(history)}});
            });
  ctx->read(router, "GET", "/api/v1/policy/history",
            [svc](const HttpRequest&, const PathParams&, const Principal&) {
              Result<std::vector<broker::PolicyChange>> changes = svc->policyChanges();
              if (!changes.ok()) return api::errorResponse(changes.status());
              json::array history;
              for (const broker::PolicyChange& c : *changes) history.push_back(policyChangeJson(c));
              return api::jsonResponse(200, json::object{{"history", std::move(history)}});
            });
  ctx->change(router, "PUT", "/api/v1/policy", "policy.set",
              [svc](const HttpRequest& req, const PathParams&, const Principal& who, Change& c) {
                return setPolicy(*svc, req, who, c);
              });
}

}  // namespace aifed::coordinator
