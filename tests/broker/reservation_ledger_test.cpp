// The reservation ledger (coordinator/broker/reservation_ledger.h): held until a newer
// report accounts for the job, released on refusal or end, expired after the timeout.
#include "coordinator/broker/reservation_ledger.h"

#include <gtest/gtest.h>

#include "coordinator/broker/placement.h"

namespace aifed::broker {
namespace {

using std::chrono::seconds;

MonoTime at(int64_t s) {
  return MonoTime(seconds(1000 + s));
}

TEST(ReservationLedger, AnAcknowledgedReservationLastsUntilAReportWithANewerEpoch) {
  ReservationLedger ledger(std::chrono::minutes(2));
  ledger.reserve("j-1", 0, "gpu", 4, 8.0, at(0));
  ledger.onReport(0, 7);  // not acknowledged yet: the report may predate the job
  EXPECT_TRUE(ledger.holds("j-1"));
  ledger.acknowledge("j-1", 7);  // the site had reported epoch 7 when it took the job
  ledger.onReport(0, 7);         // a duplicate of that report
  EXPECT_TRUE(ledger.holds("j-1"));
  ledger.onReport(1, 8);  // another site's report
  EXPECT_TRUE(ledger.holds("j-1"));
  ledger.onReport(0, 8);  // taken after the job reached the local scheduler
  EXPECT_FALSE(ledger.holds("j-1"));
}

TEST(ReservationLedger, ReleasedOnRefusalOrEndAndExpiredAfterTheTimeout) {
  ReservationLedger ledger(seconds(120));
  ledger.reserve("j-1", 0, "gpu", 4, 8.0, at(0));
  ledger.reserve("j-2", 0, "gpu", 2, 1.0, at(30));
  EXPECT_EQ(ledger.reservedNodes(0), 6);
  EXPECT_EQ(ledger.nextDeadline(), at(120));
  ledger.release("j-2");
  EXPECT_EQ(ledger.reservedNodes(0), 4);
  ledger.expire(at(119));
  EXPECT_TRUE(ledger.holds("j-1"));
  ledger.expire(at(120));
  EXPECT_EQ(ledger.size(), 0u);
  EXPECT_FALSE(ledger.nextDeadline().has_value());
}

TEST(ReservationLedger, ViewsCountNodesAndNodeHoursPerPartition) {
  ReservationLedger ledger(seconds(120));
  ledger.reserve("j-1", 1, "gpu", 4, 8.0, at(0));
  ledger.reserve("j-2", 1, "cpu", 1, 0.5, at(0));
  ledger.reserve("j-3", 1, "", 2, 2.0, at(0));  // restored: partition unknown yet
  ledger.setPartition("j-3", "gpu");
  std::vector<SiteView> views(2);
  ledger.addTo(views);
  EXPECT_TRUE(views[0].reserved_nodes.empty());
  EXPECT_EQ(views[1].reserved_nodes["gpu"], 6);
  EXPECT_DOUBLE_EQ(views[1].reserved_node_hours["gpu"], 10.0);
  EXPECT_EQ(views[1].reserved_nodes["cpu"], 1);
}

}  // namespace
}  // namespace aifed::broker
