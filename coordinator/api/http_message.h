// HTTP requests and answers as the REST routes see them, without sockets: what a handler
// receives and returns, JSON and error answers, percent decoding. The HTTPS server that
// carries them is coordinator/api/http_server.h; the router, coordinator/api/router.h.
//
//   HttpResponse ok = jsonResponse(200, json::object{{"id", "j-1"}});
//   HttpResponse no = errorResponse(notFound("no job j-9"));   // 404 {"error":{...}}
#pragma once

#include <boost/json/value.hpp>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/status.h"

namespace aifed::api {

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // as sent: "/api/v1/jobs?state=running"
  std::string path;                            // "/api/v1/jobs" (percent-decoded)
  std::map<std::string, std::string> query;    // decoded ?k=v pairs
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string remote_address;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// {"error":{"code":"invalid_argument","message":"...","field":"nodes"}} with the HTTP
// status that fits the code (400, 401, 403, 404, 409, 503, 500).
HttpResponse errorResponse(const Status& status);
// `text` as valid UTF-8 without control characters: anything else becomes U+FFFD.
std::string printableText(std::string_view text);
HttpResponse errorResponse(int http_status, std::string code, std::string message,
                           std::string field = {});
HttpResponse jsonResponse(int http_status, const boost::json::value& body);

// The HTTP status for a Status code: invalid_argument and version_mismatch 400,
// unauthenticated 401, permission_denied 403, not_found 404, already_exists and
// failed_precondition 409, unavailable 503, internal (and a misused kOk) 500.
int httpStatusFor(StatusCode code);
// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as in query strings).
// A truncated or non-hex escape is kInvalidArgument.
Result<std::string> percentDecode(std::string_view text, bool plus_is_space);
// "state=running&site=mimer" -> {state: running, site: mimer}, keys and values decoded.
// A key without '=' maps to ""; a repeated key keeps its last value.
Result<std::map<std::string, std::string>> parseQueryString(std::string_view query);

}  // namespace aifed::api
