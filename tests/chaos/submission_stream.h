// The chaos suite's load generator: submits jobs through the REST API at a steady rate
// from its own thread and records every submission as the client saw it (the checker's
// "every 201"). Each job gets a unique name "<prefix>-<n>" by which the checker finds
// it in every database, whatever id it got.
//
//   SubmissionStream stream({.base_url = fed->baseUrl(), .client = fed->clientOptions(),
//                            .prefix = "kill", .per_second = 8});
//   stream.start();  ...  stream.stop();
//   std::vector<chaos::Submission> all = stream.submissions();
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cli/http_client.h"
#include "protocol/types.h"
#include "tests/chaos/checker.h"

namespace aifed::chaos {

struct StreamOptions {
  std::string base_url;
  cli::HttpClientOptions client;
  std::string prefix = "chaos";
  double per_second = 5;
  // The spec of the n-th submission (its name is set by the stream). Default: one node,
  // 4 H100s, a simulated run of 60..240 s (1..4 s at speedup 60).
  std::function<JobSpec(int n)> make_spec;
};

// A JobSpec that fits the test federations (tests/data/federation-3.toml): 1 node,
// `gpus` H100s, walltime 1 h, the simulated run `runtime_s` long.
JobSpec chaosJob(int runtime_s, int gpus = 4, bool requeue_on_site_loss = true);

class SubmissionStream {
 public:
  explicit SubmissionStream(StreamOptions options);
  ~SubmissionStream();
  SubmissionStream(const SubmissionStream&) = delete;
  SubmissionStream& operator=(const SubmissionStream&) = delete;

  void start();
  void stop();
  // A new rate and spec for the next start (numbering goes on). Only while stopped.
  void reshape(double per_second, std::function<JobSpec(int n)> make_spec);  // returns after the submission in flight has been answered or timed out
  // Submits `n` jobs from the calling thread, one after the other (the stream may run).
  std::vector<Submission> submitNow(int n);

  // Adds a submission made by other means (e.g. curl), so the checker knows of it.
  void record(Submission submission);

  std::vector<Submission> submissions() const;
  int answered(int http_status) const;

 private:
  void run();
  Submission submitOne(cli::HttpClient& client);

  StreamOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<int> next_{1};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<Submission> submissions_;
};

}  // namespace aifed::chaos
