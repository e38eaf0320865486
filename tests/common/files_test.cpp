// common/files.h against a real temporary directory.
#include "common/files.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "tests/common/status_matchers.h"

namespace aifed::common {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "aifed-files-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (fs::path(dir_) / name).string(); }
  void put(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
  }
  std::set<std::string> names() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.insert(e.path().filename().string());
    return out;
  }
  static mode_t modeOf(const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0);
    return st.st_mode & 0777;
  }

  std::string dir_;
};

TEST_F(FilesTest, ReadFileReturnsTheBytes) {
  std::string binary("a\0b\nc", 5);
  put("data", binary);
  put("empty", "");
  EXPECT_EQ(readFile(path("data")).value(), binary);
  EXPECT_EQ(readFile(path("empty")).value(), "");
}

TEST_F(FilesTest, ReadFileErrorsNameThePathAndTheReason) {
  struct Case {
    std::string path;
    StatusCode code;
    std::string message;
  };
  const Case cases[] = {
      {path("missing.toml"), StatusCode::kNotFound,
       "cannot read " + path("missing.toml") + ": No such file or directory"},
      {path("missing/x.toml"), StatusCode::kNotFound,
       "cannot read " + path("missing/x.toml") + ": No such file or directory"},
      {dir_, StatusCode::kInvalidArgument, "cannot read " + dir_ + ": Is a directory"},
  };
  for (const Case& c : cases) EXPECT_THAT(readFile(c.path), StatusIs(c.code, c.message));
}

TEST(ResolvePathTest, JoinsRelativePathsToTheBaseOnly) {
  struct Case {
    std::string base, path, want;
  };
  const Case cases[] = {
      {"/etc/aifed", "keys/mimer.key", "/etc/aifed/keys/mimer.key"},
      {"/etc/aifed", "../db/a.db", "/etc/db/a.db"},  // normalised
      {"/etc/aifed", "/var/lib/aifed/c.db", "/var/lib/aifed/c.db"},
      {"/etc/aifed", "", ""},  // "not set" stays not set
  };
  for (const Case& c : cases) EXPECT_EQ(resolvePath(c.base, c.path), c.want) << c.path;
}

TEST_F(FilesTest, WriteFileAtomicallyCreatesAndReplaces) {
  ASSERT_THAT(writeFileAtomically(path("ready.json"), "{\"port\":1}\n"), IsOk());
  EXPECT_EQ(readFile(path("ready.json")).value(), "{\"port\":1}\n");
  ASSERT_THAT(writeFileAtomically(path("ready.json"), "{\"port\":2}\n"), IsOk());
  EXPECT_EQ(readFile(path("ready.json")).value(), "{\"port\":2}\n");
  ASSERT_THAT(writeFileAtomically(path("ready.json"), ""), IsOk());
  EXPECT_EQ(readFile(path("ready.json")).value(), "");
  EXPECT_EQ(names(), std::set<std::string>{"ready.json"});  // no temporary file left
}

TEST_F(FilesTest, WriteFileAtomicallySetsTheMode) {
  struct Case {
    std::string name;
    mode_t mode;
  };
  const Case cases[] = {{"admin.token", 0600}, {"ready.json", 0644}, {"shared", 0640}};
  for (const Case& c : cases) {
    ASSERT_THAT(writeFileAtomically(path(c.name), "x", c.mode), IsOk());
    EXPECT_EQ(modeOf(path(c.name)), c.mode) << c.name;
  }
  // Replacing a file gives it the new mode too.
  ASSERT_THAT(writeFileAtomically(path("shared"), "y", 0600), IsOk());
  EXPECT_EQ(modeOf(path("shared")), 0600u);
}

TEST_F(FilesTest, WriteFileAtomicallyIntoAMissingDirectoryFailsAndSaysWhere) {
  std::string target = path("no-such-dir/ready.json");
  EXPECT_THAT(writeFileAtomically(target, "x"),
              StatusIs(StatusCode::kUnavailable,
                       "cannot write " + target + ": cannot create a temporary file in " +
                           path("no-such-dir") + ": No such file or directory"));
}

// A write that fails half-way (here: the file size limit, which binds root too) leaves
// the old file as it was and no temporary file behind.
TEST_F(FilesTest, AFailedWriteLeavesTheOldFileIntact) {
  put("admin.token", "old token\n");
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  struct sigaction ignore {
  }, previous{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &previous), 0);  // EFBIG instead of a signal
  struct rlimit small = saved;
  small.rlim_cur = 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  Status s = writeFileAtomically(path("admin.token"), std::string(64 * 1024, 'n'), 0600);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  ASSERT_EQ(::sigaction(SIGXFSZ, &previous, nullptr), 0);

  EXPECT_THAT(s, StatusIs(StatusCode::kUnavailable,
                          HasSubstr("cannot write " + path("admin.token") + ": ")));
  EXPECT_THAT(s.message(), HasSubstr("File too large"));
  EXPECT_EQ(readFile(path("admin.token")).value(), "old token\n");
  EXPECT_EQ(names(), std::set<std::string>{"admin.token"});
}

}  // namespace
}  // namespace aifed::common
