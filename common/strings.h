// Text helpers every folder needs: join, split, trim, and the edit distance behind
// "did you mean" hints. Modelled on absl/strings/str_join.h and DuckDB's string_util.
//
//   std::vector<std::string> names = {"mimer", "lumi"};
//   common::join(names, ", ");                                   // "mimer, lumi"
//   common::join(policies, ", ", [](const PolicySpec& p) { return p.name; });
//   for (std::string_view part : common::split("a,b,,c", ','))   // "a" "b" "" "c"
//   common::trim("  x \n");                                      // "x"
//   common::parseDouble("0.5");                                  // 0.5
//   common::closestMatch("htpp_port", known_keys);               // "http_port"
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <vector>

namespace aifed::common {

// `range`'s elements with `separator` between them. Elements must convert to
// std::string_view (std::string, const char*, string_view); give `format` otherwise.
template <std::ranges::input_range Range>
std::string join(const Range& range, std::string_view separator) {
  std::string out;
  bool first = true;
  for (const auto& element : range) {
    if (!first) out += separator;
    first = false;
    out += std::string_view(element);
  }
  return out;
}

// The same with each element turned into text by `format` (returning anything
// std::string can be appended with).
template <std::ranges::input_range Range, typename Format>
std::string join(const Range& range, std::string_view separator, Format format) {
  std::string out;
  bool first = true;
  for (const auto& element : range) {
    if (!first) out += separator;
    first = false;
    out += format(element);
  }
  return out;
}

// The pieces of `text` between `separator`s, empty ones included: "a,,b" gives
// {"a", "", "b"} and "" gives {""}. The views point into `text`, which must outlive them.
std::vector<std::string_view> split(std::string_view text, char separator);

// `text` without leading and trailing white space (space, \t, \r, \n, \f, \v).
std::string_view trim(std::string_view text);

// The number `text` spells, all of it: a decimal integer with an optional '-', or a
// finite floating-point number ("0.5", "1e3"). nullopt for anything else, "", " 1",
// "1x", out-of-range integers and "inf" included.
std::optional<int64_t> parseInt64(std::string_view text);
std::optional<double> parseDouble(std::string_view text);

// Levenshtein distance: the fewest single-character insertions, deletions and
// substitutions that turn `a` into `b`.
size_t editDistance(std::string_view a, std::string_view b);

// The candidate nearest to `word` within `max_distance` edits (the first of equals in
// range order), or nullopt. For "did you mean" hints after an unknown name.
template <std::ranges::input_range Range>
std::optional<std::string> closestMatch(std::string_view word, const Range& candidates,
                                        size_t max_distance = 2) {
  std::optional<std::string> best;
  size_t best_distance = max_distance + 1;
  for (const auto& candidate : candidates) {
    size_t d = editDistance(word, std::string_view(candidate));
    if (d < best_distance) {
      best_distance = d;
      best = std::string(std::string_view(candidate));
    }
  }
  return best;
}

}  // namespace aifed::common
