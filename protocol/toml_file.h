// Reading TOML with errors that name where they are: every config and data file of
// aifed (federation, coordinator and CLI configs, sweep grids) goes through these.
//
//   Result<toml::table> root = parseTomlFile("coordinator.toml");
//   if (!root.ok()) return root.status();   // "coordinator.toml:3:7: expected ..."
#pragma once

#include <toml++/toml.h>

#include <string>
#include <string_view>

#include "protocol/status.h"

namespace aifed {

// A syntax error is kInvalidArgument "<source_name>:<line>: <description>".
Result<toml::table> parseTomlText(std::string_view text, std::string_view source_name);
// A syntax error or an unreadable file is kInvalidArgument
// "<path>:<line>:<column>: <description>".
Result<toml::table> parseTomlFile(const std::string& path);

}  // namespace aifed
