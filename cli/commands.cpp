#include "cli/commands.h"

#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/config.h"
#include "cli/http_client.h"
#include "cli/logs_command.h"
#include "cli/tables.h"
#include "common/files.h"
#include "common/strings.h"
#include "protocol/codec.h"
#include "protocol/transport/curve_keys.h"

namespace aifed::cli {
namespace json = boost::json;
namespace {

// Non-empty decimal digits, at most 9 of them (no overflow in the arithmetic below).
std::optional<int64_t> digits(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// A file named by a flag; a usage error naming the flag when it cannot be read.
Result<std::string> readFlagFile(const std::string& path, const std::string& flag) {
  Result<std::string> text = common::readFile(path);
  if (!text.ok()) return invalidArgument(flag + ": " + text.status().message(), flag);
  return text;
}

// "a,b" "c" -> ["a", "b", "c"]; blanks dropped.
json::array listFlag(const std::vector<std::string>& values, bool upper) {
  json::array out;
  for (const std::string& v : values) {
    for (std::string_view part : common::split(v, ',')) {
      std::string item(common::trim(part));
      if (upper) {
        for (char& c : item) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      if (!item.empty()) out.emplace_back(item);
    }
  }
  return out;
}

std::string percentEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// Talks to the server for one subcommand and prints the outcome.
class ApiCall {
 public:
  ApiCall(const ClientConfig& config, HttpClientOptions options, bool json_output,
          std::ostream& out, std::ostream& err)
      : client_(config.server, std::move(options)),
        has_token_(!config.token.empty()),
        token_source_(config.token_source),
        json_(json_output),
        out_(out),
        err_(err) {}

  // Sends the request; on 2xx prints the body as-is (--json) or through `render`.
  int run(const std::string& method, const std::string& target, const std::string& body,
          const std::function<std::string(const json::value&)>& render) {
    Result<HttpResult> r = client_.request(method, target, body);
    if (!r.ok()) return report(r);
    if (r->status >= 200 && r->status < 300) {
      if (json_) {
        out_ << r->body << (r->body.empty() || r->body.back() != '\n' ? "\n" : "");
        return kExitOk;
      }
      json::value v;
      try {
        v = json::parse(r->body);
      } catch (const std::exception&) {
        out_ << r->body << "\n";
        return kExitOk;
      }
      try {
        out_ << render(v);
      } catch (const std::exception&) {
        out_ << r->body << "\n";  // an answer of another shape: show it as it is
      }
      return kExitOk;
    }
    return reportError(*r);
  }

  Result<HttpResult> get(const std::string& target) { return client_.request("GET", target, ""); }

  // Reports a request that got no answer or an error answer; the exit code.
  int report(const Result<HttpResult>& r) {
    if (r.ok()) return reportError(*r);
    err_ << "aifed: " << r.status().message() << "\n";
    if (r.status().code() == StatusCode::kInvalidArgument) return kExitUsage;
    if (r.status().code() == StatusCode::kUnauthenticated) {  // the server's certificate
      err_ << "aifed: the coordinator prints its certificate's fingerprint at start; pass "
              "it with --fingerprint (or AIFED_FINGERPRINT), or its CA with --ca-file.\n";
      return kExitUnavailable;
    }
    err_ << "aifed: is the coordinator running? Set the server with --server URL or "
            "AIFED_SERVER.\n";
    return kExitUnavailable;
  }

 private:
  int reportError(const HttpResult& r) {
    if (json_) out_ << r.body << (r.body.empty() || r.body.back() != '\n' ? "\n" : "");
    std::string code, message, field;
    try {
      json::value v = json::parse(r.body);
      const json::object& e = v.at("error").as_object();
      if (auto* c = e.if_contains("code"); c && c->is_string()) code = c->get_string();
      if (auto* m = e.if_contains("message"); m && m->is_string()) message = m->get_string();
      if (auto* f = e.if_contains("field"); f && f->is_string()) field = f->get_string();
    } catch (const std::exception&) {
      message = r.body.empty() ? "(no body)" : r.body;
    }
    if (r.status == 401) {
      if (has_token_) {
        err_ << "aifed: not authenticated: the server refused the token from " << token_source_
             << ": " << message << "\n";
      } else {
        err_ << "aifed: not authenticated: pass --token or set AIFED_TOKEN (or --token-file, "
                "AIFED_TOKEN_FILE, a config file; see docs/cli.md)\n";
      }
      return kExitDenied;
    }
    if (r.status == 403) {
      // The server's message names the role and the action ("role viewer may not
      // site.drain").
      err_ << "aifed: permission denied: " << message << "\n";
      return kExitDenied;
    }
    bool refused = r.status >= 400 && r.status < 500;
    err_ << "aifed: " << (refused ? "the server refused the request" : "the server failed")
         << " (HTTP " << r.status << (code.empty() ? "" : " " + code) << "): " << message << "\n";
    if (!field.empty()) err_ << "aifed: field: " << field << "\n";
    return refused ? kExitRefused : kExitUnavailable;
  }

  HttpClient client_;
  bool has_token_;
  std::string token_source_;
  bool json_;
  std::ostream& out_;
  std::ostream& err_;
};

std::string renderSubmitted(const json::value& job) {
  std::string out = "Submitted job ";
  const json::object& o = job.as_object();
  auto str = [&](const char* k) -> std::string {
    auto* v = o.if_contains(k);
    return v && v->is_string() && !v->get_string().empty() ? std::string(v->get_string()) : "";
  };
  out += str("id") + ": " + (str("state").empty() ? "?" : str("state"));
  if (!str("site").empty()) out += " at " + str("site");
  out += "\n";
  if (auto* p = o.if_contains("placement"); p && p->is_object()) {
    if (auto* s = p->as_object().if_contains("summary"); s && s->is_string()) {
      out += "  why: " + std::string(s->get_string()) + "\n";
    }
  } else if (!str("reason").empty()) {
    out += "  waiting: " + str("reason") + "\n";
  }
  return out;
}

}  // namespace

Result<Duration> parseSlurmTime(std::string_view text_in, std::string_view flag) {
  std::string text(common::trim(text_in));
  std::string f(flag);
  auto bad = [&](const std::string& why) -> Status {
    return invalidArgument(
        f + ": \"" + text + "\" " + why + " (use minutes, M:S, H:M:S, D-H, D-H:M or D-H:M:S)", f);
  };
  if (text.empty()) return bad("is empty");
  int64_t days = 0, hours = 0, minutes = 0, seconds = 0;
  std::string_view rest = text;
  size_t dash = rest.find('-');
  std::vector<std::string_view> parts;
  if (dash != std::string_view::npos) {
    auto d = digits(rest.substr(0, dash));
    if (!d) return bad("has a bad day count");
    days = *d;
    parts = common::split(rest.substr(dash + 1), ':');
    if (parts.size() > 3) return bad("has too many fields");
    std::vector<std::optional<int64_t>> v;
    for (auto p : parts) v.push_back(digits(p));
    for (auto& x : v) {
      if (!x) return bad("is not a time");
    }
    hours = *v[0];
    if (v.size() > 1) minutes = *v[1];
    if (v.size() > 2) seconds = *v[2];
    if (hours >= 24) return bad("has more than 23 hours after the day count");
    if (minutes >= 60 || seconds >= 60) return bad("has minutes or seconds above 59");
  } else {
    parts = common::split(rest, ':');
    if (parts.size() > 3) return bad("has too many fields");
    std::vector<std::optional<int64_t>> v;
    for (auto p : parts) v.push_back(digits(p));
    for (auto& x : v) {
      if (!x) return bad("is not a time");
    }
    if (v.size() == 1) {
      minutes = *v[0];
    } else if (v.size() == 2) {
      minutes = *v[0];
      seconds = *v[1];
      if (seconds >= 60) return bad("has seconds above 59");
    } else {
      hours = *v[0];
      minutes = *v[1];
      seconds = *v[2];
      if (minutes >= 60 || seconds >= 60) return bad("has minutes or seconds above 59");
    }
  }
  int64_t total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds;
  if (total <= 0) return bad("must be more than zero (aifed has no unlimited time)");
  return std::chrono::duration_cast<Duration>(std::chrono::seconds(total));
}

std::string flagForField(std::string_view field) {
  std::string_view head = field.substr(0, field.find_first_of(".["));
  static const std::map<std::string_view, std::string_view> kFlags = {
      {"nodes", "--nodes"},
      {"gpus_per_node", "--gpus-per-node"},
      {"gpu_type", "--gpu-type"},
      {"walltime_s", "--time"},
      {"project", "--project"},
      {"name", "--name"},
      {"priority", "--priority"},
      {"allowed_sites", "--allowed-site"},
      {"allowed_countries", "--allowed-country"},
      {"script", "--script"},
      {"workdir", "--workdir"},
      {"env", "--env"},
      {"simulated_runtime_s", "--simulated-runtime"},
  };
  auto it = kFlags.find(head);
  return std::string(it == kFlags.end() ? field : it->second);
}

Result<json::object> buildSubmitBody(const SubmitOptions& o) {
  json::object body;
  if (!o.spec_file.empty()) {
    Result<std::string> text = readFlagFile(o.spec_file, "--spec");
    if (!text.ok()) return text.status();
    boost::system::error_code ec;
    json::value v = json::parse(*text, ec);
    if (ec)
      return invalidArgument("--spec: " + o.spec_file + " is not JSON: " + ec.message(), "--spec");
    if (!v.is_object()) {
      return invalidArgument("--spec: " + o.spec_file + " must hold a JSON object (a job spec)",
                             "--spec");
    }
    body = std::move(v.as_object());
  } else {
    body = toJson(JobSpec{});
    body.erase("walltime_s");  // no default time: the user must say, as --time
  }

  // The job's owner is the token's user, decided by the coordinator; a user is sent only
  // when asked for (--user, or the spec file's), which only admin and portal tokens may
  // make another user's (docs/security.md, "Job owners").
  if (!o.user.empty()) body["user"] = o.user;

  if (o.nodes) body["nodes"] = *o.nodes;
  if (o.gpus_per_node) body["gpus_per_node"] = *o.gpus_per_node;
  if (o.gpu_type) body["gpu_type"] = *o.gpu_type;
  if (o.time) {
    Result<Duration> t = parseSlurmTime(*o.time, "--time");
    if (!t.ok()) return t.status();
    body["walltime_s"] = std::chrono::duration_cast<std::chrono::seconds>(*t).count();
  }
  if (o.project) body["project"] = *o.project;
  if (o.name) body["name"] = *o.name;
  if (o.priority) body["priority"] = *o.priority;
  if (!o.allowed_sites.empty()) body["allowed_sites"] = listFlag(o.allowed_sites, false);
  if (!o.allowed_countries.empty()) {
    body["allowed_countries"] = listFlag(o.allowed_countries, true);
  }
  if (o.script_file) {
    Result<std::string> script = readFlagFile(*o.script_file, "--script");
    if (!script.ok()) return script.status();
    body["script"] = std::move(*script);
  }
  if (o.workdir) body["workdir"] = *o.workdir;
  if (!o.env.empty()) {
    json::object env;
    if (auto* e = body.if_contains("env"); e && e->is_object()) env = e->as_object();
    for (const std::string& kv : o.env) {
      size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        return invalidArgument("--env: \"" + kv + "\" must look like KEY=VALUE", "--env");
      }
      env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    body["env"] = std::move(env);
  }
  if (o.simulated_runtime) {
    Result<Duration> t = parseSlurmTime(*o.simulated_runtime, "--simulated-runtime");
    if (!t.ok()) return t.status();
    body["simulated_runtime_s"] = std::chrono::duration_cast<std::chrono::seconds>(*t).count();
  }

  // Check it as the server will, so a mistake is reported before anything is sent.
  Result<JobSpec> spec = jobSpecFromJson(body);
  if (!spec.ok()) {
    const Status& s = spec.status();
    std::string field = s.field();
    std::string flag = field.empty() ? "" : flagForField(field);
    std::string hint = flag.empty() || flag == field ? "" : " (set it with " + flag + ")";
    if (field == "walltime_s" && !body.contains("walltime_s")) {
      return invalidArgument("the job needs a time limit: pass --time (e.g. --time 2:00:00)",
                             "--time");
    }
    return invalidArgument("invalid job: " + s.message() + hint, flag.empty() ? field : flag);
  }
  return body;
}

Result<std::string> writeKeyFiles(const std::string& prefix, bool force) {
  std::filesystem::path p(prefix);
  std::string name = p.filename().string();
  if (prefix.empty() || name.empty() || name == "." || name == "..") {
    return invalidArgument("--out: \"" + prefix + "\" must name a file prefix such as keys/mimer",
                           "--out");
  }
  std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
  if (!force) {
    for (const char* ext : {".key", ".pub"}) {
      std::filesystem::path f = p;
      f += ext;
      if (std::filesystem::exists(f)) {
        return Status(StatusCode::kAlreadyExists,
                      f.string() + " exists; refusing to overwrite it (use --force)", "--out");
      }
    }
  }
  Result<transport::CurveKeyPair> pair = transport::generateCurveKeyPair();
  if (!pair.ok()) return pair.status();
  if (Status s = transport::writeKeyPair(*pair, dir, name, force); !s.ok()) return s;
  return pair->public_key;
}

int runCli(int argc, char** argv, std::ostream& out, std::ostream& err,
           const std::function<int(int, char**)>& demo) {
  CLI::App app{
      "aifed: submit and follow jobs across the EuroHPC AI factories.\n"
      "Talks to the coordinator's REST API (docs/cli.md)."};
  app.name("aifed");
  app.set_version_flag("--version", AIFED_VERSION);
  app.require_subcommand(1);

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
  app.add_flag("--json", json_output, "print the server's JSON as it is");
  app.add_option("--timeout", timeout_s, "seconds to wait for the server")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  SubmitOptions so;
  CLI::App* submit = app.add_subcommand("submit", "submit a job (flags like sbatch)");
  submit->add_option("--spec", so.spec_file, "job spec JSON file; flags override its fields");
  submit->add_option("-N,--nodes", so.nodes, "number of nodes");
  submit->add_option("--gpus-per-node", so.gpus_per_node, "accelerators per node");
  submit->add_option("--gpu-type", so.gpu_type, "accelerator type, e.g. h100 or mi250x");
  submit->add_option("-t,--time", so.time,
                     "time limit: minutes, M:S, H:M:S, D-H, D-H:M or D-H:M:S");
  submit->add_option("-A,--project", so.project, "project (allocation) to charge");
  submit->add_option("-J,--name", so.name, "job name");
  submit->add_option("--priority", so.priority, "priority within the project");
  submit->add_option("--allowed-site", so.allowed_sites, "run only at this site (repeatable)");
  submit->add_option("--allowed-country", so.allowed_countries,
                     "run only in this country, ISO code like SE (repeatable)");
  submit->add_option("--script", so.script_file, "batch script file to run");
  submit->add_option("--workdir", so.workdir, "working directory at the site");
  submit->add_option("--env", so.env, "environment variable KEY=VALUE (repeatable)");
  submit->add_option("--simulated-runtime", so.simulated_runtime,
                     "simulated sites only: how long the job really runs (same forms as --time)");
  submit->add_option("--user", so.user,
                     "submit for this user (admin and portal tokens only; default: the token's "
                     "user)");

  std::optional<std::string> state, site_filter, project_filter, id_prefix;
  std::optional<int64_t> limit, offset;
  CLI::App* jobs = app.add_subcommand("jobs", "list jobs");
  jobs->add_option("--state", state, "only jobs in this state (queued, running, ...)");
  jobs->add_option("--site", site_filter, "only jobs placed at this site");
  jobs->add_option("--project", project_filter, "only jobs of this project");
  jobs->add_option("--search", id_prefix, "only jobs whose id starts with this (j-12)");
  jobs->add_option("--limit", limit, "at most this many jobs (server default 100)")
      ->check(CLI::NonNegativeNumber);
  jobs->add_option("--offset", offset, "skip this many jobs")->check(CLI::NonNegativeNumber);

  std::string id;
  CLI::App* job = app.add_subcommand("job", "show one job, with where it went and why");
  job->add_option("ID", id, "job id")->required();
  CLI::App* explain =
      app.add_subcommand("explain", "why a job went where it went, or why it still waits");
  explain->add_option("JOB", id, "job id")->required();
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
  CLI::App* cancel = app.add_subcommand("cancel", "cancel a job");
  cancel->add_option("ID", id, "job id")->required();
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

  std::string out_prefix;
  bool force = false;
  CLI::App* keygen = app.add_subcommand("keygen", "write a CURVE key pair (PREFIX.key, .pub)");
  keygen->add_option("--out", out_prefix, "file prefix, e.g. keys/mimer")->required();
  keygen->add_flag("--force", force, "overwrite existing key files");

  CLI::App* demo_cmd = nullptr;
  if (demo) {
    demo_cmd = app.add_subcommand("demo",
                                  "run a local federation of simulated AI factories "
                                  "(aifed demo --help)");
    demo_cmd->prefix_command();
    demo_cmd->set_help_flag();  // `aifed demo --help` is the demo's own help
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

  if (keygen->parsed()) {
    Result<std::string> pub = writeKeyFiles(out_prefix, force);
    if (!pub.ok()) {
      err << "aifed keygen: " << pub.status().message() << "\n";
      return pub.status().code() == StatusCode::kAlreadyExists ||
                     pub.status().code() == StatusCode::kInvalidArgument
                 ? kExitUsage
                 : kExitUnavailable;
    }
    if (json_output) {
      out << json::serialize(json::object{{"public_key", *pub},
                                          {"key_file", out_prefix + ".key"},
                                          {"pub_file", out_prefix + ".pub"}})
          << "\n";
    } else {
      out << "wrote " << out_prefix << ".key (secret, mode 0600) and " << out_prefix
          << ".pub\npublic key: " << *pub << "\n";
    }
    return kExitOk;
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
  if (submit->parsed()) {
    Result<json::object> body = buildSubmitBody(so);
    if (!body.ok()) {
      err << "aifed submit: " << body.status().message() << "\n";
      return kExitUsage;
    }
    return api.run("POST", "/api/v1/jobs", json::serialize(*body), renderSubmitted);
  }
  if (jobs->parsed()) {
    std::string query;
    auto add = [&](const char* k, const std::string& v) {
      query += (query.empty() ? "?" : "&") + std::string(k) + "=" + percentEncode(v);
    };
    if (state) add("state", *state);
    if (site_filter) add("site", *site_filter);
    if (project_filter) add("project", *project_filter);
    if (id_prefix) add("q", *id_prefix);
    if (limit) add("limit", std::to_string(*limit));
    if (offset) add("offset", std::to_string(*offset));
    return api.run("GET", "/api/v1/jobs" + query, "", renderJobList);
  }
  if (job->parsed()) return api.run("GET", "/api/v1/jobs/" + percentEncode(id), "", renderJob);
  if (logs->parsed()) {
    lo.json = json_output;
    lo.interval = Duration(static_cast<int64_t>(logs_interval_s * 1000));
    return runLogs(
        lo, [&](const std::string& target) { return api.get(target); },
        [&](const Result<HttpResult>& r) { return api.report(r); }, out, err,
        [](Duration d) { std::this_thread::sleep_for(d); });
  }
  if (explain->parsed()) {
    return api.run("GET", "/api/v1/jobs/" + percentEncode(id) + "/explain", "", renderExplain);
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
  if (cancel->parsed()) {
    return api.run(
        "POST", "/api/v1/jobs/" + percentEncode(id) + "/cancel", "", [](const json::value& v) {
          const json::object& o = v.as_object();
          auto get = [&](const char* k) {
            auto* x = o.if_contains(k);
            return x && x->is_string() ? std::string(x->get_string()) : "?";
          };
          return "Cancel requested for job " + get("id") + " (now " + get("state") + ")\n";
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
