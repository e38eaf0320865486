#include "protocol/maintenance.h"

#include <algorithm>
#include <ctime>
#include <utility>

namespace aifed {

const MaintenanceWindow* activeWindow(const std::vector<MaintenanceWindow>& windows, Time t) {
  const MaintenanceWindow* found = nullptr;
  for (const MaintenanceWindow& w : windows) {
    if (w.start <= t && t < w.end && (!found || w.end > found->end)) found = &w;
  }
  return found;
}

bool leasePausedAt(const std::vector<MaintenanceWindow>& windows, Duration grace, Time t) {
  return std::any_of(windows.begin(), windows.end(),
                     [&](const MaintenanceWindow& w) { return w.start <= t && t < w.end + grace; });
}

Duration pausedWithin(const std::vector<MaintenanceWindow>& windows, Duration grace, Time from,
                      Time to) {
  if (to <= from) return Duration::zero();
  std::vector<std::pair<Time, Time>> spans;
  for (const MaintenanceWindow& w : windows) {
    Time a = std::max(w.start, from);
    Time b = std::min(w.end + grace, to);
    if (a < b) spans.emplace_back(a, b);
  }
  std::sort(spans.begin(), spans.end());
  Duration total = Duration::zero();
  std::optional<std::pair<Time, Time>> run;
  for (const auto& s : spans) {
    if (run && s.first <= run->second) {
      run->second = std::max(run->second, s.second);
      continue;
    }
    if (run) total += run->second - run->first;
    run = s;
  }
  if (run) total += run->second - run->first;
  return total;
}

std::optional<Time> nextMaintenanceBoundary(const std::vector<MaintenanceWindow>& windows,
                                            Duration grace, Time t) {
  std::optional<Time> next;
  for (const MaintenanceWindow& w : windows) {
    for (Time b : {w.start, w.end, w.end + grace}) {
      if (b > t && (!next || b < *next)) next = b;
    }
  }
  return next;
}

std::string formatUtc(Time t) {
  std::time_t secs = static_cast<std::time_t>(toMillis(t) / 1000);
  if (toMillis(t) < 0 && toMillis(t) % 1000 != 0) --secs;
  std::tm tm{};
  if (!gmtime_r(&secs, &tm)) return std::to_string(toMillis(t)) + " ms";
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

}  // namespace aifed
