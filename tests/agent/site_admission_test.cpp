// The site's last word (site-agent/site_admission.h, identity_map.h, usage_reports.h): map
// files and map commands, the rules on every DISPATCH, and the usage an ended attempt
// reports. Against a real SimulatedBackend, real processes for the map command and a user
// directory the test fixes.
#include "site-agent/site_admission.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "site-agent/backends/simulated_backend.h"
#include "site-agent/identity_map.h"
#include "site-agent/job_commands.h"
#include "site-agent/usage_reports.h"

namespace aifed::agent {
namespace {

class FixedUsers final : public UserDirectory {
 public:
  std::optional<UnixAccount> find(const std::string& name) override {
    auto it = users.find(name);
    return it == users.end() ? std::nullopt : std::optional<UnixAccount>(it->second);
  }
  std::map<std::string, UnixAccount> users = {{"alice", {5001, 5001, "/home/alice"}},
                                              {"aifed-bob", {5002, 5002, "/home/bob"}},
                                              {"toor", {0, 0, "/root"}}};
};

class MemoryLedger final : public DispatchLedger {
 public:
  Result<std::optional<DispatchRecord>> findDispatch(const JobTag& tag) override {
    auto it = records.find({tag.job_id, tag.attempt});
    return it == records.end() ? std::optional<DispatchRecord>()
                               : std::optional<DispatchRecord>(it->second);
  }
  Status saveDispatch(const DispatchRecord& r) override {
    records[{r.tag.job_id, r.tag.attempt}] = r;
    return Status::Ok();
  }
  std::map<std::pair<std::string, int>, DispatchRecord> records;
};

JobSpec job(const std::string& user, const std::string& project, int gpus = 1) {
  JobSpec s;
  s.user = user;
  s.project = project;
  s.nodes = 1;
  s.gpus_per_node = gpus;
  s.gpu_type = "h100";
  s.walltime = std::chrono::hours(1);
  s.script = "#!/bin/bash\nhostname\n";
  return s;
}

const char* kMap = R"(# federation-user   project  local-user  account
alice@csc.fi          llm-eu   alice       llm-eu      # a comment after a rule
/^(.+)@kth\.se$/      *        aifed-\1    {project}
*                     guest    nobody-here -
)";

TEST(MapFileTest, FirstMatchingRuleWinsWithGroupsAndPlaceholders) {
  auto map = MapFile::parse(kMap, "users.map");
  ASSERT_TRUE(map.ok()) << map.status().toString();
  EXPECT_EQ((*map)->size(), 3u);
  EXPECT_EQ((*map)->lookup("alice@csc.fi", "llm-eu"), (Mapping{true, "alice", "llm-eu", ""}));
  EXPECT_EQ((*map)->lookup("bob@kth.se", "bio-ai"), (Mapping{true, "aifed-bob", "bio-ai", ""}));
  EXPECT_EQ((*map)->lookup("eve@csc.fi", "guest"), (Mapping{true, "nobody-here", "", ""}));
  Mapping no = (*map)->lookup("alice@csc.fi", "bio-ai");
  EXPECT_FALSE(no.mapped);
  EXPECT_NE(no.reason.find("alice@csc.fi in project bio-ai has no local account"),
            std::string::npos)
      << no.reason;
  // A group that would make an invalid user name refuses, naming the rule's line.
  Mapping bad = (*map)->lookup("Bad User@kth.se", "x");
  EXPECT_FALSE(bad.mapped);
  EXPECT_NE(bad.reason.find("users.map:3"), std::string::npos) << bad.reason;
}

TEST(MapFileTest, MalformedRulesNameTheLine) {
  for (auto [text, want] : {std::pair{"alice llm-eu\n", "users.map:1: a rule is"},
                            {"# c\nalice p u a extra\n", "users.map:2: a rule is"},
                            {"/(unclosed/ p u\n", "users.map:1: bad regular expression"},
                            {"alice p \\1\n", "users.map:1: \\1 names a group"}}) {
    auto map = MapFile::parse(text, "users.map");
    ASSERT_FALSE(map.ok()) << text;
    EXPECT_NE(map.status().message().find(want), std::string::npos) << map.status().message();
  }
}

TEST(MapCommandTest, MapsRefusesAndNamesItsFailures) {
  std::string dir = (std::filesystem::temp_directory_path() / "aifed-map-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  std::string path = dir + "/map.sh";
  {
    std::ofstream out(path);
    out << "#!/bin/sh\n"
        << "case \"$1\" in\n"
        << "  alice@csc.fi) echo \"alice $2\" ;;\n"
        << "  bob@kth.se) echo 'not on the list' >&2; exit 1 ;;\n"
        << "  slow@x) sleep 5 ;;\n"
        << "  *) exit 3 ;;\n"
        << "esac\n";
  }
  ::chmod(path.c_str(), 0755);
  ProcessRunner runner;
  MapCommand map(path, runner, std::chrono::milliseconds(500));
  EXPECT_EQ(map.lookup("alice@csc.fi", "llm-eu"), (Mapping{true, "alice", "llm-eu", ""}));
  Mapping bob = map.lookup("bob@kth.se", "bio-ai");
  EXPECT_FALSE(bob.mapped);
  EXPECT_NE(bob.reason.find("not on the list"), std::string::npos) << bob.reason;
  Mapping other = map.lookup("eve@x", "p");
  EXPECT_FALSE(other.mapped);
  EXPECT_NE(other.reason.find("mapping command failed (exit 3"), std::string::npos)
      << other.reason;
  Mapping slow = map.lookup("slow@x", "p");
  EXPECT_FALSE(slow.mapped);
  EXPECT_NE(slow.reason.find("mapping command failed"), std::string::npos) << slow.reason;
  std::filesystem::remove_all(dir);
}

class SiteAdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rules_.projects = {"llm-eu", "bio-ai", "guest"};
    rules_.max_gpus = 4;
    rules_.partitions = {{"llm-eu", {"gpu", "debug"}}, {"*", {"gpu"}}};
    rules_.qos = {{"llm-eu", "high"}};
    map_ = std::move(MapFile::parse(kMap, "users.map").value());
  }
  SiteAdmission admission() { return SiteAdmission("mimer", rules_, map_.get(), users_); }

