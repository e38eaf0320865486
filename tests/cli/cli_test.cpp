#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/job_format.h"
#include "cli/tables.h"
#include "coordinator/api/http_server.h"
#include "protocol/transport/curve_keys.h"
#include "tests/api/test_tls.h"

namespace aifed::cli {
namespace {
namespace json = boost::json;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// ---- --time -------------------------------------------------------------------------

TEST(SlurmTimeTest, AcceptsEverySbatchForm) {
  struct Case {
    const char* text;
    Duration want;
  };
  for (const Case& c : std::vector<Case>{
           {"90", minutes(90)},                     // minutes
           {"5:30", minutes(5) + seconds(30)},      // minutes:seconds
           {"2:00:00", hours(2)},                   // hours:minutes:seconds
           {"36:00:00", hours(36)},                 // hours may exceed a day
           {"1-12", hours(36)},                     // days-hours
           {"2-03:04", hours(51) + minutes(4)},     // days-hours:minutes
           {"1-00:00:01", hours(24) + seconds(1)},  // days-hours:minutes:seconds
           {" 10 ", minutes(10)},                   // blanks around are fine
       }) {
    Result<Duration> d = parseSlurmTime(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status().toString();
    EXPECT_EQ(*d, c.want) << c.text;
  }
}

TEST(SlurmTimeTest, RejectsWithTheFlagName) {
  for (const char* bad : {"", "0", "0:00:00", "abc", "1:2:3:4", "1-", "-5", "1-24:00:00", "1:60:00",
                          "10:75", "1.5", "1-2:3:4:5", "9999999999"}) {
    Result<Duration> d = parseSlurmTime(bad, "--time");
    ASSERT_FALSE(d.ok()) << "\"" << bad << "\" should be refused";
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(d.status().field(), "--time");
    EXPECT_NE(d.status().message().find("--time"), std::string::npos);
  }
}

// ---- submit flags -> spec -------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "aifed-cli-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name, const std::string& content) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << content;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

SubmitOptions baseFlags() {
  SubmitOptions o;
  o.user = "alice";
  o.time = "1:00:00";
  return o;
}

TEST(SubmitBodyTest, BuildsSpecFromFlags) {
  TempDir dir;
  SubmitOptions o = baseFlags();
  o.nodes = 4;
  o.gpus_per_node = "4";
  o.gpu_type = "h100";
  o.time = "1-00:30:00";
  o.project = "ai-lab";
  o.name = "llm-pretrain";
  o.priority = 5;
  o.allowed_sites = {"mimer,lumi", "bsc"};
  o.allowed_countries = {"se", "FI,es"};
  o.script_file = dir.file("job.sh", "#!/bin/bash\nsrun python train.py\n");
  o.workdir = "/scratch/alice";
  o.env = {"HF_HOME=/scratch/hf", "EMPTY=", "EQ=a=b"};
  o.simulated_runtime = "45";
  Result<json::object> body = buildSubmitBody(o);
  ASSERT_TRUE(body.ok()) << body.status().toString();
  json::object& b = *body;
  EXPECT_EQ(b["nodes"].as_int64(), 4);
  EXPECT_EQ(b["gpus_per_node"].as_int64(), 4);
  EXPECT_EQ(b["gpu_type"].as_string(), "h100");
  EXPECT_EQ(b["walltime_s"].as_int64(), 86400 + 1800);
  EXPECT_EQ(b["project"].as_string(), "ai-lab");
  EXPECT_EQ(b["name"].as_string(), "llm-pretrain");
  EXPECT_EQ(b["user"].as_string(), "alice");
  EXPECT_EQ(b["priority"].as_int64(), 5);
  EXPECT_EQ(json::serialize(b["allowed_sites"]), R"(["mimer","lumi","bsc"])");
  EXPECT_EQ(json::serialize(b["allowed_countries"]), R"(["SE","FI","ES"])");
  EXPECT_EQ(b["script"].as_string(), "#!/bin/bash\nsrun python train.py\n");
  EXPECT_EQ(b["workdir"].as_string(), "/scratch/alice");
  EXPECT_EQ(json::serialize(b["env"]), R"({"HF_HOME":"/scratch/hf","EMPTY":"","EQ":"a=b"})");
  EXPECT_EQ(b["simulated_runtime_s"].as_int64(), 45 * 60);
}

TEST(SubmitBodyTest, DefaultsAreOneNodeNoGpus) {
  Result<json::object> body = buildSubmitBody(baseFlags());
  ASSERT_TRUE(body.ok()) << body.status().toString();
  EXPECT_EQ((*body)["nodes"].as_int64(), 1);
  EXPECT_EQ((*body)["gpus_per_node"].as_int64(), 0);
  EXPECT_EQ((*body)["walltime_s"].as_int64(), 3600);
  EXPECT_FALSE(body->contains("simulated_runtime_s"));
}

TEST(SubmitBodyTest, MissingTimeNamesTheFlag) {
  SubmitOptions o = baseFlags();
  o.time.reset();
  Result<json::object> body = buildSubmitBody(o);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().field(), "--time");
  EXPECT_NE(body.status().message().find("--time"), std::string::npos);
}

TEST(SubmitBodyTest, InvalidValuesNameTheFlag) {
  SubmitOptions o = baseFlags();
  o.nodes = 0;
  Result<json::object> body = buildSubmitBody(o);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().field(), "--nodes");
  EXPECT_NE(body.status().message().find("--nodes"), std::string::npos);

