// GET /api/v1/history and GET /api/v1/sites/{id}/events through the router, reading a
// real store; and the site JSON's "stale".
#include <gtest/gtest.h>

#include "coordinator/rest/rest_context.h"
#include "tests/coordinator/rest_fixture.h"
#include "tests/store/test_dir.h"

namespace aifed::coordinator {
namespace {

using testing_support::RestBench;
namespace json = boost::json;

class RestHistory : public RestBench {
 protected:
  void SetUp() override {
    auto store = store::CoordinatorStore::open(dir_.file("c.db"), /*create=*/true);
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    svc_.history_access.store = store_.get();
    svc_.history_access.interval = std::chrono::seconds(60);
    svc_.history_access.retention = std::chrono::hours(24);
  }
  // Sample `s` seconds before the fake clock's now.
  Time ago(int64_t s) { return svc_.now() - std::chrono::seconds(s); }
  store::HistorySample sample(const std::string& site, Time t, int64_t used, bool stale) {
    store::HistorySample x;
    x.t = t;
    x.site = site;
    x.state = stale ? "unreachable" : "up";
    x.accelerators_total = 64;
    x.accelerators_used = used;
    x.accelerators_free = 64 - used;
    x.pending_jobs = 2;
    x.stale = stale;
    return x;
  }

  aifed::testing_support::TestDir dir_;
  std::unique_ptr<store::CoordinatorStore> store_;
};

TEST_F(RestHistory, ASitesPointsInTheirWindowWithRfc3339Times) {
  ASSERT_TRUE(store_
                  ->saveHistory({sample("site-a", ago(7200), 4, false),
                                 sample("site-a", ago(120), 8, false),
                                 sample("site-a", ago(60), 12, false),
                                 sample("site-b", ago(60), 1, false)},
                                {}, ago(100000))
                  .ok());
  // Default window: the last 24 hours, all three of site-a's.
  json::value all = call("GET", "/api/v1/history?site=site-a", 200, "", "viewer");
  EXPECT_EQ(all.at("interval_s").to_number<double>(), 60);
  EXPECT_EQ(all.at("retention_s").to_number<double>(), 86400);
  EXPECT_EQ(all.at("points").as_array().size(), 3u);
  std::string since = formatRfc3339(ago(150));
  json::value r = call("GET", "/api/v1/history?site=site-a&since=" + since, 200, "", "viewer");
  const json::array& points = r.at("points").as_array();
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].at("t").as_string(), formatRfc3339(ago(120)));
  EXPECT_EQ(points[0].at("accelerators_used").as_int64(), 8);
  EXPECT_EQ(points[1].at("accelerators_free").as_int64(), 52);
  EXPECT_EQ(points[1].at("state").as_string(), "up");
  EXPECT_EQ(points[1].at("stale").as_bool(), false);
  for (const char* key : {"accelerators_total", "nodes_total", "nodes_idle", "pending_jobs",
                          "pending_node_hours", "running_jobs"}) {
    EXPECT_TRUE(points[1].as_object().contains(key)) << key;
  }
}

TEST_F(RestHistory, FederationTotalsAreSummedFromTheSites) {
  ASSERT_TRUE(store_
                  ->saveHistory({sample("site-a", ago(60), 8, false),
                                 sample("site-b", ago(60), 16, false),
                                 sample("site-a", ago(0), 10, false),
                                 sample("site-b", ago(0), 30, true)},
                                {}, ago(100000))
                  .ok());
  json::value r = call("GET", "/api/v1/history", 200, "", "submitter");
  const json::array& points = r.at("points").as_array();
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].at("accelerators_total").as_int64(), 128);
  EXPECT_EQ(points[0].at("accelerators_used").as_int64(), 24);
  EXPECT_EQ(points[0].at("pending_jobs").as_int64(), 4);
  EXPECT_EQ(points[0].at("stale").as_bool(), false);
  // site-b stale: its old figures stay out of the totals, and the point says so.
  EXPECT_EQ(points[1].at("accelerators_used").as_int64(), 10);
  EXPECT_EQ(points[1].at("stale").as_bool(), true);
  EXPECT_EQ(points[1].at("sites_stale").as_int64(), 1);
  EXPECT_EQ(points[1].at("state").as_string(), "up");
}

