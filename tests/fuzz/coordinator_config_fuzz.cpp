// Fuzz target: the coordinator's configuration file (coordinator/coordinator_config.h)
// with its [liveness] and [placement] tables. loadCoordinatorConfig() reads a path only,
// so each input is written to coordinator.toml in a directory of the target's own.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "coordinator/coordinator_config.h"
#include "tests/fuzz/fuzz_temp_dir.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = aifed::fuzz::tempDir("coordinator_config") + "/coordinator.toml";
  aifed::fuzz::writeInput(path, data, size);
  (void)aifed::coordinator::loadCoordinatorConfig(path);
  return 0;
}
