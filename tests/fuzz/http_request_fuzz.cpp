// Fuzz target: the coordinator's HTTP request path without sockets. The raw request bytes
// go through Beast's request parser (with the server's body limit), are turned into an
// api::HttpRequest the way the server does it (http_server.cpp, Session::toRequest: the
// target must be an absolute path, the path and the query are percent-decoded, header
// names lower-cased), then through the real router with every REST v1 route
// (addRestRoutes) over a real broker and Authenticator; the job service is the REST tests'
// in-memory one (tests/coordinator/rest_fixture.h). Every input starts from a fresh
// federation, so a crash replays from its one input.
//
// Credentials cannot be guessed, so a header value or the body may name a role:
// "@admin@", "@operator@", "@viewer@", "@submitter@" (scoped to p1) and "@site-admin@"
// (scoped to site-a) are replaced by a valid token of that role ("Authorization: Bearer
// @admin@", a login's {"token":"@viewer@"}).
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "coordinator/rest/rest_api.h"
#include "tests/coordinator/rest_fixture.h"

namespace {

namespace http = boost::beast::http;
using aifed::api::HttpRequest;
using aifed::api::HttpResponse;

constexpr size_t kBodyLimit = 1 << 20;  // HttpServerOptions::body_limit's default

// The whole input as one request; nullopt when Beast does not read a complete one.
std::optional<http::request<http::string_body>> parseRequest(std::string_view bytes) {
  http::request_parser<http::string_body> parser;
  parser.body_limit(kBodyLimit);
  parser.eager(true);
  boost::beast::error_code ec;
  while (!bytes.empty() && !parser.is_done()) {
    size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == http::error::need_more) return std::nullopt;
    if (ec || used == 0) return std::nullopt;
    bytes.remove_prefix(used);
  }
  if (!parser.is_done()) return std::nullopt;
  return parser.release();
}

// As the server's Session::toRequest: false for a request it answers with a 400 itself.
bool toRequest(http::request<http::string_body>& req, HttpRequest& r) {
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  r.remote_address = "10.0.0.1:5000";
  std::string_view target = req.target();
  if (target.empty() || target.front() != '/') return false;
  size_t q = target.find('?');
  aifed::Result<std::string> path = aifed::api::percentDecode(target.substr(0, q), false);
  if (!path.ok()) return false;
  r.path = std::move(*path);
  if (q != std::string_view::npos) {
    size_t hash = target.find('#', q);
    auto query = aifed::api::parseQueryString(target.substr(
        q + 1, hash == std::string_view::npos ? std::string_view::npos : hash - q - 1));
    if (!query.ok()) return false;
    r.query = std::move(*query);
  }
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(field.value());
  }
  r.body = std::move(req.body());
  return true;
}

std::string addToken(aifed::coordinator::testing_support::FakeService& svc,
                     aifed::api::Authenticator& auth, const std::string& name,
                     aifed::identity::Role role, std::vector<std::string> scope) {
  aifed::identity::NewToken t = *aifed::identity::generateToken();
  aifed::identity::TokenRecord r;
  r.id = t.id;
  r.name = name;
  r.role = role;
  r.scope = std::move(scope);
  r.secret_sha256 = t.secret_sha256;
  r.created_at = svc.now();
  r.created_by = "bootstrap";
  auth.tokens().put(r);
  return t.text;
}

void replaceAll(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using aifed::identity::Role;
  std::optional<http::request<http::string_body>> req =
      parseRequest(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!req) return 0;
  HttpRequest request;
  if (!toRequest(*req, request)) return 0;

  aifed::coordinator::testing_support::FakeService svc;
  aifed::api::Authenticator auth(svc.clock);
  aifed::api::Router router;
  aifed::coordinator::addRestRoutes(router, svc, auth);
  std::map<std::string, std::string> tokens{
      {"@admin@", addToken(svc, auth, "admin", Role::kAdmin, {})},
      {"@operator@", addToken(svc, auth, "operator", Role::kOperator, {})},
      {"@viewer@", addToken(svc, auth, "viewer", Role::kViewer, {})},
      {"@submitter@", addToken(svc, auth, "submitter", Role::kSubmitter, {"p1"})},
      {"@site-admin@", addToken(svc, auth, "site-admin", Role::kSiteAdmin, {"site-a"})}};
  for (auto& [name, value] : request.headers) {
    for (const auto& [placeholder, token] : tokens) replaceAll(value, placeholder, token);
  }
  for (const auto& [placeholder, token] : tokens) replaceAll(request.body, placeholder, token);

  std::optional<HttpResponse> answer;
  router.dispatch(request, [&answer](HttpResponse r) { answer = std::move(r); });
  // The in-memory service commits at once: every route answers before dispatch returns.
  if (!answer) abort();
  // A 5xx is the server failing on a request; client input must never cause one.
  if (answer->status >= 500) abort();
  return 0;
}
