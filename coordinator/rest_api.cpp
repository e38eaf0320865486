#include "coordinator/rest_api.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <functional>
#include <memory>
#include <set>

#include "coordinator/broker/placement.h"
#include "protocol/codec.h"

namespace aifed::coordinator {
namespace json = boost::json;
namespace {

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

namespace {

using api::Action;
using api::HttpRequest;
using api::HttpResponse;
using api::PathParams;
using api::Principal;
using api::Resource;

// A token's last use is written at most this often (a write per request would cost a
// transaction per submission).
constexpr Duration kLastUsePersistInterval = std::chrono::minutes(1);
constexpr size_t kMaxTokenNameChars = 100;

HttpResponse unauthenticated(const Status& s) {
  HttpResponse r = api::errorResponse(s);
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"aifed\"");
  return r;
}

// The error message of an error response's body, for the audit row's detail.
std::string errorMessage(const HttpResponse& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return {};
  const json::value* e = v.as_object().if_contains("error");
  if (!e || !e->is_object()) return {};
  const json::value* m = e->as_object().if_contains("message");
  return m && m->is_string() ? std::string(m->get_string()) : std::string();
}

// An optional string member of a JSON object: absent is "", another type is a 400.
Result<std::string> optionalString(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return std::string();
  if (!v->is_string()) return invalidArgument(std::string(key) + " must be a string", key);
  return std::string(v->get_string());
}

// The body as a JSON object ({} when empty and `empty_ok`), or a 400.
Result<json::object> objectBody(const HttpRequest& req, bool empty_ok) {
  if (empty_ok && req.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return json::object{};
  }
  Result<json::value> parsed = parseJsonBody(req);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) return invalidArgument("request body must be a JSON object");
  return std::move(parsed->as_object());
}

std::string queryParam(const HttpRequest& req, const char* name) {
  auto it = req.query.find(name);
  return it == req.query.end() ? std::string() : it->second;
}

class RestApi : public std::enable_shared_from_this<RestApi> {
 public:
  RestApi(JobService& svc, api::Authenticator& auth) : svc_(svc), auth_(auth) {}
  // Every route's handler holds a reference to this RestApi, which lives as long as they.
  void addRoutes(api::Router& router);

 private:
  // A state-changing request being handled: its Effects and its audit row. The handler
  // sets the row's target and detail; the outcome follows from the answer's status
  // unless the handler sets `outcome` (a hidden job's 404 is a refusal).
  struct Change {
    broker::Effects fx;
    identity::AuditRecord audit;
    std::optional<std::string> outcome;
  };
  using ReadHandler =
      std::function<HttpResponse(const HttpRequest&, const PathParams&, const Principal&)>;
  using ChangeHandler =
      std::function<HttpResponse(const HttpRequest&, const PathParams&, const Principal&, Change&)>;

  void read(api::Router& router, std::string method, std::string pattern, ReadHandler handler);
  void change(api::Router& router, std::string method, std::string pattern, std::string action,
              ChangeHandler handler);
  Result<Principal> authenticate(const HttpRequest& req);
  HttpResponse finish(Change& c, HttpResponse r);
  identity::AuditRecord auditRow(const HttpRequest& req, const std::string& action);

  // Route bodies.
  HttpResponse login(const HttpRequest& req);
  // POST /api/v1/jobs, answered once the job is durable.
  void submit(const HttpRequest& req, api::Reply reply);
  // Checks and queues the job into c.fx (c.audit.target: its id); a refusal otherwise.
  std::optional<HttpResponse> prepareSubmit(const HttpRequest& req, const Principal& who,
                                            Change& c);
  HttpResponse listJobs(const HttpRequest& req, const Principal& who);
  HttpResponse cancel(const std::string& id, const Principal& who, Change& c);
  HttpResponse drain(const HttpRequest& req, const std::string& id, bool drained,
                     const Principal& who, Change& c);
  HttpResponse setPolicy(const HttpRequest& req, const Principal& who, Change& c);
  HttpResponse createToken(const HttpRequest& req, const Principal& who, Change& c);
  HttpResponse revokeToken(const std::string& id, const Principal& who, Change& c);
  HttpResponse readAudit(const HttpRequest& req);
  HttpResponse decideQuarantined(const HttpRequest& req, const PathParams& p, const Principal& who,
                                 broker::QuarantineAction action, Change& c);
  json::object projectJson(const ProjectConfig& p) const;
  // The job if it exists and `who` may see it; else null (the caller answers 404).
  const broker::JobRecord* visibleJob(const std::string& id, const Principal& who) const;

