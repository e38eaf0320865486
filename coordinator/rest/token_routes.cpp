// /api/v1/tokens: list (without secrets), create (the secret shown once), revoke (never
// the last admin token). Admins only.
#include "coordinator/rest/request_parsing.h"
#include "coordinator/rest/rest_context.h"
#include "coordinator/rest/rest_json.h"

namespace aifed::coordinator {

namespace {

constexpr size_t kMaxTokenNameChars = 100;

// A token's scope from the request: projects for a submitter or portal, sites for a
// site-admin, each of them in the federation.
Result<std::vector<std::string>> scopeOf(const json::object& body, identity::Role role,
                                         const Federation& fed) {
  std::vector<std::string> scope;
  if (const json::value* sv = body.if_contains("scope"); sv && !sv->is_null()) {
    if (!sv->is_array()) return invalidArgument("scope must be an array of strings", "scope");
    for (const json::value& v : sv->as_array()) {
      if (!v.is_string()) return invalidArgument("scope must be an array of strings", "scope");
      scope.emplace_back(v.get_string());
    }
  }
  RETURN_IF_ERROR(identity::checkScope(role, scope));
  for (const std::string& entry : scope) {
    bool submitter = role == identity::Role::kSubmitter || role == identity::Role::kPortal;
    bool known = submitter ? fed.findProject(entry) != nullptr : fed.findSite(entry) != nullptr;
    if (!known) {
      return invalidArgument(std::string(submitter ? "no project" : "no site") + " \"" + entry +
                                 "\" in the federation",
                             "scope");
    }
  }
  return scope;
}

HttpResponse createToken(RestContext& ctx, const HttpRequest& req, const Principal& who,
                         Change& c) {
  if (Status s = api::authorize(who, Action::kTokenManage, Resource::none()); !s.ok()) {
    return api::errorResponse(s);
  }
  Result<json::object> body = objectBody(req, false);
  if (!body.ok()) return api::errorResponse(body.status());
  Result<std::string> name = optionalString(*body, "name");
  if (!name.ok()) return api::errorResponse(name.status());
  if (name->empty() || name->size() > kMaxTokenNameChars) {
    return api::errorResponse(400, "invalid_argument",
                              "name must be a string of 1 to 100 characters", "name");
  }
  Result<std::string> role_name = optionalString(*body, "role");
  if (!role_name.ok()) return api::errorResponse(role_name.status());
  std::optional<identity::Role> role = identity::parseRole(*role_name);
  if (!role) {
    return api::errorResponse(
        400, "invalid_argument",
        "role must be one of admin, operator, viewer, submitter, site-admin, portal (got \"" +
            *role_name + "\")",
        "role");
  }
  Result<std::vector<std::string>> scope = scopeOf(*body, *role, ctx.svc().broker().federation());
  if (!scope.ok()) return api::errorResponse(scope.status());
  // The user the token belongs to: the owner of every job it submits. Default: its name.
  Result<std::string> user = optionalString(*body, "user");
  if (!user.ok()) return api::errorResponse(user.status());
  if (user->empty()) *user = *name;
  if (Status s = identity::checkUserName(*user); !s.ok()) {
    return api::errorResponse(invalidArgument(
        s.message() + (body->contains("user") ? "" : " (the token's name, as no user was given)"),
        "user"));
  }
  Result<identity::NewToken> fresh = identity::generateToken();
  if (!fresh.ok()) return api::errorResponse(fresh.status());
  identity::TokenRecord t;
  t.id = fresh->id;
  t.name = *name;
  t.user = *user;
  t.role = *role;
  t.scope = std::move(*scope);
  t.secret_sha256 = fresh->secret_sha256;
  t.created_at = ctx.svc().now();
  t.created_by = who.token_id;
  c.audit.target = t.id;
  c.audit.detail = std::string(identity::roleName(t.role)) + " \"" + t.name + "\" of user " + t.user;
  if (Status s = ctx.svc().saveToken(t); !s.ok()) return api::errorResponse(s);
  ctx.auth().tokens().put(t);
  json::object o = tokenJson(t);
  o["token"] = fresh->text;
  HttpResponse r = api::jsonResponse(201, o);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse revokeToken(RestContext& ctx, const std::string& id, const Principal& who, Change& c) {
  c.audit.target = id;
  if (Status s = api::authorize(who, Action::kTokenManage, Resource::none()); !s.ok()) {
    return api::errorResponse(s);
  }
  identity::TokenDirectory& tokens = ctx.auth().tokens();
  const identity::TokenRecord* found = tokens.find(id);
  if (!found) return api::errorResponse(notFound("no token \"" + id + "\""));
  identity::TokenRecord t = *found;
  if (!t.revoked_at) {
    if (t.role == identity::Role::kAdmin) {
      int live_admins = 0;
      for (const identity::TokenRecord& other : tokens.list()) {
        if (other.role == identity::Role::kAdmin && !other.revoked_at) ++live_admins;
      }
      if (live_admins <= 1) {
        return api::errorResponse(failedPrecondition(
            "token " + id + " is the last admin token; create another admin token first"));
      }
    }
    t.revoked_at = ctx.svc().now();
    if (Status s = ctx.svc().saveToken(t); !s.ok()) return api::errorResponse(s);
    tokens.put(t);
    ctx.auth().sessions().removeToken(id);
  }
  c.audit.detail = "\"" + t.name + "\"";
  return api::jsonResponse(200, tokenJson(t));
}

}  // namespace

void addTokenRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router) {
  RestContext* x = ctx.get();
  ctx->read(router, "GET", "/api/v1/tokens",
            [x](const HttpRequest&, const PathParams&, const Principal& who) {
              if (Status s = api::authorize(who, Action::kTokenManage, Resource::none()); !s.ok()) {
                return api::errorResponse(s);
              }
              json::array tokens;
              for (const identity::TokenRecord& t : x->auth().tokens().list()) {
                tokens.push_back(tokenJson(t));
              }
              return api::jsonResponse(200, json::object{{"tokens", std::move(tokens)}});
            });
  ctx->change(router, "POST", "/api/v1/tokens", "token.create",
              [x](const HttpRequest& req, const PathParams&, const Principal& who, Change& c) {
                return createToken(*x, req, who, c);
              });
  ctx->change(router, "DELETE", "/api/v1/tokens/{id}", "token.revoke",
              [x](const HttpRequest&, const PathParams& p, const Principal& who, Change& c) {
                return revokeToken(*x, p.at("id"), who, c);
              });
}

}  // namespace aifed::coordinator
