// /api/v1/sites/{id}/maintenance: declare a maintenance window (POST) and cancel one
// (DELETE). Both are audited ("site.maintenance.declare", "site.maintenance.cancel") and
// allowed to whoever may drain the site: admin and operator, and the site's own
// site-admin. The windows are listed in the site's JSON (rest_json.h).
#include <cstdio>
#include <ctime>
#include <memory>

#include "coordinator/rest/request_parsing.h"
#include "coordinator/rest/rest_context.h"
#include "coordinator/rest/rest_json.h"

namespace aifed::coordinator {

namespace {

// "2026-12-08T06:00:00Z" (UTC, seconds) or milliseconds since the Unix epoch.
Result<Time> timeMember(const json::object& body, const char* key, std::optional<Time> dflt) {
  const json::value* v = body.if_contains(key);
  if (!v || v->is_null()) {
    if (dflt) return *dflt;
    return invalidArgument(std::string(key) + " is required", key);
  }
  if (v->is_int64()) return fromMillis(v->get_int64());
  if (v->is_string()) {
    std::string text(v->get_string());
    std::tm tm{};
    char z = 0;
    int n = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon,
                        &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z);
    if (n == 7 && z == 'Z' && text.size() == 20) {
      tm.tm_year -= 1900;
      tm.tm_mon -= 1;
      return Time(std::chrono::seconds(timegm(&tm)));
    }
  }
  return invalidArgument(std::string(key) +
                             " must be a UTC time such as \"2026-12-08T06:00:00Z\" or "
                             "milliseconds since the Unix epoch",
                         key);
}

HttpResponse authorizeOn(JobService& svc, const Principal& who, const std::string& id,
                         Change& c) {
  c.audit.target = id;
  if (!svc.broker().findSite(id)) {
    return api::errorResponse(notFound("no site \"" + id + "\""));
  }
  // Declaring a window stops placements there like a drain: the same permission.
  if (Status s = api::authorize(who, Action::kSiteDrain, Resource::ofSite(id)); !s.ok()) {
    return api::errorResponse(s);
  }
  return api::jsonResponse(200, json::object{});
}

HttpResponse declare(JobService& svc, const HttpRequest& req, const std::string& id,
                     const Principal& who, Change& c) {
  if (HttpResponse r = authorizeOn(svc, who, id, c); r.status != 200) return r;
  Result<json::object> body = objectBody(req, false);
  if (!body.ok()) return api::errorResponse(body.status());
  Instant now = svc.instant();
  Result<Time> start = timeMember(*body, "start", now.wall);
  if (!start.ok()) return api::errorResponse(start.status());
  Result<Time> end = timeMember(*body, "end", std::nullopt);
  if (!end.ok()) return api::errorResponse(end.status());
  Result<std::string> reason = optionalString(*body, "reason");
  if (!reason.ok()) return api::errorResponse(reason.status());
  Result<MaintenanceWindow> w =
      svc.broker().declareMaintenance(id, *start, *end, *reason, who.name, now, c.fx);
  if (!w.ok()) return api::errorResponse(w.status());
  c.audit.detail = w->id + " " + std::to_string(toMillis(w->start)) + ".." +
                   std::to_string(toMillis(w->end)) + ": " + w->reason;
  svc.tick(now, c.fx);  // a window that starts now keeps the next placement away at once
  return api::jsonResponse(201, maintenanceWindowJson(*w));
}

HttpResponse cancel(JobService& svc, const std::string& id, const std::string& window,
                    const Principal& who, Change& c) {
  if (HttpResponse r = authorizeOn(svc, who, id, c); r.status != 200) return r;
  Instant now = svc.instant();
  Result<MaintenanceWindow> w = svc.broker().cancelMaintenance(id, window, now, c.fx);
  if (!w.ok()) return api::errorResponse(w.status());
  c.audit.detail = w->id;
  svc.tick(now, c.fx);  // the site may take waiting jobs at once
  return api::jsonResponse(200, maintenanceWindowJson(*w));
}

}  // namespace

void addMaintenanceRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router) {
  JobService* svc = &ctx->svc();
  ctx->change(router, "POST", "/api/v1/sites/{id}/maintenance", "site.maintenance.declare",
              [svc](const HttpRequest& req, const PathParams& p, const Principal& who,
                    Change& c) { return declare(*svc, req, p.at("id"), who, c); });
  ctx->change(router, "DELETE", "/api/v1/sites/{id}/maintenance/{window}",
              "site.maintenance.cancel",
              [svc](const HttpRequest&, const PathParams& p, const Principal& who, Change& c) {
                return cancel(*svc, p.at("id"), p.at("window"), who, c);
              });
}

}  // namespace aifed::coordinator
