// Job intake as POST /api/v1/jobs and POST /api/v1/jobs/plan share it: the body read as
// a job spec, the owner and project filled in, spellings made canonical, and the request
// authorized as a submission (docs/api.md, "Submit a job" and "Plan before submit").
//
//   JobSpec spec;
//   Status s = readSubmission(req, who, federation, spec);
//   if (!s.ok()) return api::errorResponse(s);                   // 400 or 403
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "coordinator/api/auth.h"
#include "coordinator/api/http_server.h"
#include "protocol/federation.h"
#include "protocol/status.h"
#include "protocol/types.h"

namespace aifed::coordinator {

// The spec a submission by `who` would queue, before the broker's own checks, into `spec`
// (on a refusal, as far as it was read):
//  - a role that may never submit is refused (kPermissionDenied) before the body is read;
//  - the owner is `who`'s user unless the body names another one `who` may submit for
//    (admin, portal; kPermissionDenied otherwise, field "user");
//  - without "project", a token whose scope names exactly one project submits for it;
//  - gpu_type is lower-cased, allowed_countries upper-cased (stored so);
//  - a named project must be the federation's (kInvalidArgument, field "project").
// Any other body error is kInvalidArgument with its field.
// `body`, when given, receives the request's JSON (POST /api/v1/jobs reads its "array").
Status readSubmission(const api::HttpRequest& req, const api::Principal& who,
                      const Federation& federation, JobSpec& spec,
                      boost::json::value* body = nullptr);

// "136" -> "j-136"; any other id as given. Paths accept job ids with or without "j-".
std::string canonicalJobId(std::string_view id);

}  // namespace aifed::coordinator