TEST_F(RestHistory, RowsAreReadOffTheEventLoopWhenTheDaemonOffersIt) {
  ASSERT_TRUE(store_->saveHistory({sample("site-a", ago(60), 8, false)}, {}, ago(100000)).ok());
  std::vector<std::pair<std::function<void(store::CoordinatorStore&)>, std::function<void()>>> queued;
  svc_.history_access.off_loop = [&queued](auto read, auto done) {
    queued.emplace_back(std::move(read), std::move(done));
  };
  std::optional<api::HttpResponse> answer;
  router_.dispatch(request("GET", "/api/v1/history", "", "viewer"),
                   [&answer](api::HttpResponse r) { answer = std::move(r); });
  EXPECT_FALSE(answer.has_value()) << "answered before the rows were read";
  ASSERT_EQ(queued.size(), 1u);
  queued[0].first(*store_);  // the history thread
  queued[0].second();        // back on the event loop
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(json::parse(answer->body).at("points").as_array().size(), 1u);
  // Refusals need no read.
  answer.reset();
  router_.dispatch(request("GET", "/api/v1/history?until=soon"), [&answer](api::HttpResponse r) {
    answer = std::move(r);
  });
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 400);
  EXPECT_EQ(queued.size(), 1u);
}

TEST_F(RestHistory, BadParametersAreRefusedByName) {
  json::value r = call("GET", "/api/v1/history?since=yesterday", 400);
  EXPECT_EQ(r.at("error").at("field").as_string(), "since");
  r = call("GET", "/api/v1/history?since=2026-12-07T10:00:00Z&until=2026-12-07T09:00:00Z", 400);
  EXPECT_EQ(r.at("error").at("field").as_string(), "since");
  call("GET", "/api/v1/history?site=nowhere", 404);
  call("GET", "/api/v1/sites/nowhere/events", 404);
  call("GET", "/api/v1/history", 401, "", "");
  call("GET", "/api/v1/sites/site-a/events?limit=5000", 400);
}

TEST_F(RestHistory, EventsNewestFirstWithReasonAndActor) {
  ASSERT_TRUE(store_
                  ->saveHistory({},
                                {{0, ago(30), "site-a", "up", "draining", "cooling repair", "alice"},
                                 {0, ago(10), "site-a", "draining", "up", "resumed", "bob"},
                                 {0, ago(20), "site-b", "up", "suspect", "missed heartbeats",
                                  "coordinator"}},
                                ago(100000))
                  .ok());
  json::value r = call("GET", "/api/v1/sites/site-a/events", 200, "", "viewer");
  const json::array& events = r.at("events").as_array();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].at("to").as_string(), "up");
  EXPECT_EQ(events[0].at("actor").as_string(), "bob");
  EXPECT_EQ(events[1].at("from").as_string(), "up");
  EXPECT_EQ(events[1].at("to").as_string(), "draining");
  EXPECT_EQ(events[1].at("reason").as_string(), "cooling repair");
  EXPECT_EQ(events[1].at("t").as_string(), formatRfc3339(ago(30)));
  r = call("GET", "/api/v1/sites/site-a/events?limit=1", 200);
  EXPECT_EQ(r.at("events").as_array().size(), 1u);
}

TEST_F(RestHistory, Rfc3339RoundTripsAndTakesOffsets) {
  Time t = fromMillis(1'796'652'300'250);  // 2026-12-07T14:05:00.250Z
  EXPECT_EQ(formatRfc3339(t), "2026-12-07T14:05:00.250Z");
  EXPECT_EQ(parseRfc3339("2026-12-07T14:05:00.250Z"), t);
  EXPECT_EQ(parseRfc3339("2026-12-07T15:05:00.25+01:00"), t);
  EXPECT_EQ(formatRfc3339(fromMillis(1'796'652'300'000)), "2026-12-07T14:05:00Z");
  EXPECT_FALSE(parseRfc3339("2026-12-07 14:05").has_value());
  EXPECT_FALSE(parseRfc3339("2026-02-30T00:00:00Z").has_value());
}

TEST_F(RestHistory, ASiteIsStaleOnlyWhenUnreachableWithAnOldReport) {
  bringUp("site-a", 8);
  json::value s = call("GET", "/api/v1/sites/site-a", 200);
  EXPECT_EQ(s.at("stale").as_bool(), false);
  // site-b never reported: unknown, nothing current to show.
  EXPECT_EQ(call("GET", "/api/v1/sites/site-b", 200).at("stale").as_bool(), true);
  // Silent for a long time: the broker marks site-a unreachable; its report is old.
  svc_.clock.advance(std::chrono::minutes(10));
  broker::Effects fx;
  svc_.broker().tick(svc_.instant(), fx);
  s = call("GET", "/api/v1/sites/site-a", 200);
  EXPECT_EQ(s.at("state").as_string(), "unreachable");
  EXPECT_EQ(s.at("stale").as_bool(), true);
}

}  // namespace
}  // namespace aifed::coordinator
