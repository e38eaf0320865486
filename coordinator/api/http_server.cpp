#include "coordinator/api/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <exception>
#include <optional>
#include <unordered_map>

namespace aifed::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

// A response that is being written must not wait forever on a client that stopped reading.
constexpr std::chrono::seconds kWriteTimeout{30};

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

HttpResponse errorResponse(int http_status, std::string code, std::string message,
                           std::string field) {
  json::object error{{"code", std::move(code)}, {"message", std::move(message)}};
  if (!field.empty()) error["field"] = std::move(field);
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

// ---------------------------------------------------------------------------------------
// Server

namespace {
class Session;

// The server's state, shared by the HttpServer, its pending accept and its sessions, so
// a completion that arrives after the HttpServer is gone still finds it.
struct ServerCore : std::enable_shared_from_this<ServerCore> {
  ServerCore(asio::io_context& io_context, HttpServer::Handler h, HttpServerOptions o)
      : io(io_context), handler(std::move(h)), options(o), acceptor(io_context) {}

  void accept();

  asio::io_context& io;
  HttpServer::Handler handler;
  HttpServerOptions options;
  tcp::acceptor acceptor;
  bool stopped = false;
  // Open connections, so stop() can close them. Sessions remove themselves when they end.
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<ServerCore> server)
      : stream_(std::move(socket)), server_(std::move(server)) {
    boost::system::error_code ec;
    tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_address_ = remote.address().to_string() + ":" + std::to_string(remote.port());
  }

  void start() {
    server_->sessions[this] = weak_from_this();
    read();
  }

  void close() {
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(server_->options.body_limit);
    // The timeout covers an idle keep-alive connection as well as a slow request.
    stream_.expires_after(server_->options.read_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
  }

  void onRead(beast::error_code ec) {
    if (server_->stopped || ec == asio::error::operation_aborted) return finish();
    if (ec == http::error::end_of_stream || ec == beast::error::timeout) return finish();
    if (ec == http::error::body_limit) {
      return reply(errorResponse(413, "payload_too_large",
                                 "request body exceeds the limit of " +
                                     std::to_string(server_->options.body_limit) + " bytes"),
                   11, false);
    }
    if (ec == http::error::header_limit) {
      return reply(errorResponse(431, "invalid_argument", "request headers are too large"), 11,
                   false);
    }
    if (ec == http::error::partial_message) return finish();  // the client went away mid-way
    if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
      return reply(
          errorResponse(400, "invalid_argument", "malformed HTTP request: " + ec.message()), 11,
          false);
    }
    if (ec) return finish();  // a socket error: nobody to answer

    http::request<http::string_body> req = parser_->release();
    unsigned version = req.version();
    bool keep_alive = req.keep_alive();
    HttpResponse response = handle(req);
    reply(std::move(response), version, keep_alive);
  }

  HttpResponse handle(http::request<http::string_body>& req) {
    HttpRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.remote_address = remote_address_;
    std::string_view target = req.target();
    if (target.empty() || target.front() != '/') {
      return errorResponse(400, "invalid_argument",
                           "request target must be an absolute path such as /api/v1/jobs");
    }
    size_t q = target.find('?');
    Result<std::string> path = percentDecode(target.substr(0, q), false);
    if (!path.ok())
      return errorResponse(400, "invalid_argument", "path: " + path.status().message());
    r.path = std::move(*path);
    if (q != std::string_view::npos) {
      size_t hash = target.find('#', q);
      auto query = parseQueryString(target.substr(
          q + 1, hash == std::string_view::npos ? std::string_view::npos : hash - q - 1));
      if (!query.ok()) {
        return errorResponse(400, "invalid_argument", "query: " + query.status().message());
      }
      r.query = std::move(*query);
    }
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(field.value());
    }
    r.body = std::move(req.body());
    try {
      return server_->handler(r);
    } catch (const std::exception& e) {
      return errorResponse(500, "internal", std::string("request handler failed: ") + e.what());
    } catch (...) {
      return errorResponse(500, "internal", "request handler failed");
    }
  }

  void reply(HttpResponse response, unsigned version, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version);
    res->result(static_cast<unsigned>(response.status));
    res->set(http::field::server, "aifed/" AIFED_VERSION);
    res->set(http::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) res->insert(name, value);
    res->body() = std::move(response.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    stream_.expires_after(kWriteTimeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
                        self->onWrite(ec, keep_alive);
                      });
  }

  void onWrite(beast::error_code ec, bool keep_alive) {
    if (ec || server_->stopped) return finish();
    if (!keep_alive) {
      boost::system::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return finish();
    }
    read();
  }

  void finish() {
    close();
    server_->sessions.erase(this);
  }

  beast::tcp_stream stream_;
  std::shared_ptr<ServerCore> server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string remote_address_;
};

void ServerCore::accept() {
  // The pending accept holds the Impl, so its completion never sees a destroyed server.
  acceptor.async_accept(
      io, [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
        if (self->stopped || ec == asio::error::operation_aborted) return;
        if (!ec) std::make_shared<Session>(std::move(socket), self)->start();
        self->accept();  // a failed accept (e.g. out of descriptors) must not stop the server
      });
}

}  // namespace

struct HttpServer::Impl : ServerCore {
  using ServerCore::ServerCore;
};

HttpServer::HttpServer(asio::io_context& io, Handler handler, HttpServerOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(handler), options)) {}

HttpServer::~HttpServer() {
  stop();
}

Result<uint16_t> HttpServer::listen(const std::string& address, uint16_t port) {
  boost::system::error_code ec;
  asio::ip::address ip = asio::ip::make_address(address, ec);
  if (ec) return invalidArgument("\"" + address + "\" is not an IP address", "http_address");
  tcp::endpoint endpoint(ip, port);
  tcp::acceptor& acceptor = impl_->acceptor;
  std::string where = address + ":" + std::to_string(port);
  acceptor.open(endpoint.protocol(), ec);
  if (ec) {
    return unavailable("cannot open a socket for " + where + ": " + ec.message());
  }
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  acceptor.bind(endpoint, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return unavailable("cannot bind HTTP server to " + where + ": " + ec.message());
  }
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return unavailable("cannot listen on " + where + ": " + ec.message());
  }
  uint16_t bound = acceptor.local_endpoint(ec).port();
  impl_->stopped = false;
  impl_->accept();
  return bound;
}

void HttpServer::stop() {
  if (!impl_) return;
  impl_->stopped = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
  // Closing a socket aborts its pending operation; the session's handler then ends it.
  auto sessions = std::move(impl_->sessions);
  impl_->sessions.clear();
  for (auto& [ptr, weak] : sessions) {
    if (auto s = weak.lock()) s->close();
  }
}

}  // namespace aifed::api
