#include "cli/job_format.h"

#include <algorithm>
#include <map>

#include "cli/json_text.h"
#include "cli/sbatch_flags.h"
#include "cli/tables.h"
#include "common/strings.h"

namespace aifed::cli {
namespace json = boost::json;
using json_text::field;
using json_text::str;

namespace {

struct Code {
  const char* header;
  std::string (*cell)(const json::value& job, const json::value& spec);
};

std::string compactState(const std::string& state) {
  static const std::map<std::string, std::string, std::less<>> kCodes = {
      {"queued", "PD"},    {"dispatched", "PD"}, {"pending", "PD"},   {"running", "R"},
      {"completed", "CD"}, {"failed", "F"},      {"cancelled", "CA"}, {"timeout", "TO"},
      {"node_fail", "NF"}, {"lost", "LO"}};
  auto it = kCodes.find(state);
  return it == kCodes.end() ? state : it->second;
}

std::string duration(const json::value& v, std::string_view key) {
  const json::value* x = field(v, key);
  return x && x->is_number() ? formatSlurmDuration(json_text::integer(v, key)) : "-";
}

const std::map<char, Code>& codes() {
  static const std::map<char, Code> kCodes = {
      {'i', {"ID", [](const json::value& j, const json::value&) { return str(j, "id"); }}},
      {'j', {"NAME", [](const json::value&, const json::value& s) { return str(s, "name"); }}},
      {'u', {"USER", [](const json::value&, const json::value& s) { return str(s, "user"); }}},
      {'T',
       {"STATE",
        [](const json::value& j, const json::value&) {
          std::string st = str(j, "state");
          return json_text::boolean(j, "cancel_requested") ? st + " (cancelling)" : st;
        }}},
      {'t',
       {"ST",
        [](const json::value& j, const json::value&) { return compactState(str(j, "state")); }}},
      {'M',
       {"ELAPSED",
        [](const json::value& j, const json::value&) { return duration(j, "elapsed_s"); }}},
      {'l',
       {"TIME",
        [](const json::value&, const json::value& s) { return duration(s, "walltime_s"); }}},
      {'P', {"SITE", [](const json::value& j, const json::value&) { return str(j, "site"); }}},
      {'R', {"REASON", [](const json::value& j, const json::value&) { return str(j, "reason"); }}},
      {'D', {"NODES", [](const json::value&, const json::value& s) { return str(s, "nodes"); }}},
      {'b',
       {"GPUS/NODE",
        [](const json::value&, const json::value& s) {
          int64_t n = json_text::integer(s, "gpus_per_node");
          std::string type = str(s, "gpu_type", "");
          return n == 0 ? std::string("-") : std::to_string(n) + (type.empty() ? "" : "x" + type);
        }}},
      {'a',
       {"PROJECT", [](const json::value&, const json::value& s) { return str(s, "project"); }}},
      {'V',
       {"SUBMITTED", [](const json::value& j,
                        const json::value&) { return formatInstant(field(j, "submitted_at")); }}},
      {'S',
       {"STARTED", [](const json::value& j,
                      const json::value&) { return formatInstant(field(j, "started_at")); }}},
      {'e',
       {"ENDED", [](const json::value& j,
                    const json::value&) { return formatInstant(field(j, "ended_at")); }}},
      {'Q',
       {"PRIORITY", [](const json::value&, const json::value& s) { return str(s, "priority"); }}},
      {'F', {"ARRAY", [](const json::value& j, const json::value&) { return str(j, "array_id"); }}},
      {'K',
       {"INDEX", [](const json::value& j, const json::value&) { return str(j, "array_index"); }}},
  };
  return kCodes;
}

std::string fit(const std::string& cell, int width, bool right, bool last) {
  size_t w = displayWidth(cell);
  if (width < 0) return cell;
  std::string out = cell;
  if (w > static_cast<size_t>(width)) {
    out = cell.substr(0, static_cast<size_t>(width));  // squeue cuts, too
    w = static_cast<size_t>(width);
  }
  std::string pad(static_cast<size_t>(width) - w, ' ');
  if (right) return pad + out;
  return last ? out : out + pad;
}

}  // namespace

Result<JobFormat> parseJobFormat(std::string_view text) {
  JobFormat f;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) f.items.push_back({0, std::move(literal), -1, false});
    literal.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      literal.push_back(text[i]);
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '%') {
      literal.push_back('%');
      ++i;
      continue;
    }
    JobFormat::Item item;
    size_t j = i + 1;
    if (j < text.size() && text[j] == '.') {
      item.right = true;
      ++j;
    }
    size_t digits_start = j;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9' && j - digits_start < 4) ++j;
    if (j > digits_start)
      item.width = std::stoi(std::string(text.substr(digits_start, j - digits_start)));
    if (j >= text.size()) {
      return invalidArgument("--format: \"" + std::string(text) + "\" ends inside a % code",
                             "--format");
    }
    item.code = text[j];
    if (!codes().contains(item.code)) {
      return invalidArgument("--format: %" + std::string(1, item.code) +
                                 " is not a code aifed knows (i j u T t M l P R D b a V S e Q F K)",
                             "--format");
    }
    flush();
    f.items.push_back(item);
    i = j;
  }
  flush();
  if (f.items.empty()) return invalidArgument("--format is empty", "--format");
  return f;
}

