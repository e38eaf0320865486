// A small HTTPS (HTTP/1.1 over TLS) server on Boost.Beast + OpenSSL for the coordinator's
// REST API and WebSocket streams: TLS 1.2 minimum, a handshake timeout, keep-alive, a
// body limit, read timeouts, JSON errors. A client that speaks plain HTTP to the port gets
// a plain 400 telling it to use https:// and is closed. It runs on the io_context it is
// given (the coordinator's single event-loop thread), so handlers may touch the broker
// directly.
//
//   Router router;
//   router.add("GET", "/api/v1/jobs/{id}", [&](const HttpRequest& r, const PathParams& p) {
//     return jsonResponse(200, jobJson(p.at("id")));
//   });
//   // A handler that answers later, e.g. once a group commit is durable:
//   router.addAsync("POST", "/api/v1/jobs", [&](const HttpRequest& r, const PathParams&,
//                                               Reply reply) { queue(r, std::move(reply)); });
//   HttpServerOptions o;
//   o.tls = *makeServerTlsContext(identity);            // coordinator/api/tls.h
//   HttpServer server(io, [&](HttpRequest r, Reply reply) {
//     router.dispatch(r, std::move(reply));
//   }, o);
//   Result<uint16_t> port = server.listen("127.0.0.1", 0);   // 0: any free port
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coordinator/api/http_message.h"
#include "coordinator/api/router.h"
#include "protocol/status.h"

namespace aifed::api {

// A WebSocket connection accepted by a WebSocketHandler. Every method is for the server's
// io_context thread. The server owns the connection; holders of this pointer keep only
// the object alive, not the connection.
class WebSocketPeer {
 public:
  virtual ~WebSocketPeer() = default;
  // Queues a text frame. False when the peer is closed, or has just been closed with code
  // 1008 (policy violation) because its queue was full: a peer that does not read is cut
  // off rather than buffered without limit.
  virtual bool send(std::string text) = 0;
  virtual bool closed() const = 0;
  // Sends a close frame after what is queued (1000: normal closure) and ends.
  virtual void close(uint16_t code = 1000, std::string reason = {}) = 0;
  // Called once, when the connection ends for any reason (also after close()).
  virtual void onClose(std::function<void()> fn) = 0;
  // Text frames from the client.
  virtual void onMessage(std::function<void(std::string)> fn) = 0;
  virtual const std::string& remoteAddress() const = 0;
};

// What a WebSocket handler makes of an upgrade request: refuse it with an HTTP answer
// (401, 403, ...), or accept it; `on_open` then receives the peer once the WebSocket
// handshake is done.
struct WebSocketDecision {
  std::optional<HttpResponse> refusal;
  std::function<void(std::shared_ptr<WebSocketPeer>)> on_open;

  static WebSocketDecision refuse(HttpResponse response) {
    return WebSocketDecision{std::move(response), nullptr};
  }
  static WebSocketDecision accept(std::function<void(std::shared_ptr<WebSocketPeer>)> on_open) {
    return WebSocketDecision{std::nullopt, std::move(on_open)};
  }
};
using WebSocketHandler = std::function<WebSocketDecision(const HttpRequest& upgrade)>;

struct HttpServerOptions {
  // The server's TLS context (coordinator/api/tls.h). Required: listen() refuses without.
  std::shared_ptr<boost::asio::ssl::context> tls;
  size_t body_limit = 1 << 20;  // larger bodies: 413
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds handshake_timeout{10};  // TLS and WebSocket handshakes
  // WebSocket: frames queued for one peer before it is cut off with 1008; a peer silent
  // this long is pinged, and closed if it stays silent another such period.
  size_t websocket_queue_limit = 1024;
  std::chrono::seconds websocket_idle_timeout{60};
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  using AsyncHandler = std::function<void(HttpRequest, Reply)>;
  HttpServer(boost::asio::io_context& io, Handler handler, HttpServerOptions options);
  HttpServer(boost::asio::io_context& io, AsyncHandler handler, HttpServerOptions options);
  ~HttpServer();
  // A WebSocket upgrade request (GET with Upgrade: websocket) to exactly `path` goes to
  // `fn` instead of the request handler; a plain request to `path` gets 426.
  void setWebSocketHandler(std::string path, WebSocketHandler fn);
  // Binds and starts accepting. Port 0 picks a free port; returns the bound port.
  Result<uint16_t> listen(const std::string& address, uint16_t port);
  // Stops accepting and closes open connections (WebSockets included); requests being
  // handled get no answer. Idempotent. Call it on the io_context's thread (or while the
  // io_context is not running), like every other use of the server.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace aifed::api
