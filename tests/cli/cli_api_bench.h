// `aifed` against the real REST API: a real broker and authenticator behind an
// in-process HTTPS server on loopback (tests/coordinator/rest_fixture.h), one token per
// role; aifed(who, args) runs the CLI as that role's token.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "coordinator/api/http_server.h"
#include "tests/api/test_tls.h"
#include "tests/coordinator/rest_fixture.h"
#include "tests/store/test_dir.h"

namespace aifed::cli {

// The real REST API on loopback with one token per role.
class CliAgainstApi : public coordinator::testing_support::RestBench {
 protected:
  CliAgainstApi() {
    // Keep the developer's own ~/.config/aifed out of the test.
    setenv("XDG_CONFIG_HOME", dir_.file("xdg").c_str(), 1);
    unsetenv("AIFED_CONFIG");
    unsetenv("AIFED_TOKEN");
    unsetenv("AIFED_TOKEN_FILE");
    unsetenv("AIFED_SERVER");
    unsetenv("AIFED_CA_FILE");
    // Every run pins the test certificate, as a user would with the printed fingerprint.
    setenv("AIFED_FINGERPRINT", aifed::testing::testTls().identity.fingerprint.c_str(), 1);
    server_ = std::make_unique<api::HttpServer>(
        io_, api::HttpServer::AsyncHandler([this](api::HttpRequest r, api::Reply reply) {
          router_.dispatch(r, std::move(reply));
        }),
        aifed::testing::tlsServerOptions());
    port_ = server_->listen("127.0.0.1", 0).value();
    thread_ = std::thread([this] { io_.run(); });
    bringUp("site-a", 16);
  }
  ~CliAgainstApi() override {
    boost::asio::post(io_, [this] { server_->stop(); });
    thread_.join();
    unsetenv("XDG_CONFIG_HOME");
  }

  struct Run {
    int code;
    std::string out, err;
  };
  // `aifed --server URL [--token T] args...`; who "" sends no token.
  Run aifed(const std::string& who, std::vector<std::string> args) {
    std::vector<std::string> all = {"aifed", "--server",
                                    "https://127.0.0.1:" + std::to_string(port_)};
    if (!who.empty()) all.insert(all.end(), {"--token", tokens_.at(who)});
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::ostringstream out, err;
    int code = runCli(static_cast<int>(all.size()), argv.data(), out, err);
    return {code, out.str(), err.str()};
  }

  testing_support::TestDir dir_;
  boost::asio::io_context io_;
  std::unique_ptr<api::HttpServer> server_;
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace aifed::cli
