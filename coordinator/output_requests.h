// Output requests waiting for their sites: the coordinator's half of LOG_REQUEST /
// LOG_DATA (protocol 1.2). A REST request for a job's output registers here with the
// function that answers it, the daemon sends LOG_REQUEST with the request id it got, and
// the matching LOG_DATA (or the timeout) calls that function once. Nothing blocks: the
// HTTP handler returns at once and the answer goes out from the event loop.
//
// Pure: time comes in as arguments (the monotonic clock), nothing is sent from here.
// Not thread-safe; the daemon's event-loop thread owns it.
//
//   OutputRequests pending({.timeout = 10s});
//   Result<std::string> id = pending.add("mimer", done, now);   // kUnavailable: too many
//   if (id.ok()) send("mimer", LogRequest{.request_id = *id, ...});
//   on LOG_DATA from mimer:  pending.complete("mimer", data);
//   on every tick:           pending.expire(now);   // kTimeout for the late ones
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "coordinator/rest/job_service.h"
#include "protocol/clock.h"
#include "protocol/status.h"

namespace aifed::coordinator {

struct OutputRequestOptions {
  Duration timeout = std::chrono::seconds(10);  // LOG_REQUEST sent, no LOG_DATA: 504
  size_t max_pending = 64;                      // more waiting at once: 503
};

class OutputRequests {
 public:
  using Done = std::function<void(OutputAnswer)>;

  explicit OutputRequests(OutputRequestOptions options = {}) : options_(options) {}

  // Registers a request to `site`; its id ("out-<n>", never reused in this process) goes
  // into the LOG_REQUEST. kUnavailable when max_pending are waiting already (`done` is
  // then not kept: the caller answers).
  Result<std::string> add(const std::string& site, const Done& done, MonoTime now);
  // A LOG_DATA from `site`: answers the request it names. False (and nothing called)
  // when no request of that id waits for that site: late, after its timeout, or a site
  // answering for another.
  bool complete(const std::string& site, LogData data);
  // Answers kTimeout to every request whose deadline is at or before `now`.
  void expire(MonoTime now);
  // The earliest deadline, for the daemon's timer.
  std::optional<MonoTime> nextDeadline() const;
  size_t pending() const { return waiting_.size(); }

 private:
  struct Waiting {
    std::string site;
    MonoTime deadline;
    Done done;
  };
  OutputRequestOptions options_;
  uint64_t next_id_ = 1;
  std::map<std::string, Waiting> waiting_;  // by request id
};

}  // namespace aifed::coordinator
