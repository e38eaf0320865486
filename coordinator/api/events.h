// The live event stream of `/api/v1/events` (docs/api.md "Events"), without the socket:
// the daemon feeds every committed broker::Effects to an EventHub, and the hub turns it
// into JSON text frames queued per subscriber.
//
//   EventHub hub(renderers, {});
//   hub.seed(broker.sites(), allJobs);               // once, after restore
//   auto id = hub.subscribe(filter, now);            // queues {"type":"snapshot",...}
//   hub.publish(fx, now);                            // after a successful commit
//   hub.flush(now);                                  // when nextFlush() comes due
//   for (std::string& frame : hub.take(id).frames) peer->send(std::move(frame));
//
// Frames:
//   {"type":"snapshot","sites":[<site>...],"federation":{...}}       first, on subscribe
//   {"type":"site","site":<site>}      a site changed; at most one per site per
//                                      `site_interval` (coalesced: the latest record wins)
//   {"type":"job","job":<job>,"from":"queued","to":"dispatched"}   a job changed state;
//                                      "from" is null for a job the hub had not seen
// Job frames pass the subscriber's filter (job visibility); site frames go to everyone.
// A commit shows the net change: a job submitted and placed in one commit reports
// from null to "dispatched".
//
// Pure: no clock, no I/O; time comes in as arguments. Not thread-safe (one owner thread).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/broker/records.h"
#include "protocol/clock.h"

namespace aifed::api {

// How the hub renders objects: the REST API's own site and job objects, so a frame
// carries exactly what GET /sites/{id} and GET /jobs/{id} would answer.
struct EventRenderers {
  std::function<boost::json::object(const broker::SiteRecord&)> site;
  std::function<boost::json::object(const broker::JobRecord&)> job;
  std::function<boost::json::object()> federation;  // the snapshot's "federation"
};

struct EventHubOptions {
  Duration site_interval = std::chrono::milliseconds(500);
  // Frames a subscriber may have waiting; one more and it is dropped as too slow.
  size_t max_queued = 4096;
};

class EventHub {
 public:
  using SubscriberId = uint64_t;
  // Whether the subscriber may see this job (the connection's principal).
  using JobFilter = std::function<bool(const broker::JobRecord&)>;

  struct Delivery {
    std::vector<std::string> frames;  // in order
    // The queue overflowed: the frames were dropped and the subscriber removed; close
    // the connection (WebSocket 1008).
    bool overflowed = false;
  };

  EventHub(EventRenderers renderers, EventHubOptions options);

  // The state before the first publish: every site (federation order) and the jobs
  // whose states later transitions start from. Replaces what the hub knew.
  void seed(const std::vector<broker::SiteRecord>& sites,
            const std::vector<const broker::JobRecord*>& jobs);

  // Adds a subscriber and queues its snapshot. A null filter lets every job through.
  SubscriberId subscribe(JobFilter filter, Time now);
  void unsubscribe(SubscriberId id);
  size_t subscriberCount() const { return subscribers_.size(); }

  // A committed batch: queues a job frame per state transition (to subscribers whose
  // filter passes) and a site frame per changed site whose interval has passed; other
  // site changes wait for flush(). Only effects that were made durable may be published.
  void publish(const broker::Effects& fx, Time now);
  // Queues the coalesced site frames that are due at `now`.
  void flush(Time now);
  // When flush() next has a frame to emit; nullopt when nothing waits.
  std::optional<Time> nextFlush() const;

  // Takes the frames queued for a subscriber. Unknown ids get an empty delivery.
  Delivery take(SubscriberId id);
  std::vector<SubscriberId> subscribers() const;

  // The last state the hub saw for a job (for tests and diagnostics).
  std::optional<JobState> knownState(const std::string& job_id) const;

 private:
  struct Subscriber {
    JobFilter filter;
    std::deque<std::string> queue;
    bool overflowed = false;
  };
  struct SiteSlot {
    broker::SiteRecord record;
    std::optional<Time> last_sent;
    bool pending = false;  // changed since last_sent, not yet sent
  };

  void enqueue(Subscriber& s, std::string frame);
  void emitSite(SiteSlot& slot, Time now);

  EventRenderers renderers_;
  EventHubOptions options_;
  std::vector<std::string> site_order_;
  std::map<std::string, SiteSlot> sites_;
  std::map<std::string, JobState> job_states_;
  std::map<SubscriberId, Subscriber> subscribers_;
  SubscriberId next_id_ = 1;
};

}  // namespace aifed::api
