// What a site agent answers to LOG_REQUEST (protocol 1.2): part of an attempt's output,
// read from the file its backend named when it accepted the attempt (DispatchRecord's
// stdout_path / stderr_path).
//
// The file is opened without following a symbolic link (O_NOFOLLOW) and without blocking
// (O_NONBLOCK: a FIFO planted in its place cannot stall the agent), must be a regular
// file, and, when the attempt runs as a local user whose uid is known, must belong to that
// uid: the agent reads as its own (often privileged) account, and must never hand a job's
// owner a file the job could not have written itself. At most `max_bytes` are read, never
// more than the agent's hard cap, from `offset` or (no offset) the end of the file. The
// read is one bounded pread() of a local file: the agent's loop is not held up for long.
//
// The text is UTF-8: a byte that is not part of a valid sequence becomes U+FFFD; a
// character the read would cut at its start is skipped (the reply's offset moves past it),
// one cut at its end is left for the next read (the reply's `end` stops before it).
//
//   JobOutputReader reader({.hard_cap = 1 << 20});
//   LogData reply = reader.answer(request, ledger);   // never fails: errors are in reply
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/messages.h"
#include "site-agent/job_commands.h"

namespace aifed::agent {

struct JobOutputOptions {
  // The most bytes one LOG_DATA carries, whatever the request asks (agent config
  // `output_max_bytes`, docs/operations.md). A request's max_bytes 0 means this cap.
  uint64_t hard_cap = 1 << 20;
};

class JobOutputReader {
 public:
  explicit JobOutputReader(JobOutputOptions options = {}) : options_(options) {}

  // The LOG_DATA for `request`: data, or error "not_found" (no accepted attempt of that
  // tag in `ledger`, or the ledger cannot be read), "no_output" (the backend named no
  // file, or it does not exist yet) or "unreadable" (a symlink, not a regular file, the
  // wrong owner, an I/O error), each with a message naming the path and the reason.
  LogData answer(const LogRequest& request, DispatchLedger& ledger) const;

  // Reads the file at `path` as answer() does, filling path/size/offset/end/data or
  // error/message of `out`. `owner_uid`: the uid the file must belong to, if any.
  void read(const std::string& path, std::optional<uint32_t> owner_uid,
            std::optional<uint64_t> offset, uint64_t max_bytes, LogData& out) const;

 private:
  JobOutputOptions options_;
};

// `bytes` as valid UTF-8: each byte that does not belong to a valid sequence (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF) becomes U+FFFD.
std::string sanitizeUtf8(std::string_view bytes);
// How many leading bytes are continuation bytes (10xxxxxx) of a character that started
// before `bytes`: at most 3, so a run of stray ones is still shown (as U+FFFD).
size_t leadingContinuationBytes(std::string_view bytes);
// How many trailing bytes form the valid start of a multi-byte character that `bytes`
// cuts off (0 when the end is complete or invalid anyway).
size_t incompleteTail(std::string_view bytes);

}  // namespace aifed::agent
