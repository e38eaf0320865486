// A site that says yes on its own terms, against the real Slurm with slurmdbd: the agent
// maps two federation users to two local users (aifed-alice, aifed-bob: created by
// scripts/test-slurm.sh with Slurm accounts llm-eu and bio-ai), submits as them with
// `sbatch --uid/--gid`, and reports what `sacct` says they used; the coordinator charges
// the projects from it. Its rules refuse an unmapped user, a too-large job, a partition
// the project may not use and an `#SBATCH` line, each naming the rule.
//
// Needs root (the cluster, the users); skips with a message otherwise.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>

#include "site-agent/site_admission.h"
#include "tests/slurm/slurm_fixture.h"

namespace aifed::slurm_test {
namespace {

class SlurmSiteRulesTest : public SlurmIntegrationTest {
 protected:
  std::string extraAgentConfig() const override {
    std::string map = (state_ / "users.map").string();
    std::ofstream out(map, std::ios::trunc);
    out << "# federation-user  project  local-user   account\n"
        << "alice@csc.fi       llm-eu   aifed-alice  llm-eu\n"
        << "/^(.+)@kth\\.se$/  bio-ai   aifed-\\1     {project}\n";
    return "\n[rules]\n"
           "projects = [\"llm-eu\", \"bio-ai\", \"it\"]\n"
           "max_gpus = 2\n"
           "partitions = { \"*\" = [\"gpu\"] }\n"
           "sbatch_directives = \"refuse\"\n"
           "\n[identity]\n"
           "map_file = \"" +
           map + "\"\n";
  }

