// The coordinator config file's [placement] table: policy, policy file, fair share.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "coordinator/coordinator_daemon.h"

namespace aifed::coordinator {
namespace {
using ::testing::HasSubstr;

class PlacementConfigTest : public ::testing::Test {
 protected:
  PlacementConfigTest() {
    dir_ = std::filesystem::temp_directory_path() /
           ("aifed-config-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  ~PlacementConfigTest() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  Result<CoordinatorConfig> load(const std::string& placement) {
    return loadCoordinatorConfig(write("coordinator.toml",
                                       "federation = 'f.toml'\nkey_file = 'k'\n"
                                       "database = 'db'\n" +
                                           placement));
  }

  std::filesystem::path dir_;
};

TEST_F(PlacementConfigTest, DefaultsToTheBuiltInPolicies) {
  auto c = load("");
  ASSERT_TRUE(c.ok()) << c.status().toString();
  EXPECT_EQ(c->broker.policy, "earliest-start");
  EXPECT_EQ(c->broker.policies.size(), 6u);
}

TEST_F(PlacementConfigTest, ReadsPolicyFileSharesAndHalfLife) {
  write("policies.toml",
        "[[policy]]\nname = 'night'\nbinding = 'late'\n[policy.weights]\nenergy = 1\n");
  auto c = load(
      "[placement]\npolicy = 'night'\npolicy_file = 'policies.toml'\n"
      "fair_share_half_life_h = 24\nproject_shares = { a = 2, b = 0.5 }\n");
  ASSERT_TRUE(c.ok()) << c.status().toString();
  EXPECT_EQ(c->broker.policy, "night");
  EXPECT_EQ(c->broker.policies.size(), 7u);
  EXPECT_EQ(c->broker.fair_share_half_life, std::chrono::hours(24));
  EXPECT_EQ(c->broker.project_shares.at("a"), 2);
  EXPECT_EQ(c->broker.project_shares.at("b"), 0.5);
}

TEST_F(PlacementConfigTest, ErrorsNameTheKey) {
  auto unknown = load("[placement]\npolicy = 'fastest'\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("placement.policy"));
  EXPECT_THAT(unknown.status().message(), HasSubstr("balanced"));
  auto share = load("[placement]\nproject_shares = { a = -1 }\n");
  ASSERT_FALSE(share.ok());
  EXPECT_THAT(share.status().message(), HasSubstr("project_shares.a"));
  auto file = load("[placement]\npolicy_file = 'missing.toml'\n");
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.status().message(), HasSubstr("missing.toml"));
}

}  // namespace
}  // namespace aifed::coordinator
