// What `aifed-coordinator --check` and `aifed-agent --check` print (issue 17): one line
// per check and a last line saying what starting would do; exit 0 when nothing FAILed.
//
//   ok   key file /etc/aifed/keys/coordinator.key (mode 0600)
//   warn database free space: 812 MiB free on the file system of /var/lib/aifed (< 1 GiB)
//   FAIL TLS certificate /etc/aifed/tls/cert.pem: expired on 2026-11-30
//   would start: federation "eurohpc-ai" with 7 sites, ...
//
// And the checks both daemons make of files: a secret that only its owner may read, a
// database file and its directory that the daemon's user owns and can write, free space.
// The file system and the user are injected (CheckEnvironment), so tests can make each
// case without root or a full disk.
//
//   CheckReport report;
//   CheckEnvironment env = CheckEnvironment::real(clock.now());
//   checkPrivateFile(report, env, "key file", "/etc/aifed/keys/mimer.key");
//   report.print(std::cout, "would start: ...");
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "protocol/clock.h"
#include "protocol/status.h"

namespace aifed::common {

enum class CheckLevel { kOk, kWarn, kFail };

struct CheckLine {
  CheckLevel level;
  std::string what;
  std::string why;  // empty for an ok line without detail
};

class CheckReport {
 public:
  void ok(std::string what) { lines_.push_back({CheckLevel::kOk, std::move(what), {}}); }
  void warn(std::string what, std::string why) {
    lines_.push_back({CheckLevel::kWarn, std::move(what), std::move(why)});
  }
  void fail(std::string what, std::string why) {
    lines_.push_back({CheckLevel::kFail, std::move(what), std::move(why)});
  }
  bool failed() const;
  int failures() const;
  const std::vector<CheckLine>& lines() const { return lines_; }
  // Every line, then `last` (or "would not start: N checks FAILed" when any did).
  void print(std::ostream& out, const std::string& last) const;
  // The exit code: 0 when nothing FAILed, 1 otherwise.
  int exitCode() const { return failed() ? 1 : 0; }

 private:
  std::vector<CheckLine> lines_;
};

// "ok   what", "warn what: why", "FAIL what: why".
std::string formatCheckLine(const CheckLine& line);

struct FileSystemSpace {
  uint64_t available_bytes = 0;  // to an unprivileged user (statvfs f_bavail)
  uint64_t total_bytes = 0;
};

struct CheckEnvironment {
  uid_t uid = 0;  // the user the daemon would run as: the one running --check
  Time now{};
  // statvfs of the file system holding `path`.
  std::function<Result<FileSystemSpace>(const std::string& path)> space;
  // Below both the warning is given: at least this many bytes free ...
  uint64_t warn_below_bytes = uint64_t{1} << 30;
  // ... and this share of the file system.
  double warn_below_share = 0.10;
  // Below this it is a FAIL: SQLite could not even checkpoint its WAL.
  uint64_t fail_below_bytes = uint64_t{64} << 20;

  // getuid(), `now`, statvfs(3).
  static CheckEnvironment real(Time now);
};

// A secret (a CURVE key, a TLS key) must exist, be a regular file owned by env.uid and
// not readable by group or others. Returns false after a FAIL line.
bool checkPrivateFile(CheckReport& report, const CheckEnvironment& env, const std::string& what,
                      const std::string& path);

// A database file that exists: owned by env.uid and writable by it, not writable by
// others (warn when world-readable); its directory owned by env.uid and writable (SQLite
// makes its -wal and -shm files there); free space on its file system.
void checkDatabaseFile(CheckReport& report, const CheckEnvironment& env, const std::string& what,
                       const std::string& path);
// A database that does not exist yet: the nearest existing ancestor directory must be
// writable by env.uid (the daemon creates the file, and the directories above it).
void checkDatabaseDirectory(CheckReport& report, const CheckEnvironment& env,
                            const std::string& what, const std::string& path);
// Free space on the file system holding `path`.
void checkFreeSpace(CheckReport& report, const CheckEnvironment& env, const std::string& what,
                    const std::string& path);

// "aifed (uid 998)", or "uid 998" when no such user is known.
std::string describeUser(uid_t uid);

// "1.5 GiB", "812 MiB", "4 KiB".
std::string formatBytes(uint64_t bytes);

}  // namespace aifed::common

namespace aifed::common {

// A ZeroMQ TCP endpoint "tcp://HOST:PORT": HOST an address, a name, `[v6 address]` or,
// when `bind`, `*`; PORT 1..65535 or, when `bind`, `*` (an ephemeral port). Checked as
// text only: nothing is resolved or bound. kInvalidArgument saying what is wrong.
Status validateTcpEndpoint(const std::string& endpoint, bool bind);

}  // namespace aifed::common
