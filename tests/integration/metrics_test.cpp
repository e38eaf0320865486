// GET /metrics of a real coordinator with seven real agents on loopback: the page passes
// `promtool check metrics` (Debian package `prometheus`) and its values agree with what
// the federation did.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "cli/http_client.h"
#include "cli/local_federation.h"
#include "protocol/codec.h"
#include "tests/integration/local_federation_test.h"

namespace aifed::cli {
namespace {

namespace json = boost::json;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using namespace std::chrono_literals;

// The value of the sample whose name and labels are exactly `series`, e.g.
// `aifed_sites{state="up"}`; nullopt when the page has no such line.
std::optional<double> sampleValue(const std::string& page, const std::string& series) {
  std::istringstream lines(page);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

struct CommandResult {
  int status = -1;
  std::string output;
};

CommandResult run(const std::string& command) {
  CommandResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  r.status = pclose(p);
  return r;
}

// A WebSocket client of /api/v1/events over TLS, pinned to the coordinator's certificate
// by its SHA-256 fingerprint. A reader thread collects frames; the test waits on them.
class EventStream {
 public:
  EventStream() : ssl_(ssl::context::tls_client), ws_(io_, ssl_) {}
  ~EventStream() { close(); }

  Status connect(uint16_t port, const std::string& fingerprint, const std::string& token) {
    try {
      ssl_.set_verify_mode(ssl::verify_peer);
      ssl_.set_verify_callback([fingerprint](bool, ssl::verify_context& vc) {
        X509_STORE_CTX* store = vc.native_handle();
        if (X509_STORE_CTX_get_error_depth(store) != 0) return true;  // only the leaf is pinned
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        X509_digest(X509_STORE_CTX_get_current_cert(store), EVP_sha256(), md, &n);
        std::string hex;
        char byte[4];
        for (unsigned int i = 0; i < n; ++i) {
          std::snprintf(byte, sizeof byte, i ? ":%02X" : "%02X", md[i]);
          hex += byte;
        }
        return hex == fingerprint;
      });
      tcp::resolver resolver(io_);
      boost::asio::connect(beast::get_lowest_layer(ws_),
                           resolver.resolve("127.0.0.1", std::to_string(port)));
      ws_.next_layer().handshake(ssl::stream_base::client);
      ws_.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
        if (!token.empty()) req.set(beast::http::field::authorization, "Bearer " + token);
      }));
      ws_.handshake("127.0.0.1:" + std::to_string(port), "/api/v1/events");
    } catch (const std::exception& e) {
      return unavailable(std::string("events: ") + e.what());
    }
    reader_ = std::thread([this] {
      beast::flat_buffer buffer;
      boost::system::error_code ec;
      while (true) {
        ws_.read(buffer, ec);
        if (ec) {
          std::lock_guard<std::mutex> lock(mu_);
          if (ec == websocket::error::closed) close_code_ = static_cast<int>(ws_.reason().code);
          ended_ = true;
          break;
        }
        Frame f{std::chrono::steady_clock::now(),
                json::parse(beast::buffers_to_string(buffer.data())).as_object()};
        buffer.consume(buffer.size());
        std::lock_guard<std::mutex> lock(mu_);
        frames_.push_back(std::move(f));
      }
    });
    return Status::Ok();
  }

  struct Frame {
    std::chrono::steady_clock::time_point at;  // when it arrived
    json::object body;
  };
  // Every frame received so far, oldest first.
  std::vector<Frame> frames() {
    std::lock_guard<std::mutex> lock(mu_);
    return frames_;
  }

  // Whether the server ended the stream, and the close code it gave (0: none).
  bool ended() {
    std::lock_guard<std::mutex> lock(mu_);
    return ended_;
  }
  int closeCode() {
    std::lock_guard<std::mutex> lock(mu_);
    return close_code_;
  }

  void close() {
    if (!reader_.joinable()) return;
    boost::system::error_code ec;
    beast::get_lowest_layer(ws_).shutdown(tcp::socket::shutdown_both, ec);
    reader_.join();
  }

 private:
  boost::asio::io_context io_;
  ssl::context ssl_;
  websocket::stream<ssl::stream<tcp::socket>> ws_;
  std::thread reader_;
  std::mutex mu_;
  std::vector<Frame> frames_;
  bool ended_ = false;
  int close_code_ = 0;
};

class MetricsIntegrationTest : public testing::LocalFederationTest {
 protected:
  void SetUp() override {
    LocalFederationOptions o;
    o.federation_file = std::string(AIFED_SOURCE_DIR) + "/config/federation-7.toml";
    o.speedup = 10;
    o.heartbeat_interval_ms = 500;
    ASSERT_NO_FATAL_FAILURE(prepareFederation("aifed-metrics", std::move(o)));
    ASSERT_NO_FATAL_FAILURE(startCoordinator());
  }

