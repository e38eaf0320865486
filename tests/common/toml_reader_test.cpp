// The strict TOML reader (common/toml_reader.h): every error names file, line and key.
#include "common/toml_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>

#include "tests/common/status_matchers.h"

namespace aifed::common {
namespace {
using ::testing::HasSubstr;

TomlDocument parse(const std::string& text) {
  Result<TomlDocument> doc = TomlDocument::parse(text, "c.toml");
  EXPECT_THAT(doc, IsOk());
  return std::move(doc).value();
}

// What reading one key of a one-key document as each type says.
struct ValueCase {
  std::string name;
  std::string text;
  std::string message;  // "" for OK
};

class ValueTypes : public ::testing::TestWithParam<ValueCase> {};

Status readAs(TomlTable& t, const std::string& type) {
  RETURN_IF_ERROR(t.expectKeys({"k"}));
  if (type == "str") {
    std::string s;
    return t.str("k", s);
  }
  if (type == "port") {
    uint16_t port = 0;
    return t.integer("k", port);
  }
  if (type == "int") {
    int i = 0;
    return t.integer("k", i);
  }
  if (type == "number") {
    double d = 0;
    return t.number("k", d);
  }
  if (type == "bool") {
    bool b = false;
    return t.boolean("k", b);
  }
  if (type == "strings") {
    std::vector<std::string> v;
    return t.strings("k", v);
  }
  if (type == "table") {
    std::optional<TomlTable> sub;
    return t.table("k", sub);
  }
  std::vector<TomlTable> subs;
  return t.tables("k", subs);
}

TEST_P(ValueTypes, WrongTypesAndRangesAreErrorsNamingLineAndKey) {
  const ValueCase& c = GetParam();
  TomlDocument doc = parse("# a comment\n" + c.text + "\n");
  TomlTable root = doc.root();
  std::string type = c.name.substr(0, c.name.find('_'));
  Status s = readAs(root, type);
  if (c.message.empty()) {
    EXPECT_THAT(s, IsOk());
  } else {
    EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument, c.message));
    EXPECT_THAT(s.field(), ::testing::StartsWith("k"));  // "k", or "k[1]" for an element
  }
}

INSTANTIATE_TEST_SUITE_P(
    Reader, ValueTypes,
    ::testing::Values(
        ValueCase{"str_ok", "k = 'x'", ""},
        ValueCase{"str_integer", "k = 8080", "c.toml:2: k: must be a string, got an integer"},
        ValueCase{"port_ok", "k = 65535", ""},
        ValueCase{"port_string", "k = \"8080\"", "c.toml:2: k: must be an integer, got a string"},
        ValueCase{"port_float", "k = 80.5", "c.toml:2: k: must be an integer, got a float"},
        ValueCase{"port_range", "k = 70000",
                  "c.toml:2: k: must be an integer within 0..65535, got 70000"},
        ValueCase{"port_negative", "k = -1",
                  "c.toml:2: k: must be an integer within 0..65535, got -1"},
        ValueCase{"int_range", "k = 3000000000",
                  "c.toml:2: k: must be an integer within -2147483648..2147483647, got "
                  "3000000000"},
        ValueCase{"number_int", "k = 3", ""}, ValueCase{"number_float", "k = 0.5", ""},
        ValueCase{"number_bool", "k = true", "c.toml:2: k: must be a number, got a boolean"},
        ValueCase{"number_inf", "k = inf", "c.toml:2: k: must be a finite number"},
        ValueCase{"bool_ok", "k = false", ""},
        ValueCase{"bool_string", "k = 'yes'",
                  "c.toml:2: k: must be a boolean (true or false), got a string"},
        ValueCase{"strings_ok", "k = ['a', 'b']", ""},
        ValueCase{"strings_scalar", "k = 'a'",
                  "c.toml:2: k: must be an array of strings, got a string"},
        ValueCase{"strings_element", "k = ['a', 2]",
                  "c.toml:2: k[1]: must be a string, got an integer"},
        ValueCase{"table_ok", "k = { a = 1 }", ""},
        ValueCase{"table_array", "k = [1]", "c.toml:2: k: must be a table, got an array"},
        ValueCase{"tables_ok", "[[k]]\na = 1", ""},
        ValueCase{"tables_table", "[k]\na = 1",
                  "c.toml:2: k: must be an array of tables ([[k]]), got a table"},
        ValueCase{"str_date", "k = 2026-01-01", "c.toml:2: k: must be a string, got a date"}),
    [](const ::testing::TestParamInfo<ValueCase>& info) { return info.param.name; });

TEST(TomlReaderTest, UnknownKeysAreErrorsWithTheNearestKnownKey) {
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      // The first unknown key in the file, with its full path and a suggestion.
      {"http_port = 1\nhtpp_port = 2\nzzz = 3\n",
       "c.toml:2: htpp_port: unknown key (did you mean \"http_port\"?)"},
      {"[liveness]\nheartbeat_intervall_ms = 5\n",
       "c.toml:2: liveness.heartbeat_intervall_ms: unknown key (did you mean "
       "\"heartbeat_interval_ms\"?)"},
      // Nothing within two edits: no suggestion.
      {"listen = 'x'\n", "c.toml:1: listen: unknown key"},
      // A whole unknown table.
      {"[placment]\npolicy = 'x'\n",
       "c.toml:1: placment: unknown key (did you mean \"placement\"?)"},
  };
  for (const Case& c : cases) {
    TomlDocument doc = parse(c.text);
    TomlTable root = doc.root();
    Status s = root.expectKeys({"http_port", "liveness", "placement"});
    if (s.ok()) {
      std::optional<TomlTable> liveness;
      ASSERT_THAT(root.table("liveness", liveness), IsOk());
      ASSERT_TRUE(liveness.has_value()) << c.text;
      s = liveness->expectKeys({"heartbeat_interval_ms"});
    }
    EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument, c.message)) << c.text;
  }
}

