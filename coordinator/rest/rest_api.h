// The REST API v1 handlers (docs/api.md): sessions, jobs, sites, policy, projects,
// tokens, the audit log, the federation summary and health. They run on the
// coordinator's event-loop thread and call the broker directly.
//
// Every route but `POST /api/v1/session` and `GET /api/v1/health` authenticates (bearer
// token or session cookie, coordinator/api/auth.h) and authorizes per role and scope.
// Every state-changing request, allowed or refused, leaves an audit row: committed beside
// the request's own Effects (one transaction) when it changed something, else through
// JobService::recordAudit (the next group commit, started at once when none is running).
//
//   api::Authenticator auth(clock);
//   addRestRoutes(router, service, auth);
#pragma once

#include "coordinator/api/auth.h"
#include "coordinator/api/http_server.h"
#include "coordinator/rest/job_service.h"
#include "coordinator/rest/rest_json.h"

namespace aifed::coordinator {

// Registers every v1 route of docs/api.md except metrics, events, openapi and the
// console's static files. `service` and `auth` must outlive `router`.
void addRestRoutes(api::Router& router, JobService& service, api::Authenticator& auth);

}  // namespace aifed::coordinator