  o = baseFlags();
  o.env = {"NOEQUALS"};
  EXPECT_EQ(buildSubmitBody(o).status().field(), "--env");
  o = baseFlags();
  o.time = "soon";
  EXPECT_EQ(buildSubmitBody(o).status().field(), "--time");
  o = baseFlags();
  o.script_file = "/nonexistent/job.sh";
  EXPECT_EQ(buildSubmitBody(o).status().field(), "--script");
}

// The owner is the token's user, decided by the coordinator: without --user the CLI
// sends no user at all, whatever $USER says (docs/security.md, "Job owners").
TEST(SubmitBodyTest, NoUserIsSentUnlessAskedFor) {
  SubmitOptions o;
  o.time = "1:00:00";
  setenv("USER", "root", 1);
  Result<json::object> body = buildSubmitBody(o);
  ASSERT_TRUE(body.ok()) << body.status().toString();
  EXPECT_FALSE(body->contains("user") && !body->at("user").as_string().empty())
      << json::serialize(*body);
}

TEST(SubmitBodyTest, SpecFileWithFlagOverrides) {
  TempDir dir;
  SubmitOptions o;
  o.spec_file = dir.file("spec.json", R"({"name":"from-file","nodes":2,"walltime_s":600,
      "env":{"A":"1"},"user":"carol"})");
  o.nodes = 8;
  o.env = {"B=2"};
  Result<json::object> body = buildSubmitBody(o);
  ASSERT_TRUE(body.ok()) << body.status().toString();
  EXPECT_EQ((*body)["name"].as_string(), "from-file");
  EXPECT_EQ((*body)["nodes"].as_int64(), 8) << "the flag wins";
  EXPECT_EQ((*body)["walltime_s"].as_int64(), 600);
  EXPECT_EQ((*body)["user"].as_string(), "carol") << "the file's user is kept";
  o.user = "bob";
  EXPECT_EQ(buildSubmitBody(o)->at("user").as_string(), "bob") << "--user wins, like every flag";
  EXPECT_EQ(json::serialize((*body)["env"]), R"({"A":"1","B":"2"})");

  o.spec_file = dir.file("bad.json", "{nope");
  EXPECT_EQ(buildSubmitBody(o).status().field(), "--spec");
  o.spec_file = dir.file("array.json", "[1]");
  EXPECT_EQ(buildSubmitBody(o).status().field(), "--spec");
  o.spec_file = dir.path() + "/missing.json";
  EXPECT_EQ(buildSubmitBody(o).status().field(), "--spec");
}

