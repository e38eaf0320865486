#include "site-agent/backends/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace aifed::agent {
namespace {

// Closes the descriptors it holds on every path out of run().
struct Fds {
  std::array<int, 6> fd{-1, -1, -1, -1, -1, -1};  // in r/w, out r/w, err r/w
  ~Fds() {
    for (int f : fd) {
      if (f >= 0) close(f);
    }
  }
  void closeOne(int i) {
    if (fd[i] >= 0) close(fd[i]);
    fd[i] = -1;
  }
};

std::string errnoText(int e) {
  return std::strerror(e);
}

}  // namespace

std::string describeCommand(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out += ' ';
    out += a.find_first_of(" \t'\"") == std::string::npos ? a : "'" + a + "'";
  }
  return out;
}

Result<CommandOutput> ProcessRunner::run(const Command& command) {
  if (command.argv.empty()) return internalError("empty command");
  // A child that exits before reading all its input must not kill the agent with
  // SIGPIPE: the write then fails with EPIPE, which is handled below.
  static const bool kSigpipeIgnored = [] {
    signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)kSigpipeIgnored;
  std::string what = describeCommand(command.argv);
  Fds p;
  for (int i = 0; i < 3; ++i) {
    int pair[2];
    if (pipe2(pair, O_CLOEXEC) != 0) return unavailable(what + ": pipe: " + errnoText(errno));
    p.fd[2 * i] = pair[0];
    p.fd[2 * i + 1] = pair[1];
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, p.fd[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, p.fd[3], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, p.fd[5], STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so a timeout kills whatever it started too; default signal
  // dispositions and an empty mask, whatever the agent has blocked.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    if (!command.env.count(key)) env_strings.push_back(std::move(kv));
  }
  for (const auto& [k, v] : command.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, argv;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = command.argv;
  for (std::string& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);

  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return unavailable("cannot run " + what + ": " + errnoText(rc));
  p.closeOne(0);
  p.closeOne(3);
  p.closeOne(5);

  CommandOutput result;
  size_t written = 0;
  if (command.input.empty()) p.closeOne(1);
  fcntl(p.fd[1], F_SETFL, O_NONBLOCK);
  auto deadline = std::chrono::steady_clock::now() + command.timeout;
  bool timed_out = false;
  while (p.fd[1] >= 0 || p.fd[2] >= 0 || p.fd[4] >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[3] = {{p.fd[1], POLLOUT, 0}, {p.fd[2], POLLIN, 0}, {p.fd[4], POLLIN, 0}};
    int n = poll(fds, 3, static_cast<int>(left.count()));
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) {
      ssize_t w = write(p.fd[1], command.input.data() + written, command.input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) written = command.input.size();
      if (written >= command.input.size()) p.closeOne(1);  // EOF for the child
    }
    for (int i : {1, 2}) {
      if (!fds[i].revents) continue;
      char buf[65536];
      int idx = i == 1 ? 2 : 4;
      ssize_t r = read(p.fd[idx], buf, sizeof buf);
      if (r > 0) {
        (i == 1 ? result.out : result.err).append(buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        p.closeOne(idx);
      }
    }
  }
  int status = 0;
  if (timed_out) {
    kill(-pid, SIGKILL);
    waitpid(pid, &status, 0);
    return unavailable(what + " did not finish within " + std::to_string(command.timeout.count()) +
                       " ms" + (result.err.empty() ? "" : ": " + result.err));
  }
  // Output closed: the command is ending; wait for it, but not past the deadline.
  while (true) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) return unavailable(what + ": waitpid: " + errnoText(errno));
    if (std::chrono::steady_clock::now() > deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      return unavailable(what + " did not exit within " + std::to_string(command.timeout.count()) +
                         " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (result.exit_code == 127 && result.out.empty() && result.err.empty()) {
    return unavailable("cannot run " + what + ": not found");
  }
  return result;
}

}  // namespace aifed::agent
