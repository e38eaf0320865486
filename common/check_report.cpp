#include "common/check_report.h"

#include <pwd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <ostream>

namespace aifed::common {

bool CheckReport::failed() const {
  return failures() > 0;
}

int CheckReport::failures() const {
  int n = 0;
  for (const CheckLine& l : lines_) n += l.level == CheckLevel::kFail ? 1 : 0;
  return n;
}

std::string formatCheckLine(const CheckLine& line) {
  switch (line.level) {
    case CheckLevel::kOk:
      return "ok   " + line.what + (line.why.empty() ? "" : ": " + line.why);
    case CheckLevel::kWarn:
      return "warn " + line.what + ": " + line.why;
    case CheckLevel::kFail:
      return "FAIL " + line.what + ": " + line.why;
  }
  return line.what;
}

void CheckReport::print(std::ostream& out, const std::string& last) const {
  for (const CheckLine& l : lines_) out << formatCheckLine(l) << "\n";
  int n = failures();
  if (n == 0) {
    out << last << "\n";
  } else {
    out << "would not start: " << n << (n == 1 ? " check" : " checks") << " FAILed\n";
  }
}

CheckEnvironment CheckEnvironment::real(Time now) {
  CheckEnvironment env;
  env.uid = getuid();
  env.now = now;
  env.space = [](const std::string& path) -> Result<FileSystemSpace> {
    struct statvfs vfs {};
    if (statvfs(path.c_str(), &vfs) != 0) {
      return unavailable("statvfs " + path + ": " + std::strerror(errno));
    }
    return FileSystemSpace{static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize,
                           static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize};
  };
  return env;
}

std::string formatBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 && u > 0 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

std::string describeUser(uid_t uid) {
  struct passwd pw {};
  struct passwd* found = nullptr;
  char buf[4096];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr) {
    return std::string(found->pw_name) + " (uid " + std::to_string(uid) + ")";
  }
  return "uid " + std::to_string(uid);
}

namespace {

std::string userName(uid_t uid) {
  return describeUser(uid);
}

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Owned by env.uid: else a FAIL saying who owns it and how to run the check instead.
bool checkOwner(CheckReport& report, const CheckEnvironment& env, const std::string& what,
                const std::string& path, const struct stat& st) {
  if (st.st_uid == env.uid) return true;
  report.fail(what, path + " is owned by " + userName(st.st_uid) + ", not by " + userName(env.uid) +
                        " who runs this check: run it as the daemon's user (sudo -u aifed ...), "
                        "or chown the file");
  return false;
}

}  // namespace

bool checkPrivateFile(CheckReport& report, const CheckEnvironment& env, const std::string& what,
                      const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    report.fail(what, "cannot read " + path + ": " + std::strerror(errno));
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    report.fail(what, path + " is not a regular file");
    return false;
  }
  if ((st.st_mode & 0044) != 0) {
    report.fail(what, path + " has mode " + octal(st.st_mode) +
                          ": a secret must not be readable by group or others (chmod 0600 " + path +
                          ")");
    return false;
  }
  return checkOwner(report, env, what, path, st);
}

void checkFreeSpace(CheckReport& report, const CheckEnvironment& env, const std::string& what,
                    const std::string& path) {
  if (!env.space) return;
  Result<FileSystemSpace> space = env.space(path);
  if (!space.ok()) {
    report.warn(what, space.status().message());
    return;
  }
  std::string free = formatBytes(space->available_bytes) + " free of " +
                     formatBytes(space->total_bytes) + " on the file system of " + path;
  double share = space->total_bytes == 0 ? 0.0
                                         : static_cast<double>(space->available_bytes) /
                                               static_cast<double>(space->total_bytes);
  if (space->available_bytes < env.fail_below_bytes) {
    report.fail(what, free + " (< " + formatBytes(env.fail_below_bytes) + ")");
  } else if (space->available_bytes < env.warn_below_bytes || share < env.warn_below_share) {
    report.warn(what, free + " (below " + formatBytes(env.warn_below_bytes) + " or " +
                          std::to_string(static_cast<int>(env.warn_below_share * 100)) + " %)");
  } else {
    report.ok(what + ": " + free);
  }
}

