// Durable job submissions per second through HTTPS with keep-alive (docs/benchmarks.md).
//
// Starts a real local federation (aifed-coordinator + one simulated aifed-agent per site
// of the federation file, as `aifed demo` does), waits until every site is up, then
// drives POST /api/v1/jobs from N keep-alive TLS connections (Beast, one client thread,
// the coordinator's certificate pinned) for a fixed time. Every 201 is a job the
// coordinator has committed to SQLite (synchronous=FULL) before answering. Reports
// submissions/s and the latency distribution.
//
//   build/rel/bench/https_submit_bench --connections 64 --duration 10
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "cli/http_client.h"
#include "cli/local_federation.h"
#include "common/crypto.h"

namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Stats {
  uint64_t ok = 0;
  uint64_t refused = 0;  // an HTTP answer other than 201
  uint64_t failed = 0;   // a connection error
  std::vector<double> latency_ms;
};

// One keep-alive connection: POST, read the answer, POST again, until the deadline.
class Submitter : public std::enable_shared_from_this<Submitter> {
 public:
  Submitter(asio::io_context& io, ssl::context& tls, tcp::endpoint ep, std::string body,
            const std::string& token, Stats& stats, Clock::time_point measure_from,
            Clock::time_point until)
      : stream_(io, tls), ep_(ep), stats_(stats), measure_from_(measure_from), until_(until) {
    req_ = {http::verb::post, "/api/v1/jobs", 11};
    req_.set(http::field::host, "127.0.0.1");
    req_.set(http::field::content_type, "application/json");
    req_.set(http::field::authorization, "Bearer " + token);
    req_.keep_alive(true);
    req_.body() = std::move(body);
    req_.prepare_payload();
  }