TEST(TomlReaderTest, RequiredKeysNameThePathAndTheTableLine) {
  TomlDocument doc = parse("name = 'x'\n\n[[site]]\nid = 'a'\n[[site]]\ncountry = 'FI'\n");
  TomlTable root = doc.root();
  ASSERT_THAT(root.expectKeys({"name", "site", "missing"}), IsOk());
  std::string missing;
  // At the top level there is no table line to point at.
  EXPECT_THAT(root.str("missing", missing, kRequired),
              StatusIs(StatusCode::kInvalidArgument, "c.toml: missing: is required"));
  std::vector<TomlTable> sites;
  ASSERT_THAT(root.tables("site", sites), IsOk());
  ASSERT_EQ(sites.size(), 2u);
  EXPECT_EQ(sites[1].path(), "site[1]");
  ASSERT_THAT(sites[1].expectKeys({"id", "country"}), IsOk());
  std::string id;
  Status s = sites[1].str("id", id, kRequired);
  EXPECT_THAT(s, StatusIs(StatusCode::kInvalidArgument, "c.toml:5: site[1].id: is required"));
  EXPECT_EQ(s.field(), "site[1].id");
  // Optional and absent: the destination keeps its default.
  std::string country = "SE";
  ASSERT_THAT(sites[0].expectKeys({"id", "country"}), IsOk());
  EXPECT_THAT(sites[0].str("country", country), IsOk());
  EXPECT_EQ(country, "SE");
  EXPECT_THAT(sites[0].error("id", "duplicate"),
              StatusIs(StatusCode::kInvalidArgument, "c.toml:4: site[0].id: duplicate"));
}

TEST(TomlReaderTest, KeysOfADataTableComeInFileOrder) {
  TomlDocument doc = parse("[alloc]\nzeta = 1\nalpha = 2\nmid = 3\n");
  TomlTable root = doc.root();
  ASSERT_THAT(root.expectKeys({"alloc"}), IsOk());
  std::optional<TomlTable> alloc;
  ASSERT_THAT(root.table("alloc", alloc, kRequired), IsOk());
  EXPECT_EQ(alloc->keys(), (std::vector<std::string>{"zeta", "alpha", "mid"}));
  int64_t v = 0;
  EXPECT_THAT(alloc->integer("alpha", v, kRequired, 0, 10), IsOk());
  EXPECT_EQ(v, 2);
  EXPECT_THAT(alloc->integer("zeta", v, kRequired, 5, 10),
              StatusIs(StatusCode::kInvalidArgument,
                       "c.toml:2: alloc.zeta: must be an integer within 5..10, got 1"));
}

TEST(TomlReaderTest, SyntaxErrorsAndUnreadableFilesNameTheSource) {
  EXPECT_THAT(
      TomlDocument::parse("a = 1\nb = = 2\n", "c.toml"),
      StatusIs(StatusCode::kInvalidArgument, ::testing::AllOf(::testing::StartsWith("c.toml:2: "),
                                                              ::testing::EndsWith("(column 5)"))));
  EXPECT_THAT(TomlDocument::load("/nonexistent/c.toml"),
              StatusIs(StatusCode::kNotFound,
                       "cannot read /nonexistent/c.toml: No such file or directory"));
}

TEST(TomlReaderTest, ViewsSurviveMovingTheDocument) {
  Result<TomlDocument> parsed = TomlDocument::parse("[t]\nx = 1\n", "c.toml");
  ASSERT_THAT(parsed, IsOk());
  TomlDocument doc = std::move(parsed).value();
  TomlTable root = doc.root();
  TomlDocument moved = std::move(doc);
  ASSERT_THAT(root.expectKeys({"t"}), IsOk());
  std::optional<TomlTable> t;
  ASSERT_THAT(root.table("t", t), IsOk());
  ASSERT_THAT(t->expectKeys({"x"}), IsOk());
  int x = 0;
  EXPECT_THAT(t->integer("x", x), IsOk());
  EXPECT_EQ(x, 1);
}

// Reading a key the reader did not declare is a bug in the reader (unknown keys would pass
// unreported): an assertion in Debug builds.
TEST(TomlReaderDeathTest, AGetterForAnUndeclaredKeyIsABug) {
  TomlDocument doc = parse("a = 1\nb = 2\n");
  TomlTable root = doc.root();
  int v = 0;
  EXPECT_DEBUG_DEATH((void)root.integer("a", v), "expectKeys");
  ASSERT_THAT(root.expectKeys({"a", "b"}), IsOk());
  EXPECT_DEBUG_DEATH((void)root.integer("c", v), "expectKeys");
}

}  // namespace
}  // namespace aifed::common
