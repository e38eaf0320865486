// Maintenance windows and the job lease (docs/operations.md, "Maintenance windows").
//
// A window [start, end) is declared in wall-clock time; leases run on the monotonic
// clock. The two meet here: a site's lease is paused while the wall time is inside
// [start, end + grace) of any of its windows, and a daemon converts that into a pause of
// monotonic time when it observes it. Between two observations at (wall w0, mono m0)
// and (w1, m1), the stretch m1 - m0 counts toward the lease less the part of [w0, w1)
// that lies in a pause (never more than m1 - m0). A wall clock stepped back pauses
// nothing; one stepped forward can pause at most the monotonic time that passed: the
// lease never runs faster than the monotonic clock because of a window.
//
//   Duration paused = pausedWithin(windows, grace, last.wall, now.wall);
//   lease_elapsed += delta - std::min(delta, paused);
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "protocol/clock.h"
#include "protocol/types.h"

namespace aifed {

// The longest window that may be declared.
inline constexpr Duration kMaxMaintenanceWindow = std::chrono::hours(24 * 14);
// Windows a site may hold at once (a bound on MAINTENANCE's size).
inline constexpr size_t kMaxMaintenanceWindows = 32;

// The window whose [start, end) holds `t` (no new jobs go to the site), or null. With
// overlapping windows, the one that ends last.
const MaintenanceWindow* activeWindow(const std::vector<MaintenanceWindow>& windows, Time t);

// Whether `t` lies in [start, end + grace) of some window: the lease is paused.
bool leasePausedAt(const std::vector<MaintenanceWindow>& windows, Duration grace, Time t);

// How much of the wall-clock stretch [from, to) lies in the pauses of `windows`
// (overlapping windows counted once). Zero when `to` is not after `from`.
Duration pausedWithin(const std::vector<MaintenanceWindow>& windows, Duration grace, Time from,
                      Time to);

// The first moment after `t` at which activeWindow() or leasePausedAt() may change (a
// start, an end, or an end plus grace), if any.
std::optional<Time> nextMaintenanceBoundary(const std::vector<MaintenanceWindow>& windows,
                                            Duration grace, Time t);

// "2026-12-07 12:00:00Z": how windows are named in reasons and log lines.
std::string formatUtc(Time t);

}  // namespace aifed
