// aifed-coordinator with a broken config file: it exits with status 2 before it starts,
// printing the error with the file, the line and the key (the real binary).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include "tests/store/test_dir.h"

namespace aifed::coordinator {
namespace {
using ::testing::HasSubstr;
using testing_support::TestDir;

struct ProcessResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

ProcessResult runCoordinator(const std::string& config) {
  std::string command = std::string(AIFED_BINARY_DIR) +
                        "/coordinator/aifed-coordinator --config '" + config + "' 2>&1";
  ProcessResult run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer;
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    run.output.append(buffer.data(), n);
  int status = ::pclose(pipe);
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  return run;
}

TEST(CoordinatorMainTest, ABrokenConfigStopsTheDaemonWithTheError) {
  struct Case {
    std::string line4;
    std::string error;
  };
  const Case cases[] = {
      {"http_port = \"8080\"", "coordinator.toml:4: http_port: must be an integer, got a string"},
      {"htpp_port = 8080",
       "coordinator.toml:4: htpp_port: unknown key (did you mean \"http_port\"?)"},
  };
  for (const Case& c : cases) {
    TestDir dir;
    std::string path = dir.file("coordinator.toml");
    std::ofstream(path) << "federation = 'f.toml'\nkey_file = 'k'\ndatabase = 'db'\n"
                        << c.line4 << "\n";
    ProcessResult run = runCoordinator(path);
    EXPECT_EQ(run.exit_code, 2) << run.output;
    EXPECT_THAT(run.output, HasSubstr(dir.file(c.error))) << c.line4;
  }
}

}  // namespace
}  // namespace aifed::coordinator
