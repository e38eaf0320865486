// The coordinator's group commit (coordinator/group_commit.h) with a store whose writes can
// be made to fail: nothing is sent or answered before it is durable, and a failed write
// fails everything that waited behind it, keeps the audit rows (marked) and asks for a
// rebuild.
#include "coordinator/group_commit.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace aifed::coordinator {
namespace {

class GroupCommitTest : public ::testing::Test {
 protected:
  GroupCommitTest()
      : commit_(io_, {.prepare = [this](GroupCommit::Batch&) { ++ticks_; },
                      .write =
                          [this](GroupCommit::Batch& b) {
                            ++writes_;
                            if (fail_) return unavailable("database or disk is full");
                            for (const auto& a : b.audit) written_audit_.push_back(a);
                            written_jobs_ += b.fx.jobs.size();
                            return Status::Ok();
                          },
                      .durable =
                          [this](GroupCommit::Batch& b) {
                            for (auto& m : b.fx.messages) sent_.push_back(m.site);
                          },
                      .failed = [this](const Status&) { ++rebuilds_; },
                      .recovered = [this] { ++recoveries_; }}) {}

  static broker::Effects jobAndMessage(const std::string& id) {
    broker::Effects fx;
    broker::JobRecord j;
    j.id = id;
    fx.jobs.push_back(j);
    fx.messages.push_back({"site-" + id, Ack{"m"}});
    return fx;
  }
  static identity::AuditRecord row(const std::string& action, const std::string& outcome) {
    identity::AuditRecord a;
    a.action = action;
    a.outcome = outcome;
    return a;
  }
  // Runs the io thread's side long enough for the writer thread's answers to arrive.
  void drain(std::chrono::milliseconds how_long = std::chrono::milliseconds(300)) {
    io_.restart();
    auto guard = boost::asio::make_work_guard(io_);
    io_.run_for(how_long);
  }

  boost::asio::io_context io_;
  bool fail_ = false;
  int ticks_ = 0, writes_ = 0, rebuilds_ = 0, recoveries_ = 0;
  size_t written_jobs_ = 0;
  std::vector<identity::AuditRecord> written_audit_;
  std::vector<std::string> sent_;
  GroupCommit commit_;
};

TEST_F(GroupCommitTest, NothingIsSentOrAnsweredBeforeItIsDurable) {
  std::vector<Status> answers;
  commit_.submit(jobAndMessage("j-1"), {row("job.submit", "ok")},
                 [&](Status s) { answers.push_back(s); });
  EXPECT_TRUE(sent_.empty());
  EXPECT_TRUE(answers.empty());
  drain();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_TRUE(answers[0].ok());
  EXPECT_EQ(sent_, std::vector<std::string>{"site-j-1"});
  EXPECT_EQ(ticks_, 1);  // a submission asks for a placement tick
  EXPECT_EQ(written_audit_.size(), 1u);
  EXPECT_EQ(commit_.commits(), 1u);
}

TEST_F(GroupCommitTest, AFailedWriteFailsEverythingWaitingAndAsksForARebuild) {
  fail_ = true;
  std::vector<Status> answers;
  commit_.submit(jobAndMessage("j-1"), {row("job.submit", "ok")},
                 [&](Status s) { answers.push_back(s); });  // goes to the writer
  commit_.submit(jobAndMessage("j-2"), {row("job.submit", "ok")},
                 [&](Status s) { answers.push_back(s); });  // waits behind it
  commit_.submit({}, {row("site.drain", "denied")}, nullptr);
  drain();
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].code(), StatusCode::kUnavailable);
  EXPECT_EQ(answers[1].code(), StatusCode::kUnavailable);
  EXPECT_TRUE(sent_.empty());  // no message for state that is not durable
  EXPECT_EQ(rebuilds_, 1);
  EXPECT_EQ(commit_.failures(), 1u);
  // Read-only now: a change is refused at once, without a write.
  EXPECT_FALSE(commit_.writable());
  int writes = writes_;
  broker::Effects change = jobAndMessage("j-3");
  EXPECT_EQ(commit_.commitNow(change, {row("job.cancel", "ok")}).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(writes_, writes);
  // The disk has room again: the probe (after 1 s) writes the kept audit rows, the
  // changes' rows marked as not made durable.
  fail_ = false;
  drain(std::chrono::milliseconds(1300));
  EXPECT_TRUE(commit_.writable());
  EXPECT_EQ(recoveries_, 1);
  ASSERT_EQ(written_audit_.size(), 4u);
  EXPECT_EQ(written_audit_[0].outcome, "error");
  EXPECT_NE(written_audit_[0].detail.find("not made durable"), std::string::npos);
  EXPECT_EQ(written_audit_[1].outcome, "error");
  EXPECT_EQ(written_audit_[2].outcome, "denied");  // a refusal stands as it was
  EXPECT_EQ(written_audit_[3].outcome, "error");   // the change refused while read-only
  EXPECT_EQ(written_jobs_, 0u);  // the failed changes are gone, not written later
  EXPECT_EQ(rebuilds_, 1);       // one rebuild for the whole spell
}

TEST_F(GroupCommitTest, ASynchronousCommitWaitsForTheBatchInFlight) {
  std::vector<std::string> order;
  commit_.submit(jobAndMessage("j-1"), {}, [&](Status) { order.push_back("async"); });
  broker::Effects fx = jobAndMessage("j-2");
  Status s = commit_.commitNow(fx, {});
  order.push_back("sync");
  EXPECT_TRUE(s.ok());
  drain();
  EXPECT_EQ(order, (std::vector<std::string>{"async", "sync"}));
  EXPECT_EQ(sent_, (std::vector<std::string>{"site-j-1", "site-j-2"}));
}

}  // namespace
}  // namespace aifed::coordinator
