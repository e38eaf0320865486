#include "cli/tables.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "common/strings.h"

namespace aifed::cli {
namespace json = boost::json;
namespace {

const json::value* field(const json::value& v, std::string_view key) {
  const json::object* o = v.if_object();
  return o ? o->if_contains(key) : nullptr;
}

// Any scalar as text; null, missing, objects and arrays of nothing -> "-".
std::string text(const json::value* v) {
  if (!v || v->is_null()) return "-";
  if (v->is_string()) {
    const json::string& s = v->get_string();
    return s.empty() ? "-" : std::string(s);
  }
  if (v->is_bool()) return v->get_bool() ? "yes" : "no";
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  if (v->is_double()) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f", v->get_double());
    return buf;
  }
  if (v->is_array()) {
    std::string out =
        common::join(v->get_array(), ",", [](const json::value& e) { return text(&e); });
    return out.empty() ? "-" : out;
  }
  return json::serialize(*v);
}

std::string text(const json::value& parent, std::string_view key) {
  return text(field(parent, key));
}

int64_t number(const json::value& parent, std::string_view key) {
  const json::value* v = field(parent, key);
  if (!v) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->get_double());
  return 0;
}

bool flag(const json::value& parent, std::string_view key) {
  const json::value* v = field(parent, key);
  return v && v->is_bool() && v->get_bool();
}

std::string durationText(const json::value& parent, std::string_view key) {
  const json::value* v = field(parent, key);
  if (!v || !v->is_number()) return "-";
  return formatSlurmDuration(number(parent, key));
}

std::string gpusText(const json::value& spec) {
  int64_t per_node = number(spec, "gpus_per_node");
  if (per_node == 0) return "-";
  std::string type = text(spec, "gpu_type");
  return std::to_string(per_node) + (type == "-" ? "" : "x" + type);
}

std::string ageText(const json::value& parent, std::string_view key) {
  const json::value* v = field(parent, key);
  if (!v || !v->is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fs", static_cast<double>(number(parent, key)) / 1000.0);
  return buf;
}

// "afterok:j-12, afterany:j-14", or "-".
std::string dependenciesText(const json::value& spec) {
  const json::value* deps = field(spec, "dependencies");
  if (!deps || !deps->is_array() || deps->get_array().empty()) return "-";
  return common::join(deps->get_array(), ", ", [](const json::value& d) {
    return text(d, "condition") + ":" + text(d, "job");
  });
}

std::string ratio(int64_t part, int64_t whole) {
  return std::to_string(part) + "/" + std::to_string(whole);
}

}  // namespace

TextTable::TextTable(std::vector<std::string> header) : header_(std::move(header)) {}

void TextTable::addRow(std::vector<std::string> cells) {
  cells.resize(header_.size());
  rows_.push_back(std::move(cells));
}

std::string TextTable::render() const {
  std::vector<size_t> width(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], displayWidth(row[i]));
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - displayWidth(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit(header_);
  for (const auto& row : rows_) emit(row);
  return out;
}

std::string renderKeyValues(const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& [k, v] : rows) width = std::max(width, displayWidth(k) + 1);
  std::string out;
  for (const auto& [k, v] : rows) {
    std::string line = k + ":";
    line.append(width - displayWidth(line) + 2, ' ');
    out += line + v + "\n";
  }
  return out;
}

