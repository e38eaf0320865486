// The agent's half of the job lease (docs/operations.md, "Delivery guarantees"). The
// coordinator re-places a re-placeable job once its site has been unreachable for the
// lease; the agent must have stopped it by then, or two copies would run. So the agent
// counts the lease from the last moment it *knows* the coordinator heard it: the sending
// time of the last HEARTBEAT the coordinator acknowledged (or HELLO it answered with
// WELCOME). A DISPATCH or CANCEL arriving proves nothing (the coordinator may not hear the
// agent while it still reaches it). The coordinator, counting from the last message it
// received (no earlier than that send) plus unreachable_after, re-places at least
// unreachable_after later than the agent stops: that is the margin.
//
// Maintenance windows (MAINTENANCE, protocol/maintenance.h) pause the lease: time whose
// wall clock lies in [start, end + grace) of a window the agent holds does not count.
// observe() turns the windows into a pause of monotonic time for the stretch since the
// previous observation; the coordinator pauses its side alike. A window cancelled early
// keeps pausing here until the agent receives (and acknowledges) the new list; the
// coordinator keeps pausing for it until then too.
//
// Across an agent restart the monotonic clock is lost, so the wall time of the last
// contact is made durable every minute of contact; the restarted agent counts from it
// (up to a minute early, never late). Before any WELCOME has given a lease, and with a
// coordinator that gives none (protocol 1.0), there is no lease.
//
//   AgentLease lease;
//   lease.restore(stored_lease, stored_contact, now);
//   lease.sent(hb.msg_id, now.mono);              // HEARTBEAT
//   lease.acknowledged(ack.ack_msg_id, now);       // ACK
//   lease.setMaintenance(m.windows, m.grace);      // MAINTENANCE
//   lease.observe(now);                            // each tick, before asking
//   if (lease.runsOutNow(now.mono)) stopReplaceableJobs();
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/clock.h"
#include "protocol/types.h"

namespace aifed::agent {

class AgentLease {
 public:
  // How often the last contact is made durable while in contact.
  static constexpr Duration kPersistEvery = std::chrono::minutes(1);

  // After a start: the lease the coordinator gave last (0: none) and the wall time of the
  // last contact made durable (nullopt: none). A wall clock stepped back counts as no
  // time passed; time inside the maintenance windows set before does not count.
  void restore(Duration lease, std::optional<Time> last_contact, Instant now);
  // The site's windows as the coordinator last sent them; they pause the lease.
  void setMaintenance(std::vector<MaintenanceWindow> windows, Duration grace);
  const std::vector<MaintenanceWindow>& maintenance() const { return windows_; }
  // Counts the pause of the stretch since the last observation (or contact).
  void observe(Instant now);
  // The pause counted since the last contact.
  Duration paused() const { return paused_; }
  // WELCOME's job_lease (0: the coordinator gives none).
  void setLease(Duration lease) { lease_ = lease; }
  Duration lease() const { return lease_; }

  // A message whose answer proves the coordinator heard it left at `at` (HEARTBEAT).
  void sent(const std::string& msg_id, MonoTime at);
  // Its ACK arrived.
  void acknowledged(const std::string& msg_id, Instant now);
  // A HELLO left at `at`; WELCOME answers the first one since the last WELCOME.
  void helloSent(MonoTime at);
  void welcomed(Instant now);

  // True once per spell of silence: the lease has just run out.
  bool runsOutNow(MonoTime now);
  bool expired(MonoTime now) const;
  // When the lease runs out, if it runs at all.
  std::optional<MonoTime> deadline() const;
  // The wall time of the last contact, when it is due to be made durable (then not again
  // for kPersistEvery).
  std::optional<Time> contactToPersist(Instant now);

 private:
  void contact(MonoTime sent_at, Instant now);

  Duration lease_{0};
  std::optional<MonoTime> last_contact_;
  std::optional<Time> last_contact_wall_;
  std::optional<MonoTime> persisted_at_;
  std::optional<MonoTime> first_unanswered_hello_;
  std::deque<std::pair<std::string, MonoTime>> probes_;  // HEARTBEATs awaiting their ACK
  bool ran_out_ = false;
  std::vector<MaintenanceWindow> windows_;
  Duration grace_{0};
  Duration paused_{0};
  std::optional<Instant> observed_;
};

}  // namespace aifed::agent
