// POST /api/v1/admin/reload: the federation file re-read without a restart (admins only;
// docs/api.md, docs/operations.md "Reloading the federation file"). The same as SIGHUP,
// answered: 200 with what changed, or 422 naming the file, the line and the reason (the
// old federation stays in force). Audited as "federation-reloaded" with the diff.
#include "coordinator/rest/rest_context.h"

namespace aifed::coordinator {

namespace {

HttpResponse reload(JobService& svc, const Principal& who, Change& c) {
  if (Status s = api::authorize(who, Action::kFederationReload, Resource::none()); !s.ok()) {
    return api::errorResponse(s);
  }
  Result<json::object> diff = svc.reloadFederation(c.fx);
  if (!diff.ok()) {
    const Status& s = diff.status();
    std::string code = s.code() == StatusCode::kFailedPrecondition ? "failed_precondition"
                                                                    : "invalid_argument";
    return api::errorResponse(422, code, s.message(), s.field());
  }
  c.audit.detail = json::serialize(*diff);
  return api::jsonResponse(200, *diff);
}

}  // namespace

void addAdminRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router) {
  JobService* svc = &ctx->svc();
  // The body is optional and ignored: the file named by federation_file is read.
  ctx->change(router, "POST", "/api/v1/admin/reload", "federation-reloaded",
              [svc](const HttpRequest&, const PathParams&, const Principal& who, Change& c) {
                return reload(*svc, who, c);
              });
}

}  // namespace aifed::coordinator
