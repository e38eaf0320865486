// /api/v1/arrays: job arrays (docs/api.md, "Arrays"): one array with its tasks counted by
// state and site, the list, and the array-wide cancel. Arrays are submitted through
// POST /api/v1/jobs with "array" (job_routes.cpp). An array is visible to whoever may
// read its tasks (they share owner and project).
#include <memory>

#include "coordinator/rest/request_parsing.h"
#include "coordinator/rest/rest_context.h"
#include "coordinator/rest/rest_json.h"

namespace aifed::coordinator {

namespace {

class ArrayRoutes {
 public:
  explicit ArrayRoutes(std::shared_ptr<RestContext> ctx) : ctx_(std::move(ctx)) {}

  HttpResponse show(const std::string& id, const Principal& who) {
    std::vector<const broker::JobRecord*> tasks;
    const broker::ArrayRecord* a = visible(id, who, tasks);
    if (!a) return api::errorResponse(notFound("no array \"" + id + "\""));
    return api::jsonResponse(200, arrayJson(*a, tasks));
  }

  HttpResponse list(const HttpRequest& req, const Principal& who) {
    Result<size_t> limit = sizeParam(req, "limit", 100, 1000);
    if (!limit.ok()) return api::errorResponse(limit.status());
    Result<size_t> offset = sizeParam(req, "offset", 0, SIZE_MAX / 16);
    if (!offset.ok()) return api::errorResponse(offset.status());
    broker::Broker& b = ctx_->svc().broker();
    std::vector<const broker::ArrayRecord*> all = b.listArrays();
    json::array arrays;
    size_t total = 0;
    for (auto it = all.rbegin(); it != all.rend(); ++it) {  // newest first
      std::vector<const broker::JobRecord*> tasks;
      if (!visible((*it)->id, who, tasks)) continue;
      if (total >= *offset && arrays.size() < *limit) arrays.push_back(arrayJson(**it, tasks));
      ++total;
    }
    return api::jsonResponse(200, json::object{{"arrays", std::move(arrays)},
                                               {"total", total},
                                               {"limit", *limit},
                                               {"offset", *offset}});
  }

  HttpResponse cancel(const std::string& id, const Principal& who, Change& c) {
    c.audit.target = id;
    std::vector<const broker::JobRecord*> tasks;
    const broker::ArrayRecord* a = visible(id, who, tasks);
    if (!a) {
      if (ctx_->svc().broker().findArray(id)) c.outcome = "denied";
      return api::errorResponse(notFound("no array \"" + id + "\""));
    }
    if (Status s = api::authorize(who, Action::kJobCancel, Resource::ofJob(*tasks.front()));
        !s.ok()) {
      return api::errorResponse(s);
    }
    broker::Broker& b = ctx_->svc().broker();
    std::string by = who.user.empty() ? who.token_id : who.user;
    Result<broker::ArrayRecord> done =
        b.cancelArray(id, "cancelled by " + by, ctx_->svc().instant(), c.fx);
    if (!done.ok()) return api::errorResponse(done.status());
    c.audit.detail = std::to_string(done->tasks) + " tasks";
    return api::jsonResponse(200, arrayJson(*done, b.arrayTasks(id)));
  }

 private:
  // The array and its tasks if it exists and `who` may read its tasks; else null.
  const broker::ArrayRecord* visible(const std::string& id, const Principal& who,
                                     std::vector<const broker::JobRecord*>& tasks) {
    broker::Broker& b = ctx_->svc().broker();
    const broker::ArrayRecord* a = b.findArray(id);
    if (!a) return nullptr;
    tasks = b.arrayTasks(id);
    if (tasks.empty() || !api::mayRead(who, *tasks.front())) return nullptr;
    return a;
  }

  std::shared_ptr<RestContext> ctx_;
};

}  // namespace

void addArrayRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router) {
  auto arrays = std::make_shared<ArrayRoutes>(ctx);
  ctx->read(router, "GET", "/api/v1/arrays",
            [arrays](const HttpRequest& req, const PathParams&, const Principal& who) {
              return arrays->list(req, who);
            });
  ctx->read(router, "GET", "/api/v1/arrays/{id}",
            [arrays](const HttpRequest&, const PathParams& p, const Principal& who) {
              return arrays->show(p.at("id"), who);
            });
  ctx->change(router, "POST", "/api/v1/arrays/{id}/cancel", "array.cancel",
              [arrays](const HttpRequest&, const PathParams& p, const Principal& who, Change& c) {
                return arrays->cancel(p.at("id"), who, c);
              });
}

}  // namespace aifed::coordinator
