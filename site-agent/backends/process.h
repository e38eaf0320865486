// Running a local command with a deadline: how the Slurm backend talks to Slurm.
//
// CommandRunner is the interface the backend is given; ProcessRunner runs real
// processes (posix_spawn, pipes, poll) and kills them at the deadline; tests give the
// backend a scripted runner instead.
//
//   ProcessRunner runner;
//   Command cmd{{"/usr/bin/sinfo", "--json"}};
//   cmd.timeout = std::chrono::seconds(20);
//   Result<CommandOutput> out = runner.run(cmd);
//   if (!out.ok()) ...                       // kUnavailable: could not start, or timed out
//   else if (out->exit_code != 0) ...        // the command ran and said no: out->err says why
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "protocol/clock.h"
#include "protocol/status.h"

namespace aifed::agent {

struct Command {
  Command() = default;
  explicit Command(std::vector<std::string> args) : argv(std::move(args)) {}

  std::vector<std::string> argv;  // argv[0] is a path or a name looked up in PATH
  std::string input;              // written to the command's stdin, then stdin is closed
  // Added to (or replacing in) the runner's own environment.
  std::map<std::string, std::string> env;
  Duration timeout = std::chrono::seconds(30);
};

struct CommandOutput {
  int exit_code = 0;  // the exit status; 128 + N if killed by signal N
  std::string out;
  std::string err;
};

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // Runs `command` to its end. kUnavailable if it cannot be started or does not end
  // within its timeout (it is then killed, with its process group). A command that
  // runs and fails is not an error here: see exit_code and err.
  virtual Result<CommandOutput> run(const Command& command) = 0;
};

// CommandRunner implementation: real child processes.
class ProcessRunner final : public CommandRunner {
 public:
  // CommandRunner
  Result<CommandOutput> run(const Command& command) override;
};

// "sbatch --parsable -J x" (for messages and logs; arguments with spaces quoted).
std::string describeCommand(const std::vector<std::string>& argv);

}  // namespace aifed::agent
