// Fuzz target: the site agent's configuration file (site-agent/agent_config.h), with its
// [simulated] and [slurm] tables (the Slurm backend's options, SlurmOptions), through the
// strict TOML reader. Relative paths resolve against a directory of its own that holds
// nothing, so a named key or federation file is simply not found.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_temp_dir.h"
#include "site-agent/agent_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = aifed::fuzz::tempDir("agent_config");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)aifed::agent::parseAgentConfig(text, "agent.toml", dir);
  return 0;
}
