#include "protocol/toml_file.h"

#include <sstream>

namespace aifed {

Result<toml::table> parseTomlText(std::string_view text, std::string_view source_name) {
  auto fail = [&](const toml::parse_error& e) {
    return invalidArgument(std::string(source_name) + ":" + std::to_string(e.source().begin.line) +
                           ": " + std::string(e.description()));
  };
#if TOML_EXCEPTIONS
  try {
    return toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    return fail(e);
  }
#else
  toml::parse_result parsed = toml::parse(text, source_name);
  if (!parsed) return fail(parsed.error());
  return std::move(parsed).table();
#endif
}

Result<toml::table> parseTomlFile(const std::string& path) {
  auto fail = [&](const toml::parse_error& e) {
    std::ostringstream msg;
    msg << path << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return invalidArgument(msg.str());
  };
#if TOML_EXCEPTIONS
  try {
    return toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return fail(e);
  }
#else
  toml::parse_result parsed = toml::parse_file(path);
  if (!parsed) return fail(parsed.error());
  return std::move(parsed).table();
#endif
}

}  // namespace aifed
