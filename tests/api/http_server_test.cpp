// The HTTPS server over loopback: a real HttpServer on 127.0.0.1 port 0 with its
// io_context on a thread, driven by the CLI's HttpClient (pinning the test certificate),
// by raw TLS and TCP connections for the requests a well-behaved client never sends, and
// by a Beast WebSocket client.
#include "coordinator/api/http_server.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "cli/http_client.h"
#include "tests/api/test_tls.h"

namespace aifed::api {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using cli::HttpClient;
using cli::HttpClientOptions;
using cli::HttpResult;
using testing::pinnedClient;
using testing::testTls;
using testing::tlsServerOptions;

HttpClientOptions pinned(int seconds = 5) {
  return pinnedClient(std::chrono::seconds(seconds));
}

// A server on its own thread. Everything that touches it after start goes through the
// io_context, as the coordinator does it. `setup` runs before listen (WebSocket routes).
class TestServer {
 public:
  explicit TestServer(HttpServerOptions options = {},
                      std::function<void(HttpServer&, asio::io_context&)> setup = nullptr) {
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
    // Answers 200 ms later from a timer, as the coordinator answers after a group commit.
    router_.addAsync("GET", "/later", [this](const HttpRequest&, const PathParams&, Reply reply) {
      auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(200));
      timer->async_wait([timer, reply](boost::system::error_code) {
        reply(jsonResponse(200, json::object{{"late", true}}));
      });
    });
    server_ = std::make_unique<HttpServer>(
        io_, HttpServer::AsyncHandler([this](HttpRequest r, Reply reply) {
          router_.dispatch(r, std::move(reply));
        }),
        tlsServerOptions(options));
    if (setup) setup(*server_, io_);
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
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }

 private:
  asio::io_context io_;
  Router router_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  bool stopped_ = false;
  std::thread thread_;
};

tcp::endpoint local(uint16_t port) {
  return tcp::endpoint(asio::ip::make_address("127.0.0.1"), port);
}

bool isClosedError(const beast::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == ssl::error::stream_truncated || ec == asio::error::broken_pipe;
}

// A raw TLS connection (no certificate check) for requests a real client would not send.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) : ctx_(ssl::context::tls_client), stream_(io_, ctx_) {
    ctx_.set_verify_mode(ssl::verify_none);
    stream_.next_layer().connect(local(port));
    stream_.handshake(ssl::stream_base::client);
  }
  void send(const std::string& bytes) {
    beast::error_code ec;
    asio::write(stream_, asio::buffer(bytes), ec);  // the server may already have closed
  }
  // Reads one response; an error (the server closed) comes back in `ec`.
  http::response<http::string_body> read(beast::error_code& ec) {
    http::response<http::string_body> res;
    http::read(stream_, buffer_, res, ec);
    return res;
  }
  http::response<http::string_body> read() {
    beast::error_code ec;
    auto res = read(ec);
    EXPECT_FALSE(ec) << ec.message();
    return res;
  }
  // True if the server has closed its side: the next read sees the end of the stream.
  bool closedByServer() {
    char c;
    beast::error_code ec;
    stream_.read_some(asio::buffer(&c, 1), ec);
    return isClosedError(ec);
  }

 private:
  asio::io_context io_;
  ssl::context ctx_;
  ssl::stream<tcp::socket> stream_;
  beast::flat_buffer buffer_;
};

