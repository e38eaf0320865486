#include "cli/sbatch_script.h"

#include "common/strings.h"

namespace aifed::cli {
namespace {

constexpr std::string_view kPrefix = "#SBATCH";

// The script's lines without their '\n' (and a '\r' before it).
std::vector<std::string_view> lines(std::string_view script) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < script.size()) {
    size_t end = script.find('\n', start);
    if (end == std::string_view::npos) end = script.size();
    std::string_view line = script.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
    start = end + 1;
  }
  return out;
}

// Whether the line ends the directive block: anything but blanks and comments.
bool isCommand(std::string_view line) {
  std::string_view t = common::trim(line);
  return !t.empty() && t.front() != '#';
}

// Splits like the shell: blanks separate words; '...' and "..." quote (\" and \\ inside
// double quotes), a backslash escapes outside quotes; an unquoted '#' at a word's start
// begins a comment. Returns false for an unterminated quote.
bool shellWords(std::string_view text, std::vector<std::string>& words) {
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '#' && !in_word) {
      break;
    } else if (c == '\'' || c == '"') {
      size_t close = i + 1;
      for (; close < text.size() && text[close] != c; ++close) {
        if (c == '"' && text[close] == '\\' && close + 1 < text.size()) {
          word.push_back(text[++close]);
        } else {
          word.push_back(text[close]);
        }
      }
      if (close >= text.size()) return false;
      i = close;
      in_word = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      word.push_back(text[++i]);
      in_word = true;
    } else {
      word.push_back(c);
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return true;
}

}  // namespace

Result<std::vector<Directive>> readDirectives(std::string_view script) {
  std::vector<Directive> out;
  std::vector<std::string_view> all = lines(script);
  for (size_t i = 0; i < all.size(); ++i) {
    std::string_view line = all[i];
    if (isCommand(line)) break;  // sbatch stops at the first command
    if (line.substr(0, kPrefix.size()) != kPrefix) continue;
    std::string_view rest = line.substr(kPrefix.size());
    if (!rest.empty() && rest.front() != ' ' && rest.front() != '\t') continue;  // #SBATCHX
    Directive d;
    d.line = static_cast<int>(i + 1);
    d.text = std::string(common::trim(rest));
    std::string where = "line " + std::to_string(d.line) + ": #SBATCH " + d.text;
    if (!shellWords(d.text, d.args)) {
      return invalidArgument(where + ": unterminated quote", "script");
    }
    if (d.args.empty()) continue;
    if (d.args.front().empty() || d.args.front().front() != '-') {
      return invalidArgument(where + ": a directive must be an sbatch option (#SBATCH --nodes=4)",
                             "script");
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::string shellQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

Result<std::string> withArguments(std::string_view script, const std::vector<std::string>& args) {
  if (args.empty()) return std::string(script);
  std::vector<std::string_view> all = lines(script);
  if (!all.empty() && all[0].substr(0, 2) == "#!") {
    std::string_view interpreter = common::trim(all[0].substr(2));
    std::vector<std::string_view> words = common::split(interpreter, ' ');
    std::string_view program = words.empty() ? "" : words[0];
    if (program.size() >= 4 && program.substr(program.size() - 4) == "/env" && words.size() > 1) {
      program = words[1];
    }
    std::string_view base = program.substr(program.rfind('/') + 1);
    if (base != "sh" && base != "bash" && base != "dash" && base != "ksh" && base != "zsh") {
      return invalidArgument(
          "the script's arguments are passed with a `set --` line, which "
          "needs a shell script; this one runs " +
              std::string(program) + ": pass its arguments through --export or the script itself",
          "script");
    }
  }
  std::string set = "set --";
  for (const std::string& a : args) set += " " + shellQuote(a);
  set += "  # aifed: the arguments given after the script\n";
  // Insert before the first command, after the directive block (its end in bytes).
  size_t offset = 0;
  for (std::string_view line : all) {
    if (isCommand(line)) break;
    offset = static_cast<size_t>(line.data() - script.data()) + line.size();
    while (offset < script.size() && (script[offset] == '\r' || script[offset] == '\n')) {
      ++offset;
      if (script[offset - 1] == '\n') break;
    }
  }
  std::string out(script.substr(0, offset));
  if (!out.empty() && out.back() != '\n') out += "\n";
  return out + set + std::string(script.substr(offset));
}

}  // namespace aifed::cli