std::string renderJobs(const json::value& body, const JobFormat& format) {
  static const json::value kEmpty = json::object();
  std::vector<std::vector<std::string>> rows;  // rows[0] is the header
  rows.emplace_back();
  for (const JobFormat::Item& item : format.items) {
    rows[0].push_back(item.code ? codes().at(item.code).header : item.text);
  }
  const json::value* jobs = field(body, "jobs");
  if (jobs && jobs->is_array()) {
    for (const json::value& j : jobs->get_array()) {
      const json::value* spec = field(j, "spec");
      std::vector<std::string> row;
      for (const JobFormat::Item& item : format.items) {
        row.push_back(item.code ? codes().at(item.code).cell(j, spec ? *spec : kEmpty) : item.text);
      }
      rows.push_back(std::move(row));
    }
  }
  // A code without a width is as wide as its widest cell; the last one is not padded.
  size_t last_code = format.items.size();
  for (size_t i = 0; i < format.items.size(); ++i) {
    if (format.items[i].code) last_code = i;
  }
  std::vector<int> width(format.items.size(), -1);
  for (size_t i = 0; i < format.items.size(); ++i) {
    const JobFormat::Item& item = format.items[i];
    if (!item.code) continue;
    width[i] = item.width;
    if (item.width >= 0 || i == last_code) continue;
    for (const auto& row : rows)
      width[i] = std::max(width[i], static_cast<int>(displayWidth(row[i])));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += format.items[i].code ? fit(row[i], width[i], format.items[i].right, i == last_code)
                                   : row[i];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  size_t shown = rows.size() - 1;
  out += std::to_string(shown) + " job" + (shown == 1 ? "" : "s") + " shown";
  const json::value* total = field(body, "total");
  if (total && total->is_number()) out += " of " + str(body, "total");
  return out + "\n";
}

Result<std::string> jobStatesParam(std::string_view text) {
  static const std::map<std::string, std::string, std::less<>> kSqueue = {
      {"pd", "queued,dispatched,pending"},
      {"r", "running"},
      {"cd", "completed"},
      {"f", "failed"},
      {"ca", "cancelled"},
      {"to", "timeout"},
      {"nf", "node_fail"}};
  static const std::vector<std::string> kStates = {
      "queued", "dispatched", "pending", "running",   "completed",
      "failed", "cancelled",  "timeout", "node_fail", "lost"};
  std::vector<std::string> out;
  for (std::string_view part : common::split(text, ',')) {
    std::string s = lowerCase(common::trim(part));
    if (s.empty()) continue;
    if (auto it = kSqueue.find(s); it != kSqueue.end()) {
      out.push_back(it->second);
    } else if (std::find(kStates.begin(), kStates.end(), s) != kStates.end()) {
      out.push_back(s);
    } else {
      return invalidArgument("--state: \"" + s + "\" is not a state (" +
                                 common::join(kStates, ", ") + ", or squeue's PD R CD F CA TO NF)",
                             "--state");
    }
  }
  if (out.empty()) return invalidArgument("--state is empty", "--state");
  return common::join(out, ",");
}

Result<std::string> jobSortParam(std::string_view text_in) {
  static const std::map<std::string, std::string, std::less<>> kKeys = {{"submitted", "submitted"},
                                                                        {"id", "id"},
                                                                        {"state", "state"},
                                                                        {"site", "site"},
                                                                        {"user", "user"},
                                                                        {"project", "project"},
                                                                        {"elapsed", "elapsed"},
                                                                        {"V", "submitted"},
                                                                        {"i", "id"},
                                                                        {"t", "state"},
                                                                        {"T", "state"},
                                                                        {"P", "site"},
                                                                        {"u", "user"},
                                                                        {"a", "project"},
                                                                        {"M", "elapsed"}};
  std::string_view text = common::trim(text_in);
  if (text.find(',') != std::string_view::npos) {
    return invalidArgument(
        "--sort: \"" + std::string(text) + "\": the server sorts by one key (ties newest first)",
        "--sort");
  }
  bool descending = !text.empty() && text.front() == '-';
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) text.remove_prefix(1);
  auto it = kKeys.find(text);
  if (it == kKeys.end()) {
    return invalidArgument("--sort: \"" + std::string(text) +
                               "\" is not a key (submitted, id, state, site, user, project, "
                               "elapsed, or squeue's V i t P u a M; -KEY descending)",
                           "--sort");
  }
  return (descending ? "-" : "") + it->second;
}

}  // namespace aifed::cli
