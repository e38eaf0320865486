// The coordinator's database on a small tmpfs, filled while a stream of submissions runs,
// then freed. Target (issue 12): a submission whose commit fails is answered 503
// unavailable with Retry-After and no file path; nothing of it stays in memory, reaches an
// agent or is acknowledged; once space returns, the same coordinator serves again. A
// restart at the end makes anything that lived only in memory show as a violation.
#include <signal.h>
#include <sys/types.h>

#include <thread>

#include "tests/chaos/chaos_fixture.h"
#include "tests/chaos/host_faults.h"

namespace aifed::chaos {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int64_t kTmpfsBytes = int64_t{8} << 20;

class DiskFullTest : public ChaosTest {
 protected:
  void SetUp() override {
    if (std::string why = whyNotRoot(); !why.empty()) GTEST_SKIP() << why;
    cli::LocalFederationOptions o = chaosOptions();
    o.coordinator_database = "coordb/coordinator.db";
    ASSERT_NO_FATAL_FAILURE(prepare(o));
    auto mount = TmpfsMount::create(state_ / "coordb", kTmpfsBytes);
    ASSERT_TRUE(mount.ok()) << mount.status().toString();
    tmpfs_ = std::move(*mount);
    ASSERT_NO_FATAL_FAILURE(startCoordinator());
    ASSERT_NO_FATAL_FAILURE(startAgents());
  }
  void TearDown() override {
    if (fed_) fed_->stopAll();
    if (tmpfs_ && HasFailure()) tmpfs_->keepContentsIn(state_ / "coordb-at-end");
    tmpfs_.reset();  // unmounted before the state directory goes
    ChaosTest::TearDown();
  }

  // The answers of the stream after `from` (an index into its submissions).
  std::vector<Submission> since(size_t from) {
    std::vector<Submission> all = stream().submissions();
    return {all.begin() + static_cast<std::ptrdiff_t>(std::min(from, all.size())), all.end()};
  }
  int count(const std::vector<Submission>& s, int status) {
    int n = 0;
    for (const Submission& x : s) n += x.http_status == status ? 1 : 0;
    return n;
  }

  std::unique_ptr<TmpfsMount> tmpfs_;
};

// One POST with curl, headers included (the CLI's client does not show headers); recorded
// with the stream's submissions, as the checker must know of it.
std::string curlSubmit(const cli::LocalFederation& fed, SubmissionStream& stream) {
  Submission probe;
  probe.name = "disk-full-probe";
  probe.sent_at = wallClockNow();
  Result<agent::CommandOutput> out = runCommand(
      {"curl", "-sk", "-i", "-m", "10", "-H", "Authorization: Bearer " + fed.adminToken(),
       "-H", "Content-Type: application/json", "-d",
       R"({"name":"disk-full-probe","project":"chaos","nodes":1,"gpus_per_node":1,)"
       R"("gpu_type":"h100","walltime_s":600,"simulated_runtime_s":60})",
       fed.baseUrl() + "/api/v1/jobs"});
  probe.answered_at = wallClockNow();
  std::string text = out.ok() ? out->out : "";
  // "HTTP/1.1 503 Service Unavailable"
  if (text.rfind("HTTP/", 0) == 0) probe.http_status = std::atoi(text.c_str() + text.find(' '));
  if (probe.http_status == 201) {
    size_t at = text.find("\"id\":\"");
    if (at != std::string::npos) {
      probe.job_id = text.substr(at + 6, text.find('"', at + 6) - at - 6);
    }
  } else if (probe.http_status >= 400) {
    probe.error_code = text.find("\"unavailable\"") != std::string::npos ? "unavailable" : "?";
  }
  stream.record(probe);
  return out.ok() ? text : "curl failed: " + out.status().toString();
}

// The errors among `answers` that are not 503 unavailable, as "name: status code" lines.
std::string otherErrors(const std::vector<Submission>& answers) {
  std::string out;
  for (const Submission& s : answers) {
    if (s.http_status >= 400 && (s.http_status != 503 || s.error_code != "unavailable")) {
      out += "  " + s.name + ": " + std::to_string(s.http_status) + " " + s.error_code + "\n";
    }
  }
  return out;
}

TEST_F(DiskFullTest, SubmissionsWhileTheDatabaseDiskIsFullAre503AndNothingIsLost) {
  startStream(6, {}, "full");
  std::this_thread::sleep_for(3s);
  ASSERT_GT(stream().answered(201), 5) << "the stream did not start";

  size_t fill_index = stream().submissions().size();
  Result<int64_t> filled = tmpfs_->fill();
  ASSERT_TRUE(filled.ok()) << filled.status().toString();
  pid_t coordinator = fed_->pid("coordinator");
  // Commits fail once the WAL must grow: wait for the 503s.
  bool refused = waitFor([&] { return count(since(fill_index), 503) >= 5; }, 30s);
  std::string probe = curlSubmit(*fed_, stream());
  std::this_thread::sleep_for(2s);
  std::vector<Submission> during = since(fill_index);
  tmpfs_->release();
  size_t free_index = stream().submissions().size();

  EXPECT_TRUE(refused) << "no 503 within 30 s of the disk filling: " << count(during, 201)
                       << " x 201, " << count(during, 500) << " x 500, " << count(during, 0)
                       << " unanswered";
  std::string others = otherErrors(during);
  EXPECT_TRUE(others.empty()) << "errors other than 503 unavailable while the disk was full:\n"
                              << others.substr(0, 2000);
  if (refused) {  // the probe went out while the disk was still full
    EXPECT_NE(probe.find(" 503"), std::string::npos) << probe;
    EXPECT_NE(probe.find("Retry-After"), std::string::npos) << probe;
  }
  EXPECT_EQ(probe.find(state_.string()), std::string::npos) << "a path in the answer:\n" << probe;
  EXPECT_EQ(probe.find("coordinator.db"), std::string::npos) << probe;

  // Space is back: the same process serves again.
  EXPECT_TRUE(waitFor([&] { return count(since(free_index), 201) >= 5; }, 30s))
      << "no 201 within 30 s of space returning";
  EXPECT_EQ(fed_->pid("coordinator"), coordinator) << "the coordinator restarted";
  EXPECT_TRUE(fed_->running("coordinator"));
  stream().stop();

  // What lived only in memory goes now.
  ASSERT_TRUE(fed_->stopCoordinator(SIGKILL).ok());
  ASSERT_TRUE(fed_->startCoordinator().ok());
  EXPECT_TRUE(waitDrained(120s)) << "not drained in 120 s";
  check(checkInput());
}

}  // namespace
}  // namespace aifed::chaos
