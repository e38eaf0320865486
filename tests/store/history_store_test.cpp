// The console's history in the coordinator's store (schema 10): samples and site events
// written, read by window, summed for the federation, pruned; the migration from 9.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "coordinator/store/coordinator_store.h"
#include "tests/store/test_dir.h"

namespace aifed::store {
namespace {

using testing_support::TestDir;

Time at(int64_t s) { return fromMillis(1'800'000'000'000 + s * 1000); }

HistorySample sample(const std::string& site, int64_t t, int64_t used, bool stale = false) {
  HistorySample s;
  s.t = at(t);
  s.site = site;
  s.state = stale ? "unreachable" : "up";
  s.accelerators_total = 64;
  s.accelerators_used = used;
  s.accelerators_free = 64 - used;
  s.nodes_total = 16;
  s.nodes_idle = (64 - used) / 4;
  s.pending_jobs = 3;
  s.pending_node_hours = 1.5;
  s.running_jobs = used / 4;
  s.stale = stale;
  return s;
}

std::unique_ptr<CoordinatorStore> openStore(const TestDir& dir) {
  auto store = CoordinatorStore::open(dir.file("coordinator.db"), /*create=*/true);
  EXPECT_TRUE(store.ok()) << store.status().toString();
  return std::move(*store);
}

TEST(HistoryStore, SamplesComeBackInTheirWindowOldestFirst) {
  TestDir dir;
  auto store = openStore(dir);
  std::vector<HistorySample> written;
  for (int64_t t : {60, 0, 120, 180}) written.push_back(sample("mimer", t, t / 10));
  written.push_back(sample("lumi-ai", 60, 8));
  ASSERT_TRUE(store->saveHistory(written, {}, at(-1000)).ok());
  auto rows = store->siteHistory("mimer", at(60), at(120));
  ASSERT_TRUE(rows.ok()) << rows.status().toString();
  // Both ends are inside; another site's sample at 60 is not.
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0], written[0]);
  EXPECT_EQ((*rows)[1], written[2]);
  EXPECT_TRUE(store->siteHistory("nowhere", at(0), at(999))->empty());
}

TEST(HistoryStore, WritingASampleAgainReplacesIt) {
  TestDir dir;
  auto store = openStore(dir);
  ASSERT_TRUE(store->saveHistory({sample("mimer", 0, 4)}, {}, at(-1000)).ok());
  ASSERT_TRUE(store->saveHistory({sample("mimer", 0, 8)}, {}, at(-1000)).ok());
  auto rows = store->siteHistory("mimer", at(0), at(0));
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].accelerators_used, 8);
}

TEST(HistoryStore, FederationSumsTheSitesAndLeavesStaleFiguresOut) {
  TestDir dir;
  auto store = openStore(dir);
  ASSERT_TRUE(store
                  ->saveHistory({sample("a", 0, 8), sample("b", 0, 16), sample("a", 60, 12),
                                 sample("b", 60, 40, /*stale=*/true)},
                                {}, at(-1000))
                  .ok());
  auto fed = store->federationHistory(at(0), at(60));
  ASSERT_TRUE(fed.ok()) << fed.status().toString();
  ASSERT_EQ(fed->size(), 2u);
  const FederationSample& first = (*fed)[0];
  EXPECT_EQ(first.t, at(0));
  EXPECT_EQ(first.sites, 2);
  EXPECT_EQ(first.sites_up, 2);
  EXPECT_EQ(first.sites_stale, 0);
  EXPECT_EQ(first.accelerators_total, 128);
  EXPECT_EQ(first.accelerators_used, 24);
  EXPECT_EQ(first.accelerators_free, 104);
  EXPECT_EQ(first.pending_jobs, 6);
  EXPECT_DOUBLE_EQ(first.pending_node_hours, 3.0);
  // At 60 site b is stale: counted as a site, not in the figures (its 40 are old news).
  const FederationSample& second = (*fed)[1];
  EXPECT_EQ(second.sites, 2);
  EXPECT_EQ(second.sites_up, 1);
  EXPECT_EQ(second.sites_stale, 1);
  EXPECT_EQ(second.accelerators_total, 64);
  EXPECT_EQ(second.accelerators_used, 12);
  EXPECT_EQ(second.running_jobs, 3);
}

TEST(HistoryStore, EventsComeBackNewestFirstUpToTheLimit) {
  TestDir dir;
  auto store = openStore(dir);
  std::vector<SiteEvent> events = {
      {0, at(0), "mimer", "unknown", "up", "agent 1.2 connected", "agent"},
      {0, at(10), "mimer", "up", "draining", "cooling repair", "alice"},
      {0, at(10), "lumi-ai", "up", "suspect", "missed heartbeats", "coordinator"},
      {0, at(20), "mimer", "draining", "up", "resumed", "bob"},
  };
  ASSERT_TRUE(store->saveHistory({}, events, at(-1000)).ok());
  auto rows = store->siteEvents("mimer", 2);
  ASSERT_TRUE(rows.ok()) << rows.status().toString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0], events[3]);
  EXPECT_EQ((*rows)[1], events[1]);
  EXPECT_GT((*rows)[0].id, (*rows)[1].id);
  EXPECT_EQ(store->siteEvents("mimer", 100)->size(), 3u);
}

TEST(HistoryStore, PruneDeletesSamplesAndEventsBeforeTheCut) {
  TestDir dir;
  auto store = openStore(dir);
  ASSERT_TRUE(store
                  ->saveHistory({sample("mimer", 0, 4), sample("mimer", 60, 4)},
                                {{0, at(0), "mimer", "up", "suspect", "", "coordinator"},
                                 {0, at(60), "mimer", "suspect", "up", "", "agent"}},
                                at(-1000))
                  .ok());
  // The next interval's write prunes everything older than its cut (60 stays).
  ASSERT_TRUE(store->saveHistory({sample("mimer", 120, 4)}, {}, at(60)).ok());
  auto rows = store->siteHistory("mimer", at(-1000), at(1000));
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].t, at(60));
  auto events = store->siteEvents("mimer", 10);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].t, at(60));
}

// A database of schema 9 (as the release before wrote it) gains the history tables at
// open and keeps what it held.
TEST(HistoryStore, MigratesASchema9Database) {
  TestDir dir;
  std::string path = dir.file("coordinator.db");
  {
    auto store = openStore(dir);
    ASSERT_EQ(store->schemaVersion().value(), 11);
    ASSERT_TRUE(store->initialise("fed", at(0)).ok());
  }
  // Back to schema 9: without the tables migrations 10 (history) and 11 (arrays) make.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "DROP INDEX jobs_by_array; DROP TABLE arrays; "
                         "ALTER TABLE jobs DROP COLUMN array_id; "
                         "ALTER TABLE jobs DROP COLUMN array_index; "
                         "DROP TABLE site_samples; DROP TABLE site_events; "
                         "PRAGMA user_version=9;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto reopened = CoordinatorStore::open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status().toString();
  EXPECT_EQ((*reopened)->schemaVersion().value(), 11);
  EXPECT_EQ((*reopened)->federationIdentity().value()->name, "fed");
  ASSERT_TRUE((*reopened)->saveHistory({sample("mimer", 0, 4)}, {}, at(-10)).ok());
  EXPECT_EQ((*reopened)->siteHistory("mimer", at(0), at(0))->size(), 1u);
}

}  // namespace
}  // namespace aifed::store
