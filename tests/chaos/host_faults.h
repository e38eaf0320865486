// Faults the chaos suite makes on this machine, each undone by its destructor: a small
// tmpfs to fill (TmpfsMount), a network namespace joined to this one by a veth pair whose
// link can be cut (NetworkNamespace). Both need root; create() says why not otherwise,
// and the scenario skips with that message.
//
//   Result<std::unique_ptr<NetworkNamespace>> ns = NetworkNamespace::create("aifed-c-42");
//   fed->setLaunchPrefix("site-a", (*ns)->execPrefix());   // the agent runs inside it
//   (*ns)->cut();  ...  (*ns)->heal();
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "protocol/clock.h"
#include "protocol/status.h"
#include "site-agent/backends/process.h"

namespace aifed::chaos {

// Runs a command to its end; kUnavailable if it could not run, and a non-zero exit as
// kUnavailable naming the command and its stderr.
Result<agent::CommandOutput> runCommand(std::vector<std::string> argv,
                                        Duration timeout = std::chrono::seconds(30));

// Empty if this process may mount file systems and make network namespaces, else why not.
std::string whyNotRoot();

class TmpfsMount {
 public:
  static Result<std::unique_ptr<TmpfsMount>> create(const std::filesystem::path& dir,
                                                    int64_t size_bytes);
  // Copies what is on it to `keep_to` (if set) and unmounts it.
  ~TmpfsMount();
  void keepContentsIn(std::filesystem::path dir) { keep_to_ = std::move(dir); }

  // Writes a filler file until the file system is full; returns the bytes written.
  Result<int64_t> fill();
  // Removes the filler.
  void release();

 private:
  explicit TmpfsMount(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
  std::filesystem::path keep_to_;
};

class NetworkNamespace {
 public:
  // A namespace `name` (also the stem of its veth pair's names, at most 11 characters)
  // with address 10.231.N.2/30 inside and 10.231.N.1/30 on this side.
  static Result<std::unique_ptr<NetworkNamespace>> create(const std::string& name);
  ~NetworkNamespace();

  const std::string& name() const { return name_; }
  const std::string& hostAddress() const { return host_address_; }
  // What to start a process under so it runs inside: {"ip", "netns", "exec", name}.
  std::vector<std::string> execPrefix() const;

  // Takes the link down on the namespace's side: no packet passes either way, and this
  // side keeps its address (agents outside still reach a coordinator bound to it).
  Status cut();
  Status heal();

 private:
  NetworkNamespace(std::string name, std::string host_address)
      : name_(std::move(name)), host_address_(std::move(host_address)) {}
  std::string name_;
  std::string host_address_;
};

}  // namespace aifed::chaos
