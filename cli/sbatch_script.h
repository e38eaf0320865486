// A batch script's #SBATCH directives, read as sbatch reads them: from the top of the
// script up to its first command (blank lines and other comments do not end the block;
// a "#SBATCH" line after the first command is an ordinary comment). Each directive line
// holds options in the shell's words ("--job-name='my job'"); an unquoted "#" after a
// blank starts a comment.
//
//   Result<std::vector<Directive>> d = readDirectives(script);
//   // "#SBATCH -N 4 --gres=gpu:h100:4" on line 3 -> {3, "-N 4 --gres=gpu:h100:4",
//   //                                                  {"-N", "4", "--gres=gpu:h100:4"}}
//   Result<std::string> s = withArguments(script, {"--lr", "3e-4"});  // `set -- ...` added
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "protocol/status.h"

namespace aifed::cli {

struct Directive {
  int line = 0;                   // 1-based line number in the script
  std::string text;               // what follows "#SBATCH", trimmed
  std::vector<std::string> args;  // its words, quotes removed
};

// The directives before the script's first command. kInvalidArgument naming the line
// for an unterminated quote or a directive that is not an option ("#SBATCH nodes=4").
Result<std::vector<Directive>> readDirectives(std::string_view script);

// sbatch passes the arguments after the script to it as $1, $2, ...; aifed's job spec
// holds a script and no argument list, so the arguments become a `set -- 'a' 'b'` line
// inserted where the directive block ends (before the first command). Refused for a
// script whose #! names no POSIX shell (python, ...), where `set --` means nothing.
Result<std::string> withArguments(std::string_view script, const std::vector<std::string>& args);

// `s` quoted for a POSIX shell: 'it'\''s'.
std::string shellQuote(std::string_view s);

}  // namespace aifed::cli
