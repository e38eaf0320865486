// The daemon's helpers for maintenance: what MAINTENANCE goes to which agent and when
// (maintenance_notices.h), and the site transition log lines (site_transition_log.h).
#include <gtest/gtest.h>

#include "coordinator/maintenance_notices.h"
#include "coordinator/site_transition_log.h"

namespace aifed::coordinator {
namespace {

using std::chrono::seconds;

MonoTime mono(int64_t s) { return MonoTime(seconds(s)); }
Time wall(int64_t s) { return fromMillis(1'800'000'000'000 + s * 1000); }

broker::SiteRecord site(std::string id, std::vector<MaintenanceWindow> windows = {}) {
  broker::SiteRecord r;
  r.id = std::move(id);
  r.maintenance = std::move(windows);
  return r;
}

broker::Effects welcomed(const std::string& id, std::string version) {
  broker::Effects fx;
  Welcome w;
  w.protocol_version = std::move(version);
  fx.messages.push_back({id, w});
  return fx;
}

const MaintenanceWindow kW1{"mw-1", wall(10), wall(100), "upgrade", "ops"};

TEST(MaintenanceNotices, AfterWelcomeTheListGoesAndIsResentUntilAcknowledged) {
  MaintenanceNotices n(seconds(3), seconds(60));
  n.seed({site("a", {kW1}), site("b")});
  EXPECT_TRUE(n.due(mono(0)).empty()) << "no session yet";
  n.observe(welcomed("a", "1.2"));
  n.observe(welcomed("b", "1.1"));  // a 1.1 agent does not know MAINTENANCE
  std::vector<MaintenanceNotices::Notice> due = n.due(mono(0));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].site, "a");
  EXPECT_EQ(due[0].body, (Maintenance{{kW1}, seconds(60)}));
  n.sent("a", "c-1", mono(0));
  EXPECT_TRUE(n.due(mono(2)).empty()) << "within the retry interval";
  ASSERT_EQ(n.due(mono(3)).size(), 1u) << "resent";
  n.sent("a", "c-2", mono(3));
  EXPECT_FALSE(n.acknowledged("a", "c-1").has_value()) << "an older one's ACK retires nothing";
  EXPECT_FALSE(n.acknowledged("b", "c-2").has_value()) << "another site's";
  EXPECT_EQ(n.acknowledged("a", "c-2"), (std::vector<std::string>{"mw-1"}));
  EXPECT_TRUE(n.upToDate("a"));
  EXPECT_TRUE(n.due(mono(10)).empty());
}

TEST(MaintenanceNotices, AChangedListGoesAtOnceAndANewSessionGetsItAgain) {
  MaintenanceNotices n(seconds(3), seconds(60));
  n.seed({site("a")});
  n.observe(welcomed("a", "1.2"));
  ASSERT_EQ(n.due(mono(0)).size(), 1u) << "even an empty list: stale windows are dropped";
  n.sent("a", "c-1", mono(0));
  ASSERT_TRUE(n.acknowledged("a", "c-1").has_value());
  broker::Effects changed;
  changed.sites = {site("a", {kW1})};
  n.observe(changed);
  ASSERT_EQ(n.due(mono(1)).size(), 1u);
  n.sent("a", "c-2", mono(1));
  ASSERT_TRUE(n.acknowledged("a", "c-2").has_value());
  n.observe(welcomed("a", "1.2"));  // the agent said HELLO again
  EXPECT_FALSE(n.upToDate("a"));
  EXPECT_EQ(n.due(mono(2)).size(), 1u);
}

TEST(SiteTransitionLog, EveryTransitionHasItsLineAndLevel) {
  SiteTransitionLog log;
  broker::SiteRecord r = site("mimer");
  log.seed({r});
  r.state = SiteState::kUp;
  r.agent_version = "0.1.0";
  EXPECT_EQ(log.observe({r}),
            (std::vector<LogLine>{{false, "site-transition site=mimer event=connected agent=\"0.1.0\""}}));
  r.state = SiteState::kSuspect;
  r.last_heard = wall(0);
  EXPECT_EQ(log.observe({r}), (std::vector<LogLine>{
                                  {true, "site-transition site=mimer event=suspect "
                                         "last_heard=\"2027-01-15 08:00:00Z\""}}));
  r.state = SiteState::kUnreachable;
  r.maintenance = {kW1};
  r.maintenance_active = "mw-1";
  std::vector<LogLine> lines = log.observe({r});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text,
            "site-transition site=mimer event=unreachable last_heard=\"2027-01-15 08:00:00Z\" "
            "window=mw-1");
  EXPECT_EQ(lines[1], (LogLine{true, "site-transition site=mimer event=maintenance-start "
                                     "window=mw-1 until=\"2027-01-15 08:01:40Z\" by=\"ops\" "
                                     "reason=\"upgrade\""}));
  r.maintenance_active = "";
  r.state = SiteState::kUp;
  lines = log.observe({r});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], (LogLine{false, "site-transition site=mimer event=back after=unreachable"}));
  EXPECT_EQ(lines[1], (LogLine{false, "site-transition site=mimer event=maintenance-end window=mw-1"}));
  r.drained = true;
  r.state = SiteState::kDraining;
  r.drained_by = "alice";
  r.drain_reason = "say \"hi\"";
  EXPECT_EQ(log.observe({r}),
            (std::vector<LogLine>{{true, "site-transition site=mimer event=drained by=\"alice\" "
                                         "reason=\"say \\\"hi\\\"\""}}));
  r.drained = false;
  r.state = SiteState::kUp;
  EXPECT_EQ(log.observe({r}),
            (std::vector<LogLine>{{false, "site-transition site=mimer event=resumed"}}));
  EXPECT_TRUE(log.observe({r}).empty()) << "no change, no line";
}

}  // namespace
}  // namespace aifed::coordinator