size_t displayWidth(const std::string& s) {
  // Count every byte that does not continue a multi-byte UTF-8 sequence.
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string formatInstant(const json::value* ms) {
  if (!ms || !ms->is_number()) return "-";
  int64_t millis = ms->is_int64()    ? ms->get_int64()
                   : ms->is_uint64() ? static_cast<int64_t>(ms->get_uint64())
                                     : static_cast<int64_t>(ms->get_double());
  std::time_t secs = static_cast<std::time_t>(millis / 1000);
  std::tm tm{};
  if (!gmtime_r(&secs, &tm)) return "-";
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

std::string formatSlurmDuration(int64_t seconds) {
  if (seconds < 0) return "-";
  int64_t days = seconds / 86400;
  int64_t h = seconds / 3600 % 24, m = seconds / 60 % 60, s = seconds % 60;
  char buf[64];
  if (days > 0) {
    std::snprintf(buf, sizeof(buf), "%lld-%02lld:%02lld:%02lld", static_cast<long long>(days),
                  static_cast<long long>(h), static_cast<long long>(m), static_cast<long long>(s));
  } else {
    std::snprintf(buf, sizeof(buf), "%02lld:%02lld:%02lld", static_cast<long long>(h),
                  static_cast<long long>(m), static_cast<long long>(s));
  }
  return buf;
}

std::string renderJob(const json::value& job) {
  static const json::value kEmpty = json::object();
  const json::value* spec_ptr = field(job, "spec");
  const json::value& s = spec_ptr ? *spec_ptr : kEmpty;
  std::vector<std::pair<std::string, std::string>> rows = {
      {"id", text(job, "id")},
      {"name", text(s, "name")},
      {"state", text(job, "state") + (flag(job, "cancel_requested") ? " (cancel requested)" : "")},
      {"reason", text(job, "reason")},
      {"site", text(job, "site")},
      {"local id", text(job, "local_id")},
      {"attempt", text(job, "attempt")},
      {"project", text(s, "project")},
      {"user", text(s, "user")},
      {"nodes", text(s, "nodes")},
      {"gpus per node", gpusText(s)},
      {"walltime", durationText(s, "walltime_s")},
      {"priority", text(s, "priority")},
      {"allowed sites", text(s, "allowed_sites")},
      {"allowed countries", text(s, "allowed_countries")},
      {"excluded sites", text(job, "excluded_sites")},
      {"submitted", formatInstant(field(job, "submitted_at"))},
      {"dispatched", formatInstant(field(job, "dispatched_at"))},
      {"started", formatInstant(field(job, "started_at"))},
      {"ended", formatInstant(field(job, "ended_at"))},
      {"exit code", text(job, "exit_code")},
      {"elapsed", durationText(job, "elapsed_s")},
      {"array", text(job, "array_id") == "-"
                    ? "-"
                    : text(job, "array_id") + " index " + text(job, "array_index")},
      {"depends on", dependenciesText(s)},
  };
  // Where the current attempt runs at its site and where its output goes there
  // (`aifed logs` reads it from there).
  const json::value* at = field(job, "at_site");
  const json::value& at_site = at ? *at : kEmpty;
  rows.emplace_back("local user", text(at_site, "local_user"));
  rows.emplace_back("account", text(at_site, "account"));
  rows.emplace_back("stdout", text(at_site, "stdout_path"));
  rows.emplace_back("stderr", text(at_site, "stderr_path"));
  const json::value* placement = field(job, "placement");
  if (placement && placement->is_object()) {
    rows.emplace_back("placement", "policy " + text(*placement, "policy") + ", chose " +
                                       text(*placement, "chosen_site") + " at " +
                                       formatInstant(field(*placement, "decided_at")));
    rows.emplace_back("why", text(*placement, "summary"));
  } else {
    rows.emplace_back("placement", "-");
  }
  return renderKeyValues(rows);
}

namespace {

// "drained by alice at 2026-12-07 12:00:00Z: disk swap", or "-" when not drained.
std::string drainText(const json::value& s) {
  if (!flag(s, "drained")) return "-";
  std::string out = "drained";
  if (text(s, "drained_by") != "-") out += " by " + text(s, "drained_by");
  if (const json::value* at = field(s, "drained_at"); at && at->is_number()) {
    out += " at " + formatInstant(at);
  }
  if (text(s, "drain_reason") != "-") out += ": " + text(s, "drain_reason");
  return out;
}

// "mw-3 2026-12-08 06:00:00Z .. 2026-12-08 14:00:00Z by ops: Slurm upgrade".
std::string windowText(const json::value& w) {
  return text(w, "id") + " " + formatInstant(field(w, "start_at")) + " .. " +
         formatInstant(field(w, "end_at")) + " by " + text(w, "declared_by") + ": " +
         text(w, "reason");
}

// The window in force ("mw-3 until ..."), else the next one ("mw-4 from ..."), else "-".
std::string maintenanceCell(const json::value& s) {
  const json::value* ws = field(s, "maintenance");
  if (!ws || !ws->is_array() || ws->get_array().empty()) return "-";
  std::string active = text(s, "maintenance_active");
  for (const json::value& w : ws->get_array()) {
    if (text(w, "id") == active) return active + " until " + formatInstant(field(w, "end_at"));
  }
  const json::value& first = ws->get_array().front();
  return text(first, "id") + " from " + formatInstant(field(first, "start_at"));
}

}  // namespace

std::string renderSiteList(const json::value& body) {
  TextTable t({"SITE", "NAME", "CC", "STATE", "NODES IDLE/TOTAL", "ACCEL FREE/TOTAL", "TYPES",
               "RUNNING", "PENDING", "PLACED", "REPORT AGE", "MAINTENANCE", "DRAIN"});
  const json::value* sites = field(body, "sites");
  if (sites && sites->is_array()) {
    for (const json::value& s : sites->get_array()) {
      std::string state = text(s, "state");
      if (flag(s, "drained")) state += " (drained)";
      if (flag(s, "degraded")) state += " (degraded)";
      if (text(s, "maintenance_active") != "-") state += " (maintenance)";
      std::string drain = drainText(s);  // "drained by ...": the column says the rest
      if (drain.rfind("drained ", 0) == 0) drain = drain.substr(std::string("drained ").size());
      t.addRow({text(s, "id"), text(s, "name"), text(s, "country"), state,
                ratio(number(s, "nodes_idle"), number(s, "nodes_total")),
                ratio(number(s, "accelerators_free"), number(s, "accelerators_total")),
                text(s, "accelerator_types"), text(s, "running_jobs"), text(s, "pending_jobs"),
                text(s, "jobs_placed"), ageText(s, "report_age_ms"), maintenanceCell(s),
                drain == "drained" ? "yes" : drain});
    }
  }
  return t.render();
}

std::string renderMaintenance(const json::value& site) {
  TextTable t({"WINDOW", "START", "END", "DECLARED BY", "IN FORCE", "REASON"});
  const json::value* ws = field(site, "maintenance");
  std::string active = text(site, "maintenance_active");
  if (ws && ws->is_array()) {
    for (const json::value& w : ws->get_array()) {
      t.addRow({text(w, "id"), formatInstant(field(w, "start_at")),
                formatInstant(field(w, "end_at")), text(w, "declared_by"),
                text(w, "id") == active ? "yes" : "no", text(w, "reason")});
    }
  }
  return t.render();
}

std::string renderSite(const json::value& site) {
  std::vector<std::pair<std::string, std::string>> rows = {
      {"id", text(site, "id")},
      {"name", text(site, "name")},
      {"location", text(site, "city") + ", " + text(site, "country")},
      {"state", text(site, "state")},
      {"drained", drainText(site) == "-" ? "no" : drainText(site)},
      {"degraded", text(site, "degraded") + (text(site, "degraded_reason") == "-"
                                                 ? ""
                                                 : " (" + text(site, "degraded_reason") + ")")},
      {"agent version", text(site, "agent_version")},
      {"last heard", formatInstant(field(site, "last_heard_at"))},
      {"report age", ageText(site, "report_age_ms")},
      {"capacity epoch", text(site, "epoch")},
      {"nodes idle/total", ratio(number(site, "nodes_idle"), number(site, "nodes_total"))},
      {"accelerators free/total",
       ratio(number(site, "accelerators_free"), number(site, "accelerators_total"))},
      {"accelerator types", text(site, "accelerator_types")},
      {"running jobs", text(site, "running_jobs")},
      {"pending jobs", text(site, "pending_jobs")},
      {"jobs placed", text(site, "jobs_placed")},
      {"reserved nodes", text(site, "reserved_nodes")},
  };
  if (const json::value* ws = field(site, "maintenance"); ws && ws->is_array()) {
    for (const json::value& w : ws->get_array()) {
      bool in_force = text(w, "id") == text(site, "maintenance_active");
      rows.emplace_back(in_force ? "maintenance (in force)" : "maintenance", windowText(w));
    }
  }
  std::string out = renderKeyValues(rows);
  const json::value* parts = field(site, "partitions");
  if (parts && parts->is_array() && !parts->get_array().empty()) {
    TextTable t({"PARTITION", "ACCEL", "PER NODE", "TOTAL", "IDLE", "ALLOC", "DOWN", "DRAIN",
                 "RUNNING", "PENDING", "PENDING NODE-H"});
    for (const json::value& p : parts->get_array()) {
      static const json::value kEmpty = json::object();
      const json::value* nt_ptr = field(p, "node_type");
      const json::value& nt = nt_ptr ? *nt_ptr : kEmpty;
      t.addRow({text(p, "name"), text(nt, "accelerator"), text(nt, "accelerators_per_node"),
                text(p, "nodes_total"), text(p, "nodes_idle"), text(p, "nodes_allocated"),
                text(p, "nodes_down"), text(p, "nodes_draining"), text(p, "running_jobs"),
                text(p, "pending_jobs"), text(p, "pending_node_hours")});
    }
    out += "\n" + t.render();
  }
  return out;
}

namespace {

double real(const json::value& parent, std::string_view key) {
  const json::value* v = field(parent, key);
  return v && v->is_number() ? v->to_number<double>() : 0;
}

std::string fixed(double v, const char* format) {
  char buf[48];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string startText(double s) {
  if (s < 1) return "now";
  if (s < 120) return fixed(s, "%.0f s");
  if (s < 7200) return fixed(s / 60, "%.0f min");
  return fixed(s / 3600, "%.1f h");
}

}  // namespace

std::string renderExplain(const json::value& body) {
  std::ostringstream out;
  const json::value* d = field(body, "decision");
  bool waiting = text(body, "question") == "why-not-yet";
  out << "Job " << text(body, "job_id") << " (" << text(body, "state")
      << (text(body, "site") == "-" ? "" : " at " + text(body, "site"))
      << "): " << (waiting ? "why not yet" : "why here") << "\n";
  if (!d || d->is_null()) {
    out << "No placement decision recorded yet.\n";
    return out.str();
  }
  out << "Policy " << text(*d, "policy") << " v" << text(*d, "policy_version") << ", decided "
      << formatInstant(field(*d, "decided_at")) << "\n"
      << text(*d, "summary") << "\n"
      << (text(*d, "tie_break") == "-" ? "" : "Tie broken by " + text(*d, "tie_break") + "\n")
      << "\n";
  TextTable t({"SITE", "VERDICT", "PARTITION", "FREE", "START", "TOTAL", "WHY"});
  const json::value* sites = field(*d, "sites");
  if (sites && sites->is_array()) {
    for (const json::value& s : sites->get_array()) {
      std::string verdict = text(s, "verdict");
      if (verdict == "rejected") {
        t.addRow({text(s, "site"), verdict, "-", "-", "-", "-",
                  text(s, "rejected_by") + ": " + text(s, "reason")});
        continue;
      }
      std::vector<std::string> why;
      const json::value* terms = field(s, "scores");
      if (terms && terms->is_array()) {
        for (const json::value& term : terms->get_array()) {
          std::string plugin = text(term, "plugin");
          double raw = real(term, "raw");
          why.push_back(plugin + " " + fixed(real(term, "score"), "%.1f") + " x" +
                        fixed(real(term, "weight"), "%g") + " (" +
                        (plugin == "estimated-start"
                             ? startText(raw)
                             : fixed(raw, "%.4g") + " " + text(term, "unit")) +
                        ")");
        }
      }
      double staging = real(s, "staging_s");
      if (staging >= 1) why.push_back("staging " + startText(staging));
      t.addRow({text(s, "site"), verdict, text(s, "partition"), text(s, "free_nodes"),
                startText(real(s, "estimated_start_s")), fixed(real(s, "total"), "%.1f"),
                why.empty() ? "feasible (first fit: federation order)" : common::join(why, "; ")});
    }
  }
  out << t.render();
  return out.str();
}

std::string renderPolicy(const json::value& body) {
  std::ostringstream out;
  const json::value* active = field(body, "active");
  std::string active_name = active ? text(*active, "name") : "-";
  if (active) {
    out << "Active policy: " << active_name << " v" << text(*active, "version") << " ("
        << text(*active, "binding") << " binding)\n\n";
  }
  TextTable t({"POLICY", "VERSION", "BINDING", "WEIGHTS", "DESCRIPTION"});
  const json::value* all = field(body, "policies");
  if (all && all->is_array()) {
    for (const json::value& p : all->get_array()) {
      std::string weights;
      if (const json::value* w = field(p, "weights"); w && w->is_object()) {
        weights = common::join(w->get_object(), ",", [](const json::key_value_pair& kv) {
          return std::string(kv.key()) + "=" +
                 fixed(kv.value().is_number() ? kv.value().to_number<double>() : 0, "%g");
        });
      }
      std::string name = text(p, "name");
      t.addRow({name == active_name ? name + " *" : name, text(p, "version"), text(p, "binding"),
                weights.empty() ? "-" : weights, text(p, "description")});
    }
  }
  out << t.render();
  const json::value* history = field(body, "history");
  if (history && history->is_array() && !history->get_array().empty()) {
    out << "\nSwitches:\n";
    TextTable h({"AT", "FROM", "TO", "ACTOR", "REASON"});
    for (const json::value& c : history->get_array()) {
      h.addRow({formatInstant(field(c, "at")), text(c, "from"), text(c, "to"), text(c, "actor"),
                text(c, "reason")});
    }
    out << h.render();
  }
  return out.str();
}

std::string renderTokenList(const json::value& body) {
  TextTable t(
      {"ID", "NAME", "USER", "ROLE", "SCOPE", "CREATED", "CREATED BY", "LAST USED", "REVOKED"});
  const json::value* tokens = field(body, "tokens");
  if (tokens && tokens->is_array()) {
    for (const json::value& k : tokens->get_array()) {
      t.addRow({text(k, "id"), text(k, "name"), text(k, "user"), text(k, "role"), text(k, "scope"),
                formatInstant(field(k, "created_at")), text(k, "created_by"),
                formatInstant(field(k, "last_used_at")), formatInstant(field(k, "revoked_at"))});
    }
  }
  return t.render();
}

std::string renderTokenCreated(const json::value& token) {
  std::string out = renderKeyValues({{"id", text(token, "id")},
                                     {"name", text(token, "name")},
                                     {"user", text(token, "user")},
                                     {"role", text(token, "role")},
                                     {"scope", text(token, "scope")}});
  out += "\nToken (shown once; store it now, e.g. in a file with mode 0600):\n" +
         text(token, "token") + "\n";
  return out;
}

std::string renderAudit(const json::value& body) {
  TextTable t({"ID", "AT", "ACTOR", "ROLE", "ACTION", "TARGET", "OUTCOME", "FROM", "DETAIL"});
  const json::value* rows = field(body, "entries");
  if (rows && rows->is_array()) {
    for (const json::value& a : rows->get_array()) {
      std::string actor = text(a, "actor_name");
      if (text(a, "actor") != "-") actor += " (" + text(a, "actor") + ")";
      t.addRow({text(a, "id"), formatInstant(field(a, "at")), actor, text(a, "role"),
                text(a, "action"), text(a, "target"), text(a, "outcome"), text(a, "remote_address"),
                text(a, "detail")});
    }
  }
  std::string out = t.render();
  const json::value* next = field(body, "next_before");
  if (next && next->is_number()) out += "older entries: --before " + text(next) + "\n";
  return out;
}

namespace {
std::string gpuHours(const json::value& v, std::string_view key) {
  const json::value* x = field(v, key);
  if (!x || !x->is_number()) return "-";
  return fixed(x->to_number<double>(), "%.1f");
}
std::string jobCounts(const json::value& project) {
  const json::value* jobs = field(project, "jobs");
  std::string out;
  if (jobs && jobs->is_object()) {
    out = common::join(jobs->get_object(), ", ", [](const json::key_value_pair& kv) {
      return text(&kv.value()) + " " + std::string(kv.key());
    });
  }
  return out.empty() ? "-" : out;
}
}  // namespace

std::string renderProjectList(const json::value& body) {
  TextTable t({"PROJECT", "CC", "GPU-H USED", "GPU-H ALLOCATED", "JOBS"});
  const json::value* projects = field(body, "projects");
  if (projects && projects->is_array()) {
    for (const json::value& p : projects->get_array()) {
      t.addRow({text(p, "id"), text(p, "country"), gpuHours(p, "used_gpu_hours"),
                gpuHours(p, "allocated_gpu_hours"), jobCounts(p)});
    }
  }
  return t.render();
}

std::string renderProject(const json::value& project) {
  std::string out =
      renderKeyValues({{"id", text(project, "id")},
                       {"country", text(project, "country")},
                       {"allowed countries", text(project, "allowed_countries")},
                       {"GPU-hours used", gpuHours(project, "used_gpu_hours")},
                       {"GPU-hours allocated", gpuHours(project, "allocated_gpu_hours")},
                       {"jobs", jobCounts(project)}});
  TextTable t({"SITE", "GPU-H USED", "GPU-H ALLOCATED"});
  const json::value* allocations = field(project, "allocations");
  if (allocations && allocations->is_array()) {
    for (const json::value& a : allocations->get_array()) {
      t.addRow(
          {text(a, "site"), gpuHours(a, "used_gpu_hours"), gpuHours(a, "allocated_gpu_hours")});
    }
  }
  return out + "\n" + t.render();
}

std::string renderPolicyHistory(const json::value& body) {
  TextTable h({"AT", "FROM", "TO", "VERSION", "ACTOR", "REASON"});
  const json::value* history = field(body, "history");
  if (history && history->is_array()) {
    for (const json::value& c : history->get_array()) {
      h.addRow({formatInstant(field(c, "at")), text(c, "from"), text(c, "to"),
                text(c, "to_version"), text(c, "actor"), text(c, "reason")});
    }
  }
  if (h.rowCount() == 0) return "No policy switches recorded.\n";
  return h.render();
}

}  // namespace aifed::cli
