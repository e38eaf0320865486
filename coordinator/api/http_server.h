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

using PathParams = std::map<std::string, std::string>;
// Answers a request. Call it exactly once, on the server's io_context thread (a call from
// another thread is posted there); a second call is ignored, and a call after the client
// went away is harmless.
using Reply = std::function<void(HttpResponse)>;
using RouteHandler = std::function<HttpResponse(const HttpRequest&, const PathParams&)>;
using AsyncRouteHandler = std::function<void(const HttpRequest&, const PathParams&, Reply)>;

// Matches "/api/v1/jobs/{id}"-style patterns segment by segment. Unknown path: 404;
// known path with another method: 405 with an Allow header. A handler that throws
// gives 500 and the server stays up.
class Router {
 public:
  void add(std::string method, std::string pattern, RouteHandler handler);
  // A route whose handler answers through `reply`, possibly later.
  void addAsync(std::string method, std::string pattern, AsyncRouteHandler handler);
  // Routes and answers through `reply` (at once for synchronous routes).
  void dispatch(const HttpRequest& request, Reply reply) const;
  // Synchronous routing; an asynchronous route that does not answer before returning
  // gives 500 (use dispatch() for those).
  HttpResponse route(const HttpRequest& request) const;
  // Every (method, pattern) registered, in registration order: ("GET", "/api/v1/jobs/{id}").
  std::vector<std::pair<std::string, std::string>> list() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    AsyncRouteHandler handler;
  };
  std::vector<Route> routes_;
};

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
