#include "coordinator/group_commit.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <utility>

namespace aifed::coordinator {
namespace asio = boost::asio;
namespace {

// Appends `from` to `into` (the later version of a record comes later).
void appendEffects(broker::Effects& into, broker::Effects& from) {
  auto move_all = [](auto& dst, auto& src) {
    if (dst.empty()) {
      dst = std::move(src);
    } else {
      dst.insert(dst.end(), std::make_move_iterator(src.begin()),
                 std::make_move_iterator(src.end()));
    }
    src.clear();
  };
  move_all(into.jobs, from.jobs);
  move_all(into.sites, from.sites);
  move_all(into.decisions, from.decisions);
  move_all(into.messages, from.messages);
  move_all(into.policy_changes, from.policy_changes);
  move_all(into.quarantined, from.quarantined);
  if (from.next_window_seq) {
    into.next_window_seq = std::max(into.next_window_seq.value_or(0), *from.next_window_seq);
    from.next_window_seq.reset();
  }
  move_all(into.arrays, from.arrays);
  if (from.next_array_seq) {
    into.next_array_seq = std::max(into.next_array_seq.value_or(0), *from.next_array_seq);
    from.next_array_seq.reset();
  }
}

// The rows of changes that were not made durable: they still say what was asked, and that
// it did not hold. A refusal's row stands on its own and stays as it is.
void markNotDurable(std::vector<identity::AuditRecord>& rows) {
  for (identity::AuditRecord& a : rows) {
    if (a.outcome != "ok") continue;
    a.outcome = "error";
    a.detail += (a.detail.empty() ? "" : "; ") + std::string("not made durable: database error");
  }
}

}  // namespace

bool GroupCommit::Batch::hasDurable() const {
  return !fx.jobs.empty() || !fx.sites.empty() || !fx.decisions.empty() ||
         !fx.policy_changes.empty() || !fx.quarantined.empty() || fx.next_window_seq ||
         !fx.arrays.empty() || fx.next_array_seq ||
         !audit.empty();
}

void GroupCommit::Batch::add(broker::Effects& more, std::vector<identity::AuditRecord> more_audit) {
  appendEffects(fx, more);
  audit.insert(audit.end(), std::make_move_iterator(more_audit.begin()),
               std::make_move_iterator(more_audit.end()));
}

GroupCommit::GroupCommit(asio::io_context& io, Hooks hooks)
    : io_(io), hooks_(std::move(hooks)), probe_timer_(io) {}

GroupCommit::~GroupCommit() {
  // A batch still on the writer thread finishes before its store goes away.
  writer_.join();
}

void GroupCommit::submit(broker::Effects fx, std::vector<identity::AuditRecord> audit,
                         std::function<void(Status)> done) {
  if (!writable_) {
    // Read-only until the probe succeeds: the change is refused, its row kept.
    markNotDurable(audit);
    pending_.audit.insert(pending_.audit.end(), std::make_move_iterator(audit.begin()),
                          std::make_move_iterator(audit.end()));
    if (done) done(unavailable("the coordinator's database refuses writes"));
    return;
  }
  pending_.placement_tick = pending_.placement_tick || done != nullptr;
  pending_.add(fx, std::move(audit));
  if (done) pending_.done.push_back(std::move(done));
  if (!in_flight_) startBatch();
}

Status GroupCommit::commitNow(broker::Effects& fx, std::vector<identity::AuditRecord> audit) {
  if (fx.empty() && audit.empty()) return Status::Ok();
  if (!writable_) {
    Status s = unavailable("the coordinator's database refuses writes");
    submit({}, std::move(audit), nullptr);
    fx = broker::Effects{};
    return s;
  }
  // The writer thread is idle while this runs on the io thread.
  settleInFlight();
  Batch batch = std::exchange(pending_, Batch{});
  batch.add(fx, std::move(audit));
  Status s = batch.hasDurable() ? hooks_.write(batch) : Status::Ok();
  finish(batch, s);
  return s;
}

void GroupCommit::stop() {
  broker::Effects none;  // audit rows still waiting are written before the end
  (void)commitNow(none, std::exchange(pending_.audit, {}));
  stopping_ = true;
  probe_timer_.cancel();
}

void GroupCommit::startBatch() {
  if (pending_.empty() || stopping_ || !writable_) return;
  auto f = std::make_shared<InFlight>();
  f->batch = std::exchange(pending_, Batch{});
  // One placement tick for every submission in the batch (a tick walks the queue, so
  // one per submission would make intake quadratic).
  if (f->batch.placement_tick && hooks_.prepare) hooks_.prepare(f->batch);
  if (!f->batch.hasDurable()) {
    finish(f->batch, Status::Ok());
    return;
  }
  in_flight_ = f;
  std::promise<Status> written;
  f->result = written.get_future();
  asio::post(writer_, [this, f, written = std::move(written)]() mutable {
    written.set_value(hooks_.write(f->batch));
    asio::post(io_, [this, f] {
      if (!f->settled) settle(*f);
      if (!in_flight_) startBatch();
    });
  });
}

void GroupCommit::settleInFlight() {
  if (!in_flight_) return;
  std::shared_ptr<InFlight> f = in_flight_;
  f->result.wait();
  settle(*f);
}

void GroupCommit::settle(InFlight& f) {
  f.settled = true;
  in_flight_.reset();
  finish(f.batch, f.result.get());
}

void GroupCommit::finish(Batch& batch, const Status& s) {
  if (s.ok()) {
    if (batch.hasDurable()) {
      ++commits_;
      committed_submissions_ += batch.done.size();
    }
    hooks_.durable(batch);
    for (auto& done : batch.done) done(s);
    batch = Batch{};
    return;
  }
  ++failures_;
  spdlog::error("cannot make the coordinator's state durable: {}", s.toString());
  Batch failed = std::exchange(batch, Batch{});
  for (auto& done : failed.done) done(s);
  markNotDurable(failed.audit);
  failEverythingWaiting(s);
  pending_.audit.insert(pending_.audit.begin(), std::make_move_iterator(failed.audit.begin()),
                        std::make_move_iterator(failed.audit.end()));
  bool first = writable_;
  writable_ = false;
  if (first && hooks_.failed) hooks_.failed(s);
  scheduleProbe();
}

void GroupCommit::scheduleProbe() {
  if (stopping_) return;
  probe_backoff_ = probe_backoff_.count() == 0
                       ? std::chrono::milliseconds(1000)
                       : std::min(probe_backoff_ * 2, std::chrono::milliseconds(30000));
  probe_timer_.expires_after(probe_backoff_);
  probe_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) probe();
  });
}

// Writes what waits (the kept audit rows; or nothing, which still opens a transaction of
// its own) on the io thread: success makes the commit writable again.
void GroupCommit::probe() {
  if (stopping_ || writable_) return;
  Batch batch = std::exchange(pending_, Batch{});
  Status s = hooks_.write(batch);
  if (!s.ok()) {
    pending_.audit = std::move(batch.audit);
    spdlog::warn("the database still refuses writes: {}", s.toString());
    scheduleProbe();
    return;
  }
  writable_ = true;
  probe_backoff_ = std::chrono::milliseconds(0);
  spdlog::warn("the database accepts writes again");
  if (hooks_.recovered) hooks_.recovered();
}

void GroupCommit::failEverythingWaiting(const Status& s) {
  Batch waiting = std::exchange(pending_, Batch{});
  for (auto& done : waiting.done) done(s);
  markNotDurable(waiting.audit);
  pending_.audit = std::move(waiting.audit);
}

}  // namespace aifed::coordinator
