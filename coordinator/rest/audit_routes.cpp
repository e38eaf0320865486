// GET /api/v1/audit: the audit log, newest first, paged by `before`, filtered by actor
// and action. Admins only.
#include "coordinator/rest/request_parsing.h"
#include "coordinator/rest/rest_context.h"
#include "coordinator/rest/rest_json.h"

namespace aifed::coordinator {

namespace {

HttpResponse readAudit(JobService& svc, const HttpRequest& req) {
  Result<size_t> limit = sizeParam(req, "limit", 100, 1000);
  if (!limit.ok()) return api::errorResponse(limit.status());
  Result<size_t> before = sizeParam(req, "before", 0, size_t{1} << 62);
  if (!before.ok()) return api::errorResponse(before.status());
  store::AuditQuery q;
  q.limit = *limit;
  q.before = static_cast<int64_t>(*before);
  q.actor = queryParam(req, "actor");
  q.action = queryParam(req, "action");
  Result<std::vector<identity::AuditRecord>> rows = svc.auditLog(q);
  if (!rows.ok()) return api::errorResponse(rows.status());
  json::array entries;
  for (const identity::AuditRecord& a : *rows) entries.push_back(auditJson(a));
  // The `before` of the next (older) page, null on the last page.
  json::value next = rows->size() == *limit && !rows->empty() ? json::value(rows->back().id)
                                                              : json::value(nullptr);
  return api::jsonResponse(200,
                           json::object{{"entries", std::move(entries)}, {"next_before", next}});
}

}  // namespace

void addAuditRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router) {
  JobService* svc = &ctx->svc();
  ctx->read(router, "GET", "/api/v1/audit",
            [svc](const HttpRequest& req, const PathParams&, const Principal& who) {
              if (Status s = api::authorize(who, api::Action::kAuditRead, api::Resource::none());
                  !s.ok()) {
                return api::errorResponse(s);
              }
              return readAudit(*svc, req);
            });
}

}  // namespace aifed::coordinator
