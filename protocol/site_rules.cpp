#include "protocol/site_rules.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/strings.h"

namespace aifed {
namespace {

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

const std::vector<std::string>* partitionsOf(const SiteRules& rules, const std::string& project) {
  auto it = rules.partitions.find(project);
  if (it == rules.partitions.end()) it = rules.partitions.find("*");
  return it == rules.partitions.end() ? nullptr : &it->second;
}

}  // namespace

std::string qosFor(const SiteRules& rules, const JobSpec& spec) {
  auto it = rules.qos.find(spec.project);
  if (it == rules.qos.end()) it = rules.qos.find("*");
  return it == rules.qos.end() ? std::string() : it->second;
}

namespace {

std::string number(double v) {
  std::ostringstream out;
  out << std::round(v * 10) / 10;
  return out.str();
}

// A line Slurm could read as a directive: "#SBATCH" after optional blanks, any case.
bool isDirective(std::string_view line) {
  size_t i = line.find_first_not_of(" \t");
  if (i == std::string_view::npos || line.size() - i < 7) return false;
  std::string head(line.substr(i, 7));
  std::transform(head.begin(), head.end(), head.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return head == "#SBATCH";
}

std::optional<RuleRefusal> checkSize(const SiteRules& rules, const JobSpec& spec) {
  const int gpus = spec.nodes * spec.gpus_per_node;
  if (rules.max_nodes > 0 && spec.nodes > rules.max_nodes) {
    return RuleRefusal{"max_nodes", "the job asks for " + std::to_string(spec.nodes) +
                                        " nodes; the site admits at most " +
                                        std::to_string(rules.max_nodes) + " per job"};
  }
  if (rules.max_gpus > 0 && gpus > rules.max_gpus) {
    return RuleRefusal{"max_gpus", "the job asks for " + std::to_string(gpus) +
                                       " GPUs; the site admits at most " +
                                       std::to_string(rules.max_gpus) + " per job"};
  }
  if (rules.max_walltime > Duration::zero() && spec.walltime > rules.max_walltime) {
    auto hours = [](Duration d) {
      return std::chrono::duration<double, std::ratio<3600>>(d).count();
    };
    return RuleRefusal{"max_walltime", "the job asks for " + number(hours(spec.walltime)) +
                                           " h of walltime; the site admits at most " +
                                           number(hours(rules.max_walltime)) + " h"};
  }
  const double gpu_hours =
      gpus * std::chrono::duration<double, std::ratio<3600>>(spec.walltime).count();
  if (rules.max_gpu_hours > 0 && gpu_hours > rules.max_gpu_hours) {
    return RuleRefusal{"max_gpu_hours", "the job may use up to " + number(gpu_hours) +
                                            " GPU-hours; the site admits at most " +
                                            number(rules.max_gpu_hours) + " per job"};
  }
  return std::nullopt;
}

}  // namespace

std::string_view directivePolicyName(DirectivePolicy p) {
  return p == DirectivePolicy::kStrip ? "strip" : "refuse";
}

std::optional<DirectivePolicy> parseDirectivePolicy(std::string_view name) {
  if (name == "refuse") return DirectivePolicy::kRefuse;
  if (name == "strip") return DirectivePolicy::kStrip;
  return std::nullopt;
}

bool globMatch(std::string_view pattern, std::string_view text) {
  // Iterative matching with one backtrack point: linear in practice, no recursion.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::optional<RuleRefusal> checkSiteRules(const SiteRules& rules, const JobSpec& spec) {
  if (!rules.projects.empty() && !contains(rules.projects, spec.project)) {
    return RuleRefusal{"project", "project \"" + spec.project +
                                      "\" is not admitted; the site admits " +
                                      common::join(rules.projects, ", ")};
  }
  if (!rules.users.empty() &&
      std::none_of(rules.users.begin(), rules.users.end(),
                   [&](const std::string& p) { return globMatch(p, spec.user); })) {
    return RuleRefusal{"user", "user \"" + spec.user + "\" has no account at the site"};
  }
  if (std::optional<RuleRefusal> size = checkSize(rules, spec)) return size;
  if (!spec.partition.empty()) {
    const std::vector<std::string>* allowed = partitionsOf(rules, spec.project);
    if (allowed && !contains(*allowed, spec.partition)) {
      return RuleRefusal{"partition", "partition \"" + spec.partition +
                                          "\" is not open to project \"" + spec.project +
                                          "\"; it may use " + common::join(*allowed, ", ")};
    }
  }
  if (rules.directives == DirectivePolicy::kRefuse) {
    std::vector<DirectiveLine> lines = sbatchDirectives(spec.script);
    if (!lines.empty()) {
      return RuleRefusal{"sbatch_directive",
                         "the script sets Slurm options itself (line " +
                             std::to_string(lines.front().line) + ": \"" + lines.front().text +
                             "\"); the site sets them and refuses #SBATCH lines"};
    }
  }
  return std::nullopt;
}

std::string partitionFor(const SiteRules& rules, const JobSpec& spec) {
  if (!spec.partition.empty()) return spec.partition;
  const std::vector<std::string>* allowed = partitionsOf(rules, spec.project);
  return allowed && !allowed->empty() ? allowed->front() : std::string();
}

std::vector<DirectiveLine> sbatchDirectives(std::string_view script) {
  std::vector<DirectiveLine> out;
  int number = 0;
  for (std::string_view line : common::split(script, '\n')) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (isDirective(line)) out.push_back({number, std::string(common::trim(line))});
  }
  return out;
}

std::string stripSbatchDirectives(std::string_view script) {
  std::string out;
  out.reserve(script.size());
  size_t start = 0;
  while (start <= script.size()) {
    size_t end = script.find('\n', start);
    std::string_view line =
        script.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    out += isDirective(line) ? "# (a #SBATCH line removed by the site's rules)" : line;
    if (end == std::string_view::npos) break;
    out += '\n';
    start = end + 1;
  }
  return out;
}

}  // namespace aifed
