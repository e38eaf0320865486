// The coordinator's group commit: effects (and the audit rows that describe them) wait
// while a batch is written on a writer thread with its own SQLite connection; when it is
// durable, the io thread sends the batch's messages and answers its submissions, and the
// next batch starts with everything that arrived meanwhile. One fsync serves them all.
// Nothing is sent, acknowledged or answered 201 before it is durable.
//
// A failed write fails its batch and everything that waited behind it (their effects
// were computed on state that is now not durable): each waiting submission is answered
// with the error, their messages are dropped, the audit rows are kept (marked as not
// made durable) for the next write, and the `failed` hook runs, after which the owner
// rebuilds its state from the store. So the broker's memory never runs ahead of the
// database. Then the commit is read-only (writable() false): every change is refused
// until a probe write of the kept audit rows succeeds, tried after 1 s, then 2, 4, ...
// up to 30 s; the `recovered` hook says when.
//
//   GroupCommit commit(io, {.prepare = tick, .write = persist, .durable = send,
//                           .failed = reload});
//   commit.submit(std::move(fx), std::move(audit), [reply](Status s) { answer(s); });
//   Status s = commit.commitNow(fx, audit);   // synchronous: cancels, drains, policy
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <vector>

#include "coordinator/broker/records.h"
#include "coordinator/identity/audit_record.h"
#include "protocol/status.h"

namespace aifed::coordinator {

class GroupCommit {
 public:
  struct Batch {
    broker::Effects fx;
    std::vector<identity::AuditRecord> audit;
    std::vector<std::function<void(Status)>> done;
    bool placement_tick = false;  // a submission waits: place before writing

    bool empty() const { return fx.empty() && audit.empty() && done.empty() && !placement_tick; }
    // Something for the store (messages alone are not).
    bool hasDurable() const;
    void add(broker::Effects& more, std::vector<identity::AuditRecord> more_audit);
  };

  struct Hooks {
    std::function<void(Batch&)> prepare;        // io thread, before a write (placement)
    std::function<Status(Batch&)> write;        // the writer thread (or io, when idle)
    std::function<void(Batch&)> durable;        // io thread: the batch is durable
    std::function<void(const Status&)> failed;  // io thread: a write failed
    std::function<void()> recovered;            // io thread: writes work again
  };

  GroupCommit(boost::asio::io_context& io, Hooks hooks);
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Asynchronous: `fx` joins the next batch; `done` (if any) is called with the outcome
  // once it is durable or failed, and asks for a placement tick before the write.
  void submit(broker::Effects fx, std::vector<identity::AuditRecord> audit,
              std::function<void(Status)> done);
  // Synchronous: what waits (or is being written) goes first, in one transaction with
  // `fx` and `audit`, on this thread.
  Status commitNow(broker::Effects& fx, std::vector<identity::AuditRecord> audit);
  // Writes the audit rows still waiting and stops starting batches.
  void stop();
  // False from a failed write until a probe write succeeds: owners refuse every change
  // before they make it (and the commit refuses any that arrive).
  bool writable() const { return writable_; }

  uint64_t commits() const { return commits_; }
  uint64_t committedSubmissions() const { return committed_submissions_; }
  uint64_t failures() const { return failures_; }

 private:
  struct InFlight {
    Batch batch;
    std::future<Status> result;
    bool settled = false;
  };

  void startBatch();
  void settleInFlight();
  void settle(InFlight& f);
  void finish(Batch& batch, const Status& s);
  void failEverythingWaiting(const Status& s);
  void scheduleProbe();
  void probe();

  boost::asio::io_context& io_;
  Hooks hooks_;
  Batch pending_;
  std::shared_ptr<InFlight> in_flight_;
  bool stopping_ = false;
  bool writable_ = true;
  std::chrono::milliseconds probe_backoff_{0};
  boost::asio::steady_timer probe_timer_;
  uint64_t commits_ = 0, committed_submissions_ = 0, failures_ = 0;
  boost::asio::thread_pool writer_{1};  // last: joined first on destruction
};

}  // namespace aifed::coordinator
