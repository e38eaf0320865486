#include "coordinator/history_recorder.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <utility>

namespace aifed::coordinator {
namespace asio = boost::asio;

store::HistorySample sampleOf(const broker::SiteRecord& site, Time now,
                              Duration heartbeat_interval) {
  store::HistorySample s;
  s.t = now;
  s.site = site.id;
  if (site.state != SiteState::kUp && site.state != SiteState::kDraining) {
    s.state = std::string(siteStateName(site.state));
  } else if (!site.maintenance_active.empty()) {
    s.state = "maintenance";
  } else {
    s.state = site.drained ? "draining" : std::string(siteStateName(site.state));
  }
  s.stale = siteIsStale(site, now, heartbeat_interval);
  if (!site.capacity) return s;
  for (const PartitionCapacity& p : site.capacity->partitions) {
    int64_t per_node = p.node_type.accelerators_per_node;
    s.nodes_total += p.nodes_total;
    s.nodes_idle += p.nodes_idle;
    s.accelerators_total += p.nodes_total * per_node;
    s.accelerators_used += p.nodes_allocated * per_node;
    s.accelerators_free += p.nodes_idle * per_node;
    s.pending_jobs += p.pending_jobs;
    s.pending_node_hours += p.pending_node_hours;
    s.running_jobs += p.running_jobs;
  }
  return s;
}

bool HistorySampler::due(Time now) const {
  if (!last_) return true;
  return now >= *last_ + config_.interval || now + config_.interval < *last_;
}

std::vector<store::HistorySample> HistorySampler::sample(
    const std::vector<broker::SiteRecord>& sites, Time now) {
  last_ = now;
  std::vector<store::HistorySample> out;
  out.reserve(sites.size());
  for (const broker::SiteRecord& r : sites) out.push_back(sampleOf(r, now, heartbeat_));
  return out;
}

HistoryWriter::HistoryWriter(asio::io_context& io, std::unique_ptr<store::CoordinatorStore> store,
                             Duration retention)
    : io_(io), store_(std::move(store)), retention_(retention) {}

HistoryWriter::~HistoryWriter() { thread_.join(); }

void HistoryWriter::add(std::vector<store::HistorySample> samples,
                        std::vector<store::SiteEvent> events, Time now) {
  if (stopped_) return;
  pending_.samples.insert(pending_.samples.end(), std::make_move_iterator(samples.begin()),
                          std::make_move_iterator(samples.end()));
  pending_.events.insert(pending_.events.end(), std::make_move_iterator(events.begin()),
                         std::make_move_iterator(events.end()));
  pending_.prune_before = now - retention_;
  start();
}

void HistoryWriter::start() {
  if (writing_ || stopped_ || (pending_.samples.empty() && pending_.events.empty())) return;
  writing_ = true;
  auto batch = std::make_shared<Pending>(std::exchange(pending_, Pending{}));
  pending_.prune_before = batch->prune_before;
  asio::post(thread_, [this, batch] {
    Status s = store_->saveHistory(batch->samples, batch->events, batch->prune_before);
    asio::post(io_, [this, batch, s] { finished(*batch, s); });
  });
}

void HistoryWriter::finished(Pending& written, const Status& s) {
  writing_ = false;
  if (s.ok()) {
    ++writes_;
  } else {
    ++failures_;
    spdlog::warn("history not written ({} samples, {} site events): {}", written.samples.size(),
                 written.events.size(), s.toString());
    // Events go first again (they are older); samples are a gap in the charts.
    written.events.insert(written.events.end(), std::make_move_iterator(pending_.events.begin()),
                          std::make_move_iterator(pending_.events.end()));
    pending_.events = std::move(written.events);
    if (pending_.events.size() > kMaxQueuedEvents) {
      pending_.events.erase(pending_.events.begin(),
                            pending_.events.end() - static_cast<ptrdiff_t>(kMaxQueuedEvents));
    }
    return;  // the next add() tries again
  }
  start();
}

void HistoryWriter::read(std::function<void(store::CoordinatorStore&)> read,
                         std::function<void()> done) {
  if (stopped_) return;
  asio::post(thread_, [this, read = std::move(read), done = std::move(done)]() mutable {
    read(*store_);
    asio::post(io_, std::move(done));
  });
}

void HistoryWriter::stop() {
  if (stopped_) return;
  stopped_ = true;
  thread_.join();  // a write under way ends first
  if (pending_.samples.empty() && pending_.events.empty()) return;
  if (Status s = store_->saveHistory(pending_.samples, pending_.events, pending_.prune_before);
      !s.ok()) {
    spdlog::warn("history not written at shutdown: {}", s.toString());
  }
}

}  // namespace aifed::coordinator
