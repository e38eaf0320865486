#include "coordinator/api/http_server.h"

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cctype>
#include <deque>
#include <exception>
#include <optional>
#include <unordered_map>

namespace aifed::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// A response that is being written must not wait forever on a client that stopped reading.
constexpr std::chrono::seconds kWriteTimeout{30};

// An open connection (HTTP or WebSocket), so stop() can close it.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual void close() = 0;
};

// The server's state, shared by the HttpServer, its pending accept and its connections,
// so a completion that arrives after the HttpServer is gone still finds it.
struct ServerCore : std::enable_shared_from_this<ServerCore> {
  ServerCore(asio::io_context& io_context, HttpServer::AsyncHandler h, HttpServerOptions o)
      : io(io_context), handler(std::move(h)), options(std::move(o)), acceptor(io_context) {}

  void accept();

  asio::io_context& io;
  HttpServer::AsyncHandler handler;
  HttpServerOptions options;
  tcp::acceptor acceptor;
  bool stopped = false;
  std::map<std::string, WebSocketHandler> websocket_handlers;  // by exact path
  // Open connections. Connections remove themselves when they end.
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections;
};

// One accepted WebSocket: a bounded queue of text frames written one at a time, a read
// loop for the client's frames (and Beast's ping/pong/close handling), and a hard close
// when a close handshake does not finish in time.
class WebSocketSession final : public WebSocketPeer,
                               public Connection,
                               public std::enable_shared_from_this<WebSocketSession> {
 public:
  WebSocketSession(TlsStream stream, std::shared_ptr<ServerCore> server, std::string remote)
      : ws_(std::move(stream)),
        server_(std::move(server)),
        remote_address_(std::move(remote)),
        grace_timer_(server_->io) {}

  void start(http::request<http::string_body> upgrade,
             std::function<void(std::shared_ptr<WebSocketPeer>)> on_open) {
    server_->connections[this] = weak_from_this();
    upgrade_ = std::move(upgrade);
    // The WebSocket layer keeps its own timeouts; the TCP layer's would cut idle streams.
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = server_->options.handshake_timeout;
    timeouts.idle_timeout = server_->options.websocket_idle_timeout;
    timeouts.keep_alive_pings = true;  // ping at half the idle timeout, close if no answer
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "aifed/" AIFED_VERSION);
    }));
    ws_.read_message_max(64 * 1024);  // clients send little; a flood is not welcome
    ws_.async_accept(
        upgrade_, [self = shared_from_this(), on_open = std::move(on_open)](beast::error_code ec) {
          if (ec) return self->end();
          self->open_ = true;
          if (on_open) on_open(self);
          if (self->ended_) return;
          self->read();
          if (!self->writing_ && !self->queue_.empty()) self->writeNext();
          if (self->closing_ && !self->writing_) self->sendClose();
        });
  }

  // WebSocketPeer
  bool send(std::string text) override {
    if (ended_ || closing_) return false;
    if (queue_.size() >= server_->options.websocket_queue_limit) {
      overflow();
      return false;
    }
    queue_.push_back(std::move(text));
    if (open_ && !writing_) writeNext();
    return true;
  }
  bool closed() const override { return ended_ || closing_; }
  void close(uint16_t code, std::string reason) override {
    if (ended_ || closing_) return;
    closing_ = true;
    close_reason_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
    armGrace();
    if (open_ && !writing_) sendClose();  // else after the queue has drained
  }
  void onClose(std::function<void()> fn) override {
    if (ended_) {
      if (fn) fn();
      return;
    }
    on_close_ = std::move(fn);
  }
  void onMessage(std::function<void(std::string)> fn) override { on_message_ = std::move(fn); }
  const std::string& remoteAddress() const override { return remote_address_; }

  // Connection
  void close() override { end(); }

 private:
  void read() {
    ws_.async_read(read_buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->end();  // closed by the client, timed out, or torn down
      if (self->on_message_ && self->ws_.got_text()) {
        self->on_message_(beast::buffers_to_string(self->read_buffer_.data()));
      }
      self->read_buffer_.consume(self->read_buffer_.size());
      if (!self->ended_) self->read();
    });
  }

  void writeNext() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(asio::buffer(queue_.front()),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      self->writing_ = false;
                      if (ec || self->ended_) return self->end();
                      self->queue_.pop_front();
                      if (!self->queue_.empty()) return self->writeNext();
                      if (self->closing_) self->sendClose();
                    });
  }

  // A peer that does not keep up: drop what waits and close with 1008. If the frame being
  // written never leaves (the client reads nothing), the grace timer cuts the TCP
  // connection.
  void overflow() {
    closing_ = true;
    close_reason_ = websocket::close_reason(websocket::close_code::policy_error,
                                            "send queue full: the client does not keep up");
    while (queue_.size() > (writing_ ? 1u : 0u)) queue_.pop_back();
    armGrace();
    if (open_ && !writing_) sendClose();
  }
  void sendClose() {
    if (close_sent_ || ended_) return;
    close_sent_ = true;
    ws_.async_close(close_reason_, [self = shared_from_this()](beast::error_code) { self->end(); });
  }

  void armGrace() {
    grace_timer_.expires_after(server_->options.handshake_timeout);
    grace_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->end();
    });
  }

  void end() {
    if (ended_) return;
    ended_ = true;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).close();
    grace_timer_.cancel();
    server_->connections.erase(this);
    queue_.clear();
    // Callbacks often hold the peer: dropping them breaks the cycle.
    on_message_ = nullptr;
    if (auto fn = std::move(on_close_)) {
      on_close_ = nullptr;
      fn();
    }
  }

  websocket::stream<TlsStream> ws_;
  std::shared_ptr<ServerCore> server_;
  std::string remote_address_;
  asio::steady_timer grace_timer_;
  http::request<http::string_body> upgrade_;
  beast::flat_buffer read_buffer_;
  std::deque<std::string> queue_;
  websocket::close_reason close_reason_;
  std::function<void()> on_close_;
  std::function<void(std::string)> on_message_;
  bool open_ = false, writing_ = false, closing_ = false, close_sent_ = false, ended_ = false;
};

