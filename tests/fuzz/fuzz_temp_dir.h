// What the fuzz targets that read files need: a directory of their own under $TMPDIR
// (removed when the process exits) and a way to write one input into it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace aifed::fuzz {

// A new empty directory "$TMPDIR/aifed-fuzz-<name>-XXXXXX", removed at exit.
inline std::string tempDir(const std::string& name) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/aifed-fuzz-" + name + "-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) abort();
  static std::string created;
  created = pattern;
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(created, ec);
  });
  return pattern;
}

inline void writeInput(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) abort();
}

}  // namespace aifed::fuzz
