// Tells each site's agent its maintenance windows (MAINTENANCE, protocol 1.2) and learns
// which list each agent holds. The broker keeps the windows; this class keeps, per
// site, what went out and what was acknowledged, and says what is due:
//
//   - after every WELCOME to a 1.2 agent (a new session): the whole list, even empty, so
//     an agent that missed a cancellation while away drops the window;
//   - whenever a durable batch changed the site's list;
//   - again every retry interval until the agent ACKs the latest list.
//
// It sees only durable state (the batches the group commit wrote), so nothing is sent
// that a restart would forget. An ACK of the latest MAINTENANCE names the windows the
// agent now holds: the caller hands them to Broker::maintenanceAcknowledged(), which
// stops cancelled windows from pausing the coordinator's lease.
//
//   MaintenanceNotices notices(retry_interval);
//   notices.seed(broker.sites(), grace);            // after a restore
//   notices.observe(batch.fx);                      // each durable batch, after sending it
//   for (auto& n : notices.due(mono_now)) notices.sent(n.site, send(n.site, n.body), mono_now);
//   if (auto held = notices.acknowledged(site, ack.ack_msg_id)) broker.maintenanceAcknowledged(...);
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/broker/records.h"
#include "protocol/clock.h"
#include "protocol/messages.h"

namespace aifed::coordinator {

class MaintenanceNotices {
 public:
  struct Notice {
    std::string site;
    Maintenance body;
  };

  MaintenanceNotices(Duration retry_interval, Duration grace)
      : retry_interval_(retry_interval), grace_(grace) {}

  // The sites' windows as stored (after a restore or a rebuild). Sessions are
  // forgotten: the agents say HELLO again.
  void seed(const std::vector<broker::SiteRecord>& sites);
  // A durable batch: its WELCOMEs start sessions (only a "1.2" or later one hears
  // MAINTENANCE), its site records carry the windows.
  void observe(const broker::Effects& fx);
  // What to send now: a site in session whose agent has not acknowledged its current
  // list, and to which that list was not sent within the retry interval.
  std::vector<Notice> due(MonoTime now) const;
  // `notice` went out as message `msg_id` ("" when it could not be sent).
  void sent(const std::string& site, const std::string& msg_id, MonoTime now);
  // An ACK from `site`: the ids of the windows it holds now, when it acknowledges the
  // latest MAINTENANCE sent there; nullopt for any other ACK.
  std::optional<std::vector<std::string>> acknowledged(const std::string& site,
                                                       const std::string& ack_msg_id);
  // Whether the site's agent acknowledged its current list in this session.
  bool upToDate(const std::string& site) const;

 private:
  struct SiteNotice {
    bool session = false;  // a 1.2 agent was welcomed and can hear MAINTENANCE
    std::vector<MaintenanceWindow> wanted;
    std::optional<std::vector<MaintenanceWindow>> acked;  // in this session
    std::string in_flight;                                // msg_id of the last one sent
    std::vector<MaintenanceWindow> in_flight_windows;
    std::optional<MonoTime> sent_at;
  };
  Duration retry_interval_;
  Duration grace_;
  std::map<std::string, SiteNotice> sites_;
};

}  // namespace aifed::coordinator
