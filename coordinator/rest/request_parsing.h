// Small helpers every REST route uses to read a request and shape an error answer:
// query parameters, JSON bodies, and the two refusals with headers of their own (401 with
// WWW-Authenticate, 503 with Retry-After).
//
//   Result<json::object> body = objectBody(req, /*empty_ok=*/true);
//   if (!body.ok()) return api::errorResponse(body.status());
//   Result<std::string> reason = optionalString(*body, "reason");
#pragma once

#include <boost/json.hpp>
#include <string>

#include "coordinator/api/http_server.h"
#include "protocol/status.h"

namespace aifed::coordinator {

// A non-negative integer query parameter, `dflt` when absent; a 400 above `max`.
Result<size_t> sizeParam(const api::HttpRequest& req, const std::string& name, size_t dflt,
                         size_t max);
// A query parameter, "" when absent.
std::string queryParam(const api::HttpRequest& req, const char* name);
// The request body as JSON, or a 400 naming the parse error.
Result<boost::json::value> parseJsonBody(const api::HttpRequest& req);
// The body as a JSON object ({} when empty and `empty_ok`), or a 400.
Result<boost::json::object> objectBody(const api::HttpRequest& req, bool empty_ok);
// An optional string member of a JSON object: absent is "", another type is a 400.
Result<std::string> optionalString(const boost::json::object& o, const char* key);
// A positive integer path parameter (an attempt number), or a 400 naming it.
Result<int> positiveIntParam(const std::string& text, const char* name);

// The error message of an error response's body, for an audit row's detail.
std::string errorMessage(const api::HttpResponse& r);
// 401 with `WWW-Authenticate: Bearer realm="aifed"`.
api::HttpResponse unauthenticated(const Status& s);
// A change the coordinator could not make durable: nothing of it was accepted. The
// cause (a full disk, a broken database) is logged; the client learns only to retry, and
// never the server's file paths. 503 with Retry-After.
api::HttpResponse notDurable(const Status& s);

}  // namespace aifed::coordinator