  HttpResult request(const std::string& method, const std::string& target,
                     const std::string& body = "") {
    auto r = client_->request(method, target, body);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return r.ok() ? *r : HttpResult{};
  }
  std::string metrics() {
    HttpResult r = request("GET", "/metrics");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }
  bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return done();
  }
};

TEST_F(MetricsIntegrationTest, SevenSitesAndTheirJobsShowInAPageThatPromtoolAccepts) {
  for (const std::string& site : fed_->sites()) ASSERT_TRUE(fed_->startAgent(site).ok()) << site;
  ASSERT_EQ(fed_->sites().size(), 7u);
  ASSERT_TRUE(
      waitFor([&] { return sampleValue(metrics(), "aifed_sites{state=\"up\"}") == 7.0; }, 30s))
      << metrics();

  constexpr int kJobs = 20;
  for (int i = 0; i < kJobs; ++i) {
    JobSpec spec;
    spec.name = "metrics-" + std::to_string(i);
    spec.nodes = 1 + i % 3;
    spec.gpus_per_node = 4;
    spec.walltime = 60s;
    spec.simulated_runtime = Duration(1000 + (i % 5) * 500);  // 0.10-0.30 s at speedup 10
    HttpResult r = request("POST", "/api/v1/jobs", json::serialize(toJson(spec)));
    ASSERT_EQ(r.status, 201) << r.body;
  }
  request("GET", "/api/v1/jobs/j-does-not-exist");  // one 404 for the HTTP counters
  ASSERT_TRUE(waitFor(
      [&] { return sampleValue(metrics(), "aifed_jobs{state=\"completed\"}") == kJobs; }, 60s))
      << metrics();

  std::string page = metrics();
  std::filesystem::path file = state_ / "metrics.txt";
  std::ofstream(file) << page;
  CommandResult which = run("command -v promtool");
  ASSERT_EQ(which.status, 0) << "promtool not found: install the Debian package prometheus";
  CommandResult check = run("promtool check metrics < " + file.string());
  EXPECT_EQ(check.status, 0) << "promtool check metrics:\n" << check.output << "\npage:\n" << page;

  EXPECT_EQ(sampleValue(page, "aifed_sites{state=\"up\"}"), 7.0);
  EXPECT_EQ(sampleValue(page, "aifed_sites{state=\"unreachable\"}"), 0.0);
  EXPECT_EQ(sampleValue(page, "aifed_jobs{state=\"completed\"}"), double(kJobs));
  EXPECT_EQ(sampleValue(page, "aifed_jobs{state=\"queued\"}"), 0.0);
  // mimer's h200: 128 nodes of 8 in config/federation-7.toml, all idle again.
  EXPECT_EQ(
      sampleValue(page, "aifed_site_accelerators{site=\"mimer\",type=\"h200\",kind=\"total\"}"),
      1024.0);
  EXPECT_TRUE(waitFor(
      [&] {
        return sampleValue(metrics(),
                           "aifed_site_accelerators{site=\"mimer\",type=\"h200\",kind=\"free\"}") ==
               1024.0;
      },
      10s));
  // The submissions come one at a time, so each job is placed in a tick of its own.
  EXPECT_GE(*sampleValue(page, "aifed_placement_duration_seconds_count"), kJobs);
  EXPECT_GT(*sampleValue(page, "aifed_placement_duration_seconds_sum"), 0.0);
  EXPECT_GE(*sampleValue(page, "aifed_messages_received_total{type=\"HELLO\"}"), 7.0);
  EXPECT_GE(*sampleValue(page, "aifed_messages_received_total{type=\"CAPACITY\"}"), 7.0);
  EXPECT_GE(*sampleValue(page, "aifed_messages_received_total{type=\"JOB_STATUS\"}"), kJobs);
  // At least one DISPATCH per job (a slow acknowledgement brings a resend).
  EXPECT_GE(*sampleValue(page, "aifed_messages_sent_total{type=\"DISPATCH\"}"), kJobs);
  EXPECT_GE(*sampleValue(page, "aifed_messages_sent_total{type=\"WELCOME\"}"), 7.0);
  EXPECT_EQ(sampleValue(page, "aifed_http_requests_total{code=\"201\"}"), double(kJobs));
  EXPECT_EQ(sampleValue(page, "aifed_http_requests_total{code=\"404\"}"), 1.0);
  EXPECT_GE(*sampleValue(page, "aifed_handshakes_total{outcome=\"accepted\"}"), 7.0);
  EXPECT_EQ(sampleValue(page, "aifed_handshakes_total{outcome=\"refused\"}"), 0.0);
  double placed = 0;
  for (const std::string& site : fed_->sites()) {
    placed += sampleValue(page, "aifed_site_jobs_placed_total{site=\"" + site + "\"}").value_or(0);
  }
  EXPECT_EQ(placed, double(kJobs));
}

