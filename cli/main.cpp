// `aifed`: the command line client of the federation (docs/cli.md).
#include <iostream>

#include "cli/commands.h"
#include "cli/demo.h"

int main(int argc, char** argv) {
  return aifed::cli::runCli(argc, argv, std::cout, std::cerr, &aifed::cli::runDemo);
}
