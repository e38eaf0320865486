// What every REST route shares: the daemon's JobService and the Authenticator, and the
// two ways a route is registered. A read route authenticates and answers. A change route
// also opens an audit row, checks CSRF for cookie sessions, refuses while the database
// is read-only, and after the handler commits its Effects with the audit row in one
// transaction (or queues the row alone when nothing changed).
//
//   auto ctx = std::make_shared<RestContext>(service, auth);
//   ctx->read(router, "GET", "/api/v1/sites", [ctx](const HttpRequest&, const PathParams&,
//                                                   const Principal& who) { ... });
//   ctx->change(router, "POST", "/api/v1/jobs/{id}/cancel", "job.cancel",
//               [ctx](const HttpRequest&, const PathParams& p, const Principal& who,
//                     RestContext::Change& c) { ... });
//
// Route handlers hold the context by shared_ptr; it lives as long as the router does.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "coordinator/api/auth.h"
#include "coordinator/api/http_server.h"
#include "coordinator/rest/job_service.h"

namespace aifed::coordinator {

class RestContext : public std::enable_shared_from_this<RestContext> {
 public:
  // A state-changing request being handled: its Effects and its audit row. The handler
  // sets the row's target and detail; the outcome follows from the answer's status
  // unless the handler sets `outcome` (a hidden job's 404 is a refusal).
  struct Change {
    broker::Effects fx;
    identity::AuditRecord audit;
    std::optional<std::string> outcome;
  };
  using ReadHandler = std::function<api::HttpResponse(
      const api::HttpRequest&, const api::PathParams&, const api::Principal&)>;
  using ChangeHandler = std::function<api::HttpResponse(
      const api::HttpRequest&, const api::PathParams&, const api::Principal&, Change&)>;

  RestContext(JobService& svc, api::Authenticator& auth) : svc_(svc), auth_(auth) {}

  void read(api::Router& router, std::string method, std::string pattern, ReadHandler handler);
  void change(api::Router& router, std::string method, std::string pattern, std::string action,
              ChangeHandler handler);

  // The first half of a change: the audit row for `action`, authentication and the CSRF
  // check. The principal, or the refusal, already audited, to answer with.
  Result<api::Principal> openChange(const api::HttpRequest& req, const std::string& action,
                                    Change& c, std::optional<api::HttpResponse>& refusal);
  // The second half: sets the audit outcome from `r` and makes `c` durable (or queues
  // the audit row alone); a failed commit turns `r` into a 503.
  api::HttpResponse finish(Change& c, api::HttpResponse r);
  // Authenticates and now and then persists the token's last use.
  Result<api::Principal> authenticate(const api::HttpRequest& req);
  identity::AuditRecord auditRow(const api::HttpRequest& req, const std::string& action);
  // The job if it exists and `who` may see it; else null (the caller answers 404).
  const broker::JobRecord* visibleJob(const std::string& id, const api::Principal& who) const;

  JobService& svc() { return svc_; }
  api::Authenticator& auth() { return auth_; }

 private:
  JobService& svc_;
  api::Authenticator& auth_;
  std::map<std::string, Time> last_use_saved_;  // token id -> last_used_at last persisted
};

// The route groups, one file each; addRestRoutes (rest_api.h) registers them all.
void addSessionRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router);
void addJobRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router);
void addArrayRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router);
void addPlanRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router);
void addOutputRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router);
void addSiteRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router);
void addMaintenanceRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router);
void addPolicyRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router);
void addProjectRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router);
void addTokenRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router);
void addAuditRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router);
void addQuarantineRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router);
// GET /api/v1/history and GET /api/v1/sites/{id}/events (history_routes.cpp).
void addHistoryRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router);
// POST /api/v1/admin/reload (admin_routes.cpp).
void addAdminRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router);
// RFC 3339 UTC with "Z" (milliseconds only when not zero), and back (any offset); the
// history's times (history_routes.cpp).
std::string formatRfc3339(Time t);
std::optional<Time> parseRfc3339(std::string_view text);


// The names every route file (*_routes.cpp) uses, said once here.
namespace json = boost::json;
using api::Action;
using api::HttpRequest;
using api::HttpResponse;
using api::PathParams;
using api::Principal;
using api::Resource;
using Change = RestContext::Change;

}  // namespace aifed::coordinator
