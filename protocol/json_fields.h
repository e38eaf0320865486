// Internal to protocol/: reading and writing JSON fields for the codecs (codec.cpp,
// message_codec.cpp). A FieldReader reads one object's fields and names each by its
// full path on failure ("body.capacity.epoch"); the writers keep numbers exact.
//
//   FieldReader r(object, "body");
//   RETURN_IF_ERROR(r.str("job_id", m.job_id));
//   RETURN_IF_ERROR(r.integer("attempt", m.attempt));
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/status.h"
#include "protocol/types.h"

namespace aifed::json_fields {

namespace json = boost::json;

// Every "missing field" message starts with this text; errorFor() relies on it to
// tell a missing field (code missing_field) from any other bad message.
inline constexpr std::string_view kMissingFieldPrefix = "missing field ";

inline std::string joinPath(std::string_view path, std::string_view key) {
  std::string out(path);
  if (!out.empty()) out += '.';
  out += key;
  return out;
}

inline std::string indexPath(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

inline Status missingField(const std::string& path) {
  return invalidArgument(std::string(kMissingFieldPrefix) + path, path);
}

inline Status mistyped(const std::string& path, std::string_view expected) {
  return invalidArgument(path + " must be " + std::string(expected), path);
}

inline Status requireObject(const json::value& value, const std::string& path,
                            const json::object*& out) {
  if (!value.is_object()) {
    if (path.empty()) return invalidArgument("the value must be an object");
    return mistyped(path, "an object");
  }
  out = &value.get_object();
  return Status::Ok();
}

// Reads the fields of one JSON object, naming each by its full path on failure.
// `required == false` leaves `out` untouched when the field is absent (so it keeps its
// default); a field that is present but of the wrong type always fails.
class FieldReader {
 public:
  FieldReader(const json::object& object, std::string path)
      : object_(object), path_(std::move(path)) {}

  std::string path(std::string_view key) const { return joinPath(path_, key); }

  Status find(std::string_view key, bool required, const json::value*& out) const {
    out = object_.if_contains(key);
    if (out == nullptr && required) return missingField(path(key));
    return Status::Ok();
  }

  Status str(std::string_view key, std::string& out, bool required = true) const {
    const json::value* v = nullptr;
    RETURN_IF_ERROR(find(key, required, v));
    if (v == nullptr) return Status::Ok();
    if (!v->is_string()) return mistyped(path(key), "a string");
    out = std::string(v->get_string());
    return Status::Ok();
  }

  Status int64(std::string_view key, int64_t& out, bool required = true) const {
    const json::value* v = nullptr;
    RETURN_IF_ERROR(find(key, required, v));
    if (v == nullptr) return Status::Ok();
    if (v->is_int64()) {
      out = v->get_int64();
      return Status::Ok();
    }
    if (v->is_uint64()) return invalidArgument(path(key) + " is out of range", path(key));
    return mistyped(path(key), "an integer");
  }

  Status integer(std::string_view key, int& out, bool required = true) const {
    int64_t wide = out;
    RETURN_IF_ERROR(int64(key, wide, required));
    if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max()) {
      return invalidArgument(path(key) + " is out of range", path(key));
    }
    out = static_cast<int>(wide);
    return Status::Ok();
  }

  Status uint64(std::string_view key, uint64_t& out, bool required = true) const {
    const json::value* v = nullptr;
    RETURN_IF_ERROR(find(key, required, v));
    if (v == nullptr) return Status::Ok();
    if (v->is_int64() && v->get_int64() >= 0) {
      out = static_cast<uint64_t>(v->get_int64());
    } else if (v->is_uint64()) {
      out = v->get_uint64();
    } else {
      return mistyped(path(key), "a non-negative integer");
    }
    return Status::Ok();
  }

  Status number(std::string_view key, double& out, bool required = true) const {
    const json::value* v = nullptr;
    RETURN_IF_ERROR(find(key, required, v));
    if (v == nullptr) return Status::Ok();
    if (!v->is_number()) return mistyped(path(key), "a number");
    out = v->to_number<double>();
    // Boost.JSON reads 1e999 as infinity, which no JSON writer can put back: a message
    // holding it could be read but never sent on or stored.
    if (!std::isfinite(out)) return mistyped(path(key), "a finite number");
    return Status::Ok();
  }

  Status boolean(std::string_view key, bool& out, bool required = true) const {
    const json::value* v = nullptr;
    RETURN_IF_ERROR(find(key, required, v));
    if (v == nullptr) return Status::Ok();
    if (!v->is_bool()) return mistyped(path(key), "true or false");
    out = v->get_bool();
    return Status::Ok();
  }

  // Integer milliseconds since the Unix epoch.
  Status time(std::string_view key, Time& out) const {
    int64_t ms = 0;
    RETURN_IF_ERROR(int64(key, ms));
    out = fromMillis(ms);
    return Status::Ok();
  }

  Status optionalTime(std::string_view key, std::optional<Time>& out) const {
    if (object_.if_contains(key) == nullptr) return Status::Ok();
    Time t{};
    RETURN_IF_ERROR(time(key, t));
    out = t;
    return Status::Ok();
  }

  // Integer milliseconds.
  Status millis(std::string_view key, Duration& out) const {
    int64_t ms = 0;
    RETURN_IF_ERROR(int64(key, ms));
    out = Duration(ms);
    return Status::Ok();
  }

  // Integer seconds.
  Status seconds(std::string_view key, Duration& out, bool required = true) const {
    int64_t s = 0;
    if (object_.if_contains(key) == nullptr && !required) return Status::Ok();
    RETURN_IF_ERROR(int64(key, s));
    // Beyond this many seconds the milliseconds would overflow int64.
    constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1000;
    if (s > kMaxSeconds || s < -kMaxSeconds) {
      return invalidArgument(path(key) + " is out of range", path(key));
    }
    out = std::chrono::duration_cast<Duration>(std::chrono::seconds(s));
    return Status::Ok();
  }

  Status strings(std::string_view key, std::vector<std::string>& out, bool required = true) const {
    const json::value* v = nullptr;
    RETURN_IF_ERROR(find(key, required, v));
    if (v == nullptr) return Status::Ok();
    if (!v->is_array()) return mistyped(path(key), "an array of strings");
    std::vector<std::string> result;
    const json::array& array = v->get_array();
    for (size_t i = 0; i < array.size(); ++i) {
      if (!array[i].is_string()) return mistyped(indexPath(path(key), i), "a string");
      result.emplace_back(array[i].get_string());
    }
    out = std::move(result);
    return Status::Ok();
  }

  Status stringMap(std::string_view key, std::map<std::string, std::string>& out,
                   bool required = true) const {
    const json::value* v = nullptr;
    RETURN_IF_ERROR(find(key, required, v));
    if (v == nullptr) return Status::Ok();
    if (!v->is_object()) return mistyped(path(key), "an object of strings");
    std::map<std::string, std::string> result;
    for (const auto& entry : v->get_object()) {
      if (!entry.value().is_string()) {
        return mistyped(joinPath(path(key), entry.key()), "a string");
      }
      result[std::string(entry.key())] = std::string(entry.value().get_string());
    }
    out = std::move(result);
    return Status::Ok();
  }

  Status array(std::string_view key, const json::array*& out) const {
    const json::value* v = nullptr;
    RETURN_IF_ERROR(find(key, true, v));
    if (!v->is_array()) return mistyped(path(key), "an array");
    out = &v->get_array();
    return Status::Ok();
  }

  Status value(std::string_view key, const json::value*& out) const { return find(key, true, out); }

  Status jobState(std::string_view key, JobState& out) const {
    std::string name;
    RETURN_IF_ERROR(str(key, name));
    std::optional<JobState> state = parseJobState(name);
    if (!state) {
      return invalidArgument(path(key) + ": unknown job state \"" + name + "\"", path(key));
    }
    out = *state;
    return Status::Ok();
  }

 private:
  const json::object& object_;
  std::string path_;
};

inline json::array toJsonArray(const std::vector<std::string>& values) {
  json::array out;
  for (const std::string& v : values) out.emplace_back(v);
  return out;
}

inline int64_t wholeSeconds(Duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

// A double that holds a whole number is written as a JSON integer ("12" rather than
// "1.2E1"); both read back as the same double.
inline json::value numberToJson(double v) {
  constexpr double kExactIntegerLimit = 9007199254740992.0;  // 2^53
  // Range first: the cast below is only defined for values that fit (NaN fails here too).
  if (v < kExactIntegerLimit && v > -kExactIntegerLimit &&
      v == static_cast<double>(static_cast<int64_t>(v))) {
    return json::value(static_cast<int64_t>(v));
  }
  return json::value(v);
}

}  // namespace aifed::json_fields