TEST_F(MetricsIntegrationTest, EventStreamSendsASnapshotThenAJobsTransitionsToCompleted) {
  for (const std::string& site : fed_->sites()) ASSERT_TRUE(fed_->startAgent(site).ok()) << site;
  ASSERT_TRUE(
      waitFor([&] { return sampleValue(metrics(), "aifed_sites{state=\"up\"}") == 7.0; }, 30s));
  EventStream events;
  HttpClientOptions options = fed_->clientOptions();
  ASSERT_TRUE(events.connect(fed_->httpPort(), options.fingerprint, options.bearer_token).ok());
  ASSERT_TRUE(waitFor([&] { return !events.frames().empty(); }, 10s)) << "no snapshot";
  const json::object snapshot = events.frames().front().body;
  EXPECT_EQ(snapshot.at("type"), "snapshot");
  ASSERT_EQ(snapshot.at("sites").as_array().size(), 7u);
  for (const json::value& site : snapshot.at("sites").as_array()) {
    EXPECT_EQ(site.at("state"), "up") << site.at("id");
  }
  EXPECT_EQ(snapshot.at("sites").as_array()[1].at("id"), "mimer") << "federation order";
  EXPECT_EQ(snapshot.at("federation").at("sites_up"), 7);

  JobSpec spec;
  spec.name = "watched";
  spec.nodes = 2;
  spec.gpus_per_node = 4;
  spec.gpu_type = "h200";  // only mimer has them
  spec.walltime = 60s;
  spec.simulated_runtime = 20000ms;  // 2 s at speedup 10: long enough to be seen running
  HttpResult r = request("POST", "/api/v1/jobs", json::serialize(toJson(spec)));
  ASSERT_EQ(r.status, 201) << r.body;
  std::string id = json::value_to<std::string>(json::parse(r.body).at("id"));

  auto transitions = [&] {
    std::vector<json::object> out;
    for (const EventStream::Frame& f : events.frames()) {
      if (f.body.at("type") == "job" && f.body.at("job").at("id") == json::value(id))
        out.push_back(f.body);
    }
    return out;
  };
  ASSERT_TRUE(waitFor(
      [&] {
        auto t = transitions();
        return !t.empty() && t.back().at("to") == "completed";
      },
      30s))
      << "transitions seen: " << transitions().size();
  std::vector<json::object> t = transitions();
  // A chain from "new" to completed: each event starts where the previous one ended.
  EXPECT_TRUE(t.front().at("from").is_null()) << json::serialize(t.front());
  for (size_t i = 1; i < t.size(); ++i) {
    EXPECT_EQ(t[i].at("from"), t[i - 1].at("to")) << json::serialize(t[i]);
  }
  EXPECT_EQ(t.back().at("job").at("site"), "mimer");
  EXPECT_EQ(t.back().at("job").at("exit_code"), 0);
  std::vector<std::string> path;
  for (const json::object& e : t) path.emplace_back(e.at("to").as_string());
  EXPECT_NE(std::find(path.begin(), path.end(), "running"), path.end())
      << "a 2 s job is seen running";

  // mimer's capacity changed with the job: site events came, at most one per 500 ms.
  ASSERT_TRUE(waitFor(
      [&] {
        for (const EventStream::Frame& f : events.frames()) {
          if (f.body.at("type") == "site" && f.body.at("site").at("id") == "mimer") return true;
        }
        return false;
      },
      10s));
  std::map<std::string, std::chrono::steady_clock::time_point> last;
  for (const EventStream::Frame& f : events.frames()) {
    if (f.body.at("type") != "site") continue;
    std::string site(f.body.at("site").at("id").as_string());
    if (auto it = last.find(site); it != last.end()) {
      // 500 ms apart when sent; allow for delivery jitter on a busy machine.
      EXPECT_GE(f.at - it->second, 400ms) << site;
    }
    last[site] = f.at;
  }
}