void checkDatabaseFile(CheckReport& report, const CheckEnvironment& env, const std::string& what,
                       const std::string& path) {
  struct stat st {};
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  if (::stat(path.c_str(), &st) != 0) {
    report.fail(what + " file", "cannot stat " + path + ": " + std::strerror(errno));
    return;
  }
  if (checkOwner(report, env, what + " file", path, st)) {
    if ((st.st_mode & 0200) == 0) {
      report.fail(what + " file", path + " has mode " + octal(st.st_mode) + ": not writable");
    } else if ((st.st_mode & 0022) != 0) {
      report.fail(what + " file",
                  path + " has mode " + octal(st.st_mode) + ": writable by group or others");
    } else if ((st.st_mode & 0004) != 0) {
      report.warn(what + " file", path + " has mode " + octal(st.st_mode) +
                                      ": readable by everyone (0600 or 0640 keeps it private)");
    } else {
      report.ok(what + " file " + path + " (mode " + octal(st.st_mode) + ", owner " +
                userName(st.st_uid) + ")");
    }
  }
  struct stat dst {};
  if (::stat(dir.c_str(), &dst) != 0) {
    report.fail(what + " directory", "cannot stat " + dir + ": " + std::strerror(errno));
  } else if (checkOwner(report, env, what + " directory", dir, dst)) {
    if ((dst.st_mode & 0200) == 0) {
      report.fail(what + " directory",
                  dir + " is not writable (SQLite makes its -wal and -shm files there)");
    } else {
      report.ok(what + " directory " + dir + " (mode " + octal(dst.st_mode) + ")");
    }
  }
  checkFreeSpace(report, env, what + " free space", dir);
}

void checkDatabaseDirectory(CheckReport& report, const CheckEnvironment& env,
                            const std::string& what, const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  while (!std::filesystem::exists(dir, ec) && dir.has_parent_path() && dir != dir.parent_path()) {
    dir = dir.parent_path();
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    report.fail(what + " directory", "cannot stat " + dir.string() + ": " + std::strerror(errno));
    return;
  }
  bool writable = env.uid == 0 || (st.st_uid == env.uid && (st.st_mode & 0200) != 0);
  if (!writable) {
    report.fail(what + " directory", dir.string() + " (owner " + userName(st.st_uid) + ", mode " +
                                         octal(st.st_mode) + ") is not writable by " +
                                         userName(env.uid) + ": the daemon could not create " +
                                         path);
    return;
  }
  report.ok(what + " directory " + dir.string() + " is writable");
  checkFreeSpace(report, env, what + " free space", dir.string());
}

}  // namespace aifed::common

namespace aifed::common {

Status validateTcpEndpoint(const std::string& endpoint, bool bind) {
  const std::string scheme = "tcp://";
  if (endpoint.rfind(scheme, 0) != 0) {
    return invalidArgument("\"" + endpoint + "\" is not a tcp:// endpoint");
  }
  std::string rest = endpoint.substr(scheme.size());
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return invalidArgument("\"" + endpoint + "\" has no HOST:PORT after tcp://");
  }
  std::string host = rest.substr(0, colon);
  std::string port = rest.substr(colon + 1);
  if (host.front() == '[' ? host.back() != ']' : host.find(':') != std::string::npos) {
    return invalidArgument("\"" + endpoint +
                           "\": an IPv6 address goes in brackets, tcp://[::1]:7781");
  }
  if (host == "*" && !bind) {
    return invalidArgument("\"" + endpoint + "\": `*` is for binding; name the coordinator's host");
  }
  if (port == "*" && bind) return Status::Ok();
  bool digits = !port.empty() && port.size() <= 5 &&
                port.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoi(port) < 1 || std::stoi(port) > 65535) {
    return invalidArgument("\"" + endpoint + "\": port \"" + port + "\" is not 1..65535");
  }
  return Status::Ok();
}

}  // namespace aifed::common
