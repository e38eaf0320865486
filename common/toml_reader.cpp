#include "common/toml_reader.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <utility>

#include "common/files.h"
#include "common/strings.h"

namespace aifed::common {
namespace {

uint32_t lineOf(const toml::node& node) {
  return node.source().begin.line;
}

// Where a key stands: its own line when toml++ kept it, else its value's.
uint32_t lineOf(const toml::key& key, const toml::node& value) {
  return key.source().begin.line > 0 ? key.source().begin.line : lineOf(value);
}

}  // namespace

std::string_view tomlTypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return node.is_array_of_tables() ? "an array of tables" : "an array";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

TomlTable::TomlTable(std::string source, const toml::table& table, std::string path, bool root)
    : source_(std::move(source)), table_(&table), path_(std::move(path)), root_(root) {}

Status TomlTable::expectKeys(std::initializer_list<std::string_view> keys) {
  return expectKeys(std::vector<std::string>(keys.begin(), keys.end()));
}

Status TomlTable::expectKeys(const std::vector<std::string>& keys) {
  expected_ = keys;
  keys_declared_ = true;
  const toml::key* first = nullptr;
  uint32_t first_line = 0;
  for (const auto& [key, value] : *table_) {
    if (std::find(expected_.begin(), expected_.end(), key.str()) != expected_.end()) continue;
    uint32_t line = lineOf(key, value);
    if (first == nullptr || line < first_line) {
      first = &key;
      first_line = line;
    }
  }
  if (first == nullptr) return Status::Ok();
  std::string what = "unknown key";
  if (std::optional<std::string> near = closestMatch(first->str(), expected_)) {
    what += " (did you mean \"" + *near + "\"?)";
  }
  std::string message = source_;
  if (first_line > 0) message += ":" + std::to_string(first_line);
  std::string full = path(first->str());
  return invalidArgument(message + ": " + full + ": " + what, full);
}

std::vector<std::string> TomlTable::keys() {
  keys_declared_ = true;
  any_key_ = true;
  std::vector<std::pair<uint32_t, std::string>> ordered;
  for (const auto& [key, value] : *table_) {
    ordered.emplace_back(lineOf(key, value), std::string(key.str()));
  }
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& [line, key] : ordered) out.push_back(std::move(key));
  return out;
}

void TomlTable::checkDeclared([[maybe_unused]] std::string_view key) const {
  // Every table's reader names its keys (expectKeys) or takes any (keys()) before it
  // reads one; otherwise unknown keys would pass unreported.
  assert(keys_declared_ && "TomlTable: call expectKeys() or keys() before the getters");
  assert((any_key_ || std::find(expected_.begin(), expected_.end(), key) != expected_.end()) &&
         "TomlTable: a getter for a key expectKeys() does not name");
}

const toml::node* TomlTable::find(std::string_view key) const {
  return table_->get(key);
}

std::string TomlTable::path(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  return path_ + "." + std::string(key);
}

Status TomlTable::errorAt(const toml::node* at, const std::string& path,
                          const std::string& what) const {
  std::string message = source_;
  if (at != nullptr && lineOf(*at) > 0) message += ":" + std::to_string(lineOf(*at));
  message += ": ";
  if (!path.empty()) message += path + ": ";
  message += what;
  return invalidArgument(std::move(message), path);
}

Status TomlTable::error(std::string_view key, const std::string& what) const {
  const toml::node* at = find(key);
  if (at == nullptr && !root_) at = table_;
  return errorAt(at, path(key), what);
}

Status TomlTable::elementError(std::string_view key, size_t index, const std::string& what) const {
  const toml::node* at = find(key);
  const toml::array* array = at != nullptr ? at->as_array() : nullptr;
  if (array != nullptr && index < array->size()) at = array->get(index);
  return errorAt(at, path(key) + "[" + std::to_string(index) + "]", what);
}

Status TomlTable::tableError(const std::string& what) const {
  return errorAt(root_ ? nullptr : table_, path_, what);
}

Result<const toml::node*> TomlTable::lookup(std::string_view key, Presence presence) const {
  checkDeclared(key);
  const toml::node* node = find(key);
  if (node == nullptr && presence == kRequired) return error(key, "is required");
  return node;
}

Status TomlTable::wrongType(std::string_view key, const toml::node& node,
                            std::string_view expected) const {
  return error(key,
               "must be " + std::string(expected) + ", got " + std::string(tomlTypeName(node)));
}