// One TLS connection carrying HTTP/1.1 requests, one at a time.
class Session final : public Connection, public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<ServerCore> server)
      : stream_(beast::tcp_stream(std::move(socket)), *server->options.tls),
        server_(std::move(server)),
        handshake_timer_(server_->io) {
    boost::system::error_code ec;
    tcp::endpoint remote = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) remote_address_ = remote.address().to_string() + ":" + std::to_string(remote.port());
  }

  void start() {
    server_->connections[this] = weak_from_this();
    // Whatever the client sends first must arrive in time: a TLS hello, or something
    // else that we refuse. The first byte is only peeked at, so OpenSSL reads it again.
    beast::get_lowest_layer(stream_).expires_after(server_->options.handshake_timeout);
    handshake_timer_.expires_after(server_->options.handshake_timeout);
    handshake_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && !self->handshake_done_) self->finish();
    });
    beast::get_lowest_layer(stream_).socket().async_receive(
        asio::buffer(&first_byte_, 1), tcp::socket::message_peek,
        [self = shared_from_this()](beast::error_code ec, size_t n) {
          // A TLS record starts with its content type: 22, handshake.
          self->onDetect(n == 1 ? ec : asio::error::eof, self->first_byte_ == 0x16);
        });
  }

  void close() override {
    closed_ = true;
    handshake_timer_.cancel();
    boost::system::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream_).socket().close(ec);
  }

 private:
  void onDetect(beast::error_code ec, bool is_tls) {
    if (ec || server_->stopped || closed_) return finish();
    if (!is_tls) return refusePlainText();
    stream_.async_handshake(ssl::stream_base::server,
                            [self = shared_from_this()](beast::error_code ec) {
                              if (ec || self->server_->stopped) return self->finish();
                              self->handshake_done_ = true;
                              self->handshake_timer_.cancel();
                              self->read();
                            });
  }

  // Plain HTTP (or anything that is not TLS) on the HTTPS port: a plain-text answer that
  // says so, then close. Nothing of the request is looked at.
  void refusePlainText() {
    static const std::string kBody =
        R"({"error":{"code":"invalid_argument","message":"this port speaks HTTPS only: use https://"}})"
        "\n";
    static const std::string kAnswer = "HTTP/1.1 400 Bad Request\r\nServer: aifed/" AIFED_VERSION
                                       "\r\nContent-Type: application/json\r\nContent-Length: " +
                                       std::to_string(kBody.size()) +
                                       "\r\nConnection: close\r\n\r\n" + kBody;
    beast::get_lowest_layer(stream_).expires_after(kWriteTimeout);
    asio::async_write(stream_.next_layer(), asio::buffer(kAnswer),
                      [self = shared_from_this()](beast::error_code, size_t) {
                        boost::system::error_code ignored;
                        beast::get_lowest_layer(self->stream_)
                            .socket()
                            .shutdown(tcp::socket::shutdown_send, ignored);
                        self->finish();
                      });
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(server_->options.body_limit);
    // The timeout covers an idle keep-alive connection as well as a slow request.
    beast::get_lowest_layer(stream_).expires_after(server_->options.read_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
  }

  void onRead(beast::error_code ec) {
    if (server_->stopped || closed_ || ec == asio::error::operation_aborted) return finish();
    if (ec == http::error::end_of_stream || ec == beast::error::timeout) return finish();
    // These three are answered before the request was read to its end: the rest of it is
    // drained after the answer (see drainThenShutdown) so the client can read the answer.
    if (ec == http::error::body_limit) {
      unread_input_ = true;
      return reply(errorResponse(413, "payload_too_large",
                                 "request body exceeds the limit of " +
                                     std::to_string(server_->options.body_limit) + " bytes"),
                   11, false);
    }
    if (ec == http::error::header_limit) {
      unread_input_ = true;
      return reply(errorResponse(431, "invalid_argument", "request headers are too large"), 11,
                   false);
    }
    if (ec == http::error::partial_message) return finish();  // the client went away mid-way
    if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
      unread_input_ = true;
      return reply(
          errorResponse(400, "invalid_argument", "malformed HTTP request: " + ec.message()), 11,
          false);
    }
    if (ec) return finish();  // a socket or TLS error (ssl::error::stream_truncated...)

    http::request<http::string_body> req = parser_->release();
    unsigned version = req.version();
    bool keep_alive = req.keep_alive();
    HttpRequest request;
    if (std::optional<HttpResponse> bad = toRequest(req, request)) {
      return reply(std::move(*bad), version, keep_alive);
    }

    auto ws = server_->websocket_handlers.find(request.path);
    if (ws != server_->websocket_handlers.end()) {
      if (!websocket::is_upgrade(req)) {
        HttpResponse r = errorResponse(426, "invalid_argument",
                                       request.path + " is a WebSocket: send an upgrade request");
        r.headers.emplace_back("Upgrade", "websocket");
        return reply(std::move(r), version, keep_alive);
      }
      return upgrade(ws->second, request, std::move(req));
    }

    auto replied = std::make_shared<bool>(false);
    Reply answer = [self = shared_from_this(), version, keep_alive, replied](HttpResponse r) {
      asio::dispatch(self->server_->io,
                     [self, r = std::move(r), version, keep_alive, replied]() mutable {
                       if (*replied) return;
                       *replied = true;
                       if (self->closed_ || self->server_->stopped) return self->finish();
                       self->reply(std::move(r), version, keep_alive);
                     });
    };
    try {
      server_->handler(std::move(request), answer);
    } catch (const std::exception& e) {
      answer(errorResponse(500, "internal", std::string("request handler failed: ") + e.what()));
    } catch (...) {
      answer(errorResponse(500, "internal", "request handler failed"));
    }
  }

  void upgrade(const WebSocketHandler& handler, const HttpRequest& request,
               http::request<http::string_body> req) {
    WebSocketDecision decision;
    try {
      decision = handler(request);
    } catch (const std::exception& e) {
      decision = WebSocketDecision::refuse(
          errorResponse(500, "internal", std::string("WebSocket handler failed: ") + e.what()));
    }
    if (decision.refusal) return reply(std::move(*decision.refusal), req.version(), false);
    // The stream moves to the WebSocket session; this session ends here.
    server_->connections.erase(this);
    auto peer = std::make_shared<WebSocketSession>(std::move(stream_), server_, remote_address_);
    peer->start(std::move(req), std::move(decision.on_open));
  }

  // The request as handlers see it, or the 400 that answers it.
  std::optional<HttpResponse> toRequest(http::request<http::string_body>& req, HttpRequest& r) {
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
    return std::nullopt;
  }

  void reply(HttpResponse response, unsigned version, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version);
    res->result(static_cast<unsigned>(response.status));
    res->set(http::field::server, "aifed/" AIFED_VERSION);
    res->set(http::field::content_type, response.content_type);
    // HTTPS only, for a year: a browser that has seen the console never tries plain HTTP.
    res->set(http::field::strict_transport_security, "max-age=31536000");
    for (auto& [name, value] : response.headers) res->insert(name, value);
    if (res->find("X-Content-Type-Options") == res->end()) {
      res->set("X-Content-Type-Options", "nosniff");
    }
    res->body() = std::move(response.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(kWriteTimeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
                        self->onWrite(ec, keep_alive);
                      });
  }

  void onWrite(beast::error_code ec, bool keep_alive) {
    if (ec || server_->stopped || closed_) return finish();
    if (!keep_alive) {
      if (unread_input_) return drainThenShutdown(0);
      // close_notify, then the TCP close; a client that does not answer has a few seconds.
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      return stream_.async_shutdown(
          [self = shared_from_this()](beast::error_code) { self->finish(); });
    }
    read();
  }

  // A lingering close, as Apache and nginx do: closing a socket with unread input sends a
  // reset, and the reset can destroy the answer before the client has read it (a client
  // still writing a too-large body sees "broken pipe" instead of 413). So read and drop
  // what the client still sends, up to a bound in bytes and time, then close.
  void drainThenShutdown(size_t drained) {
    static constexpr size_t kDrainLimit = 16u << 20;
    if (drained == 0) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    }
    if (drained > kDrainLimit) return finish();
    stream_.async_read_some(asio::buffer(drain_buffer_),
                            [self = shared_from_this(), drained](beast::error_code ec, size_t n) {
                              if (ec || self->server_->stopped || self->closed_) {
                                return self->finish();
                              }
                              self->drainThenShutdown(drained + n);
                            });
  }

  void finish() {
    close();
    server_->connections.erase(this);
  }

  TlsStream stream_;
  std::shared_ptr<ServerCore> server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string remote_address_;
  asio::steady_timer handshake_timer_;
  unsigned char first_byte_ = 0;
  bool handshake_done_ = false;
  bool closed_ = false;
  bool unread_input_ = false;
  std::array<char, 16384> drain_buffer_{};
};

