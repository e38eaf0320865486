// Message faults injected at the transport, for the chaos suite (tests/chaos). Compiled
// only when the build has AIFED_FAULT_INJECTION (CMake option of the same name, ON in
// Debug builds, OFF in Release): a Release binary has neither this code nor the
// environment variable's effect.
//
// A plan is read from the environment variable AIFED_FAULTS when a socket is made:
//
//   AIFED_FAULTS="drop=0.1,dup=0.05,reorder=0.05,seed=7"
//   AIFED_FAULTS="drop=0.3,drop_type=JOB_STATUS|ACK"          // loss of these types only
//   AIFED_FAULTS="crash_after_send=JOB_STATUS:running"         // SIGKILL after that frame
//
// Faults apply to frames this process *sends* (every process of a test federation gets
// the variable, so both directions are covered). Each decision is drawn from a PRNG seeded
// with `seed` and the socket's role (the site, or "coordinator"), so a run is repeatable
// for a given order of sends. `drop` loses a frame, `dup` sends it twice, `reorder` holds
// it back until the next frame has gone (or the next receive, whichever comes first: a
// held frame never waits for long). `<fault>_type` limits one fault to the listed message
// types ('|'-separated `type` names of docs/protocol.md); `type` limits all of them.
//
// `crash_after_send=TYPE[:STATE]` fires once: right after a frame of that type (and, for
// JOB_STATUS, body.state) has been handed to ZeroMQ, the process waits `crash_delay_ms`
// (default 300) without doing anything else, so ZeroMQ's I/O thread puts the frame on the
// wire while no answer can be processed, then SIGKILLs itself. That makes "the agent died
// after sending X and before its ACK" deterministic.
//
//   std::unique_ptr<FaultInjector> faults = FaultInjector::fromEnvironment("mimer");
//   if (faults) return faults->send(payload, [&](const std::string& f) { return raw(f); });
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/status.h"

namespace aifed::transport {

inline constexpr const char* kFaultsVariable = "AIFED_FAULTS";

struct FaultPlan {
  double drop = 0;
  double dup = 0;
  double reorder = 0;
  uint64_t seed = 1;
  // Empty: every type. Else only frames whose `type` is listed.
  std::set<std::string> drop_types, dup_types, reorder_types;
  // crash_after_send: the type, and for JOB_STATUS optionally body.state ("" = any).
  std::string crash_type;
  std::string crash_state;
  int crash_delay_ms = 300;

  bool empty() const;
};

// Parses "key=value,key=value". kInvalidArgument naming the key for an unknown key, a
// probability outside [0, 1], or a malformed number.
Result<FaultPlan> parseFaultPlan(std::string_view text);

// What a frame's envelope says, as far as the plan cares.
struct FrameLabel {
  std::string type;   // "" if the frame is not a JSON object with a string `type`
  std::string state;  // body.state, for JOB_STATUS
};
FrameLabel labelFrame(std::string_view frame);

class FaultInjector {
 public:
  // Hands one frame to the real socket. For a ROUTER, the frame's route is bound in.
  using RawSend = std::function<Status(const std::string& payload)>;

  // nullptr when AIFED_FAULTS is unset or empty. A malformed plan is reported on stderr
  // and ignored: a chaos test sees that nothing was injected and fails on its own terms.
  static std::unique_ptr<FaultInjector> fromEnvironment(const std::string& role);
  FaultInjector(FaultPlan plan, const std::string& role);

  // Sends `payload` through `raw` as the plan says. A dropped frame is reported as sent.
  Status send(const std::string& payload, RawSend raw);
  // Sends the frame held back for reordering, if any. Called before every receive.
  void flush();

  struct Stats {
    uint64_t sent = 0, dropped = 0, duplicated = 0, reordered = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  bool draw(double probability, const std::set<std::string>& types, const FrameLabel& label);
  bool crashes(const FrameLabel& label) const;
  [[noreturn]] void crash(const FrameLabel& label) const;

  FaultPlan plan_;
  std::string role_;
  std::mt19937_64 random_;
  bool crash_armed_;
  struct Held {
    std::string payload;
    RawSend raw;
  };
  std::optional<Held> held_;
  Stats stats_;
};

}  // namespace aifed::transport