  void start() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    beast::get_lowest_layer(stream_).async_connect(
        ep_, [self = shared_from_this()](beast::error_code ec) {
          if (ec) return self->fail(ec, "connect");
          self->stream_.async_handshake(ssl::stream_base::client, [self](beast::error_code ec) {
            if (ec) return self->fail(ec, "TLS handshake");
            self->send();
          });
        });
  }

 private:
  void send() {
    if (Clock::now() >= until_) return;
    sent_at_ = Clock::now();
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    http::async_write(stream_, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->fail(ec, "write");
      self->res_ = {};
      http::async_read(self->stream_, self->buffer_, self->res_,
                       [self](beast::error_code ec, size_t) {
                         if (ec) return self->fail(ec, "read");
                         self->done();
                       });
    });
  }

  void done() {
    auto now = Clock::now();
    if (sent_at_ >= measure_from_ && now <= until_) {
      if (res_.result_int() == 201) {
        ++stats_.ok;
        stats_.latency_ms.push_back(
            std::chrono::duration<double, std::milli>(now - sent_at_).count());
      } else {
        if (stats_.refused++ == 0) {
          std::cerr << "first refusal: HTTP " << res_.result_int() << " " << res_.body() << "\n";
        }
      }
    }
    send();
  }

  void fail(beast::error_code ec, const char* what) {
    if (stats_.failed++ == 0)
      std::cerr << "first failure: " << what << ": " << ec.message() << "\n";
  }

  beast::ssl_stream<beast::tcp_stream> stream_;
  tcp::endpoint ep_;
  Stats& stats_;
  Clock::time_point measure_from_, until_, sent_at_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  beast::flat_buffer buffer_;
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"https_submit_bench: durable job submissions/s through HTTPS keep-alive"};
  std::string bin_dir = AIFED_BINARY_DIR;
  std::string federation = std::string(AIFED_SOURCE_DIR) + "/config/federation-7.toml";
  std::string state_dir =
      (std::filesystem::temp_directory_path() / ("aifed-https-bench-" + std::to_string(getpid())))
          .string();
  int connections = 64;
  double duration_s = 10, warmup_s = 2;
  bool agents = true;
  app.add_option("--bin-dir", bin_dir, "build directory holding the daemons")
      ->capture_default_str();
  app.add_option("--federation", federation, "federation file")->capture_default_str();
  app.add_option("--state-dir", state_dir, "keys, database, logs")->capture_default_str();
  app.add_option("-c,--connections", connections, "keep-alive connections")->capture_default_str();
  app.add_option("-d,--duration", duration_s, "measured seconds")->capture_default_str();
  app.add_option("--warmup", warmup_s, "seconds of load before measuring")->capture_default_str();
  int runtime_s = 0;
  app.add_option("--runtime-s", runtime_s,
                 "simulated_runtime_s of each job (0: omit; the simulated sites then run it "
                 "for its walltime of 600 s)")
      ->capture_default_str();
  app.add_option("--agents", agents, "start one simulated agent per site (true/false)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  aifed::cli::LocalFederationOptions o;
  o.bin_dir = bin_dir;
  o.federation_file = federation;
  o.state_dir = state_dir;
  o.speedup = 60;
  o.log_level = "warn";
  auto lf = aifed::cli::LocalFederation::prepare(o);
  if (!lf.ok()) {
    std::cerr << lf.status().toString() << "\n";
    return 1;
  }
  aifed::cli::LocalFederation& fed = **lf;
  if (auto s = fed.startCoordinator(); !s.ok()) {
    std::cerr << s.toString() << "\n";
    return 1;
  }
  aifed::cli::HttpClient client(fed.baseUrl(), fed.clientOptions());
  if (agents) {
    for (const std::string& site : fed.sites()) {
      if (auto s = fed.startAgent(site); !s.ok()) {
        std::cerr << s.toString() << "\n";
        return 1;
      }
    }
    auto deadline = Clock::now() + std::chrono::seconds(60);
    int64_t up = 0;
    while (Clock::now() < deadline) {
      auto r = client.request("GET", "/api/v1/federation", "");
      if (r.ok() && r->status == 200) {
        up = json::parse(r->body).at("sites_up").to_number<int64_t>();
        if (up == static_cast<int64_t>(fed.sites().size())) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (up != static_cast<int64_t>(fed.sites().size())) {
      std::cerr << "only " << up << " of " << fed.sites().size() << " sites came up\n";
      return 1;
    }
  }
  // One probe: the spec is valid, and the job object comes back.
  const std::string body =
      R"({"name":"bench","project":"bench","nodes":1,"gpus_per_node":1,"walltime_s":600)" +
      (runtime_s > 0 ? ",\"simulated_runtime_s\":" + std::to_string(runtime_s) : std::string()) +
      "}";
  auto probe = client.request("POST", "/api/v1/jobs", body);
  if (!probe.ok() || probe->status != 201) {
    std::cerr << "probe submission failed: "
              << (probe.ok() ? probe->body : probe.status().toString()) << "\n";
    return 1;
  }

  asio::io_context io;
  ssl::context tls(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
  std::string pin = fed.tlsFingerprint();
  tls.set_verify_mode(ssl::verify_peer);
  tls.set_verify_callback([pin](bool, ssl::verify_context& v) {
    X509_STORE_CTX* store = v.native_handle();
    if (X509_STORE_CTX_get_error_depth(store) != 0) return true;
    return aifed::common::certificateFingerprint(X509_STORE_CTX_get_current_cert(store)) == pin;
  });
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), fed.httpPort());
  Stats stats;
  auto start = Clock::now();
  auto measure_from = start + std::chrono::milliseconds(static_cast<int64_t>(warmup_s * 1000));
  auto until = measure_from + std::chrono::milliseconds(static_cast<int64_t>(duration_s * 1000));
  for (int i = 0; i < connections; ++i) {
    std::make_shared<Submitter>(io, tls, ep, body, fed.adminToken(), stats, measure_from, until)
        ->start();
  }
  double client_cpu0 = 0;
  {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    client_cpu0 = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                  static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  }
  io.run();
  double elapsed = std::chrono::duration<double>(until - measure_from).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double client_cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                      static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6 -
                      client_cpu0;

  auto federation_now = client.request("GET", "/api/v1/federation", "");
  int64_t jobs_total = 0, commits = 0, committed = 0;
  if (federation_now.ok() && federation_now->status == 200) {
    json::value f = json::parse(federation_now->body);
    jobs_total = f.at("jobs_total").to_number<int64_t>();
    commits = f.at("transport").at("commits").to_number<int64_t>();
    committed = f.at("transport").at("committed_submissions").to_number<int64_t>();
  }
  double rate = static_cast<double>(stats.ok) / elapsed;
  double p50 = percentile(stats.latency_ms, 50), p99 = percentile(stats.latency_ms, 99);
  double pmax = stats.latency_ms.empty()
                    ? 0
                    : *std::max_element(stats.latency_ms.begin(), stats.latency_ms.end());
  std::printf(
      "connections=%d duration_s=%.1f agents=%s\n"
      "submissions=%llu refused=%llu failed=%llu jobs_in_coordinator=%lld\n"
      "submissions_per_s=%.0f latency_ms p50=%.2f p99=%.2f max=%.2f\n"
      "transactions=%lld submissions_per_transaction=%.1f (whole run, warm-up included)\n"
      "client_cpu_s=%.1f (of %.1f s)\n",
      connections, elapsed, agents ? "yes" : "no", static_cast<unsigned long long>(stats.ok),
      static_cast<unsigned long long>(stats.refused), static_cast<unsigned long long>(stats.failed),
      static_cast<long long>(jobs_total), rate, p50, p99, pmax, static_cast<long long>(commits),
      commits ? static_cast<double>(committed) / static_cast<double>(commits) : 0.0, client_cpu,
      std::chrono::duration<double>(Clock::now() - start).count());
  fed.stopAll();
  std::error_code ec;
  std::filesystem::remove_all(state_dir, ec);
  return stats.failed == 0 && stats.refused == 0 ? 0 : 1;
}