  JobService& svc_;
  api::Authenticator& auth_;
  std::map<std::string, Time> last_use_saved_;  // token id -> last_used_at last persisted
  api::LoginThrottle login_throttle_;           // failed logins per client address
};

identity::AuditRecord RestApi::auditRow(const HttpRequest& req, const std::string& action) {
  identity::AuditRecord a;
  a.at = svc_.now();
  a.action = action;
  a.remote_address = req.remote_address;
  return a;
}

Result<Principal> RestApi::authenticate(const HttpRequest& req) {
  Result<Principal> who = auth_.authenticate(req);
  if (!who.ok()) return who;
  // Persist the token's last use now and then. A failure waits for the next interval
  // too: retrying on every request would make a busy database slow every request.
  const identity::TokenRecord* t = auth_.tokens().find(who->token_id);
  if (t && t->last_used_at) {
    auto it = last_use_saved_.find(t->id);
    if (it == last_use_saved_.end() || *t->last_used_at - it->second >= kLastUsePersistInterval) {
      last_use_saved_[t->id] = *t->last_used_at;
      if (Status s = svc_.saveToken(*t); !s.ok()) {
        spdlog::warn("cannot record the last use of token {}: {}", t->id, s.toString());
      }
    }
  }
  return who;
}

// A change the coordinator could not make durable: nothing of it was accepted. The
// cause (a full disk, a broken database) is logged; the client learns only to retry, and
// never the server's file paths.
HttpResponse notDurable(const Status& s) {
  spdlog::error("refusing a request whose change could not be made durable: {}", s.toString());
  HttpResponse r = api::errorResponse(
      503, "unavailable",
      "the coordinator could not make the change durable; nothing was accepted; retry later");
  r.headers.emplace_back("Retry-After", "5");
  return r;
}

HttpResponse RestApi::finish(Change& c, HttpResponse r) {
  identity::AuditRecord& a = c.audit;
  if (c.outcome) {
    a.outcome = *c.outcome;
  } else if (r.status < 300) {
    a.outcome = "ok";
  } else if (r.status == 401 || r.status == 403) {
    a.outcome = "denied";
  } else {
    a.outcome = "error";
  }
  if (a.detail.empty() && r.status >= 400) a.detail = errorMessage(r);
  if (c.fx.empty()) {
    svc_.recordAudit(std::move(a));
    return r;
  }
  if (Status s = svc_.commit(c.fx, {std::move(a)}); !s.ok()) return notDurable(s);
  return r;
}

void RestApi::read(api::Router& router, std::string method, std::string pattern,
                   ReadHandler handler) {
  router.add(std::move(method), std::move(pattern),
             [self = shared_from_this(), handler = std::move(handler)](const HttpRequest& req,
                                                                       const PathParams& p) {
               Result<Principal> who = self->authenticate(req);
               if (!who.ok()) return unauthenticated(who.status());
               return handler(req, p, *who);
             });
}

void RestApi::change(api::Router& router, std::string method, std::string pattern,
                     std::string action, ChangeHandler handler) {
  router.add(std::move(method), std::move(pattern),
             [self = shared_from_this(), action = std::move(action), handler = std::move(handler)](
                 const HttpRequest& req, const PathParams& p) {
               Change c;
               c.audit = self->auditRow(req, action);
               Result<Principal> who = self->authenticate(req);
               if (!who.ok()) {
                 c.audit.actor = api::Authenticator::claimedTokenId(req);
                 c.audit.detail = who.status().message();
                 return self->finish(c, unauthenticated(who.status()));
               }
               c.audit.actor = who->token_id;
               c.audit.actor_name = who->name;
               c.audit.role = identity::roleName(who->role);
               if (Status s = api::checkCsrf(*who, req); !s.ok()) {
                 return self->finish(c, api::errorResponse(s));
               }
               // Refused before the handler changes anything in memory.
               if (Status s = self->svc_.writable(); !s.ok()) {
                 return self->finish(c, notDurable(s));
               }
               HttpResponse r = handler(req, p, *who, c);
               return self->finish(c, std::move(r));
             });
}

const broker::JobRecord* RestApi::visibleJob(const std::string& id, const Principal& who) const {
  const broker::JobRecord* job = svc_.broker().findJob(id);
  return job && api::mayRead(who, *job) ? job : nullptr;
}

HttpResponse RestApi::login(const HttpRequest& req) {
  identity::AuditRecord a = auditRow(req, "session.login");
  auto refuse = [&](HttpResponse r, std::string outcome) {
    a.outcome = std::move(outcome);
    a.detail = errorMessage(r);
    svc_.recordAudit(std::move(a));
    return r;
  };
  const std::string host = api::LoginThrottle::hostOf(req.remote_address);
  Duration wait = login_throttle_.retryAfter(host, svc_.now());
  if (wait > Duration::zero()) {
    int64_t seconds = std::chrono::ceil<std::chrono::seconds>(wait).count();
    HttpResponse r = api::errorResponse(
        429, "rate_limited",
        "too many failed logins from " + host + ": try again in " + std::to_string(seconds) + " s");
    r.headers.emplace_back("Retry-After", std::to_string(seconds));
    return refuse(std::move(r), "denied");
  }
  auto fail = [&](HttpResponse r, std::string outcome) {
    login_throttle_.failed(host, svc_.now());
    return refuse(std::move(r), std::move(outcome));
  };
  Result<json::object> body = objectBody(req, false);
  if (!body.ok()) return fail(api::errorResponse(body.status()), "error");
  Result<std::string> token = optionalString(*body, "token");
  if (!token.ok()) return fail(api::errorResponse(token.status()), "error");
  if (token->empty()) {
    return fail(api::errorResponse(400, "invalid_argument",
                                   "body must be {\"token\": \"aifed_...\"}", "token"),
                "error");
  }
  if (Result<identity::TokenParts> parts = identity::parseToken(*token); parts.ok())
    a.actor = parts->id;
  Result<Principal> who = auth_.verifyToken(*token);
  if (!who.ok()) return fail(unauthenticated(who.status()), "denied");
  a.actor_name = who->name;
  a.role = identity::roleName(who->role);
  Result<api::Session> session = auth_.sessions().create(who->token_id);
  if (!session.ok()) return refuse(api::errorResponse(session.status()), "error");
  login_throttle_.succeeded(host);
  a.outcome = "ok";
  svc_.recordAudit(std::move(a));
  Time now = svc_.now();
  json::array scope;
  for (const std::string& s : who->scope) scope.emplace_back(s);
  HttpResponse r =
      api::jsonResponse(200, json::object{{"token_id", who->token_id},
                                          {"name", who->name},
                                          {"role", identity::roleName(who->role)},
                                          {"scope", std::move(scope)},
                                          {"csrf_token", session->csrf_token},
                                          {"expires_at", toMillis(session->expires_at)}});
  r.headers.emplace_back("Set-Cookie", api::sessionCookie(*session, now));
  r.headers.emplace_back("Set-Cookie", api::csrfCookie(*session, now));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

std::optional<HttpResponse> RestApi::prepareSubmit(const HttpRequest& req, const Principal& who,
                                                   Change& c) {
  // A role that may never submit is refused before its body is looked at.
  if (who.role != identity::Role::kAdmin && who.role != identity::Role::kSubmitter) {
    return api::errorResponse(api::authorize(who, Action::kJobSubmit, Resource::none()));
  }
  Result<json::value> parsed = parseJsonBody(req);
  if (!parsed.ok()) return api::errorResponse(parsed.status());
  json::value body = std::move(*parsed);
  Result<JobSpec> spec = jobSpecFromJson(body);
  if (!spec.ok()) return api::errorResponse(spec.status());
  c.audit.target = "project " + spec->project;
  if (Status s = api::authorize(who, Action::kJobSubmit, Resource::ofProject(spec->project));
      !s.ok()) {
    return api::errorResponse(s);
  }
  const Federation& fed = svc_.broker().federation();
  // A named project must be one of the federation's (an empty one is "no project").
  if (!spec->project.empty() && !fed.projects.empty() && !fed.findProject(spec->project)) {
    return api::errorResponse(400, "invalid_argument",
                              "project \"" + spec->project + "\" is not in the federation",
                              "project");
  }
  if (Status s = svc_.writable(); !s.ok()) return notDurable(s);
  if (Status s = svc_.reserveJobId(); !s.ok()) return notDurable(s);
  Result<broker::JobRecord> job = svc_.broker().submit(*spec, svc_.instant(), c.fx);
  if (!job.ok()) return api::errorResponse(job.status());
  c.audit.target = job->id;
  c.audit.detail = "project " + spec->project;
  return std::nullopt;
}

void RestApi::submit(const HttpRequest& req, api::Reply reply) {
  Change c;
  c.audit = auditRow(req, "job.submit");
  Result<Principal> who = authenticate(req);
  if (!who.ok()) {
    c.audit.actor = api::Authenticator::claimedTokenId(req);
    c.audit.detail = who.status().message();
    return reply(finish(c, unauthenticated(who.status())));
  }
  c.audit.actor = who->token_id;
  c.audit.actor_name = who->name;
  c.audit.role = identity::roleName(who->role);
  if (Status s = api::checkCsrf(*who, req); !s.ok()) return reply(finish(c, api::errorResponse(s)));
  if (std::optional<HttpResponse> refusal = prepareSubmit(req, *who, c)) {
    return reply(finish(c, std::move(*refusal)));
  }
  // The job and its audit row are durable together; the commit's placement tick places
  // the job, so the answer already says where it went. Submissions arriving meanwhile
  // share the transaction (group commit).
  c.audit.outcome = "ok";
  std::string id = c.audit.target;
  svc_.commitAsync(
      std::move(c.fx), {std::move(c.audit)}, [self = shared_from_this(), id, reply](Status s) {
        if (!s.ok()) return reply(notDurable(s));
        const broker::JobRecord* placed = self->svc_.broker().findJob(id);
        reply(api::jsonResponse(201, jobJson(*placed, self->svc_.broker().lastDecision(id))));
      });
}

HttpResponse RestApi::listJobs(const HttpRequest& req, const Principal& who) {
  std::optional<JobState> state;
  if (std::string st = queryParam(req, "state"); !st.empty()) {
    state = parseJobState(st);
    if (!state) {
      return api::errorResponse(400, "invalid_argument", "unknown job state \"" + st + "\"",
                                "state");
    }
  }
  std::string site = queryParam(req, "site");
  std::string project = queryParam(req, "project");
  std::string prefix = queryParam(req, "q");
  Result<size_t> limit = sizeParam(req, "limit", 100, 10000);
  if (!limit.ok()) return api::errorResponse(limit.status());
  Result<size_t> offset = sizeParam(req, "offset", 0, SIZE_MAX / 16);
  if (!offset.ok()) return api::errorResponse(offset.status());
  json::array jobs;
  size_t total = 0;  // every job matching the filters that `who` may see, ignoring paging
  for (const broker::JobRecord* j : svc_.broker().listJobs(state, site, 0, SIZE_MAX)) {
    if (!project.empty() && j->spec.project != project) continue;
    if (!prefix.empty() && !j->id.starts_with(prefix)) continue;
    if (!api::mayRead(who, *j)) continue;
    if (total >= *offset && jobs.size() < *limit) {
      jobs.push_back(jobJson(*j, svc_.broker().lastDecision(j->id)));
    }
    ++total;
  }
  return api::jsonResponse(
      200,
      json::object{
          {"jobs", std::move(jobs)}, {"total", total}, {"limit", *limit}, {"offset", *offset}});
}

HttpResponse RestApi::cancel(const std::string& id, const Principal& who, Change& c) {
  c.audit.target = id;
  const broker::JobRecord* job = visibleJob(id, who);
  if (!job) {
    // An existing job hidden from `who` is refused exactly like a missing one.
    if (svc_.broker().findJob(id)) c.outcome = "denied";
    return api::errorResponse(notFound("no job \"" + id + "\""));
  }
  if (Status s = api::authorize(who, Action::kJobCancel, Resource::ofJob(*job)); !s.ok()) {
    return api::errorResponse(s);
  }
  Result<broker::JobRecord> done = svc_.broker().cancel(id, svc_.instant(), c.fx);
  if (!done.ok()) return api::errorResponse(done.status());
  return api::jsonResponse(200, jobJson(*done, svc_.broker().lastDecision(id)));
}

HttpResponse RestApi::drain(const HttpRequest& req, const std::string& id, bool drained,
                            const Principal& who, Change& c) {
  c.audit.target = id;
  const broker::SiteRecord* site = svc_.broker().findSite(id);
  if (!site) return api::errorResponse(notFound("no site \"" + id + "\""));
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
  Instant now = svc_.instant();
  if (Status s = svc_.broker().setDrained(id, drained, now, c.fx); !s.ok()) {
    return api::errorResponse(s);
  }
  svc_.tick(now, c.fx);  // a resumed site may take waiting jobs at once
  site = svc_.broker().findSite(id);
  const SiteConfig* cfg = svc_.broker().federation().findSite(id);
  return api::jsonResponse(200,
                           siteJson(*site, *cfg, svc_.broker().reservedNodes(id), now.wall));
}

HttpResponse RestApi::setPolicy(const HttpRequest& req, const Principal& who, Change& c) {
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
  Instant now = svc_.instant();
  Status s = svc_.broker().setPolicy(*name, who.name, *reason, now.wall, c.fx);
  if (!s.ok()) {
    if (s.code() == StatusCode::kNotFound) {
      return api::errorResponse(400, "invalid_argument", s.message(), field);
    }
    return api::errorResponse(s);
  }
  bool changed = !c.fx.policy_changes.empty();
  svc_.tick(now, c.fx);  // re-examine waiting jobs under the new policy
  return api::jsonResponse(
      200, json::object{{"active", policyJson(svc_.broker().policy())}, {"changed", changed}});
}

HttpResponse RestApi::createToken(const HttpRequest& req, const Principal& who, Change& c) {
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
        "role must be one of admin, operator, viewer, submitter, site-admin (got \"" + *role_name +
            "\")",
        "role");
  }
  std::vector<std::string> scope;
  if (const json::value* sv = body->if_contains("scope"); sv && !sv->is_null()) {
    if (!sv->is_array()) {
      return api::errorResponse(400, "invalid_argument", "scope must be an array of strings",
                                "scope");
    }
    for (const json::value& v : sv->as_array()) {
      if (!v.is_string()) {
        return api::errorResponse(400, "invalid_argument", "scope must be an array of strings",
                                  "scope");
      }
      scope.emplace_back(v.get_string());
    }
  }
  if (Status s = identity::checkScope(*role, scope); !s.ok()) return api::errorResponse(s);
  const Federation& fed = svc_.broker().federation();
  for (const std::string& entry : scope) {
    bool known = *role == identity::Role::kSubmitter ? fed.findProject(entry) != nullptr
                                                     : fed.findSite(entry) != nullptr;
    if (!known) {
      return api::errorResponse(
          400, "invalid_argument",
          std::string(*role == identity::Role::kSubmitter ? "no project" : "no site") + " \"" +
              entry + "\" in the federation",
          "scope");
    }
  }
  Result<identity::NewToken> fresh = identity::generateToken();
  if (!fresh.ok()) return api::errorResponse(fresh.status());
  identity::TokenRecord t;
  t.id = fresh->id;
  t.name = *name;
  t.role = *role;
  t.scope = scope;
  t.secret_sha256 = fresh->secret_sha256;
  t.created_at = svc_.now();
  t.created_by = who.token_id;
  c.audit.target = t.id;
  c.audit.detail = std::string(identity::roleName(t.role)) + " \"" + t.name + "\"";
  if (Status s = svc_.saveToken(t); !s.ok()) return api::errorResponse(s);
  auth_.tokens().put(t);
  json::object o = tokenJson(t);
  o["token"] = fresh->text;
  HttpResponse r = api::jsonResponse(201, o);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse RestApi::revokeToken(const std::string& id, const Principal& who, Change& c) {
  c.audit.target = id;
  if (Status s = api::authorize(who, Action::kTokenManage, Resource::none()); !s.ok()) {
    return api::errorResponse(s);
  }
  const identity::TokenRecord* found = auth_.tokens().find(id);
  if (!found) return api::errorResponse(notFound("no token \"" + id + "\""));
  identity::TokenRecord t = *found;
  if (!t.revoked_at) {
    if (t.role == identity::Role::kAdmin) {
      int live_admins = 0;
      for (const identity::TokenRecord& other : auth_.tokens().list()) {
        if (other.role == identity::Role::kAdmin && !other.revoked_at) ++live_admins;
      }
      if (live_admins <= 1) {
        return api::errorResponse(failedPrecondition(
            "token " + id + " is the last admin token; create another admin token first"));
      }
    }
    t.revoked_at = svc_.now();
    if (Status s = svc_.saveToken(t); !s.ok()) return api::errorResponse(s);
    auth_.tokens().put(t);
    auth_.sessions().removeToken(id);
  }
  c.audit.detail = "\"" + t.name + "\"";
  return api::jsonResponse(200, tokenJson(t));
}

HttpResponse RestApi::decideQuarantined(const HttpRequest& req, const PathParams& p,
                                        const Principal& who, broker::QuarantineAction action,
                                        Change& c) {
  const std::string& site = p.at("site");
  const std::string& job = p.at("job");
  c.audit.target = job + "/" + p.at("attempt") + " at " + site;
  if (Status s = api::authorize(who, Action::kQuarantineDecide, Resource::ofSite(site)); !s.ok()) {
    return api::errorResponse(s);
  }
  int attempt = 0;
  auto [end, ec] = std::from_chars(p.at("attempt").data(),
                                   p.at("attempt").data() + p.at("attempt").size(), attempt);
  if (ec != std::errc() || end != p.at("attempt").data() + p.at("attempt").size() || attempt < 1) {
    return api::errorResponse(400, "invalid_argument", "attempt must be a positive integer",
                              "attempt");
  }
  Result<json::object> body = objectBody(req, /*empty_ok=*/true);
  if (!body.ok()) return api::errorResponse(body.status());
  Result<std::string> reason = optionalString(*body, "reason");
  if (!reason.ok()) return api::errorResponse(reason.status());
  c.audit.detail = *reason;
  Result<broker::QuarantinedJob> decided =
      svc_.broker().decideQuarantined(site, job, attempt, action, who.name, svc_.instant(), c.fx);
  if (!decided.ok()) return api::errorResponse(decided.status());
  return api::jsonResponse(200, quarantinedJson(*decided));
}

HttpResponse RestApi::readAudit(const HttpRequest& req) {
  Result<size_t> limit = sizeParam(req, "limit", 100, 1000);
  if (!limit.ok()) return api::errorResponse(limit.status());
  Result<size_t> before = sizeParam(req, "before", 0, size_t{1} << 62);
  if (!before.ok()) return api::errorResponse(before.status());
  store::AuditQuery q;
  q.limit = *limit;
  q.before = static_cast<int64_t>(*before);
  q.actor = queryParam(req, "actor");
  q.action = queryParam(req, "action");
  Result<std::vector<identity::AuditRecord>> rows = svc_.auditLog(q);
  if (!rows.ok()) return api::errorResponse(rows.status());
  json::array entries;
  for (const identity::AuditRecord& a : *rows) entries.push_back(auditJson(a));
  // The `before` of the next (older) page, null on the last page.
  json::value next = rows->size() == *limit && !rows->empty() ? json::value(rows->back().id)
                                                              : json::value(nullptr);
  return api::jsonResponse(200,
                           json::object{{"entries", std::move(entries)}, {"next_before", next}});
}

json::object RestApi::projectJson(const ProjectConfig& p) const {
  const broker::Broker& b = svc_.broker();
  json::array allocations;
  double allocated = 0, used = 0;
  for (const SiteConfig& s : b.federation().sites) {
    auto it = p.allocations.find(s.id);
    double site_used = b.allocationUsed(p.id, s.id);
    if (it == p.allocations.end() && site_used == 0) continue;
    double site_allocated = it == p.allocations.end() ? 0 : it->second;
    allocated += site_allocated;
    used += site_used;
    allocations.push_back(json::object{
        {"site", s.id}, {"allocated_gpu_hours", site_allocated}, {"used_gpu_hours", site_used}});
  }
  json::object jobs;
  for (const broker::JobRecord* j : b.listJobs(std::nullopt, "", 0, SIZE_MAX)) {
    if (j->spec.project != p.id) continue;
    std::string state(jobStateName(j->state));
    if (json::value* n = jobs.if_contains(state)) {
      *n = n->as_int64() + 1;
    } else {
      jobs[state] = 1;
    }
  }
  json::array countries;
  for (const std::string& c : p.allowed_countries) countries.emplace_back(c);
  return json::object{{"id", p.id},
                      {"country", p.country},
                      {"allowed_countries", std::move(countries)},
                      {"allocated_gpu_hours", allocated},
                      {"used_gpu_hours", used},
                      {"allocations", std::move(allocations)},
                      {"jobs", std::move(jobs)}};
}

void RestApi::addRoutes(api::Router& router) {
  // --- Session (console login) ---
  router.add("POST", "/api/v1/session",
             [self = shared_from_this()](const HttpRequest& req, const PathParams&) {
               return self->login(req);
             });
  read(router, "GET", "/api/v1/session",
       [](const HttpRequest&, const PathParams&, const Principal& who) {
         json::array scope;
         for (const std::string& s : who.scope) scope.emplace_back(s);
         return api::jsonResponse(
             200, json::object{{"token_id", who.token_id},
                               {"name", who.name},
                               {"role", identity::roleName(who.role)},
                               {"scope", std::move(scope)},
                               {"csrf_token", who.csrf_token},
                               {"expires_at", who.session_expires_at
                                                  ? json::value(toMillis(*who.session_expires_at))
                                                  : json::value(nullptr)}});
       });
  change(router, "DELETE", "/api/v1/session", "session.logout",
         [this](const HttpRequest&, const PathParams&, const Principal& who, Change& c) {
           c.audit.target = who.token_id;
           if (who.via_session) auth_.sessions().remove(who.session_id);
           HttpResponse r;
           r.status = 204;
           r.headers.emplace_back("Set-Cookie", api::clearedCookie(api::kSessionCookie));
           r.headers.emplace_back("Set-Cookie", api::clearedCookie(api::kCsrfCookie));
           return r;
         });

  // --- Jobs ---
  router.addAsync(
      "POST", "/api/v1/jobs",
      [self = shared_from_this()](const HttpRequest& req, const PathParams&, api::Reply reply) {
        self->submit(req, std::move(reply));
      });
  read(router, "GET", "/api/v1/jobs",
       [this](const HttpRequest& req, const PathParams&, const Principal& who) {
         return listJobs(req, who);
       });
  read(router, "GET", "/api/v1/jobs/{id}",
       [this](const HttpRequest&, const PathParams& p, const Principal& who) {
         const broker::JobRecord* job = visibleJob(p.at("id"), who);
         if (!job) return api::errorResponse(notFound("no job \"" + p.at("id") + "\""));
         return api::jsonResponse(200, jobJson(*job, svc_.broker().lastDecision(job->id)));
       });
  read(router, "GET", "/api/v1/jobs/{id}/explain",
       [this](const HttpRequest&, const PathParams& p, const Principal& who) {
         const broker::JobRecord* job = visibleJob(p.at("id"), who);
         if (!job) return api::errorResponse(notFound("no job \"" + p.at("id") + "\""));
         const broker::PlacementDecision* d = svc_.broker().lastDecision(job->id);
         std::vector<broker::PlacementDecision> stored;
         if (!d) {
           Result<std::vector<broker::PlacementDecision>> r = svc_.storedDecisions(job->id);
           if (!r.ok()) return api::errorResponse(r.status());
           stored = std::move(*r);
           if (!stored.empty()) d = &stored.back();
         }
         return api::jsonResponse(200, explainJson(*job, d));
       });
  change(router, "POST", "/api/v1/jobs/{id}/cancel", "job.cancel",
         [this](const HttpRequest&, const PathParams& p, const Principal& who, Change& c) {
           return cancel(p.at("id"), who, c);
         });

  // --- Sites ---
  read(router, "GET", "/api/v1/sites",
       [this](const HttpRequest&, const PathParams&, const Principal&) {
         json::array sites;
         Time now = svc_.now();
         for (const broker::SiteRecord& s : svc_.broker().sites()) {
           const SiteConfig* cfg = svc_.broker().federation().findSite(s.id);
           sites.push_back(siteJson(s, *cfg, svc_.broker().reservedNodes(s.id), now));
         }
         return api::jsonResponse(200, json::object{{"sites", std::move(sites)}});
       });
  read(router, "GET", "/api/v1/sites/{id}",
       [this](const HttpRequest&, const PathParams& p, const Principal&) {
         const broker::SiteRecord* s = svc_.broker().findSite(p.at("id"));
         if (!s) return api::errorResponse(notFound("no site \"" + p.at("id") + "\""));
         const SiteConfig* cfg = svc_.broker().federation().findSite(s->id);
         return api::jsonResponse(
             200, siteJson(*s, *cfg, svc_.broker().reservedNodes(s->id), svc_.now()));
       });
  change(router, "POST", "/api/v1/sites/{id}/drain", "site.drain",
         [this](const HttpRequest& req, const PathParams& p, const Principal& who, Change& c) {
           return drain(req, p.at("id"), true, who, c);
         });
  change(router, "POST", "/api/v1/sites/{id}/resume", "site.resume",
         [this](const HttpRequest& req, const PathParams& p, const Principal& who, Change& c) {
           return drain(req, p.at("id"), false, who, c);
         });

  // --- Policy ---
  read(router, "GET", "/api/v1/policy",
       [this](const HttpRequest&, const PathParams&, const Principal&) {
         const broker::Broker& b = svc_.broker();
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
  read(router, "GET", "/api/v1/policy/history",
       [this](const HttpRequest&, const PathParams&, const Principal&) {
         Result<std::vector<broker::PolicyChange>> changes = svc_.policyChanges();
         if (!changes.ok()) return api::errorResponse(changes.status());
         json::array history;
         for (const broker::PolicyChange& c : *changes) history.push_back(policyChangeJson(c));
         return api::jsonResponse(200, json::object{{"history", std::move(history)}});
       });
  change(router, "PUT", "/api/v1/policy", "policy.set",
         [this](const HttpRequest& req, const PathParams&, const Principal& who, Change& c) {
           return setPolicy(req, who, c);
         });

  // --- Projects ---
  read(router, "GET", "/api/v1/projects",
       [this](const HttpRequest&, const PathParams&, const Principal& who) {
         json::array projects;
         for (const ProjectConfig& p : svc_.broker().federation().projects) {
           if (!api::authorize(who, Action::kProjectRead, Resource::ofProject(p.id)).ok()) {
             continue;
           }
           projects.push_back(projectJson(p));
         }
         return api::jsonResponse(200, json::object{{"projects", std::move(projects)}});
       });
  read(router, "GET", "/api/v1/projects/{id}",
       [this](const HttpRequest&, const PathParams& p, const Principal& who) {
         const ProjectConfig* project = svc_.broker().federation().findProject(p.at("id"));
         // A project outside a submitter's scope is as absent as an unknown one.
         if (!project ||
             !api::authorize(who, Action::kProjectRead, Resource::ofProject(project->id)).ok()) {
           return api::errorResponse(notFound("no project \"" + p.at("id") + "\""));
         }
         return api::jsonResponse(200, projectJson(*project));
       });

  // --- Tokens ---
  read(router, "GET", "/api/v1/tokens",
       [this](const HttpRequest&, const PathParams&, const Principal& who) {
         if (Status s = api::authorize(who, Action::kTokenManage, Resource::none()); !s.ok()) {
           return api::errorResponse(s);
         }
         json::array tokens;
         for (const identity::TokenRecord& t : auth_.tokens().list())
           tokens.push_back(tokenJson(t));
         return api::jsonResponse(200, json::object{{"tokens", std::move(tokens)}});
       });
  change(router, "POST", "/api/v1/tokens", "token.create",
         [this](const HttpRequest& req, const PathParams&, const Principal& who, Change& c) {
           return createToken(req, who, c);
         });
  change(router, "DELETE", "/api/v1/tokens/{id}", "token.revoke",
         [this](const HttpRequest&, const PathParams& p, const Principal& who, Change& c) {
           return revokeToken(p.at("id"), who, c);
         });

  // --- Audit ---
  read(router, "GET", "/api/v1/audit",
       [this](const HttpRequest& req, const PathParams&, const Principal& who) {
         if (Status s = api::authorize(who, Action::kAuditRead, Resource::none()); !s.ok()) {
           return api::errorResponse(s);
         }
         return readAudit(req);
       });

  // --- Quarantine (coordinator/broker/quarantine.h) ---
  read(router, "GET", "/api/v1/quarantine",
       [this](const HttpRequest&, const PathParams&, const Principal& who) {
         if (Status s = api::authorize(who, Action::kQuarantineRead, Resource::none()); !s.ok()) {
           return api::errorResponse(s);
         }
         json::array entries;
         for (const broker::QuarantinedJob& q : svc_.broker().quarantined()) {
           if (api::authorize(who, Action::kQuarantineRead, Resource::ofSite(q.site)).ok()) {
             entries.push_back(quarantinedJson(q));
           }
         }
         return api::jsonResponse(200, json::object{{"quarantined", std::move(entries)}});
       });
  for (const auto& [verb, action] :
       {std::pair{"cancel", broker::QuarantineAction::kCancel},
        std::pair{"release", broker::QuarantineAction::kRelease}}) {
    change(router, "POST", std::string("/api/v1/quarantine/{site}/{job}/{attempt}/") + verb,
           std::string("quarantine.") + verb,
           [this, action = action](const HttpRequest& req, const PathParams& p,
                                   const Principal& who, Change& c) {
             return decideQuarantined(req, p, who, action, c);
           });
  }

  // --- Federation ---
  read(router, "GET", "/api/v1/federation",
       [this](const HttpRequest&, const PathParams&, const Principal&) {
         const broker::Broker& b = svc_.broker();
         json::object jobs;
         for (JobState st :
              {JobState::kQueued, JobState::kDispatched, JobState::kPending, JobState::kRunning,
               JobState::kCompleted, JobState::kFailed, JobState::kCancelled, JobState::kTimeout,
               JobState::kNodeFail, JobState::kLost}) {
           jobs[jobStateName(st)] = b.countJobs(st);
         }
         int64_t up = 0, acc_total = 0, acc_free = 0;
         Time now = svc_.now();
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
                                                    {"transport", svc_.transportStats()}});
       });
  // Public: load balancers and probes call it without a token; it reveals only counts.
  router.add(
      "GET", "/api/v1/health", [self = shared_from_this()](const HttpRequest&, const PathParams&) {
        int64_t up = 0;
        for (const broker::SiteRecord& s : self->svc_.broker().sites()) {
          if (s.state == SiteState::kUp) ++up;
        }
        int64_t total = static_cast<int64_t>(self->svc_.broker().sites().size());
        return api::jsonResponse(200, json::object{{"status", up == total ? "ok" : "degraded"},
                                                   {"sites_up", up},
                                                   {"sites_total", total}});
      });
}

}  // namespace

void addRestRoutes(api::Router& router, JobService& svc, api::Authenticator& auth) {
  // The router's handlers share the RestApi; it lives as long as they do.
  std::make_shared<RestApi>(svc, auth)->addRoutes(router);
}

}  // namespace aifed::coordinator
