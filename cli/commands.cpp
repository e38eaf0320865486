#include "cli/commands.h"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/config.h"
#include "cli/http_client.h"
#include "cli/jobs_command.h"
#include "cli/key_commands.h"
#include "cli/logs_command.h"
#include "cli/sbatch_flags.h"
#include "cli/submit_command.h"
#include "cli/tables.h"
#include "common/strings.h"
#include "protocol/transport/curve_keys.h"

namespace aifed::cli {
namespace json = boost::json;
int runCli(int argc, char** argv, std::ostream& out, std::ostream& err,
           const std::function<int(int, char**)>& demo) {
  CLI::App app{
      "aifed: submit and follow jobs across the EuroHPC AI factories.\n"
      "Talks to the coordinator's REST API (docs/cli.md)."};
  app.name("aifed");
  app.set_version_flag("--version", std::string("aifed ") + AIFED_VERSION,
                       "print the version and exit");
  app.require_subcommand(1);
  // Global flags (--json, --server, ...) may come after the subcommand too: a
  // subcommand hands the options it does not know to `aifed` itself.
  app.fallthrough();

  ClientSettings flags;
  bool json_output = false;
  double timeout_s = 30;
  app.add_option("--server", flags.server,
                 std::string("coordinator REST URL (else AIFED_SERVER, the config file, ") +
                     kDefaultServer + ")");
  app.add_option("--token", flags.token, "API token (else AIFED_TOKEN or the config file)");
  app.add_option("--token-file", flags.token_file,
                 "file holding the API token (else AIFED_TOKEN_FILE or the config file)");
  app.add_option("--fingerprint", flags.fingerprint,
                 "SHA-256 fingerprint of the coordinator's certificate (AB:CD:...), pinned "
                 "(else AIFED_FINGERPRINT or the config file)");
  app.add_option("--ca-file", flags.ca_file,
                 "PEM file of the CA that issued the coordinator's certificate (else "
                 "AIFED_CA_FILE or the config file)");
  HttpClientOptions client_options;
  app.add_flag("--insecure", client_options.insecure,
               "do not check the coordinator's certificate (experiments only)");
  app.add_flag("--json", json_output, "print the server's JSON as it is (anywhere on the line)");
  app.add_option("--timeout", timeout_s, "seconds to wait for the server")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  SubmitOptions so;
  CLI::App* submit = addSubmitCommand(app, so);
  // The script's arguments must not fall through to `aifed`: submit knows --json itself.
  submit->fallthrough(false);
  submit->add_flag("--json", json_output, "print the server's JSON as it is");
  JobsOptions jo;
  CLI::App* jobs = addJobsCommand(app, jo);
  CancelOptions co;
  CLI::App* cancel = addCancelCommand(app, co);

  std::string id;
  CLI::App* job = app.add_subcommand("job", "show one job, with where it went and why");
  job->add_option("ID", id, "job id (j-12 or 12)")->required();
  CLI::App* explain =
      app.add_subcommand("explain", "why a job went where it went, or why it still waits");
  explain->add_option("JOB", id, "job id (j-12 or 12)")->required();
  LogsOptions lo;
  double logs_interval_s = 2;
  CLI::App* logs = app.add_subcommand("logs", "the tail of a job's output, from its site");
  logs->add_option("JOB", lo.job, "job id (j-12 or 12)")->required();
  logs->add_flag("--stderr", lo.stderr_stream, "the job's stderr instead of its stdout");
  logs->add_flag("-f,--follow", lo.follow,
                 "keep printing new output until the job has ended and its output stopped");
  logs->add_option("--bytes", lo.bytes, "how much of the end to show first (at most 1 MiB)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20))
      ->capture_default_str();
  logs->add_option("--interval", logs_interval_s, "seconds between polls of --follow")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  std::string new_policy, policy_reason;
  bool policy_history = false;
  CLI::App* policy = app.add_subcommand("policy", "show the placement policies; --set switches");
  policy->add_option("--set", new_policy, "switch the active policy (admin; recorded)");
  policy->add_option("--reason", policy_reason, "why, for the audit trail (with --set)");
  policy->add_flag("--history", policy_history, "list every policy switch ever made");
  CLI::App* array = app.add_subcommand("array", "show a job array: its tasks by state and site");
  array->add_option("ID", id, "array id (a-3 or 3)")->required();
  app.add_subcommand("sites", "list the federation's sites");
  CLI::App* site = app.add_subcommand("site", "show one site and its partitions");
  site->add_option("ID", id, "site id")->required();

  std::string reason;
  CLI::App* drain = app.add_subcommand("drain", "stop placing new jobs at a site");
  drain->add_option("SITE", id, "site id")->required();
  drain->add_option("--reason", reason, "why, for the audit log");
  CLI::App* resume = app.add_subcommand("resume", "place jobs at a drained site again");
  resume->add_option("SITE", id, "site id")->required();
  resume->add_option("--reason", reason, "why, for the audit log");
  std::string mw_start, mw_end, mw_cancel;
  CLI::App* maintenance = app.add_subcommand(
      "maintenance", "list a site's maintenance windows; --end declares one, --cancel cancels one");
  maintenance->add_option("SITE", id, "site id")->required();
  maintenance->add_option("--start", mw_start,
                          "when it starts, UTC (2026-12-08T06:00:00Z); default now");
  maintenance->add_option("--end", mw_end, "when it ends, UTC (2026-12-08T14:00:00Z)");
  maintenance->add_option("--reason", reason, "why (required to declare)");
  maintenance->add_option("--cancel", mw_cancel, "the window to cancel (mw-<n>)");

  app.add_subcommand("projects", "list projects with GPU-hours used and allocated");
  CLI::App* project = app.add_subcommand("project", "show one project's allocations and usage");
  project->add_option("ID", id, "project id")->required();

  std::optional<int64_t> audit_limit, audit_before;
  std::optional<std::string> audit_actor, audit_action;
  CLI::App* audit = app.add_subcommand("audit", "show the audit log, newest first");
  audit->add_option("--limit", audit_limit, "at most this many entries (server default 100)")
      ->check(CLI::PositiveNumber);
  audit->add_option("--before", audit_before, "only entries older than this id (next page)")
      ->check(CLI::PositiveNumber);
  audit->add_option("--actor", audit_actor, "only this token id");
  audit->add_option("--action", audit_action, "only this action (site.drain) or prefix (site.)");

  CLI::App* token = app.add_subcommand("token", "manage API tokens (admin)");
  token->require_subcommand(1);
  std::string token_name, token_role, token_user;
  std::vector<std::string> token_scope;
  CLI::App* token_create = token->add_subcommand("create", "create a token; prints it once");
  token_create->add_option("--name", token_name, "what the token is for")->required();
  token_create
      ->add_option("--role", token_role, "admin, operator, viewer, submitter, site-admin or portal")
      ->required();
  token_create->add_option("--scope", token_scope,
                           "submitter, portal: a project (repeatable); site-admin: the site");
  token_create->add_option("--user", token_user,
                           "the user the token belongs to, owner of the jobs it submits "
                           "(default: --name)");
  token->add_subcommand("list", "list tokens (never their secrets)");
  CLI::App* token_revoke = token->add_subcommand("revoke", "revoke a token at once");
  token_revoke->add_option("ID", id, "token id (the 12 hex characters)")->required();
  app.add_subcommand("whoami", "show the token's name, user, role and scope");

  KeyOptions ko;
  KeyCommands key_commands = addKeyCommands(app, ko);

  CLI::App* demo_cmd = nullptr;
  if (demo) {
    demo_cmd = app.add_subcommand("demo",
                                  "run a local federation of simulated AI factories "
                                  "(aifed demo --help)");
    demo_cmd->prefix_command();
    demo_cmd->fallthrough(false);  // every argument after `demo` is the demo's
    demo_cmd->set_help_flag();     // `aifed demo --help` is the demo's own help
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e, out, err);
    return code == 0 ? kExitOk : kExitUsage;
  }

  if (demo_cmd && demo_cmd->parsed()) {
    std::vector<std::string> args = {"demo"};
    for (const std::string& a : demo_cmd->remaining()) args.push_back(a);
    std::vector<char*> demo_argv;
    for (std::string& a : args) demo_argv.push_back(a.data());
    demo_argv.push_back(nullptr);
    return demo(static_cast<int>(args.size()), demo_argv.data());
  }

  if (std::optional<int> code = runKeyCommands(key_commands, ko, json_output, out, err)) {
    return *code;
  }

  Result<ClientConfig> config = resolveClientConfig(flags, processEnvironment());
  if (!config.ok()) {
    err << "aifed: " << config.status().message() << "\n";
    return kExitUsage;
  }
  client_options.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  client_options.bearer_token = config->token;
  client_options.fingerprint = config->fingerprint;
  client_options.ca_file = config->ca_file;
  ApiCall api(*config, client_options, json_output, out, err);
  if (submit->parsed()) return runSubmit(*submit, so, api, out, err);
  if (jobs->parsed()) return runJobs(jo, api, out, err);
  if (cancel->parsed()) return runCancel(co, api, out, err);
  if (array->parsed()) {
    Result<std::string> a = normalizeArrayId(id, "ID");
    if (!a.ok()) {
      err << "aifed array: " << a.status().message() << "\n";
      return kExitUsage;
    }
    return api.run("GET", "/api/v1/arrays/" + percentEncode(*a), "", renderArray);
  }
  if (job->parsed()) {
    return api.run("GET", "/api/v1/jobs/" + percentEncode(jobIdArgument(id)), "", renderJob);
  }
  if (logs->parsed()) {
    lo.json = json_output;
    lo.interval = Duration(static_cast<int64_t>(logs_interval_s * 1000));
    return runLogs(
        lo, [&](const std::string& target) { return api.get(target); },
        [&](const Result<HttpResult>& r) { return api.report(r); }, out, err,
        [](Duration d) { std::this_thread::sleep_for(d); });
  }
  if (explain->parsed()) {
    return api.run("GET", "/api/v1/jobs/" + percentEncode(jobIdArgument(id)) + "/explain", "",
                   renderExplain);
  }
  if (policy->parsed()) {
    if (policy_history) {
      return api.run("GET", "/api/v1/policy/history", "", renderPolicyHistory);
    }
    if (new_policy.empty()) return api.run("GET", "/api/v1/policy", "", renderPolicy);
    json::object body{{"name", new_policy}, {"reason", policy_reason}};
    return api.run("PUT", "/api/v1/policy", json::serialize(body), [](const json::value& v) {
      const json::value* active = v.as_object().if_contains("active");
      std::string name = "?";
      if (active && active->is_object()) {
        if (auto* n = active->as_object().if_contains("name"); n && n->is_string()) {
          name = n->get_string();
        }
      }
      return "Active policy: " + name + "\n";
    });
  }
  if (app.got_subcommand("sites")) return api.run("GET", "/api/v1/sites", "", renderSiteList);
  if (site->parsed()) return api.run("GET", "/api/v1/sites/" + percentEncode(id), "", renderSite);
  if (drain->parsed() || resume->parsed()) {
    bool draining = drain->parsed();
    json::object body;
    if (!reason.empty()) body["reason"] = reason;
    return api.run("POST", "/api/v1/sites/" + percentEncode(id) + (draining ? "/drain" : "/resume"),
                   json::serialize(body), [draining](const json::value& v) {
                     return std::string(draining ? "Drained" : "Resumed") + " site " +
                            std::string(v.as_object().at("id").as_string()) +
                            (draining ? ": no new jobs will be placed there\n"
                                      : ": it takes new jobs again\n");
                   });
  }
  if (maintenance->parsed()) {
    std::string path = "/api/v1/sites/" + percentEncode(id) + "/maintenance";
    if (!mw_cancel.empty()) {
      return api.run("DELETE", path + "/" + percentEncode(mw_cancel), "", [](const json::value& v) {
        return "Cancelled maintenance window " + std::string(v.as_object().at("id").as_string()) +
               "\n";
      });
    }
    if (mw_end.empty()) {
      return api.run("GET", "/api/v1/sites/" + percentEncode(id), "", renderMaintenance);
    }
    json::object body{{"end", mw_end}, {"reason", reason}};
    if (!mw_start.empty()) body["start"] = mw_start;
    return api.run("POST", path, json::serialize(body), [](const json::value& v) {
      return "Declared maintenance window " + std::string(v.as_object().at("id").as_string()) +
             ": no new jobs go to the site from its start, and its jobs' leases pause until "
             "its end plus the grace period\n";
    });
  }
  if (app.got_subcommand("projects")) {
    return api.run("GET", "/api/v1/projects", "", renderProjectList);
  }
  if (project->parsed()) {
    return api.run("GET", "/api/v1/projects/" + percentEncode(id), "", renderProject);
  }
  if (audit->parsed()) {
    std::string query;
    auto add = [&](const char* k, const std::string& v) {
      query += (query.empty() ? "?" : "&") + std::string(k) + "=" + percentEncode(v);
    };
    if (audit_limit) add("limit", std::to_string(*audit_limit));
    if (audit_before) add("before", std::to_string(*audit_before));
    if (audit_actor) add("actor", *audit_actor);
    if (audit_action) add("action", *audit_action);
    return api.run("GET", "/api/v1/audit" + query, "", renderAudit);
  }
  if (token_create->parsed()) {
    json::array scope = listFlag(token_scope, false);
    json::object body{{"name", token_name}, {"role", token_role}, {"scope", std::move(scope)}};
    if (!token_user.empty()) body["user"] = token_user;
    return api.run("POST", "/api/v1/tokens", json::serialize(body), renderTokenCreated);
  }
  if (token->got_subcommand("list")) return api.run("GET", "/api/v1/tokens", "", renderTokenList);
  if (token_revoke->parsed()) {
    return api.run("DELETE", "/api/v1/tokens/" + percentEncode(id), "", [](const json::value& v) {
      return "Revoked token " + std::string(v.as_object().at("id").as_string()) + " (" +
             std::string(v.as_object().at("name").as_string()) + ")\n";
    });
  }
  if (app.got_subcommand("whoami")) {
    return api.run("GET", "/api/v1/session", "", [](const json::value& v) {
      std::string scope = common::join(v.as_object().at("scope").as_array(), ",",
                                       [](const json::value& s) { return s.as_string(); });
      const json::value* user = v.as_object().if_contains("user");
      return renderKeyValues({{"token", std::string(v.as_object().at("token_id").as_string())},
                              {"name", std::string(v.as_object().at("name").as_string())},
                              {"user", user && user->is_string() && !user->get_string().empty()
                                           ? std::string(user->get_string())
                                           : "-"},
                              {"role", std::string(v.as_object().at("role").as_string())},
                              {"scope", scope.empty() ? "-" : scope}});
    });
  }
  err << "aifed: no command given (see aifed --help)\n";
  return kExitUsage;
}

}  // namespace aifed::cli