void ServerCore::accept() {
  // The pending accept holds the core, so its completion never sees a destroyed server.
  acceptor.async_accept(
      io, [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
        if (self->stopped || ec == asio::error::operation_aborted) return;
        if (!ec) {
          socket.set_option(tcp::no_delay(true), ec);
          std::make_shared<Session>(std::move(socket), self)->start();
        }
        self->accept();  // a failed accept (e.g. out of descriptors) must not stop the server
      });
}

}  // namespace

struct HttpServer::Impl : ServerCore {
  using ServerCore::ServerCore;
};

HttpServer::HttpServer(asio::io_context& io, Handler handler, HttpServerOptions options)
    : HttpServer(
          io, AsyncHandler([h = std::move(handler)](HttpRequest r, Reply reply) { reply(h(r)); }),
          std::move(options)) {}

HttpServer::HttpServer(asio::io_context& io, AsyncHandler handler, HttpServerOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(handler), std::move(options))) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::setWebSocketHandler(std::string path, WebSocketHandler fn) {
  impl_->websocket_handlers[std::move(path)] = std::move(fn);
}

Result<uint16_t> HttpServer::listen(const std::string& address, uint16_t port) {
  if (!impl_->options.tls) {
    return failedPrecondition("the HTTPS server has no TLS context (HttpServerOptions::tls)");
  }
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
    return unavailable("cannot bind HTTPS server to " + where + ": " + ec.message());
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
  // Closing a socket aborts its pending operation; the connection's handler then ends it.
  auto connections = std::move(impl_->connections);
  impl_->connections.clear();
  for (auto& [ptr, weak] : connections) {
    if (auto c = weak.lock()) c->close();
  }
}

}  // namespace aifed::api
