#include "coordinator/rest/rest_api.h"

#include "coordinator/rest/rest_context.h"

namespace aifed::coordinator {

void addRestRoutes(api::Router& router, JobService& svc, api::Authenticator& auth) {
  // Every route's handler shares the context; it lives as long as they do.
  auto ctx = std::make_shared<RestContext>(svc, auth);
  addSessionRoutes(ctx, router);
  addJobRoutes(ctx, router);
  addArrayRoutes(ctx, router);
  addPlanRoutes(ctx, router);
  addOutputRoutes(ctx, router);
  addSiteRoutes(ctx, router);
  addMaintenanceRoutes(ctx, router);
  addPolicyRoutes(ctx, router);
  addProjectRoutes(ctx, router);
  addTokenRoutes(ctx, router);
  addAuditRoutes(ctx, router);
  addQuarantineRoutes(ctx, router);
  addHistoryRoutes(ctx, router);
  addAdminRoutes(ctx, router);
}

}  // namespace aifed::coordinator
