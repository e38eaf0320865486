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

// Clock implementation for the demo's simulated sites: virtual time starts at the wall
// clock's reading at construction and runs `speedup` times faster, so an hour-long
// training job finishes in seconds of demo.
class ScaledClock final : public Clock {
 public:
  ScaledClock(const Clock& base, double speedup)
      : base_(base), origin_(base.now()), speedup_(speedup) {}
  Time now() const override {
    auto real = base_.now() - origin_;
    return origin_ + Duration(static_cast<int64_t>(static_cast<double>(real.count()) * speedup_));
  }
  // Real time needed for `virtual_delta` of virtual time to pass.
  Duration toReal(Duration virtual_delta) const {
    return Duration(static_cast<int64_t>(static_cast<double>(virtual_delta.count()) / speedup_));
  }
  double speedup() const { return speedup_; }

 private:
  const Clock& base_;
  Time origin_;
  double speedup_;
};

}  // namespace aifed
