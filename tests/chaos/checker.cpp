// The checker's rules (checker.h): each reads the indexed records and adds violations.
#include "tests/chaos/checker.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <sstream>
#include <tuple>

namespace aifed::chaos {
namespace {

constexpr Time kForever = Time::max();

bool terminalState(const std::string& s) {
  return s == "completed" || s == "failed" || s == "cancelled" || s == "timeout" ||
         s == "node_fail" || s == "lost";
}
// Ended on its own: the attempt ran to its end (what may happen at most once per job).
bool ranToItsEnd(const std::string& s) {
  return s == "completed" || s == "failed" || s == "timeout" || s == "COMPLETED" ||
         s == "FAILED" || s == "TIMEOUT" || s == "OUT_OF_MEMORY";
}

std::string clock(Time t) {
  if (t == kForever) return "(still running)";
  std::time_t secs = std::chrono::system_clock::to_time_t(
      std::chrono::time_point_cast<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(toMillis(t) % 1000));
  return buf;
}

// One attempt's time at a site: [start, end).
struct Run {
  std::string site;
  int attempt = 0;
  std::string state;
  Time start{}, end{};
  std::string source;  // "agent" or "slurm"
};

class Rules {
 public:
  Rules(const CheckInput& in, const Records& r, CheckReport& report)
      : in_(in), r_(r), report_(report) {
    for (const Submission& s : in.submissions) by_name_[s.name] = &s;
    for (const CoordinatorJob& j : r.jobs) {
      jobs_[j.id] = &j;
      jobs_by_name_[j.name].push_back(&j);
    }
    for (const AgentAttempt& a : r.attempts) attempts_[a.job_id].push_back(&a);
    for (const BackendJob& b : r.backend) backend_[b.job_id].push_back(&b);
    for (const QuarantineEntry& q : r.quarantine) quarantined_.insert(q.job_id);
  }

  void answers();
  void phantoms();
  void ends();
  void runs();
  void cancellations();
  void restore();
  void counts();

 private:
  void add(std::string rule, std::string job, int attempt, std::string what) {
    report_.violations.push_back({std::move(rule), std::move(job), attempt, std::move(what)});
  }
  bool afterBackup(const Submission& s) const {
    return in_.backup_taken_at && s.answered_at >= *in_.backup_taken_at;
  }
  std::vector<Run> runsOf(const std::string& job_id) const;
  std::optional<Run> agentRun(const AgentAttempt& a) const;

