// The event hub of /api/v1/events, without sockets: effects in, JSON frames out, time
// given explicitly.
#include "coordinator/api/events.h"

#include <gtest/gtest.h>

#include "common/ids.h"

namespace aifed::api {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

broker::SiteRecord site(std::string id, SiteState state, int64_t placed = 0) {
  broker::SiteRecord s;
  s.id = std::move(id);
  s.state = state;
  s.jobs_placed = placed;
  return s;
}

broker::JobRecord job(std::string id, JobState state, std::string project = "p") {
  broker::JobRecord j;
  j.id = std::move(id);
  j.state = state;
  j.spec.project = std::move(project);
  return j;
}

class EventHubTest : public ::testing::Test {
 protected:
  EventHubTest() : hub_(renderers(), options()) {
    std::vector<broker::SiteRecord> sites = {site("a", SiteState::kUp),
                                             site("b", SiteState::kUnknown)};
    broker::JobRecord old = job("j-1", JobState::kRunning);
    hub_.seed(sites, {&old});
  }
  static EventRenderers renderers() {
    EventRenderers r;
    r.site = [](const broker::SiteRecord& s) {
      return json::object{
          {"id", s.id}, {"state", siteStateName(s.state)}, {"jobs_placed", s.jobs_placed}};
    };
    r.job = [](const broker::JobRecord& j) {
      return json::object{{"id", j.id}, {"state", jobStateName(j.state)}};
    };
    r.federation = [] { return json::object{{"name", "test"}}; };
    return r;
  }
  static EventHubOptions options() {
    EventHubOptions o;
    o.site_interval = milliseconds(500);
    o.max_queued = 8;
    return o;
  }
  static Time at(int64_t ms) { return fromMillis(1'800'000'000'000 + ms); }
  std::vector<json::object> frames(EventHub::SubscriberId id) {
    std::vector<json::object> out;
    EventHub::Delivery d = hub_.take(id);
    EXPECT_FALSE(d.overflowed);
    for (const std::string& f : d.frames) out.push_back(json::parse(f).as_object());
    return out;
  }

  EventHub hub_;
};

TEST_F(EventHubTest, SnapshotOnSubscribeListsEverySiteInOrder) {
  EventHub::SubscriberId id = hub_.subscribe(nullptr, at(0));
  std::vector<json::object> f = frames(id);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].at("type"), "snapshot");
  const json::array& sites = f[0].at("sites").as_array();
  ASSERT_EQ(sites.size(), 2u);
  EXPECT_EQ(sites[0].at("id"), "a");
  EXPECT_EQ(sites[1].at("id"), "b");
  EXPECT_EQ(f[0].at("federation").at("name"), "test");
  EXPECT_TRUE(frames(id).empty()) << "take() empties the queue";
}

TEST_F(EventHubTest, JobTransitionsCarryFromAndToAndSkipUnchangedStates) {
  EventHub::SubscriberId id = hub_.subscribe(nullptr, at(0));
  frames(id);
  broker::Effects fx;
  fx.jobs = {job("j-1", JobState::kCompleted), job("j-2", JobState::kDispatched)};
  hub_.publish(fx, at(10));
  std::vector<json::object> f = frames(id);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].at("type"), "job");
  EXPECT_EQ(f[0].at("job").at("id"), "j-1");
  EXPECT_EQ(f[0].at("from"), "running");  // from the seed
  EXPECT_EQ(f[0].at("to"), "completed");
  EXPECT_TRUE(f[1].at("from").is_null()) << "a job the hub never saw";
  EXPECT_EQ(f[1].at("to"), "dispatched");

  // A record that changed but kept its state (e.g. cancel_requested) is no transition.
  broker::Effects same;
  broker::JobRecord j2 = job("j-2", JobState::kDispatched);
  j2.cancel_requested = true;
  same.jobs = {j2};
  hub_.publish(same, at(20));
  EXPECT_TRUE(frames(id).empty());

  broker::Effects next;
  next.jobs = {job("j-2", JobState::kRunning)};
  hub_.publish(next, at(30));
  f = frames(id);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].at("from"), "dispatched");
  EXPECT_EQ(f[0].at("to"), "running");
  EXPECT_EQ(hub_.knownState("j-2"), JobState::kRunning);
}