  SiteRules rules_;
  std::unique_ptr<MapFile> map_;
  FixedUsers users_;
};

TEST_F(SiteAdmissionTest, AMappedJobRunsAsItsUserWithTheRulesPartitionAndQos) {
  auto verdict = admission().admit(job("alice@csc.fi", "llm-eu"));
  ASSERT_TRUE(std::holds_alternative<Admitted>(verdict));
  const LocalIdentity& id = std::get<Admitted>(verdict).identity;
  EXPECT_EQ(id.user, "alice");
  EXPECT_EQ(id.uid, 5001u);
  EXPECT_EQ(id.gid, 5001u);
  EXPECT_EQ(id.home, "/home/alice");
  EXPECT_EQ(id.account, "llm-eu");
  EXPECT_EQ(id.partition, "gpu");
  EXPECT_EQ(id.qos, "high");
}

TEST_F(SiteAdmissionTest, EachRefusalNamesItsRule) {
  auto rule = [&](const JobSpec& s) {
    auto v = admission().admit(s);
    return std::holds_alternative<RuleRefusal>(v) ? std::get<RuleRefusal>(v).rule : "admitted";
  };
  EXPECT_EQ(rule(job("alice@csc.fi", "other")), "project");
  EXPECT_EQ(rule(job("alice@csc.fi", "llm-eu", 8)), "max_gpus");
  JobSpec cpu = job("alice@csc.fi", "llm-eu");
  cpu.partition = "cpu";
  EXPECT_EQ(rule(cpu), "partition");
  JobSpec directive = job("alice@csc.fi", "llm-eu");
  directive.script = "#!/bin/bash\n#SBATCH --account=root\nhostname\n";
  EXPECT_EQ(rule(directive), "sbatch_directive");
  EXPECT_EQ(rule(job("mallory@example.org", "llm-eu")), "unmapped_user");
  // Mapped to a user this host does not have, or to uid 0: refused, never run as root.
  EXPECT_EQ(rule(job("eve@csc.fi", "guest")), "unmapped_user");
  users_.users["nobody-here"] = {0, 0, "/"};
  auto root = admission().admit(job("eve@csc.fi", "guest"));
  ASSERT_TRUE(std::holds_alternative<RuleRefusal>(root));
  EXPECT_NE(std::get<RuleRefusal>(root).reason.find("never run as root"), std::string::npos);
}

