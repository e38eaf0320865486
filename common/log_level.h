// The log level names aifed's daemons accept in their config files and --log-level
// (spdlog's names). A misspelt level is an error, not a silent "off".
//
//   if (!common::isLogLevel(level)) return error("must be one of " + common::join(kLogLevels, ",
//   "));
#pragma once

#include <algorithm>
#include <array>
#include <string_view>

namespace aifed::common {

inline constexpr std::array<std::string_view, 7> kLogLevels = {"trace", "debug",    "info", "warn",
                                                               "error", "critical", "off"};

inline bool isLogLevel(std::string_view level) {
  return std::find(kLogLevels.begin(), kLogLevels.end(), level) != kLogLevels.end();
}

}  // namespace aifed::common
