// package.lintian: lintian finds no error and no warning in the three packages of
// package.debs. An override must live in packaging/lintian/<package> (installed as
// /usr/share/lintian/overrides/<package>) with a comment saying why it is right.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>

#include "tests/package/package_support.h"

namespace aifed::testing::package {
namespace {
namespace fs = std::filesystem;

TEST(LintianTest, PackagesHaveNoErrorsOrWarnings) {
  if (runCommand({"lintian", "--version"}).exit_code != 0) {
    FAIL() << "lintian is not installed (Debian package lintian; ./aifed.sh install-deps)";
  }
  std::map<std::string, fs::path> debs = debFiles();
  std::vector<std::string> argv = {"lintian", "--fail-on", "error,warning",
                                   "--tag-display-limit", "0"};
  for (const std::string& package : kPackages) {
    ASSERT_TRUE(debs.count(package)) << package << ".deb missing: run package.debs first";
    argv.push_back(debs[package].string());
  }
  CommandRun r = runCommand(argv, std::chrono::seconds(240));
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_FALSE(line.rfind("E: ", 0) == 0 || line.rfind("W: ", 0) == 0) << line;
  }
}

// Each override in packaging/lintian has a comment right above it.
TEST(LintianTest, EveryOverrideIsExplained) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(sourcePath("packaging/lintian"), ec)) {
    std::istringstream lines(readText(entry.path()));
    bool explained = false;
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) {
        explained = false;
      } else if (line[0] == '#') {
        explained = true;
      } else {
        EXPECT_TRUE(explained) << entry.path() << ": no comment explains \"" << line << "\"";
      }
    }
  }
}

}  // namespace
}  // namespace aifed::testing::package