TEST_F(MetricsIntegrationTest, RevokingATokenEndsItsOpenEventStreams) {
  HttpResult created = request("POST", "/api/v1/tokens", R"({"name":"watcher","role":"viewer"})");
  ASSERT_EQ(created.status, 201) << created.body;
  json::value token = json::parse(created.body);
  std::string text = json::value_to<std::string>(token.at("token"));
  std::string token_id = json::value_to<std::string>(token.at("id"));
  HttpClientOptions options = fed_->clientOptions();
  EventStream watcher;
  ASSERT_TRUE(watcher.connect(fed_->httpPort(), options.fingerprint, text).ok());
  EventStream admin;
  ASSERT_TRUE(admin.connect(fed_->httpPort(), options.fingerprint, options.bearer_token).ok());
  ASSERT_TRUE(waitFor([&] { return !watcher.frames().empty() && !admin.frames().empty(); }, 10s));

  ASSERT_EQ(request("DELETE", "/api/v1/tokens/" + token_id, "").status, 200);
  ASSERT_TRUE(waitFor([&] { return watcher.ended(); }, 10s)) << "the stream stayed open";
  EXPECT_EQ(watcher.closeCode(), 1008);
  size_t seen = watcher.frames().size();

  // The admin's stream goes on and sees the next job; the revoked one saw nothing more.
  JobSpec spec;
  spec.nodes = 1;
  spec.walltime = 60s;
  HttpResult job = request("POST", "/api/v1/jobs", json::serialize(toJson(spec)));
  ASSERT_EQ(job.status, 201) << job.body;
  ASSERT_TRUE(waitFor(
      [&] {
        for (const EventStream::Frame& f : admin.frames()) {
          if (f.body.at("type") == "job") return true;
        }
        return false;
      },
      10s));
  EXPECT_FALSE(admin.ended());
  EXPECT_EQ(watcher.frames().size(), seen);
}

TEST_F(MetricsIntegrationTest, MetricsAndEventsNeedATokenAndMetricsRefuseSubmitters) {
  HttpClientOptions anonymous = fed_->clientOptions();
  anonymous.bearer_token.clear();
  HttpClient nobody(fed_->baseUrl(), anonymous);
  auto r = nobody.request("GET", "/metrics", "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->status, 401) << r->body;

  HttpResult created = request("POST", "/api/v1/tokens",
                               R"({"name":"sub","role":"submitter","scope":["nordic-llm"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  HttpClientOptions submitter = fed_->clientOptions();
  submitter.bearer_token = json::value_to<std::string>(json::parse(created.body).at("token"));
  HttpClient sub(fed_->baseUrl(), submitter);
  r = sub.request("GET", "/metrics", "");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->status, 403) << r->body;
  EXPECT_EQ(json::parse(r->body).at("error").at("code"), "permission_denied");

  EventStream refused;
  EXPECT_FALSE(refused.connect(fed_->httpPort(), anonymous.fingerprint, "").ok())
      << "a WebSocket without a token is refused";
  EventStream mine;
  ASSERT_TRUE(mine.connect(fed_->httpPort(), submitter.fingerprint, submitter.bearer_token).ok());
  EventStream all;
  ASSERT_TRUE(
      all.connect(fed_->httpPort(), anonymous.fingerprint, fed_->clientOptions().bearer_token)
          .ok());
  ASSERT_TRUE(waitFor([&] { return !mine.frames().empty() && !all.frames().empty(); }, 10s));

  // No agent is up, so both jobs wait: each stream gets "new -> queued" for what it may see.
  std::map<std::string, std::string> project_of;
  for (const char* project : {"climate-ai", "nordic-llm"}) {
    JobSpec spec;
    spec.project = project;
    spec.user = "sub";  // the submitter token's user (the admin submits for it)
    spec.nodes = 1;
    spec.walltime = 60s;
    HttpResult job = request("POST", "/api/v1/jobs", json::serialize(toJson(spec)));
    ASSERT_EQ(job.status, 201) << job.body;
    project_of[json::value_to<std::string>(json::parse(job.body).at("id"))] = project;
  }
  auto jobIds = [](EventStream& stream) {
    std::set<std::string> ids;
    for (const EventStream::Frame& f : stream.frames()) {
      if (f.body.at("type") == "job")
        ids.insert(std::string(f.body.at("job").at("id").as_string()));
    }
    return ids;
  };
  ASSERT_TRUE(waitFor([&] { return jobIds(all).size() == 2; }, 10s));
  std::this_thread::sleep_for(200ms);  // the same commit fed both streams; allow delivery
  std::set<std::string> seen = jobIds(mine);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(project_of[*seen.begin()], "nordic-llm") << "a submitter sees only its user's jobs in its projects";
}

TEST_F(MetricsIntegrationTest, ServesTheOpenApiDocument) {
  HttpResult r = request("GET", "/api/v1/openapi.json");
  ASSERT_EQ(r.status, 200);
  json::value doc = json::parse(r.body);
  EXPECT_EQ(doc.at("openapi").as_string().subview().substr(0, 2), "3.");
  EXPECT_TRUE(doc.at("paths").as_object().contains("/metrics"));
}

}  // namespace
}  // namespace aifed::cli
