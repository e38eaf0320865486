// Fuzz target: a federation file (protocol/federation.h) through the strict TOML reader
// and the federation's validation, as the coordinator, the agent and aifed-sim read it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/federation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)aifed::parseFederation(text, "federation.toml");
  return 0;
}
