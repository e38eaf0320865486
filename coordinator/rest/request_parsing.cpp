#include "coordinator/rest/request_parsing.h"

#include <spdlog/spdlog.h>

#include <charconv>

namespace aifed::coordinator {
namespace json = boost::json;

Result<size_t> sizeParam(const api::HttpRequest& req, const std::string& name, size_t dflt,
                         size_t max) {
  auto it = req.query.find(name);
  if (it == req.query.end() || it->second.empty()) return dflt;
  size_t value = 0;
  for (char c : it->second) {
    if (c < '0' || c > '9' || value > max) {
      return invalidArgument(name + " must be an integer from 0 to " + std::to_string(max), name);
    }
    value = value * 10 + static_cast<size_t>(c - '0');
  }
  if (value > max) {
    return invalidArgument(name + " must be an integer from 0 to " + std::to_string(max), name);
  }
  return value;
}

std::string queryParam(const api::HttpRequest& req, const char* name) {
  auto it = req.query.find(name);
  return it == req.query.end() ? std::string() : it->second;
}

Result<json::value> parseJsonBody(const api::HttpRequest& req) {
  boost::system::error_code ec;
  json::value body = json::parse(req.body, ec);
  if (ec) return invalidArgument("request body is not valid JSON: " + ec.message());
  return body;
}

Result<json::object> objectBody(const api::HttpRequest& req, bool empty_ok) {
  if (empty_ok && req.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return json::object{};
  }
  Result<json::value> parsed = parseJsonBody(req);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) return invalidArgument("request body must be a JSON object");
  return std::move(parsed->as_object());
}

Result<std::string> optionalString(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return std::string();
  if (!v->is_string()) return invalidArgument(std::string(key) + " must be a string", key);
  return std::string(v->get_string());
}

Result<int> positiveIntParam(const std::string& text, const char* name) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1) {
    return invalidArgument(std::string(name) + " must be a positive integer", name);
  }
  return value;
}

std::string errorMessage(const api::HttpResponse& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return {};
  const json::value* e = v.as_object().if_contains("error");
  if (!e || !e->is_object()) return {};
  const json::value* m = e->as_object().if_contains("message");
  return m && m->is_string() ? std::string(m->get_string()) : std::string();
}

api::HttpResponse unauthenticated(const Status& s) {
  api::HttpResponse r = api::errorResponse(s);
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"aifed\"");
  return r;
}

api::HttpResponse notDurable(const Status& s) {
  spdlog::error("refusing a request whose change could not be made durable: {}", s.toString());
  api::HttpResponse r = api::errorResponse(
      503, "unavailable",
      "the coordinator could not make the change durable; nothing was accepted; retry later");
  r.headers.emplace_back("Retry-After", "5");
  return r;
}

}  // namespace aifed::coordinator
