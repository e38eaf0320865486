#include "cli/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

namespace aifed::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// A job list can be large; anything beyond this is not an aifed server talking.
constexpr uint64_t kResponseBodyLimit = 256ull << 20;

}  // namespace

Result<ParsedUrl> parseHttpUrl(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) {
    if (url.rfind("https://", 0) == 0) {
      return invalidArgument(
          "server URL \"" + url + "\": https is not supported by this client; use http://",
          "server");
    }
    return invalidArgument("server URL \"" + url + "\" must look like http://host:port", "server");
  }
  std::string rest = url.substr(kScheme.size());
  ParsedUrl out;
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) {
    out.prefix = rest.substr(slash);
    while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  }
  if (authority.empty()) {
    return invalidArgument("server URL \"" + url + "\" has no host", "server");
  }
  size_t colon;
  if (authority.front() == '[') {  // [::1]:7780
    size_t close = authority.find(']');
    if (close == std::string::npos) {
      return invalidArgument("server URL \"" + url + "\": unterminated IPv6 address", "server");
    }
    out.host = authority.substr(1, close - 1);
    colon = authority.find(':', close);
  } else {
    colon = authority.find(':');
    out.host = authority.substr(0, colon);
  }
  out.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  if (out.host.empty()) return invalidArgument("server URL \"" + url + "\" has no host", "server");
  bool digits = !out.port.empty() && out.port.size() <= 5 &&
                out.port.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoi(out.port) > 65535 || std::stoi(out.port) == 0) {
    return invalidArgument("server URL \"" + url + "\": port must be 1..65535", "server");
  }
  return out;
}

struct HttpClient::Impl {
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  Result<ParsedUrl> url = invalidArgument("unset");
  std::chrono::milliseconds timeout;
  std::string base;
  std::string bearer_token;

  Status describe(const beast::error_code& ec, std::string_view doing) const {
    if (ec == beast::error::timeout) {
      return unavailable("no answer from " + base + " within " + std::to_string(timeout.count()) +
                         " ms (" + std::string(doing) + ")");
    }
    return unavailable("cannot reach " + base + ": " + ec.message() + " (" + std::string(doing) +
                       ")");
  }

  void close() {
    if (stream) {
      beast::error_code ignored;
      stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream->close();
    }
    stream.reset();
    buffer.clear();
  }

  Status connect() {
    close();
    tcp::resolver resolver(io);
    beast::error_code ec;
    auto endpoints = resolver.resolve(url->host, url->port, ec);
    if (ec) return unavailable("cannot resolve the host of " + base + ": " + ec.message());
    stream.emplace(io);
    stream->expires_after(timeout);
    beast::error_code connect_ec;
    stream->async_connect(endpoints,
                          [&](beast::error_code e, const tcp::endpoint&) { connect_ec = e; });
    io.restart();
    io.run();
    if (connect_ec) {
      stream.reset();
      return describe(connect_ec, "connecting");
    }
    return Status::Ok();
  }

  // One exchange on the open connection. `retriable` is set when it failed before any
  // byte of an answer arrived.
  Result<HttpResult> exchange(http::request<http::string_body>& req, bool& retriable) {
    retriable = false;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kResponseBodyLimit);
    beast::error_code write_ec, read_ec;
    stream->expires_after(timeout);
    http::async_write(*stream, req, [&](beast::error_code ec, size_t) {
      write_ec = ec;
      if (ec) return;
      http::async_read(*stream, buffer, parser,
                       [&](beast::error_code ec2, size_t) { read_ec = ec2; });
    });
    io.restart();
    io.run();
    if (write_ec || read_ec) {
      retriable = write_ec ? write_ec != beast::error::timeout
                           : !parser.got_some() && read_ec != beast::error::timeout;
      close();
      return describe(write_ec ? write_ec : read_ec,
                      write_ec ? "sending the request" : "reading the answer");
    }
    http::response<http::string_body> res = parser.release();
    if (!res.keep_alive()) close();
    return HttpResult{static_cast<int>(res.result_int()), std::move(res.body())};
  }
};

HttpClient::HttpClient(std::string base_url, std::chrono::milliseconds timeout)
    : base_url_(std::move(base_url)), impl_(std::make_unique<Impl>()) {
  impl_->url = parseHttpUrl(base_url_);
  impl_->timeout = timeout;
  impl_->base = base_url_;
}

HttpClient::HttpClient(std::string base_url, HttpClientOptions options)
    : HttpClient(std::move(base_url), options.timeout) {
  impl_->bearer_token = std::move(options.bearer_token);
}

HttpClient::~HttpClient() {
  impl_->close();
}

Result<HttpResult> HttpClient::request(const std::string& method, const std::string& target,
                                       const std::string& body) {
  if (!impl_->url.ok()) return impl_->url.status();
  http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    return invalidArgument("unknown HTTP method \"" + method + "\"", "method");
  }
  http::request<http::string_body> req{verb, impl_->url->prefix + target, 11};
  std::string host = impl_->url->host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  req.set(http::field::host, host + ":" + impl_->url->port);
  req.set(http::field::user_agent, "aifed-cli/" AIFED_VERSION);
  req.set(http::field::accept, "application/json");
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  if (!impl_->bearer_token.empty()) {
    req.set(http::field::authorization, "Bearer " + impl_->bearer_token);
  }
  req.body() = body;
  req.keep_alive(true);
  req.prepare_payload();

  bool reused = impl_->stream.has_value();
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!impl_->stream) {
      if (Status s = impl_->connect(); !s.ok()) return s;
      reused = false;
    }
    bool retriable = false;
    Result<HttpResult> r = impl_->exchange(req, retriable);
    // Only a kept-alive connection that turned out closed is worth a second try: a fresh
    // connection that fails the same way would fail again.
    if (r.ok() || !(reused && retriable)) return r;
  }
  return unavailable("cannot reach " + base_url_);
}

}  // namespace aifed::cli
