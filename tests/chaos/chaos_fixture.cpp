#include "tests/chaos/chaos_fixture.h"

#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

namespace aifed::chaos {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string sourcePath(const std::string& relative) {
  return std::string(AIFED_SOURCE_DIR) + "/" + relative;
}

Time wallClockNow() {
  return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

cli::LocalFederationOptions ChaosTest::chaosOptions() {
  cli::LocalFederationOptions o;
  o.federation_file = sourcePath("tests/chaos/federation-chaos.toml");
  o.speedup = 60;
  o.heartbeat_interval_ms = 200;
  o.suspect_after_missed = 3;
  o.unreachable_after_missed = 6;
  o.retry_interval_ms = 500;
  o.log_level = "debug";
  return o;
}

std::string binDir() {
  const char* env = std::getenv("AIFED_BIN_DIR");
  return env != nullptr && *env != '\0' ? env : AIFED_BINARY_DIR;
}

void ChaosTest::prepare(cli::LocalFederationOptions o) {
  if (o.bin_dir.empty()) o.bin_dir = binDir();
  ASSERT_NO_FATAL_FAILURE(prepareFederation("aifed-chaos", std::move(o)));
}

void ChaosTest::startAgents(std::vector<std::string> sites) {
  if (sites.empty()) sites = fed_->sites();
  for (const std::string& s : sites) ASSERT_TRUE(fed_->startAgent(s).ok()) << s;
  ASSERT_TRUE(waitSitesUp(sites, 30s)) << "sites did not come up; see " << state_ / "logs";
}

bool ChaosTest::waitSitesUp(const std::vector<std::string>& sites,
                            std::chrono::milliseconds limit) {
  return waitFor(
      [&] {
        std::map<std::string, std::string> states = siteStates();
        for (const std::string& s : sites) {
          if (states[s] != "up") return false;
        }
        return true;
      },
      limit);
}

std::map<std::string, std::string> ChaosTest::siteStates() {
  std::map<std::string, std::string> out;
  json::value v = getJson("/api/v1/sites");
  if (!v.is_object() || !v.as_object().contains("sites")) return out;
  for (const auto& s : v.at("sites").as_array()) {
    out[json::value_to<std::string>(s.at("id"))] = json::value_to<std::string>(s.at("state"));
  }
  return out;
}

void ChaosTest::startStream(double per_second, std::function<JobSpec(int)> make_spec,
                            const std::string& prefix) {
  StreamOptions o;
  o.base_url = fed_->baseUrl();
  o.client = fed_->clientOptions();
  o.per_second = per_second;
  o.make_spec = std::move(make_spec);
  o.prefix = prefix.empty() ? "job" : prefix;
  if (stream_) {
    stream_->stop();
    stream_->reshape(o.per_second, std::move(o.make_spec));
  } else {
    stream_ = std::make_unique<SubmissionStream>(std::move(o));
  }
  stream_->start();
}

void ChaosTest::killAgent(const std::string& site) {
  agent_kills_[site].push_back(wallClockNow());
  EXPECT_TRUE(fed_->stopAgent(site, SIGKILL).ok()) << site;
}

void ChaosTest::killCoordinator() {
  EXPECT_TRUE(fed_->stopCoordinator(SIGKILL).ok());
}

bool ChaosTest::waitDrained(std::chrono::seconds limit) {
  CheckInput in = checkInput();
  return waitFor(
      [&] {
        Result<Records> r = readRecords(in);
        if (!r.ok()) return false;
        for (const CoordinatorJob& j : r->jobs) {
          if (j.state != "completed" && j.state != "failed" && j.state != "cancelled" &&
              j.state != "timeout" && j.state != "node_fail" && j.state != "lost") {
            return false;
          }
        }
        for (const AgentAttempt& a : r->attempts) {
          if (a.accepted && (a.state == "pending" || a.state == "running")) return false;
        }
        return true;
      },
      limit);
}

CheckInput ChaosTest::checkInput() const {
  CheckInput in;
  if (stream_) in.submissions = stream_->submissions();
  in.coordinator_db = fed_->coordinatorDatabasePath();
  for (const std::string& site : fed_->sites()) {
    in.agent_dbs[site] = (state_ / "db" / (site + "-agent.db")).string();
  }
  in.agent_kills = agent_kills_;
  return in;
}

void ChaosTest::check(const CheckInput& in) {
  Result<CheckReport> report = checkFederation(in);
  ASSERT_TRUE(report.ok()) << report.status().toString();
  std::string text = report->toString();
  std::ofstream(state_ / "checker-report.txt") << text;
  if (report->ok()) std::cout << text;  // a failure prints it once, with the test's message
  EXPECT_TRUE(report->ok()) << text;
}

bool ChaosTest::waitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(200ms);
  }
  return done();
}

json::value ChaosTest::getJson(const std::string& target) {
  if (!client_) return nullptr;
  Result<cli::HttpResult> r = client_->request("GET", target, "");
  if (!r.ok() || r->status != 200) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  return ec ? json::value(nullptr) : v;
}

}  // namespace aifed::chaos