TEST(SubmitBodyTest, FlagForField) {
  EXPECT_EQ(flagForField("walltime_s"), "--time");
  EXPECT_EQ(flagForField("allowed_sites[2]"), "--allowed-site");
  EXPECT_EQ(flagForField("cores_per_node"), "--cpus-per-task");
  EXPECT_EQ(flagForField("gpus_per_node"), "--gpus-per-node") << "not --gpu-type";
  EXPECT_EQ(flagForField("dependencies[0].job"), "--dependency");
  EXPECT_EQ(flagForField("requeue_on_site_loss"), "requeue_on_site_loss");
}

// ---- tables ---------------------------------------------------------------------------

TEST(TablesTest, AlignsColumns) {
  TextTable t({"ID", "STATE", "REASON"});
  t.addRow({"j-1", "running", "placed at mimer"});
  t.addRow({"job-1234", "queued"});  // short row: padded
  EXPECT_EQ(t.render(),
            "ID        STATE    REASON\n"
            "j-1       running  placed at mimer\n"
            "job-1234  queued\n");
}

TEST(TablesTest, CountsUtf8Characters) {
  EXPECT_EQ(displayWidth("Bologna"), 7u);
  EXPECT_EQ(displayWidth("M\xC3\xBCnchen"), 7u);  // München
  TextTable t({"CITY", "CC"});
  t.addRow({"M\xC3\xBCnchen", "DE"});
  EXPECT_EQ(t.render(), "CITY     CC\nM\xC3\xBCnchen  DE\n");
}

TEST(TablesTest, KeyValues) {
  EXPECT_EQ(renderKeyValues({{"id", "j-1"}, {"state", "running"}}),
            "id:     j-1\nstate:  running\n");
}

TEST(TablesTest, FormatsTimes) {
  EXPECT_EQ(formatSlurmDuration(2700), "00:45:00");
  EXPECT_EQ(formatSlurmDuration(129600), "1-12:00:00");
  json::value ms = int64_t{1764078217000};  // 2025-11-25 13:43:37 UTC
  EXPECT_EQ(formatInstant(&ms), "2025-11-25 13:43:37Z");
  json::value null_value = nullptr;
  EXPECT_EQ(formatInstant(&null_value), "-");
  EXPECT_EQ(formatInstant(nullptr), "-");
}

TEST(TablesTest, ToleratesMissingFields) {
  EXPECT_EQ(renderJobs(json::parse(R"({"jobs":[{}]})"), *parseJobFormat("%i  %u  %T  %M  %R")),
            "ID  USER  STATE  ELAPSED  REASON\n"
            "-   -     -      -        -\n"
            "1 job shown\n");
  EXPECT_NE(renderJob(json::parse("{}")).find("placement:"), std::string::npos);
  EXPECT_NE(renderSite(json::parse("[]")).find("id:"), std::string::npos);
  EXPECT_EQ(renderSiteList(json::parse("null")).find('\n'),
            renderSiteList(json::parse("null")).size() - 1);
}

