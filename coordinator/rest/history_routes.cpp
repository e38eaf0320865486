// GET /api/v1/history (a site's samples, or the federation's totals) and
// GET /api/v1/sites/{id}/events (its state transitions, newest first): the console's
// charts and health timeline (docs/api.md, "History"). Every role may read them, as it
// may read the sites. The history is read off the event loop: summing a federation's
// samples over days reads every site's rows.
#include <chrono>
#include <cstdio>

#include "coordinator/rest/request_parsing.h"
#include "coordinator/rest/rest_context.h"
#include "coordinator/rest/rest_json.h"

namespace aifed::coordinator {

namespace {

// More points than a chart has pixels are thinned to every k-th sample (the last kept).
constexpr size_t kMaxPoints = 2000;
constexpr Duration kDefaultWindow = std::chrono::hours(24);

}  // namespace

// "2026-12-07T14:05:00Z" (".250" before the Z when the milliseconds are not zero).
std::string formatRfc3339(Time t) {
  auto day = std::chrono::floor<std::chrono::days>(t);
  std::chrono::year_month_day ymd{day};
  std::chrono::hh_mm_ss<Duration> hms{t - day};
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", int(ymd.year()),
                        unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                        int(hms.minutes().count()), int(hms.seconds().count()));
  std::string out(buf, static_cast<size_t>(n));
  if (int64_t ms = hms.subseconds().count(); ms != 0) {
    std::snprintf(buf, sizeof buf, ".%03d", int(ms));
    out += buf;
  }
  return out + "Z";
}

