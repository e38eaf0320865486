// A job's output back to its owner, end to end: a real coordinator and simulated agents
// as processes (the agents write real output files), the REST route and `aifed logs`.
// Who may read, the audit rows, and the answers for a job without output or site.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <csignal>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/http_client.h"
#include "cli/local_federation.h"
#include "common/files.h"
#include "tests/common/test_files.h"
#include "tests/integration/local_federation_test.h"

namespace aifed::cli {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class JobOutputEndToEndTest : public testing::LocalFederationTest {
 protected:
  void SetUp() override {
    // The three test sites with two projects, "llm" and "vision", whose submitters the
    // tests are.
    federation_ = std::filesystem::temp_directory_path() /
                  ("aifed-output-federation-" + std::to_string(getpid()) + ".toml");
    std::string projects;
    for (const char* p : {"llm", "vision"}) {
      projects += std::string("\n[[project]]\nid = \"") + p +
                  "\"\ncountry = \"FI\"\nallocations = { site-a = 100000, site-b = 100000, "
                  "site-c = 100000 }\n";
    }
    ASSERT_TRUE(
        common::writeFileAtomically(federation_.string(),
                                    testing_support::readTestFile(std::string(AIFED_SOURCE_DIR) +
                                                                  "/tests/data/federation-3.toml") +
                                        projects)
            .ok());
    LocalFederationOptions o;
    o.federation_file = federation_.string();
    o.speedup = 10;
    o.heartbeat_interval_ms = 200;
    o.retry_interval_ms = 500;
    ASSERT_NO_FATAL_FAILURE(prepareFederation("aifed-output", std::move(o)));
    ASSERT_NO_FATAL_FAILURE(startCoordinator());
    for (const char* s : {"site-a", "site-b", "site-c"}) ASSERT_TRUE(fed_->startAgent(s).ok());
    ASSERT_TRUE(waitFor([&] { return sitesUp() == 3; }, 20s)) << "sites did not come up";
    alice_ = createToken("alice", "submitter", "llm");
    bob_ = createToken("bob", "submitter", "vision");
  }

  // As `token` (the admin's when empty).
  HttpResult call(const std::string& method, const std::string& target,
                  const std::string& body = "", const std::string& token = "") {
    HttpClientOptions o = fed_->clientOptions();
    if (!token.empty()) o.bearer_token = token;
    HttpClient client(fed_->baseUrl(), o);
    Result<HttpResult> r = client.request(method, target, body);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return r.ok() ? *r : HttpResult{0, ""};
  }
  json::value getOk(const std::string& target, const std::string& token = "") {
    HttpResult r = call("GET", target, "", token);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    return r.status == 200 ? json::parse(r.body) : json::value();
  }
  std::string createToken(const std::string& name, const std::string& role,
                          const std::string& scope) {
    json::object body{{"name", name}, {"role", role}, {"scope", json::array{json::value(scope)}}};
    HttpResult r = call("POST", "/api/v1/tokens", json::serialize(body));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? std::string(json::parse(r.body).at("token").as_string()) : "";
  }
  int sitesUp() {
    HttpResult r = call("GET", "/api/v1/sites");
    if (r.status != 200) return 0;
    int up = 0;
    json::value sites = json::parse(r.body);
    for (const json::value& s : sites.at("sites").as_array()) {
      up += s.at("state") == "up";
    }
    return up;
  }
  bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return done();
  }
  // Alice submits a job of project llm that echoes two lines and runs `runtime_s` (job
  // time: a tenth of it on the wall clock).
  std::string submitAsAlice(int runtime_s) {
    json::object spec{{"nodes", 1},
                      {"walltime_s", 600},
                      {"project", "llm"},
                      {"simulated_runtime_s", runtime_s},
                      {"script", "#!/bin/bash\necho hello world\necho 'step 2'\n"}};
    HttpResult r = call("POST", "/api/v1/jobs", json::serialize(spec), alice_);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? std::string(json::parse(r.body).at("id").as_string()) : "";
  }
  std::string state(const std::string& id) {
    json::value j = getOk("/api/v1/jobs/" + id);
    return j.is_object() ? std::string(j.at("state").as_string()) : "";
  }
  // `aifed ARGS...` in this process, against the federation as `token`.
  struct CliRun {
    int code;
    std::string out, err;
  };
  CliRun aifed(const std::string& token, std::vector<std::string> args) {
    std::vector<std::string> all = {"aifed", "--server",      fed_->baseUrl(),       "--token",
                                    token,   "--fingerprint", fed_->tlsFingerprint()};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : all) argv.push_back(a.data());
    std::ostringstream out, err;
    int code = runCli(static_cast<int>(argv.size()), argv.data(), out, err);
    return {code, out.str(), err.str()};
  }
  std::vector<json::value> auditRows(const std::string& action) {
    json::value v = getOk("/api/v1/audit?action=" + action + "&limit=100");
    std::vector<json::value> out;
    if (v.is_object()) {
      for (const json::value& row : v.at("entries").as_array()) out.push_back(row);
    }
    return out;
  }

  void TearDown() override {
    LocalFederationTest::TearDown();
    std::filesystem::remove(federation_);
  }

  std::filesystem::path federation_;
  std::string alice_, bob_;
};

