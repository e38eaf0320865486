#include "tests/chaos/host_faults.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace aifed::chaos {
namespace {

namespace fs = std::filesystem;

std::string hostVeth(const std::string& name) {
  return name + "h";
}
std::string innerVeth(const std::string& name) {
  return name + "n";
}

}  // namespace

Result<agent::CommandOutput> runCommand(std::vector<std::string> argv, Duration timeout) {
  agent::ProcessRunner runner;
  agent::Command command(argv);
  command.timeout = timeout;
  Result<agent::CommandOutput> out = runner.run(command);
  if (!out.ok()) return out;
  if (out->exit_code != 0) {
    return unavailable(agent::describeCommand(argv) + " exited " +
                       std::to_string(out->exit_code) + ": " + out->err);
  }
  return out;
}

std::string whyNotRoot() {
  if (geteuid() != 0) {
    return "this scenario needs root (it mounts a tmpfs or makes a network namespace); run "
           "`sudo ./aifed.sh test -R chaos`";
  }
  return "";
}

Result<std::unique_ptr<TmpfsMount>> TmpfsMount::create(const fs::path& dir, int64_t size_bytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::string data = "size=" + std::to_string(size_bytes) + ",mode=0755";
  if (mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, data.c_str()) != 0) {
    return unavailable("cannot mount a tmpfs on " + dir.string() + ": " + std::strerror(errno));
  }
  return std::unique_ptr<TmpfsMount>(new TmpfsMount(dir));
}

TmpfsMount::~TmpfsMount() {
  std::error_code ec;
  release();
  if (!keep_to_.empty()) {
    fs::create_directories(keep_to_, ec);
    fs::copy(dir_, keep_to_, fs::copy_options::recursive | fs::copy_options::overwrite_existing,
             ec);
  }
  umount2(dir_.c_str(), MNT_DETACH);
}

Result<int64_t> TmpfsMount::fill() {
  fs::path filler = dir_ / "filler";
  std::FILE* f = std::fopen(filler.c_str(), "wb");
  if (f == nullptr) return unavailable("cannot create " + filler.string());
  std::string chunk(4096, 'f');
  int64_t written = 0;
  while (std::fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size()) {
    written += static_cast<int64_t>(chunk.size());
    if (std::fflush(f) != 0) break;
  }
  std::fclose(f);
  return written;
}

void TmpfsMount::release() {
  std::error_code ec;
  fs::remove(dir_ / "filler", ec);
}

Result<std::unique_ptr<NetworkNamespace>> NetworkNamespace::create(const std::string& name) {
  if (name.size() > 11) return invalidArgument("namespace name too long: " + name);
  std::string n = std::to_string(getpid() % 250);
  std::string host = "10.231." + n + ".1", inner = "10.231." + n + ".2";
  std::unique_ptr<NetworkNamespace> ns(new NetworkNamespace(name, host));
  (void)runCommand({"ip", "netns", "del", name});  // left over from a crashed run
  (void)runCommand({"ip", "link", "del", hostVeth(name)});
  const std::vector<std::vector<std::string>> steps = {
      {"ip", "netns", "add", name},
      {"ip", "link", "add", hostVeth(name), "type", "veth", "peer", "name", innerVeth(name)},
      {"ip", "link", "set", innerVeth(name), "netns", name},
      {"ip", "addr", "add", host + "/30", "dev", hostVeth(name)},
      {"ip", "link", "set", hostVeth(name), "up"},
      {"ip", "netns", "exec", name, "ip", "addr", "add", inner + "/30", "dev", innerVeth(name)},
      {"ip", "netns", "exec", name, "ip", "link", "set", innerVeth(name), "up"},
      {"ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"},
  };
  for (const auto& step : steps) {
    if (Result<agent::CommandOutput> r = runCommand(step); !r.ok()) return r.status();
  }
  return ns;
}

NetworkNamespace::~NetworkNamespace() {
  (void)runCommand({"ip", "link", "del", hostVeth(name_)});
  (void)runCommand({"ip", "netns", "del", name_});
}

std::vector<std::string> NetworkNamespace::execPrefix() const {
  return {"ip", "netns", "exec", name_};
}

Status NetworkNamespace::cut() {
  Result<agent::CommandOutput> r =
      runCommand({"ip", "netns", "exec", name_, "ip", "link", "set", innerVeth(name_), "down"});
  return r.ok() ? Status::Ok() : r.status();
}

Status NetworkNamespace::heal() {
  Result<agent::CommandOutput> r =
      runCommand({"ip", "netns", "exec", name_, "ip", "link", "set", innerVeth(name_), "up"});
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace aifed::chaos
