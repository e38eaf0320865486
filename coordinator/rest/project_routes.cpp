// /api/v1/projects: each project's allocations and use per site, and its jobs by state.
// A submitter sees only the projects in its scope.
#include "coordinator/rest/rest_context.h"
#include "coordinator/rest/rest_json.h"
#include "protocol/codec.h"

namespace aifed::coordinator {

namespace {

json::object projectJson(const broker::Broker& b, const ProjectConfig& p) {
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

bool mayRead(const Principal& who, const ProjectConfig& p) {
  return api::authorize(who, Action::kProjectRead, Resource::ofProject(p.id)).ok();
}

}  // namespace

void addProjectRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router) {
  JobService* svc = &ctx->svc();
  ctx->read(router, "GET", "/api/v1/projects",
            [svc](const HttpRequest&, const PathParams&, const Principal& who) {
              const broker::Broker& b = svc->broker();
              json::array projects;
              for (const ProjectConfig& p : b.federation().projects) {
                if (mayRead(who, p)) projects.push_back(projectJson(b, p));
              }
              return api::jsonResponse(200, json::object{{"projects", std::move(projects)}});
            });
  ctx->read(router, "GET", "/api/v1/projects/{id}",
            [svc](const HttpRequest&, const PathParams& p, const Principal& who) {
              const broker::Broker& b = svc->broker();
              const ProjectConfig* project = b.federation().findProject(p.at("id"));
              // A project outside a submitter's scope is as absent as an unknown one.
              if (!project || !mayRead(who, *project)) {
                return api::errorResponse(notFound("no project \"" + p.at("id") + "\""));
              }
              return api::jsonResponse(200, projectJson(b, *project));
            });
}

}  // namespace aifed::coordinator
