// The console's history (docs/api.md, "History"): one sample of every site every
// history_interval, and the site events the transition log reports, written to the
// store off the event loop and pruned beyond history_retention.
//
// HistorySampler is pure (time is an argument): it says when a sample is due and turns
// the broker's site records into samples. HistoryWriter owns a store connection of its
// own and a thread: each flush is one small transaction (the interval's samples, the
// events waiting, the prune), and the event loop never waits for it.
//
//   HistorySampler sampler(config.history, config.broker.heartbeat_interval);
//   HistoryWriter writer(io, std::move(store), config.history.retention);
//   if (sampler.due(clock.now())) writer.add(sampler.sample(broker, clock.now()), {}, now);
//   writer.add({}, events_from_transition_log, now);
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "coordinator/broker/broker.h"
#include "coordinator/coordinator_config.h"
#include "coordinator/rest/rest_json.h"
#include "coordinator/store/coordinator_store.h"

namespace aifed::coordinator {

// One site's sample at `now` from its record (its last report's figures; zeros before
// any report).
store::HistorySample sampleOf(const broker::SiteRecord& site, Time now,
                              Duration heartbeat_interval);

class HistorySampler {
 public:
  HistorySampler(HistoryConfig config, Duration heartbeat_interval)
      : config_(config), heartbeat_(heartbeat_interval) {}
  // True at the first call, then once `interval` has passed since the last sample (or
  // the wall clock was set back by more than an interval).
  bool due(Time now) const;
  // Every site's sample at `now`, in federation order; the next is due an interval later.
  std::vector<store::HistorySample> sample(const std::vector<broker::SiteRecord>& sites, Time now);
  const HistoryConfig& config() const { return config_; }

 private:
  HistoryConfig config_;
  Duration heartbeat_;
  std::optional<Time> last_;
};

class HistoryWriter {
 public:
  HistoryWriter(boost::asio::io_context& io, std::unique_ptr<store::CoordinatorStore> store,
                Duration retention);
  ~HistoryWriter();
  HistoryWriter(const HistoryWriter&) = delete;
  HistoryWriter& operator=(const HistoryWriter&) = delete;

  // Queues samples and events and starts a write unless one is under way (the next
  // starts when it ends, with everything queued meanwhile). On the io thread. A failed
  // write is logged; its events are queued again (at most kMaxQueuedEvents wait), its
  // samples dropped (a gap in the charts).
  void add(std::vector<store::HistorySample> samples, std::vector<store::SiteEvent> events,
           Time now);
  // Runs `read` with the writer's store connection on its thread (after the writes
  // queued before it), then `done` on the io thread. Reads that would hold the event loop
  // (a federation chart over days) go here. After stop(), neither runs.
  void read(std::function<void(store::CoordinatorStore&)> read, std::function<void()> done);
  // Writes what waits on this thread and stops (at shutdown).
  void stop();
  uint64_t writes() const { return writes_; }
  uint64_t failures() const { return failures_; }

  static constexpr size_t kMaxQueuedEvents = 10000;

 private:
  struct Pending {
    std::vector<store::HistorySample> samples;
    std::vector<store::SiteEvent> events;
    Time prune_before{};
  };
  void start();
  void finished(Pending& written, const Status& s);

  boost::asio::io_context& io_;
  std::unique_ptr<store::CoordinatorStore> store_;
  Duration retention_;
  Pending pending_;
  bool writing_ = false;
  bool stopped_ = false;
  uint64_t writes_ = 0, failures_ = 0;
  boost::asio::thread_pool thread_{1};  // last: joined first on destruction
};

}  // namespace aifed::coordinator
