// The one TOML reader of aifed's configuration and data files (federation, policies,
// coordinator, agent and CLI configs, sweep grids). Strict, and every error names the
// file, the line and the full key path:
//
//   coordinator.toml:4: http_port: must be an integer, got a string
//   coordinator.toml:9: liveness.heartbeat_intervall_ms: unknown key (did you mean
//     "heartbeat_interval_ms"?)
//   federation-7.toml:23: site[1].partition[0].nodes: must be positive
//
// Rules: a key the reader does not expect is an error (a typo would otherwise be a
// silently ignored setting), a value of the wrong type is an error (never a fall back to
// the default), an integer outside the range of its destination is an error.
//
//   ASSIGN_OR_RETURN(common::TomlDocument doc, common::TomlDocument::load(path));
//   common::TomlTable root = doc.root();
//   RETURN_IF_ERROR(root.expectKeys({"federation", "http_port", "liveness"}));
//   RETURN_IF_ERROR(root.str("federation", config.federation_file, common::kRequired));
//   RETURN_IF_ERROR(root.integer("http_port", config.http_port));   // uint16_t: 0..65535
//   std::optional<common::TomlTable> liveness;
//   RETURN_IF_ERROR(root.table("liveness", liveness));
//   if (liveness) { RETURN_IF_ERROR(liveness->expectKeys({...})); ... }
//   if (config.http_port == 0) return root.error("http_port", "must not be 0");
//
// Every table is read the same way: expectKeys() first (or keys(), for a table whose keys
// are data, such as `allocations = { mimer = 1000 }`), then the getters. An optional key
// that is absent leaves its destination untouched, so defaults are set beforehand.
#pragma once

#include <toml++/toml.h>

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "protocol/status.h"

namespace aifed::common {

enum class Presence { kOptional, kRequired };
inline constexpr Presence kOptional = Presence::kOptional;
inline constexpr Presence kRequired = Presence::kRequired;

// "a string", "an integer", "a float", "a boolean", "a table", "an array", "a date", ...
std::string_view tomlTypeName(const toml::node& node);

// A view on one table of a TomlDocument with its key path ("site[1].partition[0]"). Its
// getters read a key into a destination and return kInvalidArgument "<source>:<line>:
// <path>: <what>" (Status::field() is the path) when the value is missing but
// required, of the wrong type or out of range. The document must outlive the view.
class TomlTable {
 public:
  TomlTable(std::string source, const toml::table& table, std::string path, bool root = false);

  // The keys this table may hold. kInvalidArgument naming the first other key in the
  // file (its line and full path, and the nearest expected key within two edits as
  // "did you mean"). Call it before the getters.
  Status expectKeys(std::initializer_list<std::string_view> keys);
  Status expectKeys(const std::vector<std::string>& keys);
  // For a table whose keys are data: its keys in file order; every key is allowed.
  std::vector<std::string> keys();

  // Optional keys that are absent leave `out` as it is; required ones are an error
  // "<path>: is required" at the table's line.
  Status str(std::string_view key, std::string& out, Presence presence = kOptional) const;
  Status boolean(std::string_view key, bool& out, Presence presence = kOptional) const;
  // An integer within [min, max] (the destination type's range by default).
  Status integer(std::string_view key, int64_t& out, Presence presence, int64_t min,
                 int64_t max) const;
  template <std::integral T>
  requires(!std::same_as<T, bool>) Status
      integer(std::string_view key, T& out, Presence presence = kOptional)
  const {
    int64_t value = 0;
    if (Status s = integer(key, value, presence, lowest<T>(), highest<T>()); !s.ok()) return s;
    if (find(key) != nullptr) out = static_cast<T>(value);
    return Status::Ok();
  }
  // An integer or a float, finite.
  Status number(std::string_view key, double& out, Presence presence = kOptional) const;
  // An array of strings; an absent optional key leaves `out` as it is.
  Status strings(std::string_view key, std::vector<std::string>& out,
                 Presence presence = kOptional) const;
  // A sub-table ([key] or key = { ... }); absent and optional: `out` stays nullopt.
  Status table(std::string_view key, std::optional<TomlTable>& out,
               Presence presence = kOptional) const;
  // An array of tables ([[key]]) as views with paths "key[0]", "key[1]", ...; absent and
  // optional: none.
  Status tables(std::string_view key, std::vector<TomlTable>& out,
                Presence presence = kOptional) const;

  // An error about `key` at its value's line (the table's when it is absent).
  Status error(std::string_view key, const std::string& what) const;
  // An error about element `index` of the array at `key` ("key[2]"), at its line.
  Status elementError(std::string_view key, size_t index, const std::string& what) const;
  // An error about the table itself.
  Status tableError(const std::string& what) const;

  // The value at `key`, or null: for values whose type is data (a sweep grid's values).
  const toml::node* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  // "site[1].partition[0].nodes" for key "nodes".
  std::string path(std::string_view key) const;
  const std::string& path() const { return path_; }
  const std::string& source() const { return source_; }

 private:
  template <typename T>
  static constexpr int64_t lowest() {
    return std::is_signed_v<T> ? static_cast<int64_t>(std::numeric_limits<T>::lowest()) : 0;
  }
  template <typename T>
  static constexpr int64_t highest() {
    // Wider unsigned types are capped at what a TOML integer holds.
    return std::numeric_limits<T>::max() > static_cast<uint64_t>(INT64_MAX)
               ? INT64_MAX
               : static_cast<int64_t>(std::numeric_limits<T>::max());
  }
  // The node at `key`; null when absent and optional; kInvalidArgument when absent and
  // required.
  Result<const toml::node*> lookup(std::string_view key, Presence presence) const;
  Status wrongType(std::string_view key, const toml::node& node, std::string_view expected) const;
  Status errorAt(const toml::node* at, const std::string& path, const std::string& what) const;
  // Debug builds: a getter for a key expectKeys() did not name is a bug in the reader.
  void checkDeclared(std::string_view key) const;

  std::string source_;
  const toml::table* table_;
  std::string path_;
  bool root_;
  bool keys_declared_ = false;
  bool any_key_ = false;
  std::vector<std::string> expected_;
};

// A parsed TOML file or text with the name its errors give (the path).
class TomlDocument {
 public:
  // A syntax error is kInvalidArgument "<source>:<line>: <description> (column <n>)".
  static Result<TomlDocument> parse(std::string_view text, std::string source);
  // common::readFile, then parse() with the path as the source.
  static Result<TomlDocument> load(const std::string& path);

  // The whole document; valid as long as this document, wherever it is moved to.
  TomlTable root() const { return TomlTable(source_, *root_, "", true); }
  const std::string& source() const { return source_; }

 private:
  TomlDocument(std::string source, std::unique_ptr<toml::table> root)
      : source_(std::move(source)), root_(std::move(root)) {}
  std::string source_;
  std::unique_ptr<toml::table> root_;  // a stable address for the views
};

}  // namespace aifed::common
