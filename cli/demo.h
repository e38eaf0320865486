// `aifed demo`: starts a local federation (coordinator + one agent per site of the
// federation file, simulated backends, CURVE keys generated on first run), feeds it a
// stream of sample AI jobs and shows a live table. See README.md.
#pragma once

namespace aifed::cli {

// argv[0] is "demo". Returns the process exit code.
int runDemo(int argc, char** argv);

}  // namespace aifed::cli
