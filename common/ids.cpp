#include "common/ids.h"

#include <cassert>
#include <charconv>

namespace aifed::common {

namespace {
constexpr std::string_view kJobIdPrefix = "j-";
}  // namespace

std::string formatJobId(int64_t seq) {
  // Sequence numbers start at 1 (CoordinatorStore::nextJobSeq); 0 or less is a bug.
  assert(seq >= 1);
  return std::string(kJobIdPrefix) + std::to_string(seq);
}

std::optional<int64_t> parseJobSeq(std::string_view id) {
  if (!id.starts_with(kJobIdPrefix)) return std::nullopt;
  std::string_view digits = id.substr(kJobIdPrefix.size());
  // from_chars would accept a leading '-' and leading zeros: allow neither.
  if (digits.empty() || digits.front() < '1' || digits.front() > '9') return std::nullopt;
  int64_t seq = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return seq;
}

}  // namespace aifed::common
