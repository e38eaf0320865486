// A TLS identity for tests that run an HttpServer in process: one self-signed
// certificate per test process (created with the coordinator's own code in a fresh
// temporary directory), the server context built from it, and client options that pin it.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/http_client.h"
#include "coordinator/api/http_server.h"
#include "coordinator/api/tls.h"

namespace aifed::testing {

struct TestTls {
  std::string dir;
  api::TlsIdentity identity;
  std::shared_ptr<boost::asio::ssl::context> context;
  // Removes `dir` when the process exits (the last copy of this handle goes then).
  std::shared_ptr<void> remove_dir;
};

inline const TestTls& testTls() {
  static const TestTls tls = [] {
    TestTls t;
    std::string pattern = ::testing::TempDir() + "aifed-tls-XXXXXX";
    char* dir = mkdtemp(pattern.data());
    EXPECT_NE(dir, nullptr);
    t.dir = pattern;
    if (dir != nullptr) {
      t.remove_dir = std::shared_ptr<void>(nullptr, [path = t.dir](void*) {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
      });
    }
    RealClock clock;
    Result<api::TlsIdentity> id = api::loadOrCreateTlsIdentity("", "", t.dir, clock.now());
    EXPECT_TRUE(id.ok()) << id.status().toString();
    t.identity = *id;
    auto ctx = api::makeServerTlsContext(t.identity);
    EXPECT_TRUE(ctx.ok()) << ctx.status().toString();
    t.context = *ctx;
    return t;
  }();
  return tls;
}

// Server options with the test certificate.
inline api::HttpServerOptions tlsServerOptions(api::HttpServerOptions o = {}) {
  o.tls = testTls().context;
  return o;
}

// Client options that pin the test certificate.
inline cli::HttpClientOptions pinnedClient(std::chrono::milliseconds timeout) {
  cli::HttpClientOptions o;
  o.timeout = timeout;
  o.fingerprint = testTls().identity.fingerprint;
  return o;
}

}  // namespace aifed::testing
