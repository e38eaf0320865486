// Reading the REST API's JSON for display: a missing, null or mistyped field is "-" or 0,
// never an exception, so an older or newer server never makes the CLI fail to print.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace aifed::cli::json_text {

inline const boost::json::value* field(const boost::json::value& v, std::string_view key) {
  const boost::json::object* o = v.if_object();
  return o ? o->if_contains(key) : nullptr;
}

// A string or a number as text; anything else (or "") -> `none`.
inline std::string str(const boost::json::value& v, std::string_view key,
                       const std::string& none = "-") {
  const boost::json::value* x = field(v, key);
  if (!x) return none;
  if (x->is_string()) return x->get_string().empty() ? none : std::string(x->get_string());
  if (x->is_int64()) return std::to_string(x->get_int64());
  if (x->is_uint64()) return std::to_string(x->get_uint64());
  if (x->is_bool()) return x->get_bool() ? "yes" : "no";
  return none;
}

inline double real(const boost::json::value& v, std::string_view key, double none = 0) {
  const boost::json::value* x = field(v, key);
  return x && x->is_number() ? x->to_number<double>() : none;
}

inline int64_t integer(const boost::json::value& v, std::string_view key, int64_t none = 0) {
  const boost::json::value* x = field(v, key);
  return x && x->is_number() ? static_cast<int64_t>(x->to_number<double>()) : none;
}

inline bool boolean(const boost::json::value& v, std::string_view key) {
  const boost::json::value* x = field(v, key);
  return x && x->is_bool() && x->get_bool();
}

inline std::string fixed(double v, const char* format) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// Seconds until a start: "now", "90 s", "45 min", "3.5 h".
inline std::string startIn(double s) {
  if (s < 1) return "now";
  if (s < 120) return fixed(s, "%.0f s");
  if (s < 7200) return fixed(s / 60, "%.0f min");
  return fixed(s / 3600, "%.1f h");
}

}  // namespace aifed::cli::json_text