TEST(TablesTest, RendersExplainWhyHereAndWhyNotYet) {
  std::string here = renderExplain(json::parse(R"({
    "job_id": "j-7", "state": "pending", "site": "mimer", "question": "why-here",
    "decision": {"policy": "green", "policy_version": 2, "decided_at": 0,
      "chosen_site": "mimer", "summary": "placed on mimer/gpu: starts now",
      "sites": [
        {"site": "lumi-aif", "verdict": "rejected", "rejected_by": "accelerator",
         "reason": "needs h200; the site offers mi250x"},
        {"site": "mimer", "verdict": "chosen", "partition": "gpu", "free_nodes": 120,
         "estimated_start_s": 3600, "staging_s": 0, "total": 87.5,
         "scores": [{"plugin": "estimated-start", "unit": "s", "raw": 3600, "score": 50,
                     "weight": 1},
                    {"plugin": "carbon", "unit": "gCO2/kWh x PUE", "raw": 44, "score": 100,
                     "weight": 3}]}]}})"));
  EXPECT_NE(here.find("Job j-7 (pending at mimer): why here"), std::string::npos) << here;
  EXPECT_NE(here.find("Policy green v2"), std::string::npos) << here;
  EXPECT_NE(here.find("accelerator: needs h200; the site offers mi250x"), std::string::npos);
  EXPECT_NE(here.find("87.5"), std::string::npos) << here;
  EXPECT_NE(here.find("estimated-start 50.0 x1 (60 min)"), std::string::npos) << here;
  EXPECT_NE(here.find("carbon 100.0 x3 (44 gCO2/kWh x PUE)"), std::string::npos) << here;

  std::string waiting = renderExplain(json::parse(
      R"({"job_id": "j-8", "state": "queued", "site": "", "question": "why-not-yet",
          "decision": null})"));
  EXPECT_NE(waiting.find("why not yet"), std::string::npos) << waiting;
  EXPECT_NE(waiting.find("No placement decision"), std::string::npos) << waiting;
  EXPECT_NE(renderExplain(json::parse("{}")).find("why here"), std::string::npos);
}

TEST(TablesTest, RendersPolicies) {
  std::string out = renderPolicy(json::parse(R"({
    "active": {"name": "green", "version": 1, "binding": "immediate"},
    "policies": [{"name": "earliest-start", "version": 1, "binding": "immediate",
                  "weights": {"estimated-start": 1}, "description": "soonest"},
                 {"name": "green", "version": 1, "binding": "immediate",
                  "weights": {"carbon": 3, "energy": 1}, "description": "low carbon"}],
    "history": [{"at": 0, "from": "earliest-start", "to": "green", "actor": "alice",
                 "reason": "windy"}]})"));
  EXPECT_NE(out.find("Active policy: green v1 (immediate binding)"), std::string::npos) << out;
  EXPECT_NE(out.find("green *"), std::string::npos) << out;
  EXPECT_NE(out.find("carbon=3,energy=1"), std::string::npos) << out;
  EXPECT_NE(out.find("windy"), std::string::npos) << out;
}

TEST(TablesTest, RendersSitesAndOneSite) {
  json::value sites = json::parse(R"({"sites":[
    {"id":"mimer","name":"MIMER","country":"SE","state":"up","drained":false,"degraded":false,
     "nodes_total":10,"nodes_idle":4,"accelerators_total":40,"accelerators_free":16,
     "accelerator_types":["h100"],"running_jobs":3,"pending_jobs":1,"jobs_placed":12,
     "report_age_ms":1500},
    {"id":"pharos","name":"Pharos","country":"GR","state":"unknown","drained":true,
     "degraded":false,"nodes_total":4,"nodes_idle":0,"accelerators_total":16,
     "accelerators_free":0,"accelerator_types":[],"running_jobs":0,"pending_jobs":0,
     "jobs_placed":0,"report_age_ms":null}]})");
  std::string table = renderSiteList(sites);
  EXPECT_NE(table.find("mimer   MIMER   SE  up"), std::string::npos) << table;
  EXPECT_NE(table.find("unknown (drained)"), std::string::npos) << table;
  EXPECT_NE(table.find("16/40"), std::string::npos) << table;
  EXPECT_NE(table.find("1.5s"), std::string::npos) << table;

  json::value site = json::parse(R"({"id":"mimer","name":"MIMER","city":"Link\u00f6ping",
    "country":"SE","state":"up","partitions":[{"name":"gpu","node_type":{"accelerator":"h100",
    "accelerators_per_node":4},"nodes_total":10,"nodes_idle":4,"nodes_allocated":6,
    "nodes_down":0,"nodes_draining":0,"running_jobs":3,"pending_jobs":1,
    "pending_node_hours":2.5}]})");
  std::string text = renderSite(site);
  EXPECT_NE(text.find("location:"), std::string::npos) << text;
  EXPECT_NE(text.find("Link\xC3\xB6ping, SE"), std::string::npos) << text;
  EXPECT_NE(text.find("PARTITION"), std::string::npos) << text;
  EXPECT_NE(text.find("gpu        h100"), std::string::npos) << text;
  EXPECT_NE(text.find("2.5"), std::string::npos) << text;
}

