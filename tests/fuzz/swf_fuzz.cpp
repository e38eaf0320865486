// Fuzz target: an SWF workload trace (sim/swf.h) through parseSwf(), as aifed-sim reads
// a trace once it is decompressed, and the header lookups the simulator makes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sim/swf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  aifed::Result<aifed::sim::SwfTrace> trace = aifed::sim::parseSwf(text, "trace.swf");
  if (trace.ok()) {
    (void)trace->maxProcs();
    (void)trace->maxNodes();
    (void)trace->headerInt("UnixStartTime");
  }
  return 0;
}