// A plain TCP connection to the HTTPS port.
class PlainConnection {
 public:
  explicit PlainConnection(uint16_t port) : socket_(io_) { socket_.connect(local(port)); }
  void send(const std::string& bytes) {
    beast::error_code ec;
    asio::write(socket_, asio::buffer(bytes), ec);
  }
  http::response<http::string_body> read(beast::error_code& ec) {
    http::response<http::string_body> res;
    http::read(socket_, buffer_, res, ec);
    return res;
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
  auto ok = [](const HttpRequest&) { return HttpResponse{}; };
  HttpServer a(io, ok, tlsServerOptions());
  EXPECT_EQ(a.listen("not-an-ip", 0).status().code(), StatusCode::kInvalidArgument);
  HttpServer no_tls(io, ok, HttpServerOptions{});
  EXPECT_EQ(no_tls.listen("127.0.0.1", 0).status().code(), StatusCode::kFailedPrecondition)
      << "there is no plain-HTTP mode";
  HttpServer b(io, ok, tlsServerOptions());
  Result<uint16_t> port = b.listen("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  HttpServer c(io, ok, tlsServerOptions());
  Result<uint16_t> again = c.listen("127.0.0.1", *port);
  EXPECT_EQ(again.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(again.status().message().find(std::to_string(*port)), std::string::npos);
}

TEST(HttpServerTest, RoutesWithPathParams) {
  TestServer server;
  HttpClient client(server.url(), pinned());
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
  HttpClient client(server.url(), pinned());
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
  HttpClient client(server.url(), pinned());
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
    // HTTPS only: browsers remember it for a year (issue 12: there was no HSTS header).
    EXPECT_EQ(res[boost::beast::http::field::strict_transport_security], "max-age=31536000");
    EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
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
  HttpClient client(server.url(), pinned());
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
  HttpClient client(server.url(), pinned());
  Result<HttpResult> r = client.request("POST", "/echo", R"({"nodes":2})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(parseObject(r->body)["body"], R"({"nodes":2})");
}

TEST(HttpServerTest, OversizedBodyIs413) {
  HttpServerOptions options;
  options.body_limit = 1024;
  TestServer server(options);
  HttpClient client(server.url(), pinned());
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

// 1,000 connections, each doing one wrong thing, then a good request is still served.
TEST(HttpServerTest, ThousandMalformedRequestsKeepServerUp) {
  TestServer server;
  std::mt19937 rng(6);
  const std::string huge_header =
      "GET /echo HTTP/1.1\r\nHost: " + std::string(20000, 'h') + "\r\n\r\n";
  // The first bytes of a TLS ClientHello and nothing more.
  const std::string truncated_hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  int answered = 0;
  for (int i = 0; i < 1000; ++i) {
    beast::error_code ec;
    switch (i % 10) {
      case 0: {  // random bytes, no TLS
        PlainConnection c(server.port());
        std::string junk(1 + rng() % 200, '\0');
        for (char& ch : junk) ch = static_cast<char>(rng());
        c.send(junk);
        auto res = c.read(ec);
        if (!ec) {
          EXPECT_EQ(res.result_int(), 400u);
        }
        break;
      }
      case 1: {  // plain HTTP on the HTTPS port
        PlainConnection c(server.port());
        c.send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
        auto res = c.read(ec);
        ASSERT_FALSE(ec) << ec.message();
        EXPECT_EQ(res.result_int(), 400u);
        EXPECT_NE(res.body().find("HTTPS only"), std::string::npos) << res.body();
        ++answered;
        break;
      }
      case 2:
      case 3: {  // bad request lines over TLS
        RawConnection c(server.port());
        c.send(i % 10 == 2 ? "GET\r\n\r\n" : "THIS IS NOT HTTP\r\n\r\n");
        auto res = c.read(ec);
        ASSERT_FALSE(ec) << ec.message();
        EXPECT_EQ(res.result_int(), 400u);
        ++answered;
        break;
      }
      case 4: {  // oversized headers
        RawConnection c(server.port());
        c.send(huge_header);
        auto res = c.read(ec);
        ASSERT_FALSE(ec) << ec.message();
        EXPECT_EQ(res.result_int(), 431u);
        ++answered;
        break;
      }
      case 5: {  // a body over the limit, announced
        RawConnection c(server.port());
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n" +
               std::string(1000, 'x'));
        auto res = c.read(ec);
        ASSERT_FALSE(ec) << ec.message();
        EXPECT_EQ(res.result_int(), 413u);
        ++answered;
        break;
      }
      case 6: {  // a TLS handshake cut short
        PlainConnection c(server.port());
        c.send(truncated_hello);
        break;
      }
      case 7: {  // a request cut off mid-body
        RawConnection c(server.port());
        c.send("POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
        break;
      }
      case 8: {  // bad chunked encoding and a bad header line
        RawConnection c(server.port());
        c.send(i % 20 == 8 ? "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
                           : "GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n");
        auto res = c.read(ec);
        ASSERT_FALSE(ec) << ec.message();
        EXPECT_EQ(res.result_int(), 400u);
        ++answered;
        break;
      }
      case 9: {  // connects and leaves without a word
        PlainConnection c(server.port());
        break;
      }
    }
  }
  EXPECT_EQ(answered, 600);
  HttpClient client(server.url(), pinned());
  Result<HttpResult> r = client.request("GET", "/api/v1/jobs/alive", "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServerTest, HandlerExceptionIs500AndServerStaysUp) {
  // The server's own guard, for a handler that is not a Router.
  asio::io_context io;
  HttpServer server(
      io,
      [](const HttpRequest& r) -> HttpResponse {
        if (r.path == "/boom") throw std::logic_error("bug in handler");
        return jsonResponse(200, json::object{{"ok", true}});
      },
      tlsServerOptions());
  Result<uint16_t> port = server.listen("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  std::thread t([&] { io.run(); });
  {
    HttpClient client("https://127.0.0.1:" + std::to_string(*port), pinned());
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
  HttpClient client(server.url(), pinned());
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
  HttpClient client(server.url(), pinned(2));
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
  std::string url = "https://127.0.0.1:" + std::to_string(port);
  HttpClient client(url, pinned(2));
  Result<HttpResult> r = client.request("GET", "/api/v1/sites", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find(url), std::string::npos) << r.status().message();
}

TEST(HttpClientTest, SilentServerTimesOut) {
  asio::io_context io;
  // Accepts (the kernel does) but never answers.
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  HttpClient client("https://127.0.0.1:" + std::to_string(a.local_endpoint().port()),
                    pinnedClient(std::chrono::milliseconds(300)));
  Result<HttpResult> r = client.request("GET", "/", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("no answer"), std::string::npos) << r.status().message();
}

TEST(HttpClientTest, ParsesUrls) {
  auto u = cli::parseHttpUrl("https://example.org:7780/prefix/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "example.org");
  EXPECT_EQ(u->port, "7780");
  EXPECT_EQ(u->prefix, "/prefix");
  u = cli::parseHttpUrl("https://[::1]:80");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(cli::parseHttpUrl("https://h")->port, "443");
  // Plain HTTP is gone, and the message says what to type instead.
  Result<cli::ParsedUrl> plain = cli::parseHttpUrl("http://h:1");
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("use https://h:1"), std::string::npos)
      << plain.status().message();
  EXPECT_FALSE(cli::parseHttpUrl("h:1").ok());
  EXPECT_FALSE(cli::parseHttpUrl("https://h:99999").ok());
  EXPECT_FALSE(cli::parseHttpUrl("https://:80").ok());
  HttpClient bad("ftp://x", std::chrono::seconds(1));
  EXPECT_EQ(bad.request("GET", "/", "").status().code(), StatusCode::kInvalidArgument);
}

TEST(HttpClientTest, NormalisesFingerprints) {
  const std::string canonical = testTls().identity.fingerprint;
  ASSERT_EQ(canonical.size(), 95u) << "32 bytes as AB:CD:..: " << canonical;
  std::string lower, bare;
  for (char c : canonical) {
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (c != ':') bare.push_back(c);
  }
  EXPECT_EQ(*cli::normalizeFingerprint(lower), canonical);
  EXPECT_EQ(*cli::normalizeFingerprint(bare), canonical);
  EXPECT_EQ(*cli::normalizeFingerprint("sha256//" + canonical), canonical);
  EXPECT_FALSE(cli::normalizeFingerprint("AB:CD").ok());
  EXPECT_FALSE(cli::normalizeFingerprint(canonical.substr(0, 94) + "G").ok());
  HttpClientOptions o;
  o.fingerprint = "nonsense";
  HttpClient client("https://127.0.0.1:1", o);
  EXPECT_EQ(client.request("GET", "/", "").status().code(), StatusCode::kInvalidArgument);
}

// --- TLS ---

TEST(TlsTest, SelfSignedCertificateIsReusedAndNamesLoopback) {
  const testing::TestTls& tls = testTls();
  RealClock clock;
  Result<TlsIdentity> again = loadOrCreateTlsIdentity("", "", tls.dir, clock.now());
  ASSERT_TRUE(again.ok()) << again.status().toString();
  EXPECT_FALSE(again->generated) << "the second start reuses the first certificate";
  EXPECT_EQ(again->fingerprint, tls.identity.fingerprint);
  EXPECT_EQ(
      std::filesystem::status(tls.identity.key_path).permissions() & std::filesystem::perms::all,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  // Explicit paths load the same files; one without the other is refused.
  Result<TlsIdentity> given =
      loadOrCreateTlsIdentity(tls.identity.cert_path, tls.identity.key_path, "", clock.now());
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(given->fingerprint, tls.identity.fingerprint);
  EXPECT_EQ(loadOrCreateTlsIdentity(tls.identity.cert_path, "", "", clock.now()).status().field(),
            "tls_key");
  // A key that is not the certificate's.
  Result<PemPair> other = generateSelfSignedCertificate(clock.now());
  ASSERT_TRUE(other.ok());
  std::string wrong_key = tls.dir + "/other-key.pem";
  std::ofstream(wrong_key) << other->key;
  Result<TlsIdentity> mismatch =
      loadOrCreateTlsIdentity(tls.identity.cert_path, wrong_key, "", clock.now());
  EXPECT_EQ(mismatch.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mismatch.status().message().find("not the private key"), std::string::npos);
}

// The expiry /metrics exports (aifed_tls_certificate_expiry_timestamp_seconds): the
// self-signed certificate is valid from an hour before `now` for ten years (of 365 days).
TEST(TlsTest, TheCertificatesExpiryIsReadFromItsNotAfter) {
  const Time now = fromMillis(1'800'000'000'000);
  Result<PemPair> pem = generateSelfSignedCertificate(now);
  ASSERT_TRUE(pem.ok());
  Result<Time> not_after = certificateNotAfter(pem->cert);
  ASSERT_TRUE(not_after.ok()) << not_after.status().toString();
  EXPECT_EQ(toMillis(*not_after), 1'800'000'000'000 + 10LL * 365 * 24 * 3600 * 1000);
  EXPECT_FALSE(certificateNotAfter("not a certificate").ok());
  // Loading an identity reads it too.
  const testing::TestTls& tls = testTls();
  Result<TlsIdentity> loaded =
      loadOrCreateTlsIdentity(tls.identity.cert_path, tls.identity.key_path, "", now);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->not_after, *certificateNotAfter(loaded->cert_pem));
  EXPECT_GT(loaded->not_after, now);
}

TEST(TlsTest, HandshakeWorksAndPinningRejectsAWrongFingerprint) {
  TestServer server;
  HttpClient good(server.url(), pinned());
  Result<HttpResult> r = good.request("GET", "/api/v1/jobs/x", "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->status, 200);

  HttpClientOptions o = pinned();
  std::string wrong = testTls().identity.fingerprint;
  wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
  o.fingerprint = wrong;
  HttpClient pinned_wrong(server.url(), o);
  r = pinned_wrong.request("GET", "/api/v1/jobs/x", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(r.status().message().find("certificate fingerprint mismatch"), std::string::npos);
  EXPECT_NE(
      r.status().message().find("expected " + wrong + " got " + testTls().identity.fingerprint),
      std::string::npos)
      << r.status().message();
}

TEST(TlsTest, CaFileSystemStoreAndInsecure) {
  TestServer server;
  // The self-signed certificate is its own CA, and it names 127.0.0.1.
  HttpClientOptions ca;
  ca.timeout = std::chrono::seconds(5);
  ca.ca_file = testTls().identity.cert_path;
  HttpClient with_ca(server.url(), ca);
  Result<HttpResult> r = with_ca.request("GET", "/api/v1/jobs/x", "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  // The system store does not know it.
  HttpClient system(server.url(), std::chrono::seconds(5));
  r = system.request("GET", "/api/v1/jobs/x", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(r.status().message().find("cannot verify the TLS certificate"), std::string::npos)
      << r.status().message();
  HttpClientOptions insecure;
  insecure.insecure = true;
  HttpClient anything(server.url(), insecure);
  r = anything.request("GET", "/api/v1/jobs/x", "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  // A missing CA file is the caller's mistake.
  ca.ca_file = testTls().dir + "/nope.pem";
  HttpClient missing(server.url(), ca);
  EXPECT_EQ(missing.request("GET", "/", "").status().code(), StatusCode::kInvalidArgument);
}

TEST(TlsTest, BearerTokenIsSent) {
  TestServer server;
  HttpClientOptions o = pinned();
  o.bearer_token = "aifed_0123456789ab_secret";
  HttpClient client(server.url(), o);
  Result<HttpResult> r = client.request("GET", "/echo", "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(parseObject(r->body)["headers"].at("authorization"),
            "Bearer aifed_0123456789ab_secret");
}

// Connects with a client limited to one protocol version; the handshake's error or "".
std::string handshakeWith(uint16_t port, int version) {
  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  SSL_CTX* native = ctx.native_handle();
  // Let this client offer old protocols at all (Debian's defaults forbid them).
  SSL_CTX_set_security_level(native, 0);
  SSL_CTX_set_cipher_list(native, "DEFAULT:@SECLEVEL=0");
  SSL_CTX_set_min_proto_version(native, version);
  SSL_CTX_set_max_proto_version(native, version);
  ctx.set_verify_mode(ssl::verify_none);
  ssl::stream<tcp::socket> stream(io, ctx);
  stream.next_layer().connect(local(port));
  beast::error_code ec;
  stream.handshake(ssl::stream_base::client, ec);
  return ec ? ec.message() : "";
}

TEST(TlsTest, Tls11ClientIsRefusedAndTls12Accepted) {
  TestServer server;
  std::string tls11 = handshakeWith(server.port(), TLS1_1_VERSION);
  ASSERT_FALSE(tls11.empty()) << "a TLS 1.1 handshake must fail";
  // The server said so with a protocol_version alert: the client did offer TLS 1.1.
  EXPECT_NE(tls11.find("protocol version"), std::string::npos) << tls11;
  EXPECT_EQ(handshakeWith(server.port(), TLS1_2_VERSION), "");
  EXPECT_EQ(handshakeWith(server.port(), TLS1_3_VERSION), "");
}

TEST(TlsTest, PlainHttpOnTheTlsPortIsToldToUseHttps) {
  TestServer server;
  for (int i = 0; i < 3; ++i) {
    PlainConnection c(server.port());
    c.send("GET /api/v1/jobs/x HTTP/1.1\r\nHost: x\r\n\r\n");
    beast::error_code ec;
    auto res = c.read(ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(res.result_int(), 400u);
    EXPECT_EQ(errorCode(res.body()), "invalid_argument");
    EXPECT_NE(res.body().find("use https://"), std::string::npos);
  }
  HttpClient client(server.url(), pinned());
  ASSERT_TRUE(client.request("GET", "/api/v1/jobs/x", "").ok());
}

TEST(TlsTest, SilentClientIsDroppedAfterTheHandshakeTimeout) {
  HttpServerOptions o;
  o.handshake_timeout = std::chrono::seconds(1);
  TestServer server(o);
  asio::io_context io;
  tcp::socket s(io);
  s.connect(local(server.port()));
  auto start = std::chrono::steady_clock::now();
  char c;
  beast::error_code ec;
  s.read_some(asio::buffer(&c, 1), ec);  // nothing sent: the server gives up
  EXPECT_TRUE(isClosedError(ec)) << ec.message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// --- Async handlers ---

TEST(HttpServerTest, AsyncHandlerAnswersLaterWithoutBlockingOthers) {
  TestServer server;
  auto late = std::async(std::launch::async, [&] {
    HttpClient client(server.url(), pinned());
    return client.request("GET", "/later", "");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  HttpClient quick(server.url(), pinned());
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(quick.request("GET", "/api/v1/jobs/q", "").ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(150))
      << "a request waiting for its answer does not hold up the loop";
  Result<HttpResult> r = late.get();
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(parseObject(r->body)["late"], true);
}

// --- WebSockets ---

// A WebSocket client over TLS (no certificate check).
class WsClient {
 public:
  explicit WsClient(uint16_t port) : ctx_(ssl::context::tls_client), ws_(io_, ctx_) {
    ctx_.set_verify_mode(ssl::verify_none);
    beast::get_lowest_layer(ws_).connect(local(port));
    ws_.next_layer().handshake(ssl::stream_base::client);
  }
  // The WebSocket handshake; the HTTP answer in `res`.
  beast::error_code upgrade(const std::string& target, websocket::response_type& res,
                            const std::string& deny = "") {
    ws_.set_option(websocket::stream_base::decorator([deny](websocket::request_type& req) {
      if (!deny.empty()) req.set("X-Deny", deny);
    }));
    beast::error_code ec;
    ws_.handshake(res, "127.0.0.1", target, ec);
    return ec;
  }
  std::string read(beast::error_code& ec) {
    beast::flat_buffer b;
    ws_.read(b, ec);
    return beast::buffers_to_string(b.data());
  }
  void write(const std::string& text) { ws_.write(asio::buffer(text)); }
  void close() { ws_.close(websocket::close_code::normal); }
  websocket::close_reason reason() const { return ws_.reason(); }

 private:
  asio::io_context io_;
  ssl::context ctx_;
  websocket::stream<beast::ssl_stream<tcp::socket>> ws_;
};

struct WsState {
  std::mutex mu;
  std::vector<std::string> received;
  // No peer here: a peer holds the server, whose handler holds this state (a cycle).
  std::promise<void> closed;
  std::atomic<int> sent{0};
};

TEST(WebSocketTest, FramesArriveInOrderAndCloseIsClean) {
  auto state = std::make_shared<WsState>();
  TestServer server({}, [state](HttpServer& s, asio::io_context&) {
    s.setWebSocketHandler("/ws", [state](const HttpRequest& req) {
      if (req.headers.count("x-deny")) {
        return WebSocketDecision::refuse(errorResponse(403, "permission_denied", "no"));
      }
      return WebSocketDecision::accept([state](std::shared_ptr<WebSocketPeer> peer) {
        for (int i = 0; i < 100; ++i) EXPECT_TRUE(peer->send("frame-" + std::to_string(i)));
        std::weak_ptr<WebSocketPeer> weak = peer;
        peer->onMessage([weak, state](std::string text) {
          std::lock_guard lock(state->mu);
          state->received.push_back(text);
          if (auto p = weak.lock()) p->send("echo:" + text);
        });
        peer->onClose([state] { state->closed.set_value(); });
      });
    });
  });
  WsClient client(server.port());
  websocket::response_type res;
  ASSERT_FALSE(client.upgrade("/ws", res)) << res;
  beast::error_code ec;
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(client.read(ec), "frame-" + std::to_string(i));
    ASSERT_FALSE(ec) << ec.message();
  }
  client.write("hello");
  EXPECT_EQ(client.read(ec), "echo:hello");
  client.close();
  ASSERT_EQ(state->closed.get_future().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  {
    std::lock_guard lock(state->mu);
    EXPECT_EQ(state->received, std::vector<std::string>{"hello"});
  }
  // A refusal is an ordinary HTTP answer; a plain GET on the path is 426.
  WsClient refused(server.port());
  EXPECT_TRUE(refused.upgrade("/ws", res, "yes"));
  EXPECT_EQ(res.result_int(), 403u);
  HttpClient plain(server.url(), pinned());
  Result<HttpResult> r = plain.request("GET", "/ws", "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 426);
}

TEST(WebSocketTest, ServerCloseSendsTheCodeAfterQueuedFrames) {
  TestServer server({}, [](HttpServer& s, asio::io_context&) {
    s.setWebSocketHandler("/ws", [](const HttpRequest&) {
      return WebSocketDecision::accept([](std::shared_ptr<WebSocketPeer> peer) {
        peer->send("last words");
        peer->close(1001, "going away");
        EXPECT_TRUE(peer->closed());
        EXPECT_FALSE(peer->send("too late"));
      });
    });
  });
  WsClient client(server.port());
  websocket::response_type res;
  ASSERT_FALSE(client.upgrade("/ws", res));
  beast::error_code ec;
  EXPECT_EQ(client.read(ec), "last words");
  client.read(ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(client.reason().code, 1001);
}

TEST(WebSocketTest, SlowReaderIsCutOff) {
  auto state = std::make_shared<WsState>();
  HttpServerOptions o;
  o.websocket_queue_limit = 16;
  o.handshake_timeout = std::chrono::seconds(1);  // also the grace for the close
  TestServer server(o, [state](HttpServer& s, asio::io_context& io) {
    s.setWebSocketHandler("/ws", [state, &io](const HttpRequest&) {
      return WebSocketDecision::accept([state, &io](std::shared_ptr<WebSocketPeer> peer) {
        peer->onClose([state] { state->closed.set_value(); });
        // 64 KiB every millisecond until the peer is closed for not keeping up.
        auto timer = std::make_shared<asio::steady_timer>(io);
        auto tick = std::make_shared<std::function<void()>>();
        *tick = [timer, tick, peer, state] {
          if (!peer->send(std::string(64 * 1024, 'x'))) {
            *tick = nullptr;  // ends the cycle
            return;
          }
          ++state->sent;
          timer->expires_after(std::chrono::milliseconds(1));
          timer->async_wait([tick](boost::system::error_code ec) {
            if (!ec && *tick) (*tick)();
          });
        };
        (*tick)();
      });
    });
  });
  WsClient client(server.port());
  websocket::response_type res;
  ASSERT_FALSE(client.upgrade("/ws", res));
  // The client reads nothing.
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(state->closed.get_future().wait_for(std::chrono::seconds(30)),
            std::future_status::ready)
      << "a reader that does not keep up is cut off";
  EXPECT_GT(state->sent.load(), 16) << "the socket buffers took some before the queue filled";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  // The client finds its connection ended: a close frame (1008) or a cut.
  beast::error_code ec;
  for (int i = 0; i < 100000 && !ec; ++i) client.read(ec);
  EXPECT_TRUE(ec);
  if (ec == websocket::error::closed) {
    EXPECT_EQ(client.reason().code, 1008);
  }
}

}  // namespace
}  // namespace aifed::api
