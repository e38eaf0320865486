// GET /api/v1/jobs over 100,000 jobs in memory (docs/benchmarks.md, "Jobs list").
//
// 100,000 jobs: half queued, a quarter running, a quarter completed (all visible to
// the admin).
//
//   BM_ListUnsorted            the list before issue 14: one pass filtering every job, then
//                              the first page of 100 rendered as JSON (submission order).
//   BM_List/sort:KEY           the list now: the same pass, the first page of the matching
//                              jobs ordered by KEY (-submitted is the default) and rendered.
//   BM_ListActiveMine          active=true&me=true for a submitter scoped to one project
//                              (a filter that keeps few jobs: the sort costs little).
//
// Run: ./build/release/bench/job_list_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <boost/json.hpp>

#include "coordinator/api/auth.h"
#include "coordinator/rest/job_list.h"
#include "coordinator/rest/rest_json.h"

namespace aifed::coordinator {
namespace {

constexpr int kJobs = 100'000;
constexpr size_t kPage = 100;

Federation federation() {
  Federation f;
  f.name = "bench";
  for (const char* id : {"site-a", "site-b", "site-c"}) {
    SiteConfig s;
    s.id = id;
    s.name = id;
    s.country = "FI";
    s.partitions.push_back(PartitionConfig{"gpu", 64, NodeType{"h100", 4, 64, 512}});
    f.sites.push_back(s);
  }
  for (const char* id : {"p1", "p2", "p3", "p4"}) {
    ProjectConfig p;
    p.id = id;
    f.projects.push_back(p);
  }
  return f;
}

// 100,000 jobs of four projects and twenty users, submitted one a second: half queued,
// a quarter running at site-a, a quarter completed. Restored in one call (as after a
// restart), so a Debug build's per-call invariant checks do not make the set-up quadratic.
broker::Broker& jobs() {
  static broker::Broker* b = [] {
    auto* out = new broker::Broker(federation(), broker::BrokerConfig{});
    broker::Broker::Restored r;
    Time t0 = fromMillis(1'800'000'000'000);
    for (int i = 0; i < kJobs; ++i) {
      broker::JobRecord j;
      j.id = "j-" + std::to_string(i + 1);
      j.spec.project = "p" + std::to_string(1 + i % 4);
      j.spec.user = "user" + std::to_string(i % 20);
      j.spec.nodes = 1 + i % 8;
      j.spec.gpus_per_node = 4;
      j.spec.walltime = std::chrono::hours(1);
      j.submitted_at = j.updated_at = t0 + std::chrono::seconds(i);
      if (i % 4 == 1 || i % 4 == 3) {
        j.state = i % 4 == 1 ? JobState::kRunning : JobState::kCompleted;
        j.attempt = 1;
        j.site = "site-a";
        j.dispatched_at = j.started_at = j.submitted_at + std::chrono::seconds(5);
        if (j.state == JobState::kCompleted)
          j.ended_at = *j.started_at + std::chrono::seconds(i % 977);
      }
      r.jobs.push_back(std::move(j));
    }
    r.next_job_seq = kJobs + 1;
    out->restore(std::move(r), fromMillis(1'800'000'000'000) + std::chrono::seconds(kJobs));
    return out;
  }();
  return *b;
}

api::Principal admin() {
  api::Principal p;
  p.token_id = "t-admin";
  p.user = p.name = "admin";
  p.role = identity::Role::kAdmin;
  return p;
}

Time now() {
  return fromMillis(1'800'000'000'000) + std::chrono::seconds(kJobs);
}

void BM_ListUnsorted(benchmark::State& state) {
  const broker::Broker& b = jobs();
  api::Principal who = admin();
  for (auto _ : state) {
    boost::json::array page;
    size_t total = 0;
    for (const broker::JobRecord* j : b.listJobs(std::nullopt, "", 0, SIZE_MAX)) {
      if (!api::mayRead(who, *j)) continue;
      if (page.size() < kPage) page.push_back(jobJson(*j, b.lastDecision(j->id), now()));
      ++total;
    }
    benchmark::DoNotOptimize(page);
    benchmark::DoNotOptimize(total);
  }
  state.SetItemsProcessed(state.iterations() * kJobs);
}
BENCHMARK(BM_ListUnsorted)->Unit(benchmark::kMillisecond);

void BM_List(benchmark::State& state, JobSortKey key, bool descending) {
  const broker::Broker& b = jobs();
  api::Principal who = admin();
  JobListQuery q;
  q.sort = key;
  q.descending = descending;
  for (auto _ : state) {
    std::vector<const broker::JobRecord*> matching = listJobs(b, q, who, now(), kPage);
    boost::json::array page;
    for (size_t i = 0; i < matching.size() && page.size() < kPage; ++i) {
      page.push_back(jobJson(*matching[i], b.lastDecision(matching[i]->id), now()));
    }
    benchmark::DoNotOptimize(page);
  }
  state.SetItemsProcessed(state.iterations() * kJobs);
}
BENCHMARK_CAPTURE(BM_List, sort
                  : -submitted, JobSortKey::kSubmitted, true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_List, sort
                  : submitted, JobSortKey::kSubmitted, false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_List, sort
                  : project, JobSortKey::kProject, false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_List, sort
                  : -elapsed, JobSortKey::kElapsed, true)
    ->Unit(benchmark::kMillisecond);

void BM_ListActiveMine(benchmark::State& state) {
  const broker::Broker& b = jobs();
  api::Principal who;
  who.token_id = "t-user3";
  who.user = who.name = "user3";
  who.role = identity::Role::kSubmitter;
  who.scope = {"p4"};
  JobListQuery q;
  q.active_only = true;
  q.user = who.user;
  for (auto _ : state) {
    std::vector<const broker::JobRecord*> matching = listJobs(b, q, who, now(), kPage);
    benchmark::DoNotOptimize(matching);
  }
  state.SetItemsProcessed(state.iterations() * kJobs);
}
BENCHMARK(BM_ListActiveMine)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace aifed::coordinator

BENCHMARK_MAIN();
