// Injected time. Nothing below a daemon's main() reads the wall clock: it is handed a
// Clock (or a Time argument), so tests and the simulator can drive time exactly.
//
//   ManualClock clock(Time{std::chrono::seconds(1000)});
//   agent.tick(clock.now());
//   clock.advance(std::chrono::seconds(5));
#pragma once

#include <chrono>
#include <cstdint>

namespace aifed {

// Milliseconds since the Unix epoch (UTC). On the wire: a JSON integer.
using Duration = std::chrono::milliseconds;
using Time = std::chrono::sys_time<Duration>;

inline int64_t toMillis(Time t) {
  return t.time_since_epoch().count();
}
inline Time fromMillis(int64_t ms) {
  return Time(Duration(ms));
}

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time now() const = 0;
};

// Clock implementation: the system's wall clock.
class RealClock final : public Clock {
 public:
  Time now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  }
};

// Clock implementation for tests and the simulator: time moves only when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Time start = Time{}) : now_(start) {}
  Time now() const override { return now_; }
  void set(Time t) { now_ = t; }
  void advance(Duration d) { now_ += d; }

 private:
  Time now_;
};

// A reading of a monotonic clock: milliseconds since an arbitrary origin (the host's
// boot). It never steps when the wall clock is set, so every interval the daemons wait
// out (liveness, leases, retries, deadlines) is measured with it.
using MonoTime = std::chrono::time_point<std::chrono::steady_clock, Duration>;

inline int64_t toMillis(MonoTime t) {
  return t.time_since_epoch().count();
}

class MonotonicClock {
 public:
  virtual ~MonotonicClock() = default;
  // Since the clock's origin, in the clock's own resolution; never decreases.
  virtual std::chrono::nanoseconds sinceOrigin() const = 0;
  MonoTime now() const { return MonoTime(std::chrono::duration_cast<Duration>(sinceOrigin())); }
};

// MonotonicClock implementation: std::chrono::steady_clock (CLOCK_MONOTONIC).
class SteadyClock final : public MonotonicClock {
 public:
  std::chrono::nanoseconds sinceOrigin() const override {
    return std::chrono::steady_clock::now().time_since_epoch();
  }
};

// MonotonicClock implementation for tests: moves only when told to.
class ManualMonotonicClock final : public MonotonicClock {
 public:
  explicit ManualMonotonicClock(MonoTime start = MonoTime{}) : now_(start) {}
  std::chrono::nanoseconds sinceOrigin() const override { return now_.time_since_epoch(); }
  void advance(Duration d) { now_ += d; }

 private:
  MonoTime now_;
};

// When something happens, on both clocks: the wall clock for what people read and what
// is stored (submitted_at, last_heard, ...), the monotonic clock for every interval that
// is waited out. A daemon reads both once per event; tests and the simulator have one
// virtual time, and an Instant made from a Time uses it for both.
struct Instant {
  Time wall;
  MonoTime mono;
  Instant(Time t) : wall(t), mono(t.time_since_epoch()) {}  // NOLINT: implicit by design
  Instant(Time w, MonoTime m) : wall(w), mono(m) {}
};

}  // namespace aifed