TEST_F(SiteAdmissionTest, StrippedDirectivesLeaveTheRestOfTheScript) {
  rules_.directives = DirectivePolicy::kStrip;
  JobSpec s = job("alice@csc.fi", "llm-eu");
  s.script = "#!/bin/bash\n#SBATCH --uid=0\n  #sbatch -A root\nhostname\n";
  auto verdict = admission().admit(s);
  ASSERT_TRUE(std::holds_alternative<Admitted>(verdict));
  const Admitted& a = std::get<Admitted>(verdict);
  EXPECT_EQ(a.stripped_directives, 2);
  EXPECT_TRUE(sbatchDirectives(a.spec.script).empty()) << a.spec.script;
  EXPECT_NE(a.spec.script.find("hostname"), std::string::npos);
}

TEST_F(SiteAdmissionTest, TheAgentRefusesOnDispatchAndAnswersARepeatTheSameWay) {
  PartitionConfig p;
  p.name = "gpu";
  p.nodes = 2;
  p.node_type = NodeType{"h100", 4, 64, 512};
  auto backend = SimulatedBackend::create({p}).value();
  MemoryLedger ledger;
  SiteAdmission site = admission();
  JobCommands commands(*backend, ledger, {}, &site);
  Time now = fromMillis(1'800'000'000'000);
  Dispatch d{"j-1", 1, job("mallory@example.org", "llm-eu")};
  std::optional<DispatchAck> ack = commands.dispatch(d, now);
  ASSERT_TRUE(ack.has_value());
  EXPECT_FALSE(ack->accepted);
  EXPECT_EQ(ack->rule, "unmapped_user");
  EXPECT_NE(ack->reason.find("(site mimer)"), std::string::npos) << ack->reason;
  EXPECT_TRUE(backend->activeJobs().empty());
  EXPECT_EQ(commands.dispatch(d, now), ack);  // a repeat: the same answer, from the record

  Dispatch ok{"j-2", 1, job("alice@csc.fi", "llm-eu")};
  std::optional<DispatchAck> yes = commands.dispatch(ok, now);
  ASSERT_TRUE(yes.has_value() && yes->accepted);
  EXPECT_EQ(yes->local_user, "alice");
  EXPECT_EQ(yes->account, "llm-eu");
  EXPECT_TRUE(yes->rule.empty());
  const DispatchRecord& r = ledger.records.at({"j-2", 1});
  EXPECT_EQ(r.identity.uid, 5001u);
  EXPECT_TRUE(r.identity.home.empty());  // not part of the record
}

TEST(UsageReportsTest, WithoutAccountingTheAgentsOwnRecordIsReported) {
  PartitionConfig p;
  p.name = "gpu";
  p.nodes = 1;
  p.node_type = NodeType{"h100", 4, 64, 512};
  auto backend = SimulatedBackend::create({p}).value();
  DispatchRecord r;
  r.tag = {"j-3", 2};
  r.local_id = "7";
  r.accepted = true;
  r.spec = job("alice@csc.fi", "llm-eu", 4);
  r.spec.nodes = 1;
  r.state = JobState::kCompleted;
  r.started_at = fromMillis(1'800'000'000'000);
  r.ended_at = fromMillis(1'800'000'090'000);
  r.identity.user = "alice";
  auto u = usageOf(*backend, r, *r.ended_at, std::chrono::hours(1));
  ASSERT_TRUE(u.ok() && u->has_value());
  EXPECT_EQ((*u)->source, "scheduler");
  EXPECT_EQ((*u)->elapsed, std::chrono::seconds(90));
  EXPECT_EQ((*u)->gpus, 4);
  EXPECT_EQ((*u)->nodes, 1);
  EXPECT_EQ((*u)->local_user, "alice");
  // An attempt that never started used nothing.
  r.started_at.reset();
  u = usageOf(*backend, r, *r.ended_at, std::chrono::hours(1));
  ASSERT_TRUE(u.ok() && u->has_value());
  EXPECT_EQ((*u)->gpus, 0);
  EXPECT_EQ((*u)->elapsed, Duration::zero());
}

}  // namespace
}  // namespace aifed::agent
