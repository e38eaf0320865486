#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace aifed::common {
namespace {

std::string reason(int error) {
  return std::strerror(error);
}

// Closes a descriptor on every path out of a function.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() { close(); }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  // The result of close(2): a deferred write error can surface only here.
  int close() {
    int rc = fd_ >= 0 ? ::close(fd_) : 0;
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

Status writeAll(int fd, std::string_view content) {
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return unavailable(reason(errno));
    if (n == 0) return unavailable("the write made no progress");
    content.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// The temporary file's content written, given `mode`, synced and closed.
Status fillTemporary(FileDescriptor& fd, std::string_view content, mode_t mode) {
  if (Status s = writeAll(fd.get(), content); !s.ok()) return s;
  if (::fchmod(fd.get(), mode) != 0) return unavailable("chmod: " + reason(errno));
  if (::fsync(fd.get()) != 0) return unavailable("fsync: " + reason(errno));
  if (fd.close() != 0) return unavailable("close: " + reason(errno));
  return Status::Ok();
}

}  // namespace

std::string resolvePath(const std::string& base_dir, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

Result<std::string> readFile(const std::string& path) {
  auto fail = [&](int error) -> Status {
    std::string message = "cannot read " + path + ": " + reason(error);
    if (error == ENOENT || error == ENOTDIR) return notFound(std::move(message));
    if (error == EISDIR) return invalidArgument(std::move(message));
    return unavailable(std::move(message));
  };
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) return fail(errno);
  std::string out;
  char buffer[64 * 1024];
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno);
    if (n == 0) return out;
    out.append(buffer, static_cast<size_t>(n));
  }
}

Status writeFileAtomically(const std::string& path, std::string_view content, mode_t mode) {
  std::filesystem::path target(path);
  std::string dir = target.parent_path().empty() ? "." : target.parent_path().string();
  std::string tmp = path + ".tmp-XXXXXX";
  // mkstemp creates the file with mode 0600 and a name no other writer has.
  FileDescriptor fd(::mkstemp(tmp.data()));
  if (!fd.ok()) {
    return unavailable("cannot write " + path + ": cannot create a temporary file in " + dir +
                       ": " + reason(errno));
  }
  auto fail = [&](const std::string& why) {
    fd.close();
    ::unlink(tmp.c_str());
    return unavailable("cannot write " + path + ": " + why);
  };
  if (Status s = fillTemporary(fd, content, mode); !s.ok()) return fail(s.message());
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename: " + reason(errno));
  // The rename is durable only once the directory entry is.
  FileDescriptor dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.ok() || ::fsync(dir_fd.get()) != 0) {
    return unavailable("cannot write " + path + ": fsync of " + dir + ": " + reason(errno));
  }
  return Status::Ok();
}

}  // namespace aifed::common