TEST_F(JobOutputEndToEndTest, TheOwnerReadsTheOutputOthersDoNotAndEveryReadIsAudited) {
  std::string id = submitAsAlice(2);
  ASSERT_TRUE(waitFor([&] { return state(id) == "completed"; }, 30s)) << state(id);

  // Where the output is at the site, as the job says and `aifed job` shows.
  json::value job = getOk("/api/v1/jobs/" + id, alice_);
  std::string site(job.at("site").as_string());
  std::string stdout_path(job.at("at_site").at("stdout_path").as_string());
  EXPECT_EQ(stdout_path,
            (std::filesystem::path(fed_->stateDir()) / "output" / site / (id + "-1.out"))
                .lexically_normal()
                .string());
  EXPECT_TRUE(std::filesystem::exists(stdout_path));
  CliRun shown = aifed(alice_, {"job", id});
  EXPECT_EQ(shown.code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr(stdout_path));

  // The tail, through the REST API.
  json::value out = getOk("/api/v1/jobs/" + id + "/output", alice_);
  ASSERT_TRUE(out.is_object());
  std::string data(out.at("data").as_string());
  EXPECT_THAT(data, StartsWith("aifed simulated site " + site + ": job " + id + " attempt 1\n"));
  EXPECT_THAT(data, HasSubstr("\nhello world\nstep 2\nended "));
  EXPECT_THAT(data, EndsWith(": completed, exit code 0\n"));
  EXPECT_EQ(out.at("path").as_string(), stdout_path);
  EXPECT_EQ(out.at("offset"), 0);
  EXPECT_EQ(out.at("size").to_number<uint64_t>(), data.size());
  EXPECT_EQ(out.at("next_offset").to_number<uint64_t>(), data.size());
  EXPECT_EQ(out.at("state"), "completed");
  EXPECT_EQ(data, testing_support::readTestFile(stdout_path)) << "the file itself";
  // A slice, and stderr (empty for a job that completed).
  json::value slice = getOk("/api/v1/jobs/" + id + "/output?offset=6&max_bytes=9", alice_);
  EXPECT_EQ(slice.at("data").as_string(), data.substr(6, 9));
  json::value err = getOk("/api/v1/jobs/" + id + "/output?stream=stderr", alice_);
  EXPECT_EQ(err.at("data"), "");

  // The same through `aifed logs`, with the job's bare number.
  CliRun logs = aifed(alice_, {"logs", id.substr(2)});
  EXPECT_EQ(logs.code, 0) << logs.err;
  EXPECT_EQ(logs.out, data);
  CliRun tail = aifed(alice_, {"logs", id, "--bytes", "24"});
  EXPECT_EQ(tail.out, data.substr(data.size() - 24));

  // Another project's submitter learns nothing; a site's admin reads at the site.
  HttpResult hidden = call("GET", "/api/v1/jobs/" + id + "/output", "", bob_);
  EXPECT_EQ(hidden.status, 404) << hidden.body;
  CliRun bob = aifed(bob_, {"logs", id});
  EXPECT_EQ(bob.code, kExitRefused);
  EXPECT_EQ(bob.out, "");
  std::string site_admin = createToken("ops-" + site, "site-admin", site);
  HttpResult refused = call("GET", "/api/v1/jobs/" + id + "/output", "", site_admin);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(aifed(site_admin, {"logs", id}).code, kExitDenied);

  // Every read left a row: allowed ones "ok", the others "denied". Rows of reads are
  // group-committed with the next write: wait for the last ones.
  std::map<std::string, std::map<std::string, int>> outcomes;  // actor name -> outcome -> n
  ASSERT_TRUE(waitFor(
      [&] {
        outcomes.clear();
        std::vector<json::value> rows = auditRows("job.output.read");
        for (const json::value& row : rows) {
          EXPECT_EQ(row.at("target").as_string(), id);
          outcomes[std::string(row.at("actor_name").as_string())]
                  [std::string(row.at("outcome").as_string())]++;
        }
        return rows.size() >= 9;
      },
      10s));
  EXPECT_EQ(outcomes["alice"]["ok"], 5);  // three by REST, two by aifed logs
  EXPECT_EQ(outcomes["bob"]["denied"], 2);
  EXPECT_EQ(outcomes["ops-" + site]["denied"], 2);
}