// Who drained a site, when and why, and its maintenance windows (the one in force first).
TEST(TablesTest, SitesShowTheDrainAndTheMaintenanceWindow) {
  json::value site = json::parse(R"({"id":"mimer","state":"draining","drained":true,
    "drain_reason":"disk swap","drained_by":"alice","drained_at":1800000000000,
    "maintenance":[{"id":"mw-3","start_at":1800000000000,"end_at":1800003600000,
                    "reason":"Slurm upgrade","declared_by":"ops"},
                   {"id":"mw-4","start_at":1800007200000,"end_at":1800010800000,
                    "reason":"power","declared_by":"ops"}],
    "maintenance_active":"mw-3"})");
  std::string list = renderSiteList(json::value{{"sites", json::array{site}}});
  EXPECT_NE(list.find("draining (drained) (maintenance)"), std::string::npos) << list;
  EXPECT_NE(list.find("mw-3 until 2027-01-15 09:00:00Z"), std::string::npos) << list;
  EXPECT_NE(list.find("by alice at 2027-01-15 08:00:00Z: disk swap"), std::string::npos) << list;
  std::string one = renderSite(site);
  EXPECT_NE(one.find("drained by alice at 2027-01-15 08:00:00Z: disk swap"), std::string::npos)
      << one;
  EXPECT_NE(one.find("maintenance (in force):"), std::string::npos) << one;
  EXPECT_NE(one.find("mw-4 2027-01-15 10:00:00Z .. 2027-01-15 11:00:00Z by ops: power"),
            std::string::npos)
      << one;
  std::string windows = renderMaintenance(site);
  EXPECT_NE(windows.find("WINDOW"), std::string::npos) << windows;
  EXPECT_NE(windows.find("yes"), std::string::npos) << windows;
}

// ---- keygen ---------------------------------------------------------------------------

