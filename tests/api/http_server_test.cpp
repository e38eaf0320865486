// The HTTP server over loopback: a real HttpServer on 127.0.0.1 port 0 with its
// io_context on a thread, driven by the CLI's HttpClient and by raw sockets for the
// requests a well-behaved client never sends.
#include "coordinator/api/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <future>
#include <thread>

#include "cli/http_client.h"

namespace aifed::api {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using cli::HttpClient;
using cli::HttpResult;

// A server on its own thread. Everything that touches it after start goes through the
// io_context, as the coordinator does it.
class TestServer {
 public:
  explicit TestServer(HttpServerOptions options = {}) {
    router_.add("GET", "/api/v1/jobs/{id}", [](const HttpRequest&, const PathParams& p) {
      return jsonResponse(200, json::object{{"id", p.at("id")}});
    });
    router_.add("GET", "/echo", [](const HttpRequest& req, const PathParams&) {
      json::object q, h;
      for (const auto& [k, v] : req.query) q[k] = v;
      for (const auto& [k, v] : req.headers) h[k] = v;
      return jsonResponse(200, json::object{{"method", req.method},
                                            {"target", req.target},
                                            {"path", req.path},
                                            {"query", std::move(q)},
                                            {"headers", std::move(h)},
                                            {"remote", req.remote_address}});
    });
    router_.add("POST", "/echo", [](const HttpRequest& req, const PathParams&) {
      return jsonResponse(200, json::object{{"body_size", req.body.size()}, {"body", req.body}});
    });
    router_.add("GET", "/boom", [](const HttpRequest&, const PathParams&) -> HttpResponse {
      throw std::runtime_error("handler bug");
    });
    router_.add("GET", "/status/{code}", [](const HttpRequest&, const PathParams& p) {
      return errorResponse(std::stoi(p.at("code")), "x", "asked for it");
    });
    server_ = std::make_unique<HttpServer>(
        io_, [this](const HttpRequest& r) { return router_.route(r); }, options);
    Result<uint16_t> port = server_->listen("127.0.0.1", 0);
    EXPECT_TRUE(port.ok()) << port.status().toString();
    port_ = port.ok() ? *port : 0;
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TestServer() {
    stop();
    thread_.join();
    server_.reset();
  }
  // Once stopped, io_.run() may return and the thread end: a second stop must not wait
  // for a handler nobody will run.
  void stop() {
    if (stopped_) return;
    stopped_ = true;
    std::promise<void> done;
    asio::post(io_, [&] {
      server_->stop();
      done.set_value();
    });
    done.get_future().wait();
  }
  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  asio::io_context io_;
  Router router_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  bool stopped_ = false;
  std::thread thread_;
};

// A raw connection for requests a real client would not send.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  void send(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }
  // Reads one response; an error (the server closed) comes back in `ec`.
  http::response<http::string_body> read(beast::error_code& ec) {
    http::response<http::string_body> res;
    http::read(socket_, buffer_, res, ec);
    return res;
  }
  http::response<http::string_body> read() {
    beast::error_code ec;
    auto res = read(ec);
    EXPECT_FALSE(ec) << ec.message();
    return res;
  }
  // True if the server has closed its side: the next read sees end of stream.
  bool closedByServer() {
    char c;
    beast::error_code ec;
    socket_.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

json::object parseObject(const std::string& body) {
  return json::parse(body).as_object();
}

std::string errorCode(const std::string& body) {
  return json::value_to<std::string>(parseObject(body).at("error").at("code"));
}

TEST(HttpServerTest, ListenOnPortZeroReturnsBoundPort) {
  TestServer server;
  EXPECT_NE(server.port(), 0);
}

TEST(HttpServerTest, ListenRejectsBadAddressAndBusyPort) {
  asio::io_context io;
  HttpServer a(io, [](const HttpRequest&) { return HttpResponse{}; });
  EXPECT_EQ(a.listen("not-an-ip", 0).status().code(), StatusCode::kInvalidArgument);
  HttpServer b(io, [](const HttpRequest&) { return HttpResponse{}; });
  Result<uint16_t> port = b.listen("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  HttpServer c(io, [](const HttpRequest&) { return HttpResponse{}; });
  Result<uint16_t> again = c.listen("127.0.0.1", *port);
  EXPECT_EQ(again.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(again.status().message().find(std::to_string(*port)), std::string::npos);
}

TEST(HttpServerTest, RoutesWithPathParams) {
  TestServer server;
  HttpClient client(server.url(), std::chrono::seconds(5));
  Result<HttpResult> r = client.request("GET", "/api/v1/jobs/j-17", "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(parseObject(r->body)["id"], "j-17");
  r = client.request("GET", "/api/v1/jobs/with%20space", "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(parseObject(r->body)["id"], "with space");
}

TEST(HttpServerTest, ParsesAndDecodesQueryAndHeaders) {
  TestServer server;
  HttpClient client(server.url(), std::chrono::seconds(5));
  Result<HttpResult> r =
      client.request("GET", "/ec%68o?state=running&site=m%C3%A9r+x&limit=&x=1%262", "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  ASSERT_EQ(r->status, 200) << r->body;
  json::object o = parseObject(r->body);
  EXPECT_EQ(o["path"], "/echo");
  EXPECT_EQ(o["target"], "/ec%68o?state=running&site=m%C3%A9r+x&limit=&x=1%262");
  EXPECT_EQ(o["query"].at("state"), "running");
  EXPECT_EQ(o["query"].at("site"), "m\xc3\xa9r x");
  EXPECT_EQ(o["query"].at("limit"), "");
  EXPECT_EQ(o["query"].at("x"), "1&2");
  EXPECT_EQ(o["method"], "GET");
  // Header names arrive lower-case.
  EXPECT_TRUE(o["headers"].as_object().contains("user-agent"));
  EXPECT_TRUE(o["headers"].as_object().contains("host"));
  EXPECT_NE(json::value_to<std::string>(o["remote"]).find("127.0.0.1:"), std::string::npos);
}

TEST(HttpServerTest, BadPercentEncodingIs400) {
  TestServer server;
  HttpClient client(server.url(), std::chrono::seconds(5));
  Result<HttpResult> r = client.request("GET", "/echo?state=%zz", "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(errorCode(r->body), "invalid_argument");
}

TEST(HttpServerTest, UnknownPathAndWrongMethod) {
  TestServer server;
  RawConnection c(server.port());
  c.send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  auto res = c.read();
  EXPECT_EQ(res.result_int(), 404u);
  EXPECT_EQ(errorCode(res.body()), "not_found");
  EXPECT_EQ(res[http::field::content_type], "application/json");
  c.send("DELETE /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  res = c.read();
  EXPECT_EQ(res.result_int(), 405u);
  EXPECT_EQ(res[http::field::allow], "GET, POST");
  EXPECT_EQ(errorCode(res.body()), "method_not_allowed");
}

TEST(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  TestServer server;
  RawConnection c(server.port());
  for (int i = 0; i < 5; ++i) {
    c.send("GET /api/v1/jobs/j" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    auto res = c.read();
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_TRUE(res.keep_alive());
    EXPECT_EQ(json::value_to<std::string>(parseObject(res.body())["id"]), "j" + std::to_string(i));
  }
  // Pipelined: two requests in one write, two answers in order.
  c.send("GET /api/v1/jobs/a HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/jobs/b HTTP/1.1\r\n\r\n");
  EXPECT_EQ(parseObject(c.read().body())["id"], "a");
  EXPECT_EQ(parseObject(c.read().body())["id"], "b");
  // Connection: close is honoured.
  c.send("GET /api/v1/jobs/z HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto res = c.read();
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(c.closedByServer());
}

TEST(HttpServerTest, ClientReusesItsConnection) {
  TestServer server;
  HttpClient client(server.url(), std::chrono::seconds(5));
  std::string first_remote;
  for (int i = 0; i < 3; ++i) {
    Result<HttpResult> r = client.request("GET", "/echo", "");
    ASSERT_TRUE(r.ok());
    std::string remote = json::value_to<std::string>(parseObject(r->body)["remote"]);
    if (i == 0) first_remote = remote;
    EXPECT_EQ(remote, first_remote) << "same client port: the connection was kept";
  }
}

TEST(HttpServerTest, PostBodyArrives) {
  TestServer server;
  HttpClient client(server.url(), std::chrono::seconds(5));
  Result<HttpResult> r = client.request("POST", "/echo", R"({"nodes":2})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(parseObject(r->body)["body"], R"({"nodes":2})");
}

TEST(HttpServerTest, OversizedBodyIs413) {
  HttpServerOptions options;
  options.body_limit = 1024;
  TestServer server(options);
  HttpClient client(server.url(), std::chrono::seconds(5));
  Result<HttpResult> r = client.request("POST", "/echo", std::string(1024, 'x'));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << "exactly the limit is fine";
  r = client.request("POST", "/echo", std::string(1025, 'x'));
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(errorCode(r->body), "payload_too_large");
  // Chunked bodies are limited too.
  RawConnection c(server.port());
  std::string chunk(2000, 'y');
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + chunk +
         "\r\n0\r\n\r\n");
  EXPECT_EQ(c.read().result_int(), 413u);
  // The server still serves.
  r = client.request("GET", "/api/v1/jobs/ok", "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServerTest, MalformedRequestIs400AndClosed) {
  TestServer server;
  RawConnection c(server.port());
  c.send("THIS IS NOT HTTP\r\n\r\n");
  beast::error_code ec;
  auto res = c.read(ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result_int(), 400u);
  EXPECT_EQ(errorCode(res.body()), "invalid_argument");
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(c.closedByServer());
}

TEST(HttpServerTest, ManyMalformedRequestsKeepServerUp) {
  TestServer server;
  const std::vector<std::string> garbage = {
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  // a TLS hello
      "GET\r\n\r\n",
      "GET / HTTP/9.9\r\n\r\n",
      "GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
      "POST /echo HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
      "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "GET /echo HTTP/1.1\r\nHost: " + std::string(20000, 'h') + "\r\n\r\n",
      "GET relative HTTP/1.1\r\n\r\n",
  };
  for (int round = 0; round < 10; ++round) {
    for (const std::string& g : garbage) {
      RawConnection c(server.port());
      c.send(g);
      beast::error_code ec;
      auto res = c.read(ec);
      if (!ec) {
        EXPECT_GE(res.result_int(), 400u) << g;
      }
    }
    // A client that connects and leaves without a word.
    { RawConnection c(server.port()); }
    // A request cut off mid-body.
    {
      RawConnection c(server.port());
      c.send("POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
    }
  }
  HttpClient client(server.url(), std::chrono::seconds(5));
  Result<HttpResult> r = client.request("GET", "/api/v1/jobs/alive", "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServerTest, HandlerExceptionIs500AndServerStaysUp) {
  // The server's own guard, for a handler that is not a Router.
  asio::io_context io;
  HttpServer server(io, [](const HttpRequest& r) -> HttpResponse {
    if (r.path == "/boom") throw std::logic_error("bug in handler");
    return jsonResponse(200, json::object{{"ok", true}});
  });
  Result<uint16_t> port = server.listen("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  std::thread t([&] { io.run(); });
  {
    HttpClient client("http://127.0.0.1:" + std::to_string(*port), std::chrono::seconds(5));
    for (int i = 0; i < 3; ++i) {
      Result<HttpResult> r = client.request("GET", "/boom", "");
      ASSERT_TRUE(r.ok()) << r.status().toString();
      EXPECT_EQ(r->status, 500);
      EXPECT_EQ(errorCode(r->body), "internal");
      r = client.request("GET", "/fine", "");
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->status, 200);
    }
  }
  asio::post(io, [&] { server.stop(); });
  t.join();
}

TEST(HttpServerTest, IdleConnectionTimesOutAndClientReconnects) {
  HttpServerOptions options;
  options.read_timeout = std::chrono::seconds(1);
  TestServer server(options);
  HttpClient client(server.url(), std::chrono::seconds(5));
  ASSERT_TRUE(client.request("GET", "/echo", "").ok());
  RawConnection idle(server.port());
  // Past the read timeout the server has closed both idle connections.
  EXPECT_TRUE(idle.closedByServer());
  Result<HttpResult> r = client.request("GET", "/api/v1/jobs/again", "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServerTest, StopClosesOpenConnections) {
  TestServer server;
  RawConnection c(server.port());
  c.send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.read().result_int(), 200u);
  server.stop();
  EXPECT_TRUE(c.closedByServer());
  HttpClient client(server.url(), std::chrono::seconds(2));
  EXPECT_EQ(client.request("GET", "/echo", "").status().code(), StatusCode::kUnavailable);
}

TEST(HttpClientTest, RefusedConnectionIsUnavailableNamingTheUrl) {
  uint16_t port;
  {
    // A port that was free a moment ago and has nothing listening now.
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  HttpClient client(url, std::chrono::seconds(2));
  Result<HttpResult> r = client.request("GET", "/api/v1/sites", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find(url), std::string::npos) << r.status().message();
}

TEST(HttpClientTest, SilentServerTimesOut) {
  asio::io_context io;
  // Accepts (the kernel does) but never answers.
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  HttpClient client("http://127.0.0.1:" + std::to_string(a.local_endpoint().port()),
                    std::chrono::milliseconds(300));
  Result<HttpResult> r = client.request("GET", "/", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("no answer"), std::string::npos) << r.status().message();
}

TEST(HttpClientTest, ParsesUrls) {
  auto u = cli::parseHttpUrl("http://example.org:7780/prefix/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "example.org");
  EXPECT_EQ(u->port, "7780");
  EXPECT_EQ(u->prefix, "/prefix");
  u = cli::parseHttpUrl("http://[::1]:80");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(cli::parseHttpUrl("http://h")->port, "80");
  EXPECT_FALSE(cli::parseHttpUrl("https://h:1").ok());
  EXPECT_FALSE(cli::parseHttpUrl("h:1").ok());
  EXPECT_FALSE(cli::parseHttpUrl("http://h:99999").ok());
  EXPECT_FALSE(cli::parseHttpUrl("http://:80").ok());
  HttpClient bad("ftp://x", std::chrono::seconds(1));
  EXPECT_EQ(bad.request("GET", "/", "").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace aifed::api