Status TomlTable::str(std::string_view key, std::string& out, Presence presence) const {
  ASSIGN_OR_RETURN(const toml::node* node, lookup(key, presence));
  if (node == nullptr) return Status::Ok();
  if (!node->is_string()) return wrongType(key, *node, "a string");
  out = node->as_string()->get();
  return Status::Ok();
}

Status TomlTable::boolean(std::string_view key, bool& out, Presence presence) const {
  ASSIGN_OR_RETURN(const toml::node* node, lookup(key, presence));
  if (node == nullptr) return Status::Ok();
  if (!node->is_boolean()) return wrongType(key, *node, "a boolean (true or false)");
  out = node->as_boolean()->get();
  return Status::Ok();
}

Status TomlTable::integer(std::string_view key, int64_t& out, Presence presence, int64_t min,
                          int64_t max) const {
  ASSIGN_OR_RETURN(const toml::node* node, lookup(key, presence));
  if (node == nullptr) return Status::Ok();
  if (!node->is_integer()) return wrongType(key, *node, "an integer");
  int64_t value = node->as_integer()->get();
  if (value < min || value > max) {
    return error(key, "must be an integer within " + std::to_string(min) + ".." +
                          std::to_string(max) + ", got " + std::to_string(value));
  }
  out = value;
  return Status::Ok();
}

Status TomlTable::number(std::string_view key, double& out, Presence presence) const {
  ASSIGN_OR_RETURN(const toml::node* node, lookup(key, presence));
  if (node == nullptr) return Status::Ok();
  double value = 0;
  if (node->is_integer()) {
    value = static_cast<double>(node->as_integer()->get());
  } else if (node->is_floating_point()) {
    value = node->as_floating_point()->get();
  } else {
    return wrongType(key, *node, "a number");
  }
  if (!std::isfinite(value)) return error(key, "must be a finite number");
  out = value;
  return Status::Ok();
}

Status TomlTable::strings(std::string_view key, std::vector<std::string>& out,
                          Presence presence) const {
  ASSIGN_OR_RETURN(const toml::node* node, lookup(key, presence));
  if (node == nullptr) return Status::Ok();
  const toml::array* array = node->as_array();
  if (array == nullptr) return wrongType(key, *node, "an array of strings");
  std::vector<std::string> values;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& item = *array->get(i);
    if (!item.is_string()) {
      return elementError(key, i, "must be a string, got " + std::string(tomlTypeName(item)));
    }
    values.push_back(item.as_string()->get());
  }
  out = std::move(values);
  return Status::Ok();
}

Status TomlTable::table(std::string_view key, std::optional<TomlTable>& out,
                        Presence presence) const {
  ASSIGN_OR_RETURN(const toml::node* node, lookup(key, presence));
  if (node == nullptr) return Status::Ok();
  if (!node->is_table()) return wrongType(key, *node, "a table");
  out.emplace(source_, *node->as_table(), path(key));
  return Status::Ok();
}

Status TomlTable::tables(std::string_view key, std::vector<TomlTable>& out,
                         Presence presence) const {
  ASSIGN_OR_RETURN(const toml::node* node, lookup(key, presence));
  if (node == nullptr) return Status::Ok();
  if (!node->is_array_of_tables()) {
    return wrongType(key, *node, "an array of tables ([[" + std::string(key) + "]])");
  }
  const toml::array& array = *node->as_array();
  for (size_t i = 0; i < array.size(); ++i) {
    out.emplace_back(source_, *array.get(i)->as_table(), path(key) + "[" + std::to_string(i) + "]");
  }
  return Status::Ok();
}

Result<TomlDocument> TomlDocument::parse(std::string_view text, std::string source) {
  auto fail = [&](const toml::parse_error& e) {
    return invalidArgument(source + ":" + std::to_string(e.source().begin.line) + ": " +
                           std::string(e.description()) + " (column " +
                           std::to_string(e.source().begin.column) + ")");
  };
#if TOML_EXCEPTIONS
  try {
    return TomlDocument(source, std::make_unique<toml::table>(toml::parse(text, source)));
  } catch (const toml::parse_error& e) {
    return fail(e);
  }
#else
  toml::parse_result parsed = toml::parse(text, source);
  if (!parsed) return fail(parsed.error());
  return TomlDocument(source, std::make_unique<toml::table>(std::move(parsed).table()));
#endif
}

Result<TomlDocument> TomlDocument::load(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, readFile(path));
  return parse(text, path);
}

}  // namespace aifed::common
