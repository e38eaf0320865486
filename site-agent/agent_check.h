// `aifed-agent --check -c FILE` (issue 17): validates what a start would use, without
// connecting to the coordinator, creating the state database or submitting a job, and
// says what the start would do. For a Slurm site it runs the backend's own Slurm
// commands (sinfo, squeue, `sbatch --test-only` of a trivial script into each
// configured partition and account) through the same SlurmBackend a start uses, as the
// user running the check: run it as the agent's user (sudo -u aifed aifed-agent --check).
//
//   ProcessRunner runner;
//   return runAgentCheck(path, overrides, CheckEnvironment::real(now), runner, std::cout);
//   // ok   configuration /etc/aifed/agent.toml: site "mimer", backend slurm
//   // FAIL sbatch --test-only (CPU job, partition cpux): Slurm would not run this shape: ...
//   // would not start: 1 check FAILed
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "common/check_report.h"
#include "site-agent/agent_config.h"
#include "site-agent/backends/process.h"

namespace aifed::agent {

// The agent's own key file: private to its owner, holds the secret key.
void checkAgentKey(common::CheckReport& report, const common::CheckEnvironment& env,
                   const std::string& path);
// The coordinator's endpoint (text only, nothing connects) and its public key's
// fingerprint, to compare with what the federation admin sent.
void checkCoordinatorLink(common::CheckReport& report, const AgentConfig& config);
// The state database, read-only: absent (start creates it), or an agent database of a
// schema this build knows, owned and writable, with free space. Returns what start does
// with it: "state database schema 6 (current)".
std::string checkStateDatabase(common::CheckReport& report, const common::CheckEnvironment& env,
                               const std::string& path);
// The backend: the simulated partitions, or Slurm's commands through `runner` (owned by
// the SlurmBackend the check builds). Returns "backend slurm (partitions gpu, cpu)".
std::string checkBackend(common::CheckReport& report, const common::CheckEnvironment& env,
                         const AgentConfig& config, std::unique_ptr<CommandRunner> runner);
// [identity] (the map file parses, the map command is executable) and [rules].
void checkSitePolicy(common::CheckReport& report, const AgentConfig& config);

// Every check of `config` (already read); the last line when nothing FAILed.
std::string checkAgent(common::CheckReport& report, const common::CheckEnvironment& env,
                       const AgentConfig& config, std::unique_ptr<CommandRunner> runner);

// Reads `config_path` (a FAIL line when it cannot be read), applies the command line's
// overrides, runs every check and prints the report. Returns 0 when nothing FAILed, 1
// otherwise.
int runAgentCheck(const std::string& config_path,
                  const std::function<void(AgentConfig&)>& overrides,
                  const common::CheckEnvironment& env, std::unique_ptr<CommandRunner> runner,
                  std::ostream& out);

}  // namespace aifed::agent
