#include "coordinator/rest/rest_context.h"

#include <spdlog/spdlog.h>

#include "coordinator/rest/job_intake.h"
#include "coordinator/rest/request_parsing.h"

namespace aifed::coordinator {
namespace {

// A token's last use is written at most this often (a write per request would cost a
// transaction per submission).
constexpr Duration kLastUsePersistInterval = std::chrono::minutes(1);

}  // namespace

identity::AuditRecord RestContext::auditRow(const api::HttpRequest& req,
                                            const std::string& action) {
  identity::AuditRecord a;
  a.at = svc_.now();
  a.action = action;
  a.remote_address = req.remote_address;
  return a;
}

Result<api::Principal> RestContext::authenticate(const api::HttpRequest& req) {
  Result<api::Principal> who = auth_.authenticate(req);
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

api::HttpResponse RestContext::finish(Change& c, api::HttpResponse r) {
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

Result<api::Principal> RestContext::openChange(const api::HttpRequest& req,
                                               const std::string& action, Change& c,
                                               std::optional<api::HttpResponse>& refusal) {
  c.audit = auditRow(req, action);
  Result<api::Principal> who = authenticate(req);
  if (!who.ok()) {
    c.audit.actor = api::Authenticator::claimedTokenId(req);
    c.audit.detail = who.status().message();
    refusal = finish(c, unauthenticated(who.status()));
    return who;
  }
  c.audit.actor = who->token_id;
  c.audit.actor_name = who->name == who->user || who->user.empty()
                           ? who->name
                           : who->name + " (user " + who->user + ")";
  c.audit.role = identity::roleName(who->role);
  if (Status s = api::checkCsrf(*who, req); !s.ok()) {
    refusal = finish(c, api::errorResponse(s));
    return s;
  }
  return who;
}

void RestContext::read(api::Router& router, std::string method, std::string pattern,
                       ReadHandler handler) {
  router.add(std::move(method), std::move(pattern),
             [self = shared_from_this(), handler = std::move(handler)](const api::HttpRequest& req,
                                                                       const api::PathParams& p) {
               Result<api::Principal> who = self->authenticate(req);
               if (!who.ok()) return unauthenticated(who.status());
               return handler(req, p, *who);
             });
}

void RestContext::change(api::Router& router, std::string method, std::string pattern,
                         std::string action, ChangeHandler handler) {
  router.add(std::move(method), std::move(pattern),
             [self = shared_from_this(), action = std::move(action), handler = std::move(handler)](
                 const api::HttpRequest& req, const api::PathParams& p) {
               Change c;
               std::optional<api::HttpResponse> refusal;
               Result<api::Principal> who = self->openChange(req, action, c, refusal);
               if (refusal) return std::move(*refusal);
               // Refused before the handler changes anything in memory.
               if (Status s = self->svc_.writable(); !s.ok()) {
                 return self->finish(c, notDurable(s));
               }
               api::HttpResponse r = handler(req, p, *who, c);
               return self->finish(c, std::move(r));
             });
}

const broker::JobRecord* RestContext::visibleJob(const std::string& id,
                                                 const api::Principal& who) const {
  const broker::JobRecord* job = svc_.broker().findJob(canonicalJobId(id));
  return job && api::mayRead(who, *job) ? job : nullptr;
}

}  // namespace aifed::coordinator
