// Reading a whole file, and replacing one so that a crash leaves either the old or the
// new content, never a mix: the one place aifed writes that rule down.
//
//   Result<std::string> text = common::readFile("/etc/aifed/coordinator.toml");
//   if (!text.ok()) return text.status();  // "cannot read /etc/...: No such file or directory"
//   RETURN_IF_ERROR(common::writeFileAtomically(token_path, token + "\n", 0600));
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "protocol/status.h"

namespace aifed::common {

// The file's bytes. Errors name the path and the system's reason: kNotFound when it does
// not exist, kInvalidArgument for a directory, kUnavailable for any other failure.
Result<std::string> readFile(const std::string& path);

// `path` as seen from `base_dir` (a config file's directory): an absolute or empty path
// as it is, a relative one joined to `base_dir` and normalised ("keys/../k" -> "k").
std::string resolvePath(const std::string& base_dir, const std::string& path);

// Replaces `path` with `content`: writes a temporary file in the same directory (created
// with mode 0600, so a secret is never readable by others, then set to `mode`), fsyncs
// it, renames it over `path` and fsyncs the directory, so that after a crash `path`
// holds either its old or its new content, and once this returns OK the new content
// survives a power cut. Errors are kUnavailable naming the path and the system's
// reason; one before the rename leaves `path` untouched and the temporary file removed
// (a failed fsync of the directory after the rename leaves the new content in place).
Status writeFileAtomically(const std::string& path, std::string_view content, mode_t mode = 0644);

}  // namespace aifed::common
