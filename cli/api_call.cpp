#include "cli/api_call.h"

#include <cctype>
#include <ostream>

namespace aifed::cli {
namespace json = boost::json;

std::string percentEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

ApiCall::ApiCall(const ClientConfig& config, HttpClientOptions options, bool json_output,
                 std::ostream& out, std::ostream& err)
    : client_(config.server, std::move(options)),
      has_token_(!config.token.empty()),
      token_source_(config.token_source),
      json_(json_output),
      out_(out),
      err_(err) {}

int ApiCall::run(const std::string& method, const std::string& target, const std::string& body,
                 const std::function<std::string(const json::value&)>& render) {
  Result<HttpResult> r = client_.request(method, target, body);
  if (!r.ok()) return report(r);
  if (r->status < 200 || r->status >= 300) return reportError(*r);
  if (json_) {
    out_ << r->body << (r->body.empty() || r->body.back() != '\n' ? "\n" : "");
    return kExitOk;
  }
  json::value v;
  try {
    v = json::parse(r->body);
  } catch (const std::exception&) {
    out_ << r->body << "\n";
    return kExitOk;
  }
  try {
    out_ << render(v);
  } catch (const std::exception&) {
    out_ << r->body << "\n";  // an answer of another shape: show it as it is
  }
  return kExitOk;
}

int ApiCall::report(const Result<HttpResult>& r) {
  if (r.ok()) return reportError(*r);
  err_ << "aifed: " << r.status().message() << "\n";
  if (r.status().code() == StatusCode::kInvalidArgument) return kExitUsage;
  if (r.status().code() == StatusCode::kUnauthenticated) {  // the server's certificate
    err_ << "aifed: the coordinator prints its certificate's fingerprint at start; pass "
            "it with --fingerprint (or AIFED_FINGERPRINT), or its CA with --ca-file.\n";
    return kExitUnavailable;
  }
  err_ << "aifed: is the coordinator running? Set the server with --server URL or "
          "AIFED_SERVER.\n";
  return kExitUnavailable;
}

int ApiCall::reportError(const HttpResult& r) {
  if (json_) out_ << r.body << (r.body.empty() || r.body.back() != '\n' ? "\n" : "");
  std::string code, message, field;
  try {
    json::value v = json::parse(r.body);
    const json::object& e = v.at("error").as_object();
    if (auto* c = e.if_contains("code"); c && c->is_string()) code = c->get_string();
    if (auto* m = e.if_contains("message"); m && m->is_string()) message = m->get_string();
    if (auto* f = e.if_contains("field"); f && f->is_string()) field = f->get_string();
  } catch (const std::exception&) {
    message = r.body.empty() ? "(no body)" : r.body;
  }
  if (r.status == 401) {
    if (has_token_) {
      err_ << "aifed: not authenticated: the server refused the token from " << token_source_
           << ": " << message << "\n";
    } else {
      err_ << "aifed: not authenticated: pass --token or set AIFED_TOKEN (or --token-file, "
              "AIFED_TOKEN_FILE, a config file; see docs/cli.md)\n";
    }
    return kExitDenied;
  }
  if (r.status == 403) {
    // The server's message names the role and the action ("role viewer may not
    // site.drain").
    err_ << "aifed: permission denied: " << message << "\n";
    return kExitDenied;
  }
  bool refused = r.status >= 400 && r.status < 500;
  err_ << "aifed: " << (refused ? "the server refused the request" : "the server failed")
       << " (HTTP " << r.status << (code.empty() ? "" : " " + code) << "): " << message << "\n";
  if (!field.empty()) {
    std::string flag = field_hint_ ? field_hint_(field) : field;
    err_ << "aifed: field: " << field << (flag != field ? " (set it with " + flag + ")" : "")
         << "\n";
  }
  return refused ? kExitRefused : kExitUnavailable;
}

}  // namespace aifed::cli
