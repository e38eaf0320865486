#include "tests/package/package_support.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "cli/local_federation.h"
#include "site-agent/backends/process.h"

namespace aifed::testing::package {
namespace fs = std::filesystem;

const std::vector<std::string> kPackages = {"aifed", "aifed-coordinator", "aifed-agent"};

std::string CommandRun::describe() const {
  std::ostringstream o;
  o << "`" << command << "` exited " << exit_code << "\n--- stdout\n"
    << out << "--- stderr\n"
    << err;
  return o.str();
}

CommandRun runCommand(const std::vector<std::string>& argv, std::chrono::seconds timeout,
                      const std::map<std::string, std::string>& env) {
  agent::Command command(argv);
  command.timeout = timeout;
  command.env = env;
  CommandRun run;
  run.command = agent::describeCommand(argv);
  agent::ProcessRunner runner;
  Result<agent::CommandOutput> out = runner.run(command);
  if (!out.ok()) {
    run.err = out.status().toString();
    return run;
  }
  run.exit_code = out->exit_code;
  run.out = std::move(out->out);
  run.err = std::move(out->err);
  return run;
}

fs::path buildDir() {
  const char* dir = std::getenv("AIFED_BIN_DIR");
  return dir != nullptr && *dir != '\0' ? fs::path(dir) : fs::path(AIFED_BINARY_DIR);
}

fs::path sourcePath(const std::string& relative) {
  return fs::path(AIFED_SOURCE_DIR) / relative;
}

fs::path debDir() {
  return buildDir() / "tests" / "package" / "debs";
}

std::map<std::string, fs::path> debFiles() {
  std::map<std::string, fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(debDir(), ec)) {
    std::string file = entry.path().filename().string();
    for (const std::string& package : kPackages) {
      if (file.rfind(package + "_", 0) == 0 && entry.path().extension() == ".deb") {
        out[package] = entry.path();
      }
    }
  }
  return out;
}

std::string readText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void writeText(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

bool replaceLine(std::string& text, const std::string& key, const std::string& replacement) {
  std::regex line("(^|\n)#?[ \t]*" + key + "[ \t]*=[^\n]*");
  auto begin = std::sregex_iterator(text.begin(), text.end(), line);
  if (std::distance(begin, std::sregex_iterator()) != 1) return false;
  const std::smatch& m = *begin;
  text = m.prefix().str() + m[1].str() + replacement + m.suffix().str();
  return true;
}

Status Daemon::start() {
  Result<pid_t> pid = cli::spawnLogged(argv_, log_.string());
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  return Status::Ok();
}

bool Daemon::running() const {
  if (pid_ <= 0) return false;
  siginfo_t info = {};
  // WNOWAIT only peeks: stop() still reaps it.
  if (waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
  return info.si_pid == 0;
}

int Daemon::stop(int signal_number) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal_number);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = 0;
  return status;
}

}  // namespace aifed::testing::package
