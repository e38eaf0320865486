#include "protocol/types.h"

#include <gtest/gtest.h>

namespace aifed {
namespace {

JobSpec validSpec() {
  JobSpec spec;
  spec.name = "train llama";
  spec.project = "nordic-llm";
  spec.user = "alice";
  spec.nodes = 4;
  spec.gpus_per_node = 8;
  spec.gpu_type = "h200";
  spec.walltime = std::chrono::hours(12);
  return spec;
}

TEST(ValidateJobSpec, AcceptsAValidSpec) {
  EXPECT_TRUE(validateJobSpec(validSpec()).ok());
}

TEST(ValidateJobSpec, AcceptsACpuJobWithoutGpuType) {
  JobSpec spec = validSpec();
  spec.gpus_per_node = 0;
  spec.gpu_type = "";
  EXPECT_TRUE(validateJobSpec(spec).ok());
}

struct BadSpecCase {
  const char* what;
  void (*mutate)(JobSpec&);
  const char* field;
};

class ValidateJobSpecRejects : public ::testing::TestWithParam<BadSpecCase> {};

TEST_P(ValidateJobSpecRejects, NamingTheField) {
  JobSpec spec = validSpec();
  GetParam().mutate(spec);
  Status s = validateJobSpec(spec);
  ASSERT_FALSE(s.ok()) << GetParam().what;
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.field(), GetParam().field) << s.toString();
  EXPECT_FALSE(s.message().empty());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ValidateJobSpecRejects,
    ::testing::Values(
        BadSpecCase{"zero nodes", [](JobSpec& s) { s.nodes = 0; }, "nodes"},
        BadSpecCase{"negative nodes", [](JobSpec& s) { s.nodes = -2; }, "nodes"},
        BadSpecCase{"negative gpus", [](JobSpec& s) { s.gpus_per_node = -1; }, "gpus_per_node"},
        BadSpecCase{"negative cores", [](JobSpec& s) { s.cores_per_node = -1; }, "cores_per_node"},
        BadSpecCase{"negative memory", [](JobSpec& s) { s.memory_gib_per_node = -1; },
                    "memory_gib_per_node"},
        BadSpecCase{"zero walltime", [](JobSpec& s) { s.walltime = Duration(0); }, "walltime_s"},
        BadSpecCase{"negative walltime", [](JobSpec& s) { s.walltime = Duration(-5); },
                    "walltime_s"},
        BadSpecCase{"upper-case gpu type", [](JobSpec& s) { s.gpu_type = "H100"; }, "gpu_type"},
        BadSpecCase{"gpu type without gpus",
                    [](JobSpec& s) {
                      s.gpus_per_node = 0;
                      s.gpu_type = "h100";
                    },
                    "gpu_type"},
        BadSpecCase{"project with space", [](JobSpec& s) { s.project = "a b"; }, "project"},
        BadSpecCase{"user too long", [](JobSpec& s) { s.user = std::string(129, 'u'); }, "user"},
        BadSpecCase{"name with newline", [](JobSpec& s) { s.name = "a\nb"; }, "name"},
        BadSpecCase{"bad allowed site", [](JobSpec& s) { s.allowed_sites = {"Mimer"}; },
                    "allowed_sites[0]"},
        BadSpecCase{"bad allowed country",
                    [](JobSpec& s) {
                      s.allowed_countries = {"SE", "swe"};
                    },
                    "allowed_countries[1]"},
        BadSpecCase{"negative simulated runtime",
                    [](JobSpec& s) { s.simulated_runtime = Duration(-1000); },
                    "simulated_runtime_s"}));

TEST(ValidateJobSpec, WalltimeMessageSaysPositive) {
  JobSpec spec = validSpec();
  spec.walltime = Duration(0);
  EXPECT_EQ(validateJobSpec(spec).message(), "walltime must be positive");
}

TEST(JobState, NamesRoundTrip) {
  const std::vector<std::pair<JobState, std::string>> all = {
      {JobState::kQueued, "queued"},       {JobState::kDispatched, "dispatched"},
      {JobState::kPending, "pending"},     {JobState::kRunning, "running"},
      {JobState::kCompleted, "completed"}, {JobState::kFailed, "failed"},
      {JobState::kCancelled, "cancelled"}, {JobState::kTimeout, "timeout"},
      {JobState::kNodeFail, "node_fail"},  {JobState::kLost, "lost"},
  };
  for (const auto& [state, name] : all) {
    EXPECT_EQ(jobStateName(state), name);
    EXPECT_EQ(parseJobState(name), state);
  }
  EXPECT_EQ(parseJobState("Running"), std::nullopt);
  EXPECT_EQ(parseJobState(""), std::nullopt);
}

TEST(JobState, TerminalAndReportable) {
  EXPECT_FALSE(isTerminal(JobState::kQueued));
  EXPECT_FALSE(isTerminal(JobState::kDispatched));
  EXPECT_FALSE(isTerminal(JobState::kPending));
  EXPECT_FALSE(isTerminal(JobState::kRunning));
  for (JobState s : {JobState::kCompleted, JobState::kFailed, JobState::kCancelled,
                     JobState::kTimeout, JobState::kNodeFail, JobState::kLost}) {
    EXPECT_TRUE(isTerminal(s)) << jobStateName(s);
  }
  EXPECT_FALSE(isSiteReportable(JobState::kQueued));
  EXPECT_FALSE(isSiteReportable(JobState::kDispatched));
  // Protocol 1.1: a site reports `lost` for a job it no longer holds or stopped at the end
  // of its lease; the coordinator decides whether it is placed again.
  for (JobState s :
       {JobState::kPending, JobState::kRunning, JobState::kCompleted, JobState::kFailed,
        JobState::kCancelled, JobState::kTimeout, JobState::kNodeFail, JobState::kLost}) {
    EXPECT_TRUE(isSiteReportable(s)) << jobStateName(s);
  }
}

TEST(SiteState, NamesRoundTrip) {
  const std::vector<std::pair<SiteState, std::string>> all = {
      {SiteState::kUnknown, "unknown"},   {SiteState::kUp, "up"},
      {SiteState::kSuspect, "suspect"},   {SiteState::kUnreachable, "unreachable"},
      {SiteState::kDraining, "draining"},
  };
  for (const auto& [state, name] : all) {
    EXPECT_EQ(siteStateName(state), name);
    EXPECT_EQ(parseSiteState(name), state);
  }
  EXPECT_EQ(parseSiteState("down"), std::nullopt);
}

}  // namespace
}  // namespace aifed
