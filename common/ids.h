// The text of job ids: "j-<seq>", where seq is the coordinator's job sequence number
// (1, 2, ...; never reused). Every place that makes or reads a job id goes through these.
//
//   std::string id = common::formatJobId(42);                 // "j-42"
//   std::optional<int64_t> seq = common::parseJobSeq("j-42"); // 42
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace aifed::common {

// "j-<seq>". `seq` must be at least 1.
std::string formatJobId(int64_t seq);

// The seq of a job id in exactly the form formatJobId writes: "j-" then a decimal number
// from 1 to INT64_MAX without sign, spaces or leading zeros. Anything else, "j-0",
// "j-007" and "j-9223372036854775808" included, is nullopt: one job has one id text, so
// "j-7" and "j-007" can never name the same job twice.
std::optional<int64_t> parseJobSeq(std::string_view id);

}  // namespace aifed::common
