#include "coordinator/api/events.h"

namespace aifed::api {
namespace json = boost::json;

EventHub::EventHub(EventRenderers renderers, EventHubOptions options)
    : renderers_(std::move(renderers)), options_(options) {}

void EventHub::seed(const std::vector<broker::SiteRecord>& sites,
                    const std::vector<const broker::JobRecord*>& jobs) {
  site_order_.clear();
  sites_.clear();
  for (const broker::SiteRecord& s : sites) {
    site_order_.push_back(s.id);
    sites_[s.id].record = s;
  }
  job_states_.clear();
  for (const broker::JobRecord* j : jobs) job_states_[j->id] = j->state;
}

EventHub::SubscriberId EventHub::subscribe(JobFilter filter, Time now) {
  (void)now;  // the snapshot renders the latest records; report ages come from the renderer
  SubscriberId id = next_id_++;
  Subscriber& s = subscribers_[id];
  s.filter = std::move(filter);
  json::array sites;
  for (const std::string& site : site_order_) sites.push_back(renderers_.site(sites_[site].record));
  json::object snapshot{
      {"type", "snapshot"},
      {"sites", std::move(sites)},
      {"federation", renderers_.federation ? renderers_.federation() : json::object{}}};
  enqueue(s, json::serialize(snapshot));
  return id;
}

void EventHub::unsubscribe(SubscriberId id) {
  subscribers_.erase(id);
}

void EventHub::enqueue(Subscriber& s, std::string frame) {
  if (s.overflowed) return;
  if (s.queue.size() >= options_.max_queued) {
    // A subscriber this far behind would only see stale state: drop it rather than
    // buffer without limit. take() reports it once and forgets it.
    s.overflowed = true;
    s.queue.clear();
    return;
  }
  s.queue.push_back(std::move(frame));
}

void EventHub::emitSite(SiteSlot& slot, Time now) {
  std::string frame =
      json::serialize(json::object{{"type", "site"}, {"site", renderers_.site(slot.record)}});
  for (auto& [id, s] : subscribers_) enqueue(s, frame);
  slot.last_sent = now;
  slot.pending = false;
}

void EventHub::publish(const broker::Effects& fx, Time now) {
  for (const broker::JobRecord& job : fx.jobs) {
    auto known = job_states_.find(job.id);
    if (known != job_states_.end() && known->second == job.state) continue;
    json::value from = known == job_states_.end() ? json::value(nullptr)
                                                  : json::value(jobStateName(known->second));
    job_states_[job.id] = job.state;
    if (subscribers_.empty()) continue;
    std::string frame = json::serialize(json::object{{"type", "job"},
                                                     {"job", renderers_.job(job)},
                                                     {"from", std::move(from)},
                                                     {"to", jobStateName(job.state)}});
    for (auto& [id, s] : subscribers_) {
      if (!s.filter || s.filter(job)) enqueue(s, frame);
    }
  }
  for (const broker::SiteRecord& site : fx.sites) {
    auto it = sites_.find(site.id);
    if (it == sites_.end()) {
      // A site the seed did not know (cannot happen with a fixed federation): keep it.
      site_order_.push_back(site.id);
      it = sites_.emplace(site.id, SiteSlot{}).first;
    }
    SiteSlot& slot = it->second;
    slot.record = site;
    if (subscribers_.empty()) continue;  // the next snapshot shows the record
    if (!slot.last_sent || now - *slot.last_sent >= options_.site_interval) {
      emitSite(slot, now);
    } else {
      slot.pending = true;
    }
  }
}

void EventHub::flush(Time now) {
  for (const std::string& id : site_order_) {
    SiteSlot& slot = sites_[id];
    if (slot.pending && (!slot.last_sent || now - *slot.last_sent >= options_.site_interval)) {
      emitSite(slot, now);
    }
  }
}

std::optional<Time> EventHub::nextFlush() const {
  std::optional<Time> next;
  for (const auto& [id, slot] : sites_) {
    if (!slot.pending) continue;
    Time due = slot.last_sent ? *slot.last_sent + options_.site_interval : Time{};
    if (!next || due < *next) next = due;
  }
  return next;
}

EventHub::Delivery EventHub::take(SubscriberId id) {
  Delivery d;
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return d;
  if (it->second.overflowed) {
    d.overflowed = true;
    subscribers_.erase(it);
    return d;
  }
  d.frames.assign(std::make_move_iterator(it->second.queue.begin()),
                  std::make_move_iterator(it->second.queue.end()));
  it->second.queue.clear();
  return d;
}

std::vector<EventHub::SubscriberId> EventHub::subscribers() const {
  std::vector<SubscriberId> out;
  for (const auto& [id, s] : subscribers_) out.push_back(id);
  return out;
}

std::optional<JobState> EventHub::knownState(const std::string& job_id) const {
  auto it = job_states_.find(job_id);
  if (it == job_states_.end()) return std::nullopt;
  return it->second;
}

}  // namespace aifed::api
