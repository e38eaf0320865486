#include "tests/chaos/submission_stream.h"

#include <boost/json.hpp>
#include <chrono>

#include "protocol/codec.h"

namespace aifed::chaos {
namespace {

namespace json = boost::json;

// The error body's code: {"error": {"code": "unavailable", ...}} (docs/api.md), or an
// {"error": "unavailable"} from a server that answers in the short form.
std::string errorCode(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return "";
  const json::value* e = v.as_object().if_contains("error");
  if (e == nullptr) return "";
  if (e->is_string()) return std::string(e->as_string());
  if (!e->is_object()) return "";
  const json::value* code = e->as_object().if_contains("code");
  return code && code->is_string() ? std::string(code->as_string()) : "";
}

std::string jobId(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return "";
  const json::value* id = v.as_object().if_contains("id");
  return id && id->is_string() ? std::string(id->as_string()) : "";
}

Time wallNow() {
  return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

}  // namespace

JobSpec chaosJob(int runtime_s, int gpus, bool requeue_on_site_loss) {
  JobSpec spec;
  spec.project = "chaos";
  spec.nodes = 1;
  spec.gpus_per_node = gpus;
  spec.gpu_type = "h100";
  spec.walltime = std::chrono::hours(1);
  spec.simulated_runtime = std::chrono::seconds(runtime_s);
  spec.requeue_on_site_loss = requeue_on_site_loss;
  return spec;
}

SubmissionStream::SubmissionStream(StreamOptions options) : options_(std::move(options)) {
  if (!options_.make_spec) {
    options_.make_spec = [](int n) { return chaosJob(60 + (n * 37) % 181); };
  }
}

SubmissionStream::~SubmissionStream() {
  stop();
}

void SubmissionStream::reshape(double per_second, std::function<JobSpec(int n)> make_spec) {
  options_.per_second = per_second;
  if (make_spec) options_.make_spec = std::move(make_spec);
}

void SubmissionStream::start() {
  stop_ = false;
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void SubmissionStream::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void SubmissionStream::run() {
  cli::HttpClientOptions o = options_.client;
  o.timeout = std::chrono::seconds(5);
  cli::HttpClient client(options_.base_url, o);
  const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(1.0 / options_.per_second));
  auto next = std::chrono::steady_clock::now();
  while (!stop_) {
    Submission s = submitOne(client);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      submissions_.push_back(std::move(s));
    }
    next += period;
    auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;  // no burst to catch up after an outage
    while (!stop_ && std::chrono::steady_clock::now() < next) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

Submission SubmissionStream::submitOne(cli::HttpClient& client) {
  int n = next_++;
  JobSpec spec = options_.make_spec(n);
  spec.name = options_.prefix + "-" + std::to_string(n);
  Submission s;
  s.name = spec.name;
  s.sent_at = wallNow();
  Result<cli::HttpResult> r = client.request("POST", "/api/v1/jobs", json::serialize(toJson(spec)));
  s.answered_at = wallNow();
  if (!r.ok()) return s;  // no answer
  s.http_status = r->status;
  if (r->status == 201) {
    s.job_id = jobId(r->body);
  } else {
    s.error_code = errorCode(r->body);
  }
  return s;
}

std::vector<Submission> SubmissionStream::submitNow(int n) {
  cli::HttpClientOptions o = options_.client;
  o.timeout = std::chrono::seconds(5);
  cli::HttpClient client(options_.base_url, o);
  std::vector<Submission> out;
  for (int i = 0; i < n; ++i) {
    Submission s = submitOne(client);
    out.push_back(s);
    std::lock_guard<std::mutex> lock(mutex_);
    submissions_.push_back(std::move(s));
  }
  return out;
}

void SubmissionStream::record(Submission submission) {
  std::lock_guard<std::mutex> lock(mutex_);
  submissions_.push_back(std::move(submission));
}

std::vector<Submission> SubmissionStream::submissions() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return submissions_;
}

int SubmissionStream::answered(int http_status) const {
  std::lock_guard<std::mutex> lock(mutex_);
  int n = 0;
  for (const Submission& s : submissions_) n += s.http_status == http_status ? 1 : 0;
  return n;
}

}  // namespace aifed::chaos