  const CheckInput& in_;
  const Records& r_;
  CheckReport& report_;
  std::map<std::string, const Submission*> by_name_;
  std::map<std::string, const CoordinatorJob*> jobs_;
  std::map<std::string, std::vector<const CoordinatorJob*>> jobs_by_name_;
  std::map<std::string, std::vector<const AgentAttempt*>> attempts_;
  std::map<std::string, std::vector<const BackendJob*>> backend_;
  std::set<std::string> quarantined_;
};

// Every 201 names one job, which the coordinator has with that spec; no error answer
// left a trace.
void Rules::answers() {
  std::map<std::string, const Submission*> by_id;
  for (const Submission& s : in_.submissions) {
    if (s.http_status == 201) {
      auto [it, fresh] = by_id.emplace(s.job_id, &s);
      if (!fresh) {
        add("id-reused", s.job_id, 0,
            "answered 201 for " + it->second->name + " at " + clock(it->second->answered_at) +
                " and again for " + s.name + " at " + clock(s.answered_at));
      }
      auto job = jobs_.find(s.job_id);
      if (job == jobs_.end()) {
        if (!afterBackup(s)) {
          add("201-lost", s.job_id, 0,
              "answered 201 for " + s.name + " at " + clock(s.answered_at) +
                  "; the coordinator's database has no such job");
        }
      } else if (job->second->name != s.name) {
        add("id-reused", s.job_id, 0,
            "answered 201 for " + s.name + "; the coordinator's " + s.job_id + " is " +
                job->second->name);
      }
    } else if (s.http_status >= 400) {
      if (jobs_by_name_.count(s.name)) {
        add("refused-but-stored", jobs_by_name_[s.name].front()->id, 0,
            s.name + " was answered " + std::to_string(s.http_status) + " " + s.error_code +
                " at " + clock(s.answered_at) + " yet the coordinator stored it");
      }
      for (const AgentAttempt& a : r_.attempts) {
        if (a.name == s.name) {
          add("refused-but-stored", a.job_id, a.attempt,
              s.name + " was answered " + std::to_string(s.http_status) + " " + s.error_code +
                  " yet site " + a.site + " holds it (state " + a.state + ")");
        }
      }
    }
  }
}

// Jobs in a database that no client submitted, and the client's own duplicates.
void Rules::phantoms() {
  for (const CoordinatorJob& j : r_.jobs) {
    auto s = by_name_.find(j.name);
    if (s == by_name_.end()) {
      add("phantom-job", j.id, 0, "the coordinator holds " + j.id + " (\"" + j.name +
                                      "\") that no client submitted");
    } else if (s->second->http_status == 201 && s->second->job_id != j.id) {
      report_.notes.push_back(j.name + " is stored as " + j.id + " and as " +
                              s->second->job_id +
                              " (the answer to the client's first try was lost and it sent the "
                              "request again)");
    }
  }
  for (const AgentAttempt& a : r_.attempts) {
    if (!by_name_.count(a.name)) {
      add("phantom-job", a.job_id, a.attempt,
          "site " + a.site + " holds \"" + a.name + "\" that no client submitted");
    }
    auto job = jobs_.find(a.job_id);
    if (job != jobs_.end() && job->second->name != a.name) {
      add("id-reused", a.job_id, a.attempt,
          "site " + a.site + " ran " + a.job_id + " as \"" + a.name + "\"; the coordinator's " +
              a.job_id + " is \"" + job->second->name + "\"");
    }
  }
}

// Once drained: every job terminal, no site still holding an attempt, and each end the
// same on both sides.
void Rules::ends() {
  if (!in_.expect_drained) return;
  for (const CoordinatorJob& j : r_.jobs) {
    if (!terminalState(j.state)) {
      add("not-ended", j.id, j.attempt,
          "still " + j.state + (j.site.empty() ? "" : " at " + j.site) + " after the drain");
    }
  }
  for (const AgentAttempt& a : r_.attempts) {
    if (!a.accepted || terminalState(a.state)) continue;
    auto job = jobs_.find(a.job_id);
    std::string coord = job == jobs_.end() ? "does not know the job"
                                           : "has it " + job->second->state + " (attempt " +
                                                 std::to_string(job->second->attempt) + ")";
    add("attempt-not-ended", a.job_id, a.attempt,
        "site " + a.site + " still holds it " + a.state + "; the coordinator " + coord);
  }
  for (const CoordinatorJob& j : r_.jobs) {
    if (!terminalState(j.state)) continue;
    for (const AgentAttempt* a : attempts_[j.id]) {
      if (a->attempt != j.attempt || a->site != j.site || !terminalState(a->state)) continue;
      if (a->state != j.state) {
        add("state-mismatch", j.id, j.attempt,
            "the coordinator ended it " + j.state + ", site " + a->site + " " + a->state);
      }
    }
  }
}

std::optional<Run> Rules::agentRun(const AgentAttempt& a) const {
  if (!a.accepted) return std::nullopt;
  Run run{a.site, a.attempt, a.state, a.received_at, kForever, "agent"};
  if (r_.attempt_run_times) {
    if (!a.started_at) return std::nullopt;  // never started
    run.start = *a.started_at;
    if (a.ended_at) run.end = *a.ended_at;
  }
  if (run.end == kForever && terminalState(a.state)) run.end = a.updated_at;
  // A simulated job dies with its agent.
  auto kills = in_.agent_kills.find(a.site);
  if (kills != in_.agent_kills.end()) {
    for (Time k : kills->second) {
      if (k > run.start && k < run.end) run.end = k;
    }
  }
  return run;
}

std::vector<Run> Rules::runsOf(const std::string& job_id) const {
  std::vector<Run> out;
  if (auto it = attempts_.find(job_id); it != attempts_.end()) {
    for (const AgentAttempt* a : it->second) {
      if (in_.slurm_sites.count(a->site)) continue;  // Slurm's own record below
      if (std::optional<Run> run = agentRun(*a)) out.push_back(*run);
    }
  }
  if (auto it = backend_.find(job_id); it != backend_.end()) {
    for (const BackendJob* b : it->second) {
      if (!b->started_at) continue;
      out.push_back({b->site, b->attempt, b->state, *b->started_at,
                     b->ended_at.value_or(kForever), "slurm job " + b->local_id});
    }
  }
  std::sort(out.begin(), out.end(), [](const Run& a, const Run& b) { return a.start < b.start; });
  return out;
}

// At most one attempt ran to its end, no two attempts ran at once, and no attempt reached
// the backend twice.
void Rules::runs() {
  std::set<std::string> ids;
  for (const auto& [id, v] : attempts_) ids.insert(id);
  for (const auto& [id, v] : backend_) ids.insert(id);
  for (const std::string& id : ids) {
    std::vector<Run> runs = runsOf(id);
    std::vector<std::string> ended;
    for (const Run& run : runs) {
      if (ranToItsEnd(run.state)) {
        ended.push_back("attempt " + std::to_string(run.attempt) + " at " + run.site + " " +
                        run.state);
      }
    }
    if (ended.size() > 1) {
      std::string what;
      for (const std::string& e : ended) what += (what.empty() ? "" : "; ") + e;
      add("ended-twice", id, 0, what);
    }
    for (size_t i = 0; i < runs.size(); ++i) {
      for (size_t k = i + 1; k < runs.size(); ++k) {
        const Run& a = runs[i];
        const Run& b = runs[k];
        if (a.attempt == b.attempt && a.site == b.site) continue;
        if (b.start < a.end && a.start < b.end) {
          add("overlap", id, b.attempt,
              "attempt " + std::to_string(a.attempt) + " at " + a.site + " [" + clock(a.start) +
                  ", " + clock(a.end) + ") " + a.state + " and attempt " +
                  std::to_string(b.attempt) + " at " + b.site + " [" + clock(b.start) + ", " +
                  clock(b.end) + ") " + b.state + " (" + a.source + ", " + b.source + ")");
        }
      }
    }
  }
  std::map<std::pair<std::string, int>, std::vector<std::string>> tags;
  for (const BackendJob& b : r_.backend) tags[{b.job_id, b.attempt}].push_back(b.local_id);
  for (const auto& [tag, locals] : tags) {
    if (locals.size() < 2) continue;
    std::string what;
    for (const std::string& l : locals) what += (what.empty() ? "" : ", ") + l;
    add("duplicate-submission", tag.first, tag.second, "Slurm jobs " + what + " carry its tag");
  }
}

// A site cancels an attempt only for a coordinator that knows it.
void Rules::cancellations() {
  for (const AgentAttempt& a : r_.attempts) {
    if (a.state != "cancelled") continue;
    auto job = jobs_.find(a.job_id);
    std::string why;
    if (job == jobs_.end()) {
      why = "the coordinator has no job " + a.job_id;
    } else if (job->second->name != a.name) {
      why = "the coordinator's " + a.job_id + " is another job (\"" + job->second->name + "\")";
    } else if (job->second->attempt < a.attempt) {
      why = "the coordinator knows only attempt " + std::to_string(job->second->attempt);
    } else if (quarantined_.count(a.job_id)) {
      why = "it is in the coordinator's quarantine";
    }
    if (!why.empty()) {
      add("cancelled-unknown", a.job_id, a.attempt, "site " + a.site + " cancelled it; " + why);
    }
  }
}

// After a restore: jobs accepted since the backup may be unknown to the coordinator, but
// then a site holds them and the coordinator has them in quarantine.
void Rules::restore() {
  if (!in_.backup_taken_at) return;
  for (const Submission& s : in_.submissions) {
    if (s.http_status != 201 || !afterBackup(s) || jobs_.count(s.job_id)) continue;
    if (!attempts_.count(s.job_id)) {
      add("201-lost", s.job_id, 0,
          "answered 201 for " + s.name + " after the backup; neither the restored coordinator "
          "nor any site knows it");
      continue;
    }
    bool held_at_restore = false;
    for (const AgentAttempt* a : attempts_[s.job_id]) {
      held_at_restore |= !terminalState(a->state) ||
                         (in_.restored_at && a->updated_at >= *in_.restored_at);
    }
    if (r_.quarantine_table && held_at_restore && !quarantined_.count(s.job_id)) {
      add("quarantine-missing", s.job_id, 0,
          s.name + " runs at a site, the restored coordinator does not know it and has not "
          "quarantined it");
    }
  }
  if (!r_.quarantine_table) {
    report_.notes.push_back(
        "the coordinator's database has no quarantine table: quarantined jobs were not "
        "checked against it");
  }
}

void Rules::counts() {
  std::map<std::string, int>& c = report_.counts;
  c["submissions"] = static_cast<int>(in_.submissions.size());
  for (const Submission& s : in_.submissions) {
    ++c[s.http_status == 0 ? std::string("unanswered") : std::to_string(s.http_status)];
  }
  c["coordinator jobs"] = static_cast<int>(r_.jobs.size());
  c["attempts at sites"] = static_cast<int>(r_.attempts.size());
  c["backend jobs"] = static_cast<int>(r_.backend.size());
  for (const CoordinatorJob& j : r_.jobs) ++c["jobs " + j.state];
  int again = 0;
  for (const CoordinatorJob& j : r_.jobs) again += j.attempt > 1 ? 1 : 0;
  c["jobs placed more than once"] = again;
  if (!r_.attempt_run_times) {
    report_.notes.push_back(
        "the agents' dispatches tables have no started_at/ended_at: each attempt's run is "
        "taken as [received_at, updated_at], which holds the run (an overlap may be a false "
        "alarm, none is missed), and an attempt that never started counts as having run");
  }
}

}  // namespace

CheckReport checkRecords(const CheckInput& input, const Records& records) {
  CheckReport report;
  Rules rules(input, records, report);
  rules.counts();
  rules.answers();
  rules.phantoms();
  rules.ends();
  rules.runs();
  rules.cancellations();
  rules.restore();
  std::stable_sort(report.violations.begin(), report.violations.end(),
                   [](const Violation& a, const Violation& b) {
                     // j-9 before j-10: by length first, then text.
                     return std::make_tuple(a.rule, a.job_id.size(), a.job_id, a.attempt) <
                            std::make_tuple(b.rule, b.job_id.size(), b.job_id, b.attempt);
                   });
  return report;
}

Result<CheckReport> checkFederation(const CheckInput& input) {
  ASSIGN_OR_RETURN(Records records, readRecords(input));
  return checkRecords(input, records);
}

std::string CheckReport::toString() const {
  std::ostringstream out;
  out << "chaos checker:";
  for (const auto& [what, n] : counts) out << " " << what << "=" << n << ";";
  out << "\n";
  if (violations.empty()) {
    out << "no violations\n";
  } else {
    out << violations.size() << " violation(s):\n";
    // At most kShownPerRule lines of each rule: the first ones tell the story.
    constexpr int kShownPerRule = 15;
    std::map<std::string, int> shown;
    for (const Violation& v : violations) {
      if (++shown[v.rule] > kShownPerRule) continue;
      out << "  [" << v.rule << "] " << v.job_id;
      if (v.attempt > 0) out << " attempt " << v.attempt;
      out << ": " << v.what << "\n";
    }
    for (const auto& [rule, n] : shown) {
      if (n > kShownPerRule) out << "  ... and " << n - kShownPerRule << " more [" << rule << "]\n";
    }
  }
  for (const std::string& n : notes) out << "note: " << n << "\n";
  return out.str();
}

}  // namespace aifed::chaos