  JobSpec specFor(const std::string& user, const std::string& project, int gpus,
                  const std::string& script) {
    JobSpec s = spec(script, 60s);
    s.user = user;
    s.project = project;
    s.gpus_per_node = gpus;
    return s;
  }
  // A token of `role` for federation user `user` in `project`; its secret.
  std::string tokenFor(const std::string& user, const std::string& project) {
    json::object body{{"name", user}, {"user", user}, {"role", "submitter"},
                      {"scope", json::array{json::value(project)}}};
    auto r = client_->request("POST", "/api/v1/tokens", json::serialize(body));
    EXPECT_TRUE(r.ok() && r->status == 201) << (r.ok() ? r->body : r.status().toString());
    return r.ok() && r->status == 201 ? std::string(json::parse(r->body).at("token").as_string())
                                      : "";
  }
  // GET as the holder of `token`.
  std::pair<int, json::value> getAs(const std::string& target, const std::string& token) {
    cli::HttpClientOptions o = fed_->clientOptions();
    o.bearer_token = token;
    cli::HttpClient client(fed_->baseUrl(), o);
    auto r = client.request("GET", target, "");
    if (!r.ok()) return {0, json::value()};
    return {r->status, r->body.empty() ? json::value() : json::parse(r->body)};
  }
  json::object explain(const std::string& id) {
    json::value v = get("/api/v1/jobs/" + id + "/explain");
    return v.is_object() ? v.as_object() : json::object{};
  }
  // The site's verdict in the job's latest decision: {rejected_by, reason}.
  std::pair<std::string, std::string> verdict(const std::string& id) {
    json::object e = explain(id);
    if (!e.contains("decision") || !e.at("decision").is_object()) return {};
    for (const json::value& s : e.at("decision").at("sites").as_array()) {
      if (s.at("site").as_string() == kSite) {
        return {std::string(s.at("rejected_by").as_string()),
                std::string(s.at("reason").as_string())};
      }
    }
    return {};
  }
  // sacct's record of a Slurm job: user, account, allocated GPUs and elapsed seconds.
  struct Accounted {
    std::string user, account;
    int gpus = 0;
    int64_t elapsed_s = -1;
  };
  Accounted sacct(const std::string& local_id) {
    auto out = SlurmCluster::get().slurm({"sacct", "--json", "-X", "-j", local_id});
    if (out.exit_code != 0) return {};
    auto jobs = SlurmBackend::parseSacct(out.out);
    if (!jobs.ok() || jobs->empty()) return {};
    const SlurmBackend::SlurmJob& j = jobs->front();
    return {j.user, j.account, j.alloc_gpus, j.elapsed_s};
  }
};

TEST_F(SlurmSiteRulesTest, SlurmTwoUsersRunAsTheirOwnAccountsAndAreChargedWhatSacctSays) {
  // The agent published its rules; the coordinator shows them on the site.
  ASSERT_TRUE(waitFor([&] { return site().at("rules").is_object(); }, 10s));
  EXPECT_EQ(site().at("rules").at("max_gpus").as_int64(), 2);

  std::string a = submit(specFor("alice@csc.fi", "llm-eu", 2, "id -un\necho hello from alice\nsleep 2"));
  std::string b = submit(specFor("bob@kth.se", "bio-ai", 1, "id -un\nsleep 1"));
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  ASSERT_TRUE(waitState(a, "completed", 90s)) << state(a) << " " << json::serialize(job(a));
  ASSERT_TRUE(waitState(b, "completed", 90s)) << state(b) << " " << json::serialize(job(b));

  struct Want {
    std::string id, local_user, account;
    int gpus;
  };
  for (const Want& w : {Want{a, "aifed-alice", "llm-eu", 2}, Want{b, "aifed-bob", "bio-ai", 1}}) {
    SCOPED_TRACE(w.id);
    json::object j = job(w.id);
    const json::object& at = j.at("at_site").as_object();
    EXPECT_EQ(at.at("local_user").as_string(), w.local_user);
    EXPECT_EQ(at.at("account").as_string(), w.account);
    // The output belongs to the job's owner and holds what the job printed as them.
    std::string out_path(at.at("stdout_path").as_string());
    agent::SystemUserDirectory users;
    std::optional<agent::UnixAccount> owner = users.find(w.local_user);
    ASSERT_TRUE(owner.has_value());
    EXPECT_EQ(out_path.rfind(owner->home + "/", 0), 0u) << out_path;
    struct stat st {};
    ASSERT_EQ(::stat(out_path.c_str(), &st), 0) << out_path;
    EXPECT_EQ(st.st_uid, owner->uid);
    EXPECT_NE(testing_support::readTestFile(out_path).find(w.local_user), std::string::npos);
    // squeue, which still holds the ended job (MinJobAge), shows it under its own user.
    std::string local(j.at("local_id").as_string());
    auto sq = SlurmCluster::get().slurm({"squeue", "--json"});
    ASSERT_EQ(sq.exit_code, 0) << sq.err;
    std::string squeue_user;
    const json::value squeue = json::parse(sq.out);
    for (const json::value& v : squeue.at("jobs").as_array()) {
      if (std::to_string(v.at("job_id").to_number<int64_t>()) == local) {
        squeue_user = std::string(v.at("user_name").as_string());
      }
    }
    EXPECT_EQ(squeue_user, w.local_user);

    // sacct shows the job under its own user and account...
    const std::string& local_id = local;
    Accounted acc;
    ASSERT_TRUE(waitFor(
        [&] {
          acc = sacct(local_id);
          return acc.elapsed_s >= 0;
        },
        30s));
    EXPECT_EQ(acc.user, w.local_user);
    EXPECT_EQ(acc.account, w.account);
    EXPECT_EQ(acc.gpus, w.gpus);
    // ...and the coordinator charges exactly that, as the agent read it from sacct.
    ASSERT_TRUE(waitFor([&] { return job(w.id).at("at_site").at("usage").is_object(); }, 60s))
        << json::serialize(job(w.id));
    const json::object usage = job(w.id).at("at_site").at("usage").as_object();
    EXPECT_EQ(usage.at("source").as_string(), "sacct");
    EXPECT_EQ(usage.at("gpus").as_int64(), w.gpus);
    EXPECT_DOUBLE_EQ(usage.at("elapsed_s").to_number<double>(), double(acc.elapsed_s));
    std::string project = w.account;  // same names in this federation
    // The owner reads the job's output through its agent (GET /output is what `aifed
    // logs` calls); the other user of the test gets nothing, not even that the job exists.
    std::string owner_token = tokenFor(w.id == a ? "alice@csc.fi" : "bob@kth.se", project);
    std::string other_token =
        tokenFor(w.id == a ? "bob@kth.se" : "alice@csc.fi", w.id == a ? "bio-ai" : "llm-eu");
    auto [status, out] = getAs("/api/v1/jobs/" + w.id + "/output", owner_token);
    ASSERT_EQ(status, 200) << json::serialize(out);
    EXPECT_EQ(out.at("path").as_string(), out_path);
    EXPECT_NE(std::string(out.at("data").as_string()).find(w.local_user), std::string::npos)
        << json::serialize(out);
    EXPECT_EQ(getAs("/api/v1/jobs/" + w.id + "/output", other_token).first, 404);
    json::value p = get("/api/v1/projects/" + project);
    ASSERT_TRUE(p.is_object());
    EXPECT_NEAR(p.at("used_gpu_hours").to_number<double>(), w.gpus * acc.elapsed_s / 3600.0, 1e-9);
  }
}

TEST_F(SlurmSiteRulesTest, SlurmEachRuleRefusesNamingItself) {
  ASSERT_TRUE(waitFor(
      [&] { return site().at("rules").is_object() && !site().at("partitions").as_array().empty(); },
      10s));
  // The broker knows the published rules: these never reach the site.
  std::string big = submit(specFor("alice@csc.fi", "llm-eu", 4, "sleep 1"));
  JobSpec cpu = specFor("alice@csc.fi", "llm-eu", 1, "sleep 1");
  cpu.partition = "cpu";
  std::string part = submit(cpu);
  std::string directive =
      submit(specFor("alice@csc.fi", "llm-eu", 1, "#SBATCH --account=root\nsleep 1"));
  for (const auto& [job, rule] : {std::pair{big, "max_gpus"}, {part, "partition"},
                                 {directive, "sbatch_directive"}}) {
    const std::string& id = job;  // a lambda may not capture a structured binding (clang 14)
    SCOPED_TRACE(id);
    std::pair<std::string, std::string> v;
    ASSERT_TRUE(waitFor(
        [&] {
          v = verdict(id);
          return v.first == "site-rules";
        },
        10s));
    EXPECT_EQ(v.first, "site-rules");
    EXPECT_NE(v.second.find(rule), std::string::npos) << v.second;
    EXPECT_EQ(state(id), "queued");
  }
  // Only the site knows its mapping: an unmapped user is refused there, at DISPATCH, and
  // the job is not sent back (the site is excluded for it; it waits for another site).
  std::string stranger = submit(specFor("mallory@example.org", "llm-eu", 1, "sleep 1"));
  ASSERT_TRUE(waitFor(
      [&] {
        json::object j = job(stranger);
        return j.contains("excluded_sites") && !j.at("excluded_sites").as_array().empty();
      },
      30s))
      << json::serialize(job(stranger));
  json::object j = job(stranger);
  std::string reason(j.at("reason").as_string());
  EXPECT_NE(reason.find("mallory@example.org"), std::string::npos) << reason;
  EXPECT_NE(reason.find("no local account"), std::string::npos) << reason;
  EXPECT_NE(reason.find(kSite), std::string::npos) << reason;
  EXPECT_TRUE(tagged(stranger).empty()) << "an unmapped user's job reached Slurm";
}

}  // namespace
}  // namespace aifed::slurm_test