TEST(KeygenTest, WritesValidKeysWithPrivateSecret) {
  TempDir dir;
  std::string prefix = dir.path() + "/keys/mimer";
  Result<std::string> pub = writeKeyFiles(prefix, false);
  ASSERT_TRUE(pub.ok()) << pub.status().toString();
  EXPECT_TRUE(transport::isValidZ85Key(*pub));

  struct stat st {};
  ASSERT_EQ(stat((prefix + ".key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Result<transport::CurveKeyPair> both = transport::readKeyPairFile(prefix + ".key");
  ASSERT_TRUE(both.ok()) << both.status().toString();
  EXPECT_EQ(both->public_key, *pub);
  EXPECT_TRUE(transport::isValidZ85Key(both->secret_key));
  Result<transport::CurveKeyPair> only_pub = transport::readKeyPairFile(prefix + ".pub");
  ASSERT_TRUE(only_pub.ok());
  EXPECT_EQ(only_pub->public_key, *pub);
  EXPECT_TRUE(only_pub->secret_key.empty()) << "the .pub file must not hold the secret";

  // A second run refuses to overwrite, and --force replaces the pair.
  Result<std::string> again = writeKeyFiles(prefix, false);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(transport::readKeyPairFile(prefix + ".key")->public_key, *pub) << "untouched";
  Result<std::string> forced = writeKeyFiles(prefix, true);
  ASSERT_TRUE(forced.ok());
  EXPECT_NE(*forced, *pub);
  EXPECT_FALSE(writeKeyFiles(dir.path() + "/", false).ok());
}

// ---- whole commands against a canned server ---------------------------------------------

class FakeCoordinator {
 public:
  FakeCoordinator() {
    using api::HttpRequest;
    using api::PathParams;
    router_.add("GET", "/api/v1/sites", [](const HttpRequest&, const PathParams&) {
      return api::jsonResponse(200, json::parse(R"({"sites":[{"id":"mimer","state":"up"}]})"));
    });
    router_.add("GET", "/api/v1/jobs", [this](const HttpRequest& r, const PathParams&) {
      last_query_ = r.query;
      return api::jsonResponse(200, json::parse(R"({"jobs":[],"total":0})"));
    });
    router_.add("GET", "/api/v1/jobs/{id}", [](const HttpRequest&, const PathParams& p) {
      if (p.at("id") == "boom") return api::errorResponse(internalError("disk on fire"));
      return api::errorResponse(notFound("no job \"" + p.at("id") + "\""));
    });
    router_.add("POST", "/api/v1/jobs", [this](const HttpRequest& r, const PathParams&) {
      last_body_ = r.body;
      json::object spec = json::parse(r.body).as_object();
      if (spec["nodes"].as_int64() > 100) {
        return api::errorResponse(invalidArgument("no site has 101 nodes", "nodes"));
      }
      return api::jsonResponse(
          201, json::object{{"id", "j-1"},
                            {"state", "dispatched"},
                            {"site", "mimer"},
                            {"placement", json::object{{"summary", "most free GPUs"}}}});
    });
    server_ = std::make_unique<api::HttpServer>(
        io_, [this](const api::HttpRequest& r) { return router_.route(r); },
        testing::tlsServerOptions());
    port_ = server_->listen("127.0.0.1", 0).value();
    // Every CLI run below pins the test certificate, as a user would with the printed one.
    setenv("AIFED_FINGERPRINT", testing::testTls().identity.fingerprint.c_str(), 1);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeCoordinator() {
    boost::asio::post(io_, [this] { server_->stop(); });
    thread_.join();
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  // Read after the CLI call returned: the server thread wrote it before answering.
  std::map<std::string, std::string> last_query_;
  std::string last_body_;

 private:
  boost::asio::io_context io_;
  api::Router router_;
  std::unique_ptr<api::HttpServer> server_;
  uint16_t port_ = 0;
  std::thread thread_;
};

struct CliRun {
  int code;
  std::string out, err;
};

CliRun run(std::vector<std::string> args) {
  args.insert(args.begin(), "aifed");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::ostringstream out, err;
  int code = runCli(static_cast<int>(args.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

TEST(CliCommandTest, SitesAsTableAndJson) {
  FakeCoordinator fake;
  CliRun r = run({"--server", fake.url(), "sites"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("mimer"), std::string::npos);
  EXPECT_NE(r.out.find("SITE"), std::string::npos);
  r = run({"--server", fake.url(), "--json", "sites"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "{\"sites\":[{\"id\":\"mimer\",\"state\":\"up\"}]}\n");
}

TEST(CliCommandTest, ServerFromEnvironment) {
  FakeCoordinator fake;
  setenv("AIFED_SERVER", fake.url().c_str(), 1);
  CliRun r = run({"sites"});
  unsetenv("AIFED_SERVER");
  EXPECT_EQ(r.code, kExitOk) << r.err;
}

TEST(CliCommandTest, JobFiltersAreEncoded) {
  FakeCoordinator fake;
  CliRun r = run({"--server", fake.url(), "jobs", "--state", "running", "--site", "a b&c",
                  "--limit", "5", "--offset", "10"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fake.last_query_["state"], "running");
  EXPECT_EQ(fake.last_query_["site"], "a b&c");
  EXPECT_EQ(fake.last_query_["limit"], "5");
  EXPECT_EQ(fake.last_query_["offset"], "10");
}

TEST(CliCommandTest, ExitCodes) {
  FakeCoordinator fake;
  CliRun r = run({"--server", fake.url(), "job", "j-404"});
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_NE(r.err.find("no job \"j-404\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("404"), std::string::npos) << r.err;

  r = run({"--server", fake.url(), "job", "boom"});
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_NE(r.err.find("disk on fire"), std::string::npos) << r.err;

  r = run({"--server", fake.url(), "submit", "--nodes", "101", "--time", "10", "--user", "u"});
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_NE(r.err.find("field: nodes"), std::string::npos) << r.err;

  r = run({"--server", fake.url(), "submit", "--nodes", "0", "--time", "10"});
  EXPECT_EQ(r.code, kExitUsage) << "refused locally, nothing sent";
  r = run({"--server", fake.url(), "jobs", "--bogus"});
  EXPECT_EQ(r.code, kExitUsage);
  r = run({"--server", fake.url(), "submit", "--bogus", "-t", "10"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("--bogus is not a submit flag"), std::string::npos) << r.err;
  r = run({"jobs", "--server", fake.url(), "--json"});  // global flags after the subcommand
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "{\"jobs\":[],\"total\":0}\n");
  r = run({"--server", fake.url()});
  EXPECT_EQ(r.code, kExitUsage);
  r = run({"--server", "ftp://nope", "sites"});
  EXPECT_EQ(r.code, kExitUsage);
  r = run({"--help"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_NE(r.out.find("submit"), std::string::npos);
}

TEST(CliCommandTest, CertificateChecksAndPlainHttp) {
  FakeCoordinator fake;
  std::string wrong = testing::testTls().identity.fingerprint;
  wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
  CliRun r = run({"--server", fake.url(), "--fingerprint", wrong, "sites"});
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_NE(r.err.find("certificate fingerprint mismatch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--fingerprint"), std::string::npos) << "says what to do: " << r.err;
  // The system store does not know the test certificate; --insecure skips the check.
  unsetenv("AIFED_FINGERPRINT");
  r = run({"--server", fake.url(), "sites"});
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_NE(r.err.find("cannot verify the TLS certificate"), std::string::npos) << r.err;
  r = run({"--server", fake.url(), "--insecure", "sites"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  r = run({"--server", fake.url(), "--ca-file", testing::testTls().identity.cert_path, "sites"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  std::string plain = "http" + fake.url().substr(5);
  r = run({"--server", plain, "--insecure", "sites"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("use https://"), std::string::npos) << r.err;
}

TEST(CliCommandTest, UnreachableServerIsExit3NamingTheUrl) {
  std::string url = "https://127.0.0.1:1";  // nothing listens on port 1
  CliRun r = run({"--server", url, "sites"});
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_NE(r.err.find(url), std::string::npos) << r.err;
}

TEST(CliCommandTest, SubmitSendsTheSpec) {
  FakeCoordinator fake;
  CliRun r = run({"--server", fake.url(),
                  "submit",   "-N",
                  "2",        "--gpus-per-node",
                  "4",        "--gpu-type",
                  "h100",     "--time",
                  "0-02:00",  "-A",
                  "proj",     "-J",
                  "ft",       "--allowed-country",
                  "SE",       "--env",
                  "X=1",      "--user",
                  "dana"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("Submitted job j-1: dispatched at mimer"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("most free GPUs"), std::string::npos) << r.out;
  json::object sent = json::parse(fake.last_body_).as_object();
  EXPECT_EQ(sent["nodes"].as_int64(), 2);
  EXPECT_EQ(sent["walltime_s"].as_int64(), 7200);
  EXPECT_EQ(sent["project"].as_string(), "proj");
  EXPECT_EQ(sent["user"].as_string(), "dana");
}

TEST(CliCommandTest, DemoGetsTheRestOfTheArguments) {
  std::vector<std::string> seen;
  auto demo = [&](int argc, char** argv) {
    for (int i = 0; i < argc; ++i) seen.emplace_back(argv[i]);
    return 7;
  };
  std::vector<std::string> args = {"aifed", "demo", "--duration", "5", "--help"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream out, err;
  EXPECT_EQ(runCli(static_cast<int>(args.size()), argv.data(), out, err, demo), 7) << err.str();
  EXPECT_EQ(seen, (std::vector<std::string>{"demo", "--duration", "5", "--help"}));
}

}  // namespace
}  // namespace aifed::cli