// RFC 3339 with seconds: "2026-12-07T14:05:00Z", "...T14:05:00.5+01:00"; nullopt else.
std::optional<Time> parseRfc3339(std::string_view s) {
  auto num = [&s](size_t at, size_t len) -> std::optional<int> {
    if (at + len > s.size()) return std::nullopt;
    int v = 0;
    for (size_t i = at; i < at + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
       se = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !se || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  std::chrono::year_month_day ymd{std::chrono::year(*y), std::chrono::month(unsigned(*mo)),
                                  std::chrono::day(unsigned(*d))};
  if (!ymd.ok() || *h > 23 || *mi > 59 || *se > 60) return std::nullopt;
  size_t i = 19;
  int64_t ms = 0;
  if (i < s.size() && s[i] == '.') {
    int64_t scale = 100;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, scale /= 10) ms += (s[i] - '0') * scale;
  }
  int64_t offset_min = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    auto oh = num(i + 1, 2), om = num(i + 4, 2);
    if (!oh || !om || i + 3 >= s.size() || s[i + 3] != ':') return std::nullopt;
    offset_min = (s[i] == '-' ? -1 : 1) * (*oh * 60 + *om);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  Time t = std::chrono::sys_days(ymd) + std::chrono::hours(*h) + std::chrono::minutes(*mi) +
           std::chrono::seconds(*se) + Duration(ms);
  return t - std::chrono::minutes(offset_min);
}

namespace {

// The `name` query parameter as an instant, `dflt` when absent, or a 400 naming it.
Result<Time> timeParam(const HttpRequest& req, const char* name, Time dflt) {
  std::string text = queryParam(req, name);
  if (text.empty()) return dflt;
  if (std::optional<Time> t = parseRfc3339(text)) return *t;
  return invalidArgument(std::string(name) + " must be an RFC 3339 time such as "
                         "2026-12-07T14:00:00Z, got \"" + text + "\"", name);
}

// Every k-th of `points` (and the last) when there are more than kMaxPoints.
void thin(json::array& points) {
  if (points.size() <= kMaxPoints) return;
  size_t step = (points.size() + kMaxPoints - 1) / kMaxPoints;
  json::array kept;
  for (size_t i = 0; i < points.size(); i += step) kept.push_back(std::move(points[i]));
  if ((points.size() - 1) % step != 0) kept.push_back(std::move(points.back()));
  points = std::move(kept);
}

json::object pointJson(const store::HistorySample& s) {
  return json::object{{"t", formatRfc3339(s.t)},
                      {"state", s.state},
                      {"accelerators_total", s.accelerators_total},
                      {"accelerators_used", s.accelerators_used},
                      {"accelerators_free", s.accelerators_free},
                      {"nodes_total", s.nodes_total},
                      {"nodes_idle", s.nodes_idle},
                      {"pending_jobs", s.pending_jobs},
                      {"pending_node_hours", s.pending_node_hours},
                      {"running_jobs", s.running_jobs},
                      {"stale", s.stale}};
}

// The federation at one instant: "up" while any site is up (draining and maintenance
// count as up), stale when any site's figures were stale (and left out of the sums).
json::object pointJson(const store::FederationSample& f) {
  return json::object{{"t", formatRfc3339(f.t)},
                      {"state", f.sites_up > 0 ? "up" : "unreachable"},
                      {"accelerators_total", f.accelerators_total},
                      {"accelerators_used", f.accelerators_used},
                      {"accelerators_free", f.accelerators_free},
                      {"nodes_total", f.nodes_total},
                      {"nodes_idle", f.nodes_idle},
                      {"pending_jobs", f.pending_jobs},
                      {"pending_node_hours", f.pending_node_hours},
                      {"running_jobs", f.running_jobs},
                      {"stale", f.sites_stale > 0},
                      {"sites", f.sites},
                      {"sites_up", f.sites_up},
                      {"sites_stale", f.sites_stale}};
}

// One GET /api/v1/history: what was asked, then (off the event loop) what was read.
struct HistoryRead {
  std::string site;
  Time since{}, until{};
  Status status;
  json::array points;
};

void readPoints(store::CoordinatorStore& st, HistoryRead& r) {
  if (!r.site.empty()) {
    Result<std::vector<store::HistorySample>> rows = st.siteHistory(r.site, r.since, r.until);
    if (!rows.ok()) {
      r.status = rows.status();
      return;
    }
    for (const store::HistorySample& s : *rows) r.points.push_back(pointJson(s));
  } else {
    Result<std::vector<store::FederationSample>> rows = st.federationHistory(r.since, r.until);
    if (!rows.ok()) {
      r.status = rows.status();
      return;
    }
    for (const store::FederationSample& f : *rows) r.points.push_back(pointJson(f));
  }
  thin(r.points);
}

HttpResponse historyResponse(const HistoryAccess& h, HistoryRead& r) {
  if (!r.status.ok()) return api::errorResponse(r.status);
  using Seconds = std::chrono::duration<double>;
  return api::jsonResponse(
      200, json::object{{"interval_s", Seconds(h.interval).count()},
                        {"retention_s", Seconds(h.retention).count()},
                        {"site", r.site.empty() ? json::value(nullptr) : json::value(r.site)},
                        {"since", formatRfc3339(r.since)},
                        {"until", formatRfc3339(r.until)},
                        {"points", std::move(r.points)}});
}

// Asynchronous: the rows are read (and a federation's summed) off the event loop when
// the daemon offers it (HistoryAccess::off_loop), and the answer follows.
void readHistory(RestContext& ctx, const HttpRequest& req, api::Reply reply) {
  Result<Principal> who = ctx.authenticate(req);
  if (!who.ok()) return reply(unauthenticated(who.status()));
  JobService& svc = ctx.svc();
  auto r = std::make_shared<HistoryRead>();
  r->site = queryParam(req, "site");
  if (!r->site.empty() && !svc.broker().findSite(r->site)) {
    return reply(api::errorResponse(notFound("no site \"" + r->site + "\"")));
  }
  Result<Time> until = timeParam(req, "until", svc.now());
  if (!until.ok()) return reply(api::errorResponse(until.status()));
  Result<Time> since = timeParam(req, "since", *until - kDefaultWindow);
  if (!since.ok()) return reply(api::errorResponse(since.status()));
  if (*since > *until) {
    return reply(api::errorResponse(invalidArgument("since must not be after until", "since")));
  }
  r->since = *since;
  r->until = *until;
  HistoryAccess h = svc.history();
  if (!h.store) return reply(historyResponse(h, *r));  // no history kept: no points
  auto done = [h, r, reply] { reply(historyResponse(h, *r)); };
  if (h.off_loop) {
    h.off_loop([r](store::CoordinatorStore& st) { readPoints(st, *r); }, std::move(done));
  } else {
    readPoints(*h.store, *r);
    done();
  }
}

HttpResponse readEvents(JobService& svc, const HttpRequest& req, const std::string& site) {
  if (!svc.broker().findSite(site)) return api::errorResponse(notFound("no site \"" + site + "\""));
  Result<size_t> limit = sizeParam(req, "limit", 100, 1000);
  if (!limit.ok()) return api::errorResponse(limit.status());
  json::array events;
  if (store::CoordinatorStore* st = svc.history().store) {
    Result<std::vector<store::SiteEvent>> rows = st->siteEvents(site, *limit);
    if (!rows.ok()) return api::errorResponse(rows.status());
    for (const store::SiteEvent& e : *rows) {
      events.push_back(json::object{{"t", formatRfc3339(e.t)},
                                    {"from", e.from},
                                    {"to", e.to},
                                    {"reason", e.reason},
                                    {"actor", e.actor}});
    }
  }
  return api::jsonResponse(200, json::object{{"events", std::move(events)}});
}

}  // namespace

void addHistoryRoutes(const std::shared_ptr<RestContext>& ctx, api::Router& router) {
  JobService* svc = &ctx->svc();
  router.addAsync("GET", "/api/v1/history",
                  [ctx](const HttpRequest& req, const PathParams&, api::Reply reply) {
                    readHistory(*ctx, req, std::move(reply));
                  });
  ctx->read(router, "GET", "/api/v1/sites/{id}/events",
            [svc](const HttpRequest& req, const PathParams& p, const Principal&) {
              return readEvents(*svc, req, p.at("id"));
            });
}

}  // namespace aifed::coordinator
