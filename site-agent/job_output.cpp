#include "site-agent/job_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace aifed::agent {
namespace {

// A UTF-8 lead byte: the length of its sequence and the range its second byte must be
// in (RFC 3629, table 3-7 of the Unicode standard: no overlong forms, no surrogates,
// nothing above U+10FFFF).
struct Lead {
  size_t length = 1;
  unsigned char lo = 0x80, hi = 0xBF;
};

std::optional<Lead> leadOf(unsigned char c) {
  if (c < 0x80) return Lead{1};
  if (c >= 0xC2 && c <= 0xDF) return Lead{2};
  if (c >= 0xE0 && c <= 0xEF) {
    return Lead{3, static_cast<unsigned char>(c == 0xE0 ? 0xA0 : 0x80),
                static_cast<unsigned char>(c == 0xED ? 0x9F : 0xBF)};
  }
  if (c >= 0xF0 && c <= 0xF4) {
    return Lead{4, static_cast<unsigned char>(c == 0xF0 ? 0x90 : 0x80),
                static_cast<unsigned char>(c == 0xF4 ? 0x8F : 0xBF)};
  }
  return std::nullopt;
}

// Whether the bytes after the lead byte in `s` (fewer than or as many as it announces)
// are what a valid sequence has there.
bool validStart(std::string_view s, const Lead& lead) {
  for (size_t i = 1; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (i == 1 ? (c < lead.lo || c > lead.hi) : (c & 0xC0) != 0x80) return false;
  }
  return true;
}

// The length of the valid UTF-8 sequence at the start of `s`, or 0 if it is not one.
size_t validSequence(std::string_view s) {
  std::optional<Lead> lead = leadOf(static_cast<unsigned char>(s[0]));
  if (!lead || s.size() < lead->length) return 0;
  return validStart(s.substr(0, lead->length), *lead) ? lead->length : 0;
}

bool isContinuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

std::string errnoText(int err) {
  return std::strerror(err);
}

// Fills the error of `out`.
void fail(LogData& out, std::string error, std::string message) {
  out.error = std::move(error);
  out.message = std::move(message);
  out.data.clear();
}

// Closes a descriptor when it goes out of scope.
struct FileCloser {
  int fd;
  ~FileCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string sanitizeUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  while (!bytes.empty()) {
    size_t n = validSequence(bytes);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD, the replacement character
      bytes.remove_prefix(1);
      continue;
    }
    out.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
  return out;
}

size_t leadingContinuationBytes(std::string_view bytes) {
  size_t n = 0;
  while (n < bytes.size() && n < 3 && isContinuation(bytes[n])) ++n;
  return n;
}

size_t incompleteTail(std::string_view bytes) {
  // The last lead byte within the last 3 bytes: cut off if its sequence is longer than
  // what follows it, kept for the next read only if what is there is a valid start.
  for (size_t back = 1; back <= std::min<size_t>(3, bytes.size()); ++back) {
    size_t at = bytes.size() - back;
    if (isContinuation(bytes[at])) continue;
    std::optional<Lead> lead = leadOf(static_cast<unsigned char>(bytes[at]));
    if (!lead || lead->length <= back) return 0;  // complete, or invalid (U+FFFD) anyway
    return validStart(bytes.substr(at), *lead) ? back : 0;
  }
  return 0;
}

void JobOutputReader::read(const std::string& path, std::optional<uint32_t> owner_uid,
                           std::optional<uint64_t> offset, uint64_t max_bytes, LogData& out) const {
  out.path = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      return fail(out, "no_output", "no output yet: " + path + " does not exist");
    }
    if (err == ELOOP) {
      return fail(out, "unreadable", path + " is a symbolic link: not followed");
    }
    return fail(out, "unreadable", "cannot open " + path + ": " + errnoText(err));
  }
  FileCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return fail(out, "unreadable", "cannot stat " + path + ": " + errnoText(errno));
  }
  if (!S_ISREG(st.st_mode)) return fail(out, "unreadable", path + " is not a regular file");
  if (owner_uid && st.st_uid != *owner_uid) {
    return fail(out, "unreadable",
                path + " belongs to uid " + std::to_string(st.st_uid) + ", not to the job's uid " +
                    std::to_string(*owner_uid) + ": not read");
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t cap = max_bytes == 0 ? options_.hard_cap : std::min(max_bytes, options_.hard_cap);
  uint64_t start = offset ? std::min(*offset, size) : size - std::min(cap, size);
  uint64_t want = std::min(cap, size - start);
  std::string bytes(want, '\0');
  size_t got = 0;
  while (got < want) {
    ssize_t n = ::pread(fd, bytes.data() + got, want - got, static_cast<off_t>(start + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(out, "unreadable", "cannot read " + path + ": " + errnoText(errno));
    if (n == 0) break;  // the file shrank meanwhile
    got += static_cast<size_t>(n);
  }
  std::string_view view(bytes.data(), got);
  size_t skip = start > 0 ? leadingContinuationBytes(view) : 0;
  view.remove_prefix(skip);
  view.remove_suffix(incompleteTail(view));
  out.size = size;
  out.offset = start + skip;
  out.end = out.offset + view.size();
  out.data = sanitizeUtf8(view);
}

LogData JobOutputReader::answer(const LogRequest& request, DispatchLedger& ledger) const {
  LogData out;
  out.request_id = request.request_id;
  out.job_id = request.job_id;
  out.attempt = request.attempt;
  out.stream = request.stream;
  std::string attempt = "attempt " + std::to_string(request.attempt) + " of " + request.job_id;
  Result<std::optional<DispatchRecord>> found =
      ledger.findDispatch({request.job_id, request.attempt});
  if (!found.ok()) {
    fail(out, "not_found", "cannot look up " + attempt + ": " + found.status().message());
    return out;
  }
  if (!found->has_value() || !(*found)->accepted) {
    fail(out, "not_found", "no " + attempt + " at this site");
    return out;
  }
  const DispatchRecord& r = **found;
  const std::string& path = request.stream == "stderr" ? r.stderr_path : r.stdout_path;
  if (path.empty()) {
    fail(out, "no_output", "the site's backend keeps no " + request.stream + " for " + attempt);
    return out;
  }
  read(path, r.identity.uid, request.offset, request.max_bytes, out);
  return out;
}

}  // namespace aifed::agent
