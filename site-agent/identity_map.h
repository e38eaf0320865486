// How a site maps federation users to its own accounts: a map file in the spirit of
// HTCondor's mapfile, or a command the site provides. The site owns this mapping; the
// coordinator never sees it (docs/operations.md, "Site administrator's guide").
//
// Map file: one rule per line, the first that matches wins; '#' starts a comment.
//
//   # federation-user     project    local-user   [slurm-account]
//   alice@csc.fi          llm-eu     alice        llm-eu
//   /^(.+)@kth\.se$/      *          \1           {project}
//   *                     bio-ai     bioguest     -
//
// A user pattern is a glob ('*' matches any run of characters) or a regular expression
// between slashes (ECMAScript, matching the whole name); \1..\9 in the local user and the
// account are its groups, {user} and {project} the federation user and project. A project
// pattern is a glob. The account "-" (or none) leaves the Slurm account to the agent's
// [slurm] accounts. A rule can never map to root (uid 0 is refused when the account is
// resolved, whatever the name).
//
// Map command: `command USER PROJECT` prints "LOCAL_USER [ACCOUNT]" and exits 0 to map,
// exits 1 to refuse (its first stderr line is the reason); anything else (another exit,
// no output, a timeout) refuses the job naming the command's failure.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<IdentityMap> map, MapFile::load("/etc/aifed/users.map"));
//   Result<Mapping> m = map->lookup("alice@csc.fi", "llm-eu");  // {"alice", "llm-eu"}
#pragma once

#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/status.h"
#include "site-agent/backends/process.h"

namespace aifed::agent {

// What the mapping says about one federation user in one project.
struct Mapping {
  bool mapped = false;
  std::string local_user;  // when mapped
  std::string account;     // when mapped; empty: the agent's [slurm] accounts decide
  std::string reason;      // when not mapped: why, in words for the job's owner
  bool operator==(const Mapping&) const = default;
};

class IdentityMap {
 public:
  virtual ~IdentityMap() = default;
  virtual Mapping lookup(const std::string& user, const std::string& project) = 0;
  // "map file /etc/aifed/users.map", "map command /usr/local/sbin/aifed-map": for logs.
  virtual std::string describe() const = 0;
};

class MapFile final : public IdentityMap {
 public:
  // kInvalidArgument "<source>:<line>: <what>" for a malformed rule (too few or too many
  // fields, a bad regular expression, a group number the expression does not have).
  static Result<std::unique_ptr<MapFile>> parse(std::string_view text, const std::string& source);
  static Result<std::unique_ptr<MapFile>> load(const std::string& path);

  Mapping lookup(const std::string& user, const std::string& project) override;
  std::string describe() const override { return "map file " + source_; }
  size_t size() const { return rules_.size(); }

 private:
  struct Rule {
    int line = 0;
    std::string user_pattern;
    std::optional<std::regex> user_regex;  // when the pattern is /.../
    std::string project_pattern;
    std::string local_user;
    std::string account;
  };
  std::string source_;
  std::vector<Rule> rules_;
};

class MapCommand final : public IdentityMap {
 public:
  MapCommand(std::string path, CommandRunner& runner, Duration timeout)
      : path_(std::move(path)), runner_(runner), timeout_(timeout) {}

  Mapping lookup(const std::string& user, const std::string& project) override;
  std::string describe() const override { return "map command " + path_; }

 private:
  std::string path_;
  CommandRunner& runner_;
  Duration timeout_;
};

// A local user name as Unix tools accept it: [a-z_][a-z0-9_.-]* (at most 32 characters).
bool isValidLocalUser(std::string_view name);

}  // namespace aifed::agent
