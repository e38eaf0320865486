#include "cli/http_client.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <filesystem>
#include <optional>

#include "common/crypto.h"

namespace aifed::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// A job list can be large; anything beyond this is not an aifed server talking.
constexpr uint64_t kResponseBodyLimit = 256ull << 20;

}  // namespace

Result<std::string> normalizeFingerprint(const std::string& text) {
  std::string_view t = text;
  if (t.rfind("sha256//", 0) == 0) t.remove_prefix(8);
  if (t.rfind("SHA256:", 0) == 0 || t.rfind("sha256:", 0) == 0) t.remove_prefix(7);
  std::string hex;
  for (char c : t) {
    if (c == ':' || c == ' ') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return invalidArgument(
          "fingerprint \"" + text + "\": '" + std::string(1, c) + "' is not a hex digit",
          "fingerprint");
    }
    hex.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (hex.size() != 64) {
    return invalidArgument("fingerprint \"" + text +
                               "\" is not a SHA-256 fingerprint (32 bytes of hex, AB:CD:... as "
                               "the coordinator prints it)",
                           "fingerprint");
  }
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    if (i) out.push_back(':');
    out.append(hex, i, 2);
  }
  return out;
}

Result<ParsedUrl> parseHttpUrl(const std::string& url) {
  constexpr std::string_view kScheme = "https://";
  if (url.rfind(kScheme, 0) != 0) {
    if (url.rfind("http://", 0) == 0) {
      return invalidArgument("server URL \"" + url +
                                 "\": the coordinator speaks HTTPS only; use https://" +
                                 url.substr(7),
                             "server");
    }
    return invalidArgument("server URL \"" + url + "\" must look like https://host:port", "server");
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
  out.port = colon == std::string::npos ? "443" : authority.substr(colon + 1);
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
  std::optional<ssl::context> tls;
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream;
  beast::flat_buffer buffer;
  Result<ParsedUrl> url = invalidArgument("unset");
  Status setup = Status::Ok();  // a bad fingerprint or CA file: every request reports it
  HttpClientOptions options;
  std::string base;
  std::string pinned;            // normalised expected fingerprint, or ""
  std::string seen_fingerprint;  // the leaf the server showed in the last handshake

  void init() {
    if (!options.fingerprint.empty()) {
      Result<std::string> fp = normalizeFingerprint(options.fingerprint);
      if (!fp.ok()) {
        setup = fp.status();
        return;
      }
      pinned = *fp;
    }
    tls.emplace(ssl::context::tls_client);
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                     ssl::context::no_compression);
    SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
    if (options.insecure || !pinned.empty()) {
      // Pinning checks the leaf in the verify callback; the chain does not matter.
      tls->set_verify_mode(options.insecure ? ssl::verify_none : ssl::verify_peer);
      return;
    }
    tls->set_verify_mode(ssl::verify_peer);
    boost::system::error_code ec;
    if (!options.ca_file.empty()) {
      if (!std::filesystem::exists(options.ca_file)) {
        setup = invalidArgument("CA file " + options.ca_file + " does not exist", "ca_file");
        return;
      }
      tls->load_verify_file(options.ca_file, ec);
      if (ec) {
        setup = invalidArgument(
            "CA file " + options.ca_file + " holds no PEM certificate: " + ec.message(), "ca_file");
      }
    } else {
      tls->set_default_verify_paths(ec);
      if (ec) setup = unavailable("cannot load the system's trust store: " + ec.message());
    }
  }

  Status describe(const beast::error_code& ec, std::string_view doing) const {
    if (ec == beast::error::timeout) {
      return unavailable("no answer from " + base + " within " +
                         std::to_string(options.timeout.count()) + " ms (" + std::string(doing) +
                         ")");
    }
    return unavailable("cannot reach " + base + ": " + ec.message() + " (" + std::string(doing) +
                       ")");
  }

  void close() {
    if (stream) {
      beast::error_code ignored;
      beast::get_lowest_layer(*stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(*stream).close();
    }
    stream.reset();
    buffer.clear();
  }

  // Why a handshake failed, in the words a user can act on.
  Status handshakeFailure(const beast::error_code& ec) {
    if (!pinned.empty() && !seen_fingerprint.empty() && seen_fingerprint != pinned) {
      return Status(StatusCode::kUnauthenticated, "certificate fingerprint mismatch for " + base +
                                                      ": expected " + pinned + " got " +
                                                      seen_fingerprint);
    }
    long verify = stream ? SSL_get_verify_result(stream->native_handle()) : X509_V_OK;
    if (pinned.empty() && !options.insecure && verify != X509_V_OK) {
      return Status(
          StatusCode::kUnauthenticated,
          "cannot verify the TLS certificate of " + base + ": " +
              X509_verify_cert_error_string(verify) +
              (options.ca_file.empty() ? " (checked against the system's trust store; pin the "
                                         "coordinator's certificate with --fingerprint or name "
                                         "its CA with --ca-file)"
                                       : " (checked against " + options.ca_file + ")"));
    }
    if (ec == beast::error::timeout) return describe(ec, "TLS handshake");
    std::string why = ec.message();
    if (ec.category() == asio::error::get_ssl_category()) {
      why = "TLS handshake failed: " + why + " (is it an HTTPS server speaking TLS 1.2 or newer?)";
    }
    return unavailable("cannot reach " + base + ": " + why);
  }

  Status connect() {
    close();
    tcp::resolver resolver(io);
    beast::error_code ec;
    auto endpoints = resolver.resolve(url->host, url->port, ec);
    if (ec) return unavailable("cannot resolve the host of " + base + ": " + ec.message());
    stream.emplace(io, *tls);
    SSL* native = stream->native_handle();
    (void)asio::ip::make_address(url->host, ec);
    bool is_ip = !ec;
    if (!is_ip) SSL_set_tlsext_host_name(native, url->host.c_str());  // SNI
    if (!options.insecure && pinned.empty()) {
      // The certificate must name the host we asked for.
      X509_VERIFY_PARAM* param = SSL_get0_param(native);
      if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(param, url->host.c_str());
      } else {
        X509_VERIFY_PARAM_set1_host(param, url->host.c_str(), 0);
      }
    }
    seen_fingerprint.clear();
    if (!pinned.empty()) {
      stream->set_verify_callback([this](bool, ssl::verify_context& vctx) {
        X509_STORE_CTX* store = vctx.native_handle();
        // Only the leaf is pinned: who issued it does not matter.
        if (X509_STORE_CTX_get_error_depth(store) != 0) return true;
        seen_fingerprint = common::certificateFingerprint(X509_STORE_CTX_get_current_cert(store));
        return seen_fingerprint == pinned;
      });
    }
    beast::get_lowest_layer(*stream).expires_after(options.timeout);
    beast::error_code connect_ec, handshake_ec;
    beast::get_lowest_layer(*stream).async_connect(
        endpoints, [&](beast::error_code e, const tcp::endpoint&) {
          connect_ec = e;
          if (e) return;
          stream->async_handshake(ssl::stream_base::client,
                                  [&](beast::error_code e2) { handshake_ec = e2; });
        });
    io.restart();
    io.run();
    if (connect_ec) {
      stream.reset();
      return describe(connect_ec, "connecting");
    }
    if (handshake_ec) {
      Status s = handshakeFailure(handshake_ec);
      close();
      return s;
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
    beast::get_lowest_layer(*stream).expires_after(options.timeout);
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

HttpClient::HttpClient(std::string base_url, HttpClientOptions options)
    : base_url_(std::move(base_url)), impl_(std::make_unique<Impl>()) {
  impl_->url = parseHttpUrl(base_url_);
  impl_->options = std::move(options);
  impl_->base = base_url_;
  impl_->init();
}

HttpClient::HttpClient(std::string base_url, std::chrono::milliseconds timeout)
    : HttpClient(std::move(base_url), [timeout] {
        HttpClientOptions o;
        o.timeout = timeout;
        return o;
      }()) {}

HttpClient::~HttpClient() {
  impl_->close();
}

Result<HttpResult> HttpClient::request(const std::string& method, const std::string& target,
                                       const std::string& body) {
  if (!impl_->url.ok()) return impl_->url.status();
  if (!impl_->setup.ok()) return impl_->setup;
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
  if (!impl_->options.bearer_token.empty()) {
    req.set(http::field::authorization, "Bearer " + impl_->options.bearer_token);
  }
  if (!body.empty()) req.set(http::field::content_type, "application/json");
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
