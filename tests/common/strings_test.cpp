#include "common/strings.h"

#include <gtest/gtest.h>

#include <list>
#include <string>
#include <vector>

namespace aifed::common {
namespace {

TEST(JoinTest, PutsTheSeparatorBetweenElementsOnly) {
  struct Case {
    std::vector<std::string> items;
    std::string separator;
    std::string want;
  };
  const Case cases[] = {
      {{}, ", ", ""},
      {{"mimer"}, ", ", "mimer"},
      {{"mimer", "lumi", "bsc"}, ", ", "mimer, lumi, bsc"},
      {{"", "a", ""}, ",", ",a,"},  // empty elements keep their place
      {{"a", "b"}, "", "ab"},
  };
  for (const Case& c : cases) EXPECT_EQ(join(c.items, c.separator), c.want) << c.want;
}

TEST(JoinTest, TakesAnyRangeOfStringLikeElements) {
  std::list<std::string_view> views = {"x", "y"};
  EXPECT_EQ(join(views, "+"), "x+y");
  const char* names[] = {"fcfs", "easy", "conservative"};
  EXPECT_EQ(join(names, ", "), "fcfs, easy, conservative");
}

TEST(JoinTest, FormatsEachElementWhenGivenAFormatter) {
  struct Policy {
    std::string name;
    int version;
  };
  std::vector<Policy> policies = {{"green", 2}, {"balanced", 1}};
  EXPECT_EQ(join(policies, ", ",
                 [](const Policy& p) { return p.name + "@" + std::to_string(p.version); }),
            "green@2, balanced@1");
  std::vector<int> numbers = {1, 2, 3};
  EXPECT_EQ(join(numbers, "-", [](int n) { return std::to_string(n * n); }), "1-4-9");
}

TEST(SplitTest, KeepsEmptyPieces) {
  struct Case {
    std::string text;
    char separator;
    std::vector<std::string_view> want;
  };
  const Case cases[] = {
      {"", ',', {""}},
      {"a", ',', {"a"}},
      {"a,b", ',', {"a", "b"}},
      {"a,,b", ',', {"a", "", "b"}},
      {",a,", ',', {"", "a", ""}},
      {"site:1:2", ':', {"site", "1", "2"}},
  };
  for (const Case& c : cases) EXPECT_EQ(split(c.text, c.separator), c.want) << c.text;
}

TEST(TrimTest, DropsLeadingAndTrailingWhiteSpaceOnly) {
  struct Case {
    std::string text;
    std::string want;
  };
  const Case cases[] = {
      {"", ""},         {"   ", ""},          {"x", "x"},
      {"  x  ", "x"},   {"\tx y\r\n", "x y"}, {"\f\vtoken\n", "token"},
      {"a  b", "a  b"},  // inner space stays
  };
  for (const Case& c : cases) EXPECT_EQ(trim(c.text), c.want) << "[" << c.text << "]";
}

TEST(ParseNumberTest, TakesTheWholeTextOrNothing) {
  EXPECT_EQ(parseInt64("42"), 42);
  EXPECT_EQ(parseInt64("-7"), -7);
  EXPECT_EQ(parseInt64("9223372036854775807"), INT64_MAX);
  for (const char* bad : {"", " 1", "1 ", "1x", "+1", "0.5", "9223372036854775808"}) {
    EXPECT_EQ(parseInt64(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(parseDouble("0.5"), 0.5);
  EXPECT_EQ(parseDouble("-3"), -3.0);
  EXPECT_EQ(parseDouble("1e3"), 1000.0);
  for (const char* bad : {"", "x", "0.5s", " 1", "inf", "nan", "1e999"}) {
    EXPECT_EQ(parseDouble(bad), std::nullopt) << bad;
  }
}

TEST(EditDistanceTest, CountsInsertionsDeletionsAndSubstitutions) {
  struct Case {
    std::string a, b;
    size_t want;
  };
  const Case cases[] = {
      {"", "", 0},
      {"", "abc", 3},                 // three insertions
      {"http_port", "http_port", 0},  // equal
      {"htpp_port", "http_port", 1},  // one substitution
      {"hptt_port", "http_port", 2},  // a swap of two letters: two substitutions
      {"http_prt", "http_port", 1},   // one insertion
      {"kitten", "sitting", 3},       // k->s, e->i, +g
      {"policy", "polcy", 1},         // one deletion
  };
  for (const Case& c : cases) {
    EXPECT_EQ(editDistance(c.a, c.b), c.want) << c.a << " / " << c.b;
    EXPECT_EQ(editDistance(c.b, c.a), c.want) << "symmetric: " << c.b << " / " << c.a;
  }
}

TEST(ClosestMatchTest, SuggestsTheNearestCandidateWithinTheLimit) {
  const std::vector<std::string> keys = {"http_port", "http_address", "zmq_bind", "database"};
  EXPECT_EQ(closestMatch("htpp_port", keys), "http_port");
  EXPECT_EQ(closestMatch("databse", keys), "database");
  EXPECT_EQ(closestMatch("zmq_bind", keys), "zmq_bind");
  EXPECT_EQ(closestMatch("listen", keys), std::nullopt);     // nothing within 2 edits
  EXPECT_EQ(closestMatch("datbse", keys, 1), std::nullopt);  // 2 edits, limit 1
  EXPECT_EQ(closestMatch("x", std::vector<std::string>{}), std::nullopt);
}

}  // namespace
}  // namespace aifed::common
