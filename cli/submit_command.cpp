#include "cli/submit_command.h"

#include <ostream>

#include "cli/json_text.h"
#include "cli/tables.h"
#include "common/strings.h"

namespace aifed::cli {
namespace json = boost::json;
using json_text::field;
using json_text::str;

namespace {

// The accelerator models the federation's sites offer (GET /api/v1/sites), lower-case.
Result<std::vector<std::string>> acceleratorModels(ApiCall& api) {
  Result<HttpResult> r = api.get("/api/v1/sites");
  if (!r.ok()) return r.status();
  if (r->status != 200) return unavailable("GET /api/v1/sites: HTTP " + std::to_string(r->status));
  std::vector<std::string> models;
  try {
    json::value body = json::parse(r->body);  // outlives the loop (a temporary would not)
    for (const json::value& s : body.at("sites").as_array()) {
      const json::value* types = field(s, "accelerator_types");
      if (!types || !types->is_array()) continue;
      for (const json::value& t : types->as_array()) {
        if (t.is_string()) models.push_back(lowerCase(t.get_string()));
      }
    }
  } catch (const std::exception& e) {
    return unavailable(std::string("GET /api/v1/sites: ") + e.what());
  }
  return models;
}

// --test-only: asks for the plan and prints it; exit 1 when the server would refuse.
int runPlan(const SubmitRequest& request, ApiCall& api, std::ostream& out, std::ostream& err) {
  json::object body = request.body;
  body.erase("array");  // the plan is one task's
  Result<HttpResult> r = api.send("POST", "/api/v1/jobs/plan", json::serialize(body));
  if (!r.ok() || r->status != 200) return api.report(r);
  json::value plan;
  try {
    plan = json::parse(r->body);
  } catch (const std::exception&) {
    out << r->body << "\n";
    return kExitUnavailable;
  }
  bool accepted = json_text::boolean(plan, "accepted");
  if (api.jsonOutput()) {
    out << r->body << (r->body.empty() || r->body.back() != '\n' ? "\n" : "");
  } else {
    if (request.array) {
      out << "Planned one task of the array (" << request.array->tasks
          << " tasks; each is placed on its own when it runs).\n";
    }
    out << renderPlan(plan);
  }
  if (accepted) return kExitOk;
  const json::value* e = field(plan, "error");
  std::string f = e ? str(*e, "field", "") : "";
  err << "aifed submit --test-only: the server would refuse the job: "
      << (e ? str(*e, "message") : "-") << "\n";
  if (!f.empty() && flagForField(f) != f)
    err << "aifed: field: " << f << " (set it with " << flagForField(f) << ")\n";
  return kExitRefused;
}

}  // namespace

CLI::App* addSubmitCommand(CLI::App& app, SubmitOptions& options) {
  CLI::App* submit = app.add_subcommand(
      "submit",
      "submit a job like sbatch: aifed submit [flags] [SCRIPT [ARGS...]]; the script's "
      "#SBATCH lines are read, flags override them");
  addSubmitFlags(*submit, options);
  // The first positional is the script; it and everything after it land in remaining().
  submit->prefix_command();
  return submit;
}

int runSubmit(CLI::App& submit, SubmitOptions& options, ApiCall& api, std::ostream& out,
              std::ostream& err) {
  options.script_and_args = submit.remaining();
  if (!options.script_and_args.empty() && options.script_and_args[0].size() > 1 &&
      options.script_and_args[0][0] == '-') {
    // prefix_command() hands an unknown flag on as if it were the script.
    err << "aifed submit: " << options.script_and_args[0]
        << " is not a submit flag (see aifed submit --help; global options such as --server "
           "go before `submit`)\n";
    return kExitUsage;
  }
  SubmitContext ctx;
  ctx.env = processEnvironment();
  ctx.accelerator_models = [&api] { return acceleratorModels(api); };
  Result<SubmitRequest> request = buildSubmitRequest(options, ctx);
  if (!request.ok()) {
    err << "aifed submit: " << request.status().message() << "\n";
    return kExitUsage;
  }
  for (const std::string& note : request->notes) err << "aifed submit: " << note << "\n";
  api.setFieldHint([](std::string_view f) { return flagForField(f); });
  if (request->test_only) return runPlan(*request, api, out, err);
  return api.run("POST", "/api/v1/jobs", json::serialize(request->body), renderSubmitted);
}

std::string renderSubmitted(const json::value& answer) {
  if (const json::value* array = field(answer, "array"); array && array->is_object()) {
    const json::value* jobs = field(answer, "jobs");
    size_t n = jobs && jobs->is_array() ? jobs->get_array().size() : 0;
    std::string out = "Submitted array " + str(*array, "id") + ": " + std::to_string(n) + " task" +
                      (n == 1 ? "" : "s");
    if (n > 0) {
      const json::array& list = jobs->get_array();
      out += " " + std::string(list.front().is_string() ? list.front().get_string() : "?");
      if (n > 1)
        out += " .. " + std::string(list.back().is_string() ? list.back().get_string() : "?");
    }
    int64_t max = json_text::integer(*array, "max_running");
    out += max > 0 ? ", at most " + std::to_string(max) + " running at once\n" : "\n";
    return out + "  follow it with: aifed array " + str(*array, "id") + "\n";
  }
  std::string out = "Submitted job " + str(answer, "id") + ": " + str(answer, "state", "?");
  if (str(answer, "site", "").size()) out += " at " + str(answer, "site");
  out += "\n";
  const json::value* p = field(answer, "placement");
  if (p && p->is_object() && str(*p, "summary", "").size()) {
    out += "  why: " + str(*p, "summary") + "\n";
  } else if (str(answer, "reason", "").size()) {
    out += "  waiting: " + str(answer, "reason") + "\n";
  }
  return out;
}

std::string renderPlan(const json::value& plan) {
  std::string out = "Test only: nothing was submitted.\n";
  if (!json_text::boolean(plan, "accepted")) {
    const json::value* e = field(plan, "error");
    return out + "The server would refuse this job: " + (e ? str(*e, "message") : "-") + "\n";
  }
  out += "Project " + str(plan, "project") + ", user " + str(plan, "user") + ".\n";
  const json::value* d = field(plan, "decision");
  static const json::value kNone = json::object();
  const json::value& decision = d && d->is_object() ? *d : kNone;
  std::string action = str(decision, "action");
  std::string site = str(decision, "site", "");
  if (action == "dispatch") {
    std::string part = str(decision, "partition", "");
    out += "It would go to " + site + (part.empty() ? "" : " (partition " + part + ")") + " now";
  } else if (action == "hold") {
    out += "It would be held";
  } else {
    out += "It would wait in the federation's queue";
  }
  std::string reason = str(decision, "reason", "");
  out += reason.empty() ? ".\n" : ": " + reason + "\n";
  std::string tie = str(decision, "tie_break", "");
  out += "Tie-break: " + (tie.empty() ? std::string("none needed") : tie) + "\n\n";

  TextTable t({"SITE", "FITS", "START", "SCORE", "WHY NOT"});
  const json::value* sites = field(decision, "sites");
  if (sites && sites->is_array()) {
    for (const json::value& s : sites->get_array()) {
      bool fits = json_text::boolean(s, "feasible");
      std::string name = str(s, "site");
      std::string why = fits ? "-" : str(s, "rejected_by", "") + ": " + str(s, "reason");
      if (!fits && str(s, "rejected_by", "").empty()) why = str(s, "reason");
      t.addRow({name + (name == site && action == "dispatch" ? " *" : ""), fits ? "yes" : "no",
                fits ? json_text::startIn(json_text::real(s, "estimated_start_s")) : "-",
                fits ? json_text::fixed(json_text::real(s, "score"), "%.1f") : "-", why});
    }
  }
  out += t.render();
  if (!site.empty() && action == "dispatch") out += "* the site it would go to\n";
  return out;
}

}  // namespace aifed::cli
