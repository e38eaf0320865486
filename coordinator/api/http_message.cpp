// HTTP requests and answers without sockets: JSON answers, error answers, percent
// decoding and query strings (coordinator/api/http_message.h).
#include "coordinator/api/http_message.h"

#include <algorithm>
#include <boost/json.hpp>

namespace aifed::api {
namespace {

namespace json = boost::json;

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

int httpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kVersionMismatch:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kInternal:
      return 500;
    case StatusCode::kOk:
      return 500;  // an "error" that is not one is a bug in the caller
  }
  return 500;
}

Result<std::string> percentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      int hi = i + 1 < text.size() ? hexValue(text[i + 1]) : -1;
      int lo = i + 2 < text.size() ? hexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return invalidArgument("bad percent-encoding at \"" +
                               std::string(text.substr(i, std::min<size_t>(3, text.size() - i))) +
                               "\"");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<std::map<std::string, std::string>> parseQueryString(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    Result<std::string> key = percentDecode(pair.substr(0, eq), true);
    if (!key.ok()) return key.status();
    Result<std::string> value = percentDecode(
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!value.ok()) return value.status();
    // A repeated key: the last one wins, as in most frameworks.
    out[std::move(*key)] = std::move(*value);
  }
  return out;
}

HttpResponse errorResponse(const Status& status) {
  return errorResponse(httpStatusFor(status.code()), std::string(statusCodeName(status.code())),
                       status.message(), status.field());
}

namespace {

// The length of the valid UTF-8 sequence at the start of `s`, or 0.
size_t utf8Length(std::string_view s) {
  auto cont = [&](size_t i) {
    return i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80;
  };
  unsigned char c = static_cast<unsigned char>(s[0]);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    unsigned char c1 = s.size() > 1 ? static_cast<unsigned char>(s[1]) : 0;
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F)) return 0;  // overlong, surrogate
    return cont(1) && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    unsigned char c1 = s.size() > 1 ? static_cast<unsigned char>(s[1]) : 0;
    if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F)) return 0;
    return cont(1) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

}  // namespace

std::string printableText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    size_t n = utf8Length(text);
    unsigned char c = static_cast<unsigned char>(text[0]);
    if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7F))) {
      out += "\uFFFD";  // U+FFFD, the replacement character
      text.remove_prefix(n == 0 ? 1 : n);
      continue;
    }
    out.append(text.substr(0, n));
    text.remove_prefix(n);
  }
  return out;
}

HttpResponse errorResponse(int http_status, std::string code, std::string message,
                           std::string field) {
  // Messages may echo what a client sent (a path, a value): never bytes that are not
  // text, nor control characters.
  json::object error{{"code", std::move(code)}, {"message", printableText(message)}};
  if (!field.empty()) error["field"] = printableText(field);
  return jsonResponse(http_status, json::object{{"error", std::move(error)}});
}

HttpResponse jsonResponse(int http_status, const json::value& body) {
  HttpResponse r;
  r.status = http_status;
  r.content_type = "application/json";
  r.body = json::serialize(body);
  r.body.push_back('\n');
  return r;
}

}  // namespace aifed::api
