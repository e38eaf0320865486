// POST/GET/DELETE /api/v1/session: the console's login with a token, its session, logout.
#include <memory>

#include "coordinator/rest/request_parsing.h"
#include "coordinator/rest/rest_context.h"

namespace aifed::coordinator {

namespace {

json::array scopeJson(const Principal& who) {
  json::array scope;
  for (const std::string& s : who.scope) scope.emplace_back(s);
  return scope;
}

// Logins, throttled per client host after repeated failures; every attempt is audited.
class Login {
 public:
  explicit Login(std::shared_ptr<RestContext> ctx) : ctx_(std::move(ctx)) {}
  HttpResponse operator()(const HttpRequest& req);

 private:
  HttpResponse refuse(identity::AuditRecord& a, HttpResponse r, std::string outcome) {
    a.outcome = std::move(outcome);
    a.detail = errorMessage(r);
    ctx_->svc().recordAudit(std::move(a));
    return r;
  }
  HttpResponse fail(identity::AuditRecord& a, const std::string& host, HttpResponse r,
                    std::string outcome) {
    throttle_.failed(host, ctx_->svc().now());
    return refuse(a, std::move(r), std::move(outcome));
  }

  std::shared_ptr<RestContext> ctx_;
  api::LoginThrottle throttle_;  // failed logins per client address
};

HttpResponse Login::operator()(const HttpRequest& req) {
  JobService& svc = ctx_->svc();
  api::Authenticator& auth = ctx_->auth();
  identity::AuditRecord a = ctx_->auditRow(req, "session.login");
  const std::string host = api::LoginThrottle::hostOf(req.remote_address);
  Duration wait = throttle_.retryAfter(host, svc.now());
  if (wait > Duration::zero()) {
    int64_t seconds = std::chrono::ceil<std::chrono::seconds>(wait).count();
    HttpResponse r = api::errorResponse(
        429, "rate_limited",
        "too many failed logins from " + host + ": try again in " + std::to_string(seconds) + " s");
    r.headers.emplace_back("Retry-After", std::to_string(seconds));
    return refuse(a, std::move(r), "denied");
  }
  Result<json::object> body = objectBody(req, false);
  if (!body.ok()) return fail(a, host, api::errorResponse(body.status()), "error");
  Result<std::string> token = optionalString(*body, "token");
  if (!token.ok()) return fail(a, host, api::errorResponse(token.status()), "error");
  if (token->empty()) {
    return fail(a, host,
                api::errorResponse(400, "invalid_argument",
                                   "body must be {\"token\": \"aifed_...\"}", "token"),
                "error");
  }
  if (Result<identity::TokenParts> parts = identity::parseToken(*token); parts.ok())
    a.actor = parts->id;
  Result<Principal> who = auth.verifyToken(*token);
  if (!who.ok()) return fail(a, host, unauthenticated(who.status()), "denied");
  a.actor_name = who->name;
  a.role = identity::roleName(who->role);
  Result<api::Session> session = auth.sessions().create(who->token_id);
  if (!session.ok()) return refuse(a, api::errorResponse(session.status()), "error");
  throttle_.succeeded(host);
  a.outcome = "ok";
  svc.recordAudit(std::move(a));
  Time now = svc.now();
  HttpResponse r =
      api::jsonResponse(200, json::object{{"token_id", who->token_id},
                                          {"name", who->name},
                                          {"user", who->user},
                                          {"role", identity::roleName(who->role)},
                                          {"scope", scopeJson(*who)},
                                          {"csrf_token", session->csrf_token},
                                          {"expires_at", toMillis(session->expires_at)}});
  r.headers.emplace_back("Set-Cookie", api::sessionCookie(*session, now));
  r.headers.emplace_back("Set-Cookie", api::csrfCookie(*session, now));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace

void addSessionRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router) {
  router.add("POST", "/api/v1/session",
             [login = std::make_shared<Login>(ctx)](const HttpRequest& req, const PathParams&) {
               return (*login)(req);
             });
  ctx->read(router, "GET", "/api/v1/session",
            [](const HttpRequest&, const PathParams&, const Principal& who) {
              return api::jsonResponse(
                  200,
                  json::object{{"token_id", who.token_id},
                               {"name", who.name},
                               {"user", who.user},
                               {"role", identity::roleName(who.role)},
                               {"scope", scopeJson(who)},
                               {"csrf_token", who.csrf_token},
                               {"expires_at", who.session_expires_at
                                                  ? json::value(toMillis(*who.session_expires_at))
                                              : who.oidc_expires_at
                                                  ? json::value(toMillis(*who.oidc_expires_at))
                                                  : json::value(nullptr)},
                               {"issuer", who.oidc_issuer}});
            });
  RestContext* c = ctx.get();
  ctx->change(
      router, "DELETE", "/api/v1/session", "session.logout",
      [c](const HttpRequest&, const PathParams&, const Principal& who, RestContext::Change& ch) {
        ch.audit.target = who.token_id;
        if (who.via_session) c->auth().sessions().remove(who.session_id);
        HttpResponse r;
        r.status = 204;
        r.headers.emplace_back("Set-Cookie", api::clearedCookie(api::kSessionCookie));
        r.headers.emplace_back("Set-Cookie", api::clearedCookie(api::kCsrfCookie));
        return r;
      });
}

}  // namespace aifed::coordinator
