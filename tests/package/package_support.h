// What the package tests (tests/package, docs/install.md "Tests") share: running a
// command with a deadline, the paths of this build and of its packages, small file
// helpers, and a daemon process started from an installed binary.
//
//   CommandRun r = runCommand({"dpkg-deb", "-f", deb, "Depends"});
//   ASSERT_EQ(r.exit_code, 0) << r.describe();
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "protocol/status.h"

namespace aifed::testing::package {

struct CommandRun {
  int exit_code = -1;  // -1: could not be started or timed out (err says which)
  std::string out;
  std::string err;
  // The command line, its exit status and both outputs: for failure messages.
  std::string describe() const;
  std::string command;
};

// Runs argv (argv[0] looked up in PATH) to its end, killing it after `timeout`.
CommandRun runCommand(const std::vector<std::string>& argv,
                      std::chrono::seconds timeout = std::chrono::seconds(60),
                      const std::map<std::string, std::string>& env = {});

// The build the tests belong to: $AIFED_BIN_DIR if set, else the CMake build directory.
std::filesystem::path buildDir();
std::filesystem::path sourcePath(const std::string& relative);
// Where package.debs writes the packages and package.lintian / package.install read them.
std::filesystem::path debDir();
// The three .debs of package.debs, by package name ("aifed", "aifed-coordinator",
// "aifed-agent"); a missing one is an empty path.
std::map<std::string, std::filesystem::path> debFiles();
extern const std::vector<std::string> kPackages;

std::string readText(const std::filesystem::path& path);  // "" if unreadable
void writeText(const std::filesystem::path& path, const std::string& text);
// Replaces the one line that starts with `key` (after optional '#', blanks) by
// `replacement`; false when no such line, or more than one, exists.
bool replaceLine(std::string& text, const std::string& key, const std::string& replacement);

// A daemon the test starts (fork + exec, output to a log file) and stops.
class Daemon {
 public:
  Daemon(std::string name, std::vector<std::string> argv, std::filesystem::path log)
      : name_(std::move(name)), argv_(std::move(argv)), log_(std::move(log)) {}
  ~Daemon() { stop(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  Status start();
  bool running() const;
  // Sends `signal_number`, waits up to 15 s (then SIGKILL) and returns the wait status;
  // -1 when it was not running.
  int stop(int signal_number = 15);
  const std::filesystem::path& log() const { return log_; }

 private:
  std::string name_;
  std::vector<std::string> argv_;
  std::filesystem::path log_;
  pid_t pid_ = 0;
};

}  // namespace aifed::testing::package
