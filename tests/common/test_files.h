// Reading a file a test needs (golden data, a daemon's output): through common::readFile,
// so a failed read fails the test naming the path and the reason instead of comparing
// against an empty string.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/files.h"

namespace aifed::testing_support {

inline std::string readTestFile(const std::filesystem::path& path) {
  Result<std::string> text = common::readFile(path.string());
  EXPECT_TRUE(text.ok()) << text.status().toString();
  return text.ok() ? *text : std::string();
}

}  // namespace aifed::testing_support
