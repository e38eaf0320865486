#include "coordinator/rest/job_intake.h"

#include <algorithm>
#include <cctype>

#include "coordinator/rest/request_parsing.h"
#include "protocol/codec.h"

namespace aifed::coordinator {
namespace {

bool submitsForProjects(identity::Role role) {
  return role == identity::Role::kSubmitter || role == identity::Role::kPortal;
}

// The owner is the authenticated user; naming another one is the admin's and the
// portal's privilege (docs/security.md, "Job owners").
Status applyOwner(const api::Principal& who, JobSpec& spec) {
  if (spec.user.empty()) spec.user = who.user;
  if (spec.user.empty()) {
    return Status(StatusCode::kPermissionDenied,
                  "token " + who.token_id +
                      " belongs to no user (made before tokens had users, with a name that is "
                      "not a user name): name the job's user, or ask an admin for a token with a "
                      "user",
                  "user");
  }
  return api::authorize(who, api::Action::kJobSubmit,
                        api::Resource::ofSubmission(spec.project, spec.user));
}

// Case-insensitive spellings made canonical before the spec is read (which accepts only
// them): gpu_type lower-case ("H100" is "h100"), allowed_countries upper-case.
void canonicalSpellings(boost::json::value& body) {
  boost::json::object* o = body.if_object();
  if (!o) return;
  if (boost::json::string* t = o->contains("gpu_type") ? (*o)["gpu_type"].if_string() : nullptr) {
    for (char& c : *t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  boost::json::array* countries =
      o->contains("allowed_countries") ? (*o)["allowed_countries"].if_array() : nullptr;
  if (!countries) return;
  for (boost::json::value& v : *countries) {
    if (boost::json::string* s = v.if_string()) {
      for (char& c : *s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
}

}  // namespace

Status readSubmission(const api::HttpRequest& req, const api::Principal& who, const Federation& fed,
                      JobSpec& spec, boost::json::value* body_out) {
  // A role that may never submit is refused before its body is looked at.
  if (who.role != identity::Role::kAdmin && !submitsForProjects(who.role)) {
    Status s = api::authorize(who, api::Action::kJobSubmit, api::Resource::none());
    if (s.ok()) s = Status(StatusCode::kPermissionDenied, "this token may not submit jobs");
    return s;
  }
  Result<boost::json::value> body = parseJsonBody(req);
  if (!body.ok()) return body.status();
  canonicalSpellings(*body);
  Result<JobSpec> parsed = jobSpecFromJson(*body);
  if (!parsed.ok()) return parsed.status();
  spec = std::move(*parsed);
  if (body_out) *body_out = std::move(*body);
  if (spec.project.empty() && submitsForProjects(who.role) && who.scope.size() == 1) {
    spec.project = who.scope.front();
  }
  if (Status s = applyOwner(who, spec); !s.ok()) return s;
  // A named project must be one of the federation's (an empty one is "no project").
  if (!spec.project.empty() && !fed.projects.empty() && !fed.findProject(spec.project)) {
    return invalidArgument("project \"" + spec.project + "\" is not in the federation", "project");
  }
  return Status::Ok();
}

std::string canonicalJobId(std::string_view id) {
  if (!id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    return "j-" + std::string(id);
  }
  return std::string(id);
}

}  // namespace aifed::coordinator