TEST_F(JobOutputEndToEndTest, FollowPrintsTheOutputUntilTheJobEnds) {
  std::string id = submitAsAlice(20);  // 2 s on the wall clock
  CliRun follow = aifed(alice_, {"logs", id, "--follow", "--interval", "0.2"});
  EXPECT_EQ(follow.code, 0) << follow.err;
  EXPECT_EQ(state(id), "completed");
  std::string path(getOk("/api/v1/jobs/" + id).at("at_site").at("stdout_path").as_string());
  EXPECT_EQ(follow.out, testing_support::readTestFile(path)) << "all of it, once";
  EXPECT_THAT(follow.out, EndsWith(": completed, exit code 0\n"));
}

TEST_F(JobOutputEndToEndTest, NoSiteNoOutput) {
  HttpResult unknown = call("GET", "/api/v1/jobs/j-999999/output");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  // With every site drained a job waits in the queue: it has no output anywhere.
  for (const char* site : {"site-a", "site-b", "site-c"}) {
    HttpResult d = call("POST", std::string("/api/v1/sites/") + site + "/drain", "{}");
    ASSERT_EQ(d.status, 200) << d.body;
  }
  json::object spec{{"nodes", 1}, {"walltime_s", 60}, {"project", "llm"}};
  HttpResult r = call("POST", "/api/v1/jobs", json::serialize(spec), alice_);
  ASSERT_EQ(r.status, 201) << r.body;
  std::string id(json::parse(r.body).at("id").as_string());
  HttpResult none = call("GET", "/api/v1/jobs/" + id + "/output", "", alice_);
  EXPECT_EQ(none.status, 404) << none.body;
  EXPECT_EQ(json::parse(none.body).at("error").at("code"), "no_attempt");
}

TEST_F(JobOutputEndToEndTest, AnUnreachableSiteIsA503WithRetryAfter) {
  std::string id = submitAsAlice(2);
  ASSERT_TRUE(waitFor([&] { return state(id) == "completed"; }, 30s)) << state(id);
  std::string site(getOk("/api/v1/jobs/" + id).at("site").as_string());
  ASSERT_TRUE(fed_->stopAgent(site, SIGKILL).ok());
  ASSERT_TRUE(waitFor(
      [&] {
        json::value s = getOk("/api/v1/sites/" + site);
        return s.is_object() && s.at("state") == "unreachable";
      },
      20s));
  HttpResult r = call("GET", "/api/v1/jobs/" + id + "/output", "", alice_);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(json::parse(r.body).at("error").at("code"), "site_unreachable");
}

}  // namespace
}  // namespace aifed::cli
