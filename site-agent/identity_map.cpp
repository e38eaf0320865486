#include "site-agent/identity_map.h"

#include <sstream>

#include "common/files.h"
#include "common/strings.h"
#include "protocol/site_rules.h"

namespace aifed::agent {
namespace {

std::vector<std::string> fields(std::string_view line) {
  std::vector<std::string> out;
  std::istringstream in{std::string(line)};
  for (std::string f; in >> f;) out.push_back(f);
  return out;
}

// \1..\9 from `groups`, {user} and {project}.
std::string expand(const std::string& pattern, const std::smatch* groups, const std::string& user,
                   const std::string& project) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size() && pattern[i + 1] >= '1' && pattern[i + 1] <= '9') {
      size_t n = static_cast<size_t>(pattern[i + 1] - '0');
      if (groups && n < groups->size()) out += (*groups)[n].str();
      ++i;
    } else if (pattern.compare(i, 6, "{user}") == 0) {
      out += user;
      i += 5;
    } else if (pattern.compare(i, 9, "{project}") == 0) {
      out += project;
      i += 8;
    } else {
      out += c;
    }
  }
  return out;
}

int highestGroup(const std::string& text) {
  int n = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] == '\\' && text[i + 1] >= '1' && text[i + 1] <= '9') {
      n = std::max(n, text[i + 1] - '0');
    }
  }
  return n;
}

Mapping refused(std::string reason) {
  Mapping m;
  m.reason = std::move(reason);
  return m;
}

}  // namespace

bool isValidLocalUser(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  if (!(name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z'))) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Result<std::unique_ptr<MapFile>> MapFile::parse(std::string_view text, const std::string& source) {
  auto map = std::unique_ptr<MapFile>(new MapFile());
  map->source_ = source;
  int number = 0;
  for (std::string_view raw : common::split(text, '\n')) {
    ++number;
    std::string_view line = raw.substr(0, raw.find('#'));
    std::vector<std::string> f = fields(line);
    if (f.empty()) continue;
    auto bad = [&](const std::string& what) {
      return invalidArgument(source + ":" + std::to_string(number) + ": " + what);
    };
    if (f.size() < 3 || f.size() > 4) {
      return bad("a rule is \"FEDERATION_USER PROJECT LOCAL_USER [ACCOUNT]\", got " +
                 std::to_string(f.size()) + " fields");
    }
    Rule r;
    r.line = number;
    r.user_pattern = f[0];
    r.project_pattern = f[1];
    r.local_user = f[2];
    if (f.size() == 4 && f[3] != "-") r.account = f[3];
    int groups = 0;
    if (r.user_pattern.size() >= 2 && r.user_pattern.front() == '/' &&
        r.user_pattern.back() == '/') {
      try {
        r.user_regex.emplace(r.user_pattern.substr(1, r.user_pattern.size() - 2),
                             std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return bad("bad regular expression " + r.user_pattern + ": " + e.what());
      }
      groups = static_cast<int>(r.user_regex->mark_count());
    }
    int used = std::max(highestGroup(r.local_user), highestGroup(r.account));
    if (used > groups) {
      return bad("\\" + std::to_string(used) + " names a group the user pattern " +
                 r.user_pattern + " does not have");
    }
    map->rules_.push_back(std::move(r));
  }
  return map;
}

Result<std::unique_ptr<MapFile>> MapFile::load(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, common::readFile(path));
  return parse(text, path);
}

Mapping MapFile::lookup(const std::string& user, const std::string& project) {
  for (const Rule& r : rules_) {
    if (!globMatch(r.project_pattern, project)) continue;
    std::smatch groups;
    if (r.user_regex) {
      if (!std::regex_match(user, groups, *r.user_regex)) continue;
    } else if (!globMatch(r.user_pattern, user)) {
      continue;
    }
    const std::smatch* g = r.user_regex ? &groups : nullptr;
    Mapping m;
    m.local_user = expand(r.local_user, g, user, project);
    m.account = expand(r.account, g, user, project);
    if (!isValidLocalUser(m.local_user)) {
      return refused("the site's map file (" + source_ + ":" + std::to_string(r.line) +
                     ") gives \"" + m.local_user + "\" for " + user + ", not a valid local user");
    }
    m.mapped = true;
    return m;
  }
  return refused("federation user " + user + " in project " + project +
                 " has no local account at this site (no rule in its map file matches)");
}

Mapping MapCommand::lookup(const std::string& user, const std::string& project) {
  Command cmd({path_, user, project});
  cmd.timeout = timeout_;
  Result<CommandOutput> out = runner_.run(cmd);
  if (!out.ok()) {
    return refused("the site's mapping command failed: " + out.status().message());
  }
  if (out->exit_code == 1) {
    std::string why(common::trim(out->err.substr(0, out->err.find('\n'))));
    return refused("federation user " + user + " in project " + project +
                   " has no local account at this site" + (why.empty() ? "" : ": " + why));
  }
  std::vector<std::string> f = fields(out->out.substr(0, out->out.find('\n')));
  if (out->exit_code != 0 || f.empty() || f.size() > 2) {
    return refused("the site's mapping command failed (exit " + std::to_string(out->exit_code) +
                   ", printed \"" + std::string(common::trim(out->out)) + "\")");
  }
  if (!isValidLocalUser(f[0])) {
    return refused("the site's mapping command gives \"" + f[0] + "\" for " + user +
                   ", not a valid local user");
  }
  Mapping m;
  m.mapped = true;
  m.local_user = f[0];
  if (f.size() == 2 && f[1] != "-") m.account = f[1];
  return m;
}

}  // namespace aifed::agent
