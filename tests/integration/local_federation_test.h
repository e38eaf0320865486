// A test fixture for tests that run the real daemons through cli::LocalFederation: a
// fresh state directory per test ("<prefix>-<pid>-<test name>" under the temporary
// directory), the federation prepared in it, its coordinator started, and a client with
// the federation's credentials. After a passing test everything is stopped and the
// directory removed; after a failing one the directory is kept and named on stderr.
//
//   void SetUp() override {
//     LocalFederationOptions o;            // state_dir is filled in
//     o.federation_file = ...;
//     ASSERT_NO_FATAL_FAILURE(prepareFederation("aifed-it", std::move(o)));
//     ASSERT_NO_FATAL_FAILURE(startCoordinator());
//   }
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "cli/http_client.h"
#include "cli/local_federation.h"

namespace aifed::testing {

class LocalFederationTest : public ::testing::Test {
 protected:
  void prepareFederation(const std::string& prefix, cli::LocalFederationOptions o) {
    state_ = std::filesystem::temp_directory_path() /
             (prefix + "-" + std::to_string(getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(state_);
    if (o.bin_dir.empty()) o.bin_dir = AIFED_BINARY_DIR;
    o.state_dir = state_.string();
    auto lf = cli::LocalFederation::prepare(o);
    ASSERT_TRUE(lf.ok()) << lf.status().toString();
    fed_ = std::move(*lf);
  }

  void startCoordinator() {
    ASSERT_TRUE(fed_->startCoordinator().ok());
    client_ = std::make_unique<cli::HttpClient>(fed_->baseUrl(), fed_->clientOptions());
  }

  void TearDown() override {
    if (fed_) fed_->stopAll();
    if (state_.empty()) return;
    if (!HasFailure()) {
      std::filesystem::remove_all(state_);
    } else {
      std::cerr << "state and logs kept in " << state_ << "\n";
    }
  }

  std::filesystem::path state_;
  std::unique_ptr<cli::LocalFederation> fed_;
  std::unique_ptr<cli::HttpClient> client_;
};

}  // namespace aifed::testing