TEST_F(EventHubTest, TransitionsAreTrackedWithoutSubscribers) {
  broker::Effects fx;
  fx.jobs = {job("j-5", JobState::kPending)};
  hub_.publish(fx, at(0));
  EventHub::SubscriberId id = hub_.subscribe(nullptr, at(1));
  frames(id);
  fx.jobs = {job("j-5", JobState::kRunning)};
  hub_.publish(fx, at(2));
  std::vector<json::object> f = frames(id);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].at("from"), "pending");
}

TEST_F(EventHubTest, FilterDecidesWhichJobsASubscriberSees) {
  EventHub::SubscriberId all = hub_.subscribe(nullptr, at(0));
  EventHub::SubscriberId mine =
      hub_.subscribe([](const broker::JobRecord& j) { return j.spec.project == "mine"; }, at(0));
  frames(all);
  frames(mine);
  broker::Effects fx;
  fx.jobs = {job("j-10", JobState::kQueued, "mine"), job("j-11", JobState::kQueued, "theirs")};
  fx.sites = {site("a", SiteState::kSuspect)};
  hub_.publish(fx, at(5));
  std::vector<json::object> a = frames(all);
  std::vector<json::object> m = frames(mine);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(m.size(), 2u) << "one job and the site";
  EXPECT_EQ(m[0].at("job").at("id"), "j-10");
  EXPECT_EQ(m[1].at("type"), "site") << "site frames go to every subscriber";
}

TEST_F(EventHubTest, SiteUpdatesAreCoalescedToOnePerSitePerInterval) {
  EventHub::SubscriberId id = hub_.subscribe(nullptr, at(0));
  frames(id);
  auto publishSite = [&](const std::string& s, int64_t placed, int64_t ms) {
    broker::Effects fx;
    fx.sites = {site(s, SiteState::kUp, placed)};
    hub_.publish(fx, at(ms));
  };
  publishSite("a", 1, 1000);  // first change: sent at once
  std::vector<json::object> f = frames(id);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].at("site").at("jobs_placed"), 1);

  publishSite("a", 2, 1100);  // within 500 ms of the last frame: held
  publishSite("a", 3, 1200);  // replaces the held one
  publishSite("b", 7, 1200);  // another site has its own interval: sent
  f = frames(id);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].at("site").at("id"), "b");
  ASSERT_TRUE(hub_.nextFlush().has_value());
  EXPECT_EQ(*hub_.nextFlush(), at(1500));

  hub_.flush(at(1499));
  EXPECT_TRUE(frames(id).empty()) << "not due yet";
  hub_.flush(at(1500));
  f = frames(id);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].at("site").at("jobs_placed"), 3) << "latest wins";
  EXPECT_FALSE(hub_.nextFlush().has_value());

  publishSite("a", 4, 2100);  // 600 ms after the last frame: at once
  EXPECT_EQ(frames(id).size(), 1u);
}

TEST_F(EventHubTest, SnapshotShowsTheLatestSiteRecords) {
  broker::Effects fx;
  fx.sites = {site("b", SiteState::kUp, 9)};
  hub_.publish(fx, at(0));  // nobody listens: nothing queued, the record is kept
  EXPECT_FALSE(hub_.nextFlush().has_value());
  EventHub::SubscriberId id = hub_.subscribe(nullptr, at(1));
  std::vector<json::object> f = frames(id);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].at("sites").as_array()[1].at("jobs_placed"), 9);
  EXPECT_EQ(f[0].at("sites").as_array()[1].at("state"), "up");
}

TEST_F(EventHubTest, ASlowSubscriberOverflowsAndIsDropped) {
  EventHub::SubscriberId slow = hub_.subscribe(nullptr, at(0));
  EventHub::SubscriberId fast = hub_.subscribe(nullptr, at(0));
  for (int i = 0; i < 10; ++i) {
    broker::Effects fx;
    fx.jobs = {job(common::formatJobId(100 + i), JobState::kQueued)};
    hub_.publish(fx, at(i));
    if (i % 4 == 0) frames(fast);
  }
  EventHub::Delivery d = hub_.take(slow);
  EXPECT_TRUE(d.overflowed);
  EXPECT_TRUE(d.frames.empty());
  EXPECT_EQ(hub_.subscriberCount(), 1u) << "the slow one is gone";
  EXPECT_FALSE(hub_.take(fast).overflowed);
  EXPECT_FALSE(hub_.take(slow).overflowed) << "reported once, then unknown";
  hub_.unsubscribe(fast);
  EXPECT_EQ(hub_.subscriberCount(), 0u);
}

}  // namespace
}  // namespace aifed::api
