// Protocol v1 codec: golden frames for every message type, round trips, bad input.
//
// The golden files under tests/protocol/golden/ hold the exact bytes encodeMessage()
// writes for the sample messages below (no trailing newline). A change that alters them
// changes the wire protocol: update docs/protocol.md with it. To rewrite them after an
// intended change: AIFED_UPDATE_GOLDEN=1 ./protocol_test --gtest_filter='Golden*'
#include "protocol/codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "protocol/messages.h"
#include "tests/common/test_files.h"

namespace aifed {
namespace {

using ::testing::HasSubstr;

const Time kSentAt = fromMillis(1764064800123);  // 2025-11-25T10:00:00.123Z

JobSpec sampleSpec() {
  JobSpec spec;
  spec.name = "llama-ft-7b";
  spec.project = "nordic-llm";
  spec.user = "alice";
  spec.nodes = 4;
  spec.gpus_per_node = 8;
  spec.gpu_type = "h200";
  spec.cores_per_node = 112;
  spec.memory_gib_per_node = 1024;
  spec.walltime = std::chrono::hours(12);
  spec.priority = 5;
  spec.allowed_sites = {"mimer", "lumi-aif"};
  spec.allowed_countries = {"SE", "FI"};
  spec.requeue_on_site_loss = false;
  spec.datasets = {{"nordic-language-corpus", 40000}, {"tokenizer", 0.5}};
  spec.preferred_sites = {"mimer"};
  spec.script = "#!/bin/bash\nsrun python train.py --config \"ft.yaml\"\n";
  spec.workdir = "/proj/nordic-llm/run-17";
  spec.env = {{"OMP_NUM_THREADS", "8"}, {"HF_HOME", "/scratch/hf"}};
  spec.simulated_runtime = std::chrono::hours(3);
  spec.simulated_exit_code = 0;
  return spec;
}

SiteCapacity sampleCapacity() {
  SiteCapacity c;
  c.epoch = 42;
  PartitionCapacity gpu;
  gpu.name = "gpu";
  gpu.node_type =
      NodeType{.accelerator = "h200", .accelerators_per_node = 8, .cores = 112, .memory_gib = 2048};
  gpu.nodes_total = 128;
  gpu.nodes_idle = 20;
  gpu.nodes_allocated = 100;
  gpu.nodes_down = 3;
  gpu.nodes_draining = 5;
  gpu.pending_jobs = 7;
  gpu.pending_node_hours = 312.5;
  gpu.running_jobs = 31;
  PartitionCapacity cpu;
  cpu.name = "cpu";
  cpu.node_type =
      NodeType{.accelerator = "", .accelerators_per_node = 0, .cores = 128, .memory_gib = 256};
  cpu.nodes_total = 10;
  cpu.nodes_idle = 10;
  cpu.pending_node_hours = 0;
  c.partitions = {gpu, cpu};
  return c;
}

struct Sample {
  std::string file;  // golden/<file>.json
  Message message;
};

std::vector<Sample> samples() {
  std::vector<Sample> out;
  auto add = [&](std::string file, Body body) {
    out.push_back({std::move(file), makeMessage("mimer", "m-" + std::to_string(out.size() + 1),
                                                kSentAt, std::move(body))});
  };
  add("hello",
      Hello{
          .agent_version = "0.1.0",
          .backend = "slurm",
          .jobs = {
              {.job_id = "j-100", .attempt = 1, .local_id = "884211", .state = JobState::kRunning},
              {.job_id = "j-101", .attempt = 2, .local_id = "", .state = JobState::kPending}}});
  add("welcome", Welcome{.coordinator_version = "0.1.0",
                         .protocol_version = "1.0",
                         .heartbeat_interval = Duration(5000),
                         .capacity_interval = Duration(60000)});
  add("capacity",
      Capacity{
          .capacity = sampleCapacity(), .degraded = true, .degraded_reason = "squeue timed out"});
  add("heartbeat", Heartbeat{.epoch = 42, .running_jobs = 31, .pending_jobs = 7});
  add("dispatch", Dispatch{.job_id = "j-100", .attempt = 1, .spec = sampleSpec()});
  add("dispatch_ack",
      DispatchAck{
          .job_id = "j-100", .attempt = 1, .accepted = true, .reason = "", .local_id = "884211"});
  add("job_status", JobStatus{.job_id = "j-100",
                              .attempt = 1,
                              .local_id = "884211",
                              .state = JobState::kFailed,
                              .submitted_at = fromMillis(1764064000000),
                              .started_at = fromMillis(1764064060000),
                              .ended_at = fromMillis(1764064700000),
                              .exit_code = 137,
                              .reason = "OUT_OF_MEMORY"});
  add("cancel", Cancel{.job_id = "j-100", .attempt = 1, .reason = "cancelled by alice"});
  add("ack", Ack{.ack_msg_id = "a-77"});
  add("error", ErrorReply{.code = "missing_field",
                          .message = "missing field body.epoch",
                          .field = "body.epoch",
                          .ref_msg_id = "a-78"});
  add("cancel_withdraw", Cancel{.job_id = "j-100",
                                .attempt = 2,
                                .reason = "withdrawn: leonardo could start it now",
                                .only_if_pending = true});
  // Protocol 1.1: the agent's run and the per-attempt status sequence, the job lease,
  // and `lost` reported by the site.
  add("hello_1_1", Hello{.agent_version = "0.2.0",
                         .backend = "slurm",
                         .jobs = {{.job_id = "j-100",
                                   .attempt = 1,
                                   .local_id = "884211",
                                   .state = JobState::kRunning,
                                   .seq = 2},
                                  {.job_id = "j-102",
                                   .attempt = 1,
                                   .local_id = "884300",
                                   .state = JobState::kLost,
                                   .seq = 4}},
                         .incarnation = 7});
  add("welcome_1_1", Welcome{.coordinator_version = "0.2.0",
                             .protocol_version = "1.1",
                             .heartbeat_interval = Duration(5000),
                             .capacity_interval = Duration(30000),
                             .job_lease = Duration(3600000)});
  add("job_status_lost", JobStatus{.job_id = "j-100",
                                   .attempt = 1,
                                   .local_id = "884211",
                                   .state = JobState::kLost,
                                   .submitted_at = std::nullopt,
                                   .started_at = fromMillis(1764064060000),
                                   .ended_at = std::nullopt,
                                   .exit_code = std::nullopt,
                                   .reason = "stopped by the agent: no word from the coordinator "
                                             "for the job lease (1 h)",
                                   .incarnation = 7,
                                   .seq = 3});
  // Protocol 1.2: the site's rules, the local account and output paths, accounting,
  // output on request, maintenance windows.
  SiteRules rules;
  rules.projects = {"llm-eu", "bio-ai"};
  rules.users = {"*@csc.fi", "alice"};
  rules.max_nodes = 64;
  rules.max_gpus = 256;
  rules.max_walltime = std::chrono::hours(48);
  rules.max_gpu_hours = 12288;
  rules.partitions = {{"llm-eu", {"gpu", "gpu-long"}}, {"*", {"gpu"}}};
  rules.directives = DirectivePolicy::kStrip;
  add("hello_1_2", Hello{.agent_version = "0.3.0",
                         .backend = "slurm",
                         .jobs = {},
                         .incarnation = 8,
                         .rules = rules});
  JobSpec in_partition = sampleSpec();
  in_partition.partition = "gpu-long";
  add("dispatch_1_2", Dispatch{.job_id = "j-103", .attempt = 1, .spec = in_partition});
  add("dispatch_ack_1_2", DispatchAck{.job_id = "j-103",
                                      .attempt = 1,
                                      .accepted = true,
                                      .reason = "",
                                      .local_id = "884400",
                                      .rule = "",
                                      .local_user = "alice_l",
                                      .account = "llm-eu",
                                      .stdout_path = "/scratch/alice_l/aifed-j-103-1.out",
                                      .stderr_path = "/scratch/alice_l/aifed-j-103-1.err"});
  add("dispatch_ack_rule", DispatchAck{.job_id = "j-104",
                                       .attempt = 1,
                                       .accepted = false,
                                       .reason = "the job asks for 512 GPUs; the site admits at "
                                                 "most 256 per job",
                                       .local_id = "",
                                       .rule = "max_gpus"});
  add("job_usage", JobUsage{.job_id = "j-103",
                            .attempt = 1,
                            .local_id = "884400",
                            .source = "sacct",
                            .elapsed = std::chrono::seconds(5400),
                            .nodes = 4,
                            .gpus = 16,
                            .tres = "billing=512,cpu=512,gres/gpu=16,mem=2000G,node=4",
                            .exit_code = 0,
                            .state = "COMPLETED",
                            .local_user = "alice_l",
                            .account = "llm-eu"});
  add("log_request", LogRequest{.request_id = "r-9",
                                .job_id = "j-103",
                                .attempt = 1,
                                .stream = "stderr",
                                .offset = std::nullopt,
                                .max_bytes = 65536});
  add("log_data", LogData{.request_id = "r-9",
                          .job_id = "j-103",
                          .attempt = 1,
                          .stream = "stderr",
                          .path = "/scratch/alice_l/aifed-j-103-1.err",
                          .size = 31,
                          .offset = 0,
                          .data = "epoch 3: loss 1.92\nsaved ckpt\n",
                          .end = 30});
  add("log_data_error", LogData{.request_id = "r-10",
                                .job_id = "j-105",
                                .attempt = 2,
                                .stream = "stdout",
                                .error = "not_found",
                                .message = "no attempt 2 of j-105 at this site"});
  add("maintenance", Maintenance{.windows = {{.id = "mw-3",
                                              .start = fromMillis(1764151200000),
                                              .end = fromMillis(1764180000000),
                                              .reason = "Slurm 24.11 upgrade",
                                              .declared_by = "ops-mimer"}},
                                 .grace = std::chrono::minutes(30)});
  // Within 1.2: the agent's own health in HEARTBEAT and CAPACITY.
  add("heartbeat_health",
      Heartbeat{.epoch = 42,
                .running_jobs = 31,
                .pending_jobs = 7,
                .health = AgentHealth{.version = "0.1.0",
                                      .backend_ok = false,
                                      .backend_error = "Slurm is not answering: sinfo: Unable "
                                                       "to contact slurm controller",
                                      .last_backend_ok_at = fromMillis(1764064710000),
                                      .outbox_depth = 3}});
  add("capacity_health",
      Capacity{.capacity = sampleCapacity(),
               .degraded = false,
               .degraded_reason = "",
               .health = AgentHealth{.version = "0.1.0",
                                     .backend_ok = true,
                                     .backend_error = "",
                                     .last_backend_ok_at = fromMillis(1764064800000),
                                     .outbox_depth = 0}});
  return out;
}

std::string goldenPath(const std::string& file) {
  return std::string(AIFED_SOURCE_DIR) + "/tests/protocol/golden/" + file + ".json";
}

Message decodeOk(std::string_view frame) {
  auto decoded = decodeMessage(frame);
  if (auto* failure = std::get_if<DecodeFailure>(&decoded)) {
    ADD_FAILURE() << "decode failed: " << failure->status.toString();
    return {};
  }
  return std::get<Message>(decoded);
}

DecodeFailure decodeFails(std::string_view frame) {
  auto decoded = decodeMessage(frame);
  if (std::holds_alternative<Message>(decoded)) {
    ADD_FAILURE() << "decode unexpectedly succeeded: " << frame;
    return {};
  }
  return std::get<DecodeFailure>(decoded);
}

TEST(Messages, TypeNamesAndVersion) {
  EXPECT_EQ(protocolVersionString(), "1.2");
  const std::vector<std::string> expected = {
      "HELLO",      "WELCOME",     "CAPACITY", "HEARTBEAT", "DISPATCH",     "DISPATCH_ACK",
      "JOB_STATUS", "CANCEL",      "ACK",      "ERROR",     "CANCEL",       "HELLO",
      "WELCOME",    "JOB_STATUS",  "HELLO",    "DISPATCH",  "DISPATCH_ACK", "DISPATCH_ACK",
      "JOB_USAGE",  "LOG_REQUEST", "LOG_DATA", "LOG_DATA",  "MAINTENANCE", "HEARTBEAT",
      "CAPACITY"};
  std::vector<Sample> all = samples();  // one per type, then variants of some
  ASSERT_EQ(all.size(), expected.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(messageTypeName(all[i].message.body), expected[i]);
    EXPECT_EQ(all[i].message.v, "1.2");
  }
}

class Golden : public ::testing::TestWithParam<Sample> {};

TEST_P(Golden, EncodeMatchesGoldenBytes) {
  const Sample& sample = GetParam();
  std::string encoded = encodeMessage(sample.message);
  if (const char* update = std::getenv("AIFED_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(goldenPath(sample.file), std::ios::binary) << encoded;
  }
  EXPECT_EQ(encoded, testing_support::readTestFile(goldenPath(sample.file)));
}

TEST_P(Golden, DecodeGoldenGivesTheValue) {
  const Sample& sample = GetParam();
  EXPECT_EQ(decodeOk(testing_support::readTestFile(goldenPath(sample.file))), sample.message);
}

TEST_P(Golden, DecodeOfEncodeRoundTrips) {
  const Sample& sample = GetParam();
  std::string encoded = encodeMessage(sample.message);
  EXPECT_EQ(decodeOk(encoded), sample.message);
  EXPECT_EQ(encodeMessage(decodeOk(encoded)), encoded);  // deterministic
}

INSTANTIATE_TEST_SUITE_P(AllTypes, Golden, ::testing::ValuesIn(samples()),
                         [](const auto& info) { return info.param.file; });

TEST(Codec, OptionalJobStatusFieldsAreOmittedWhenAbsent) {
  JobStatus status;
  status.job_id = "j-1";
  status.state = JobState::kPending;
  Message m = makeMessage("mimer", "m-9", kSentAt, status);
  std::string encoded = encodeMessage(m);
  EXPECT_THAT(encoded, ::testing::Not(HasSubstr("started_at")));
  EXPECT_THAT(encoded, ::testing::Not(HasSubstr("exit_code")));
  EXPECT_EQ(decodeOk(encoded), m);
}

TEST(Codec, OnlyIfPendingIsWrittenOnlyForAWithdrawal) {
  Cancel c{"j-1", 1, "cancelled by alice"};
  Message m = makeMessage("mimer", "m-9", kSentAt, c);
  EXPECT_THAT(encodeMessage(m), ::testing::Not(HasSubstr("only_if_pending")));
  c.only_if_pending = true;
  m = makeMessage("mimer", "m-9", kSentAt, c);
  EXPECT_THAT(encodeMessage(m), HasSubstr("\"only_if_pending\":true"));
  EXPECT_EQ(decodeOk(encodeMessage(m)), m);
}

TEST(Codec, CancelWithoutOnlyIfPendingIsAnOutrightCancel) {
  // A CANCEL from a coordinator that predates withdrawal.
  Message m = decodeOk(
      R"({"v":"1.0","type":"CANCEL","msg_id":"m-8","site":"mimer","sent_at":1764064800123,)"
      R"("body":{"job_id":"j-100","attempt":1,"reason":"cancelled by alice"}})");
  const Cancel* c = std::get_if<Cancel>(&m.body);
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->only_if_pending);
  EXPECT_EQ(c->reason, "cancelled by alice");
}

TEST(Codec, CancelOnlyIfPendingMustBeABoolean) {
  DecodeFailure f =
      decodeFails(R"({"v":"1.0","type":"CANCEL","msg_id":"m-8","site":"mimer","sent_at":1,)"
                  R"("body":{"job_id":"j-1","attempt":1,"only_if_pending":"yes"}})");
  EXPECT_EQ(f.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(f.status.message(), HasSubstr("only_if_pending"));
}

TEST(Codec, SimulatedRuntimeOmittedWhenAbsent) {
  JobSpec spec = sampleSpec();
  spec.simulated_runtime.reset();
  boost::json::object o = toJson(spec);
  EXPECT_FALSE(o.contains("simulated_runtime_s"));
  Result<JobSpec> back = jobSpecFromJson(o);
  ASSERT_TRUE(back.ok()) << back.status().toString();
  EXPECT_EQ(*back, spec);
}

TEST(Codec, JobSpecNeedsOnlyNodesAndWalltime) {
  Result<JobSpec> spec = jobSpecFromJson(boost::json::parse(R"({"nodes":2,"walltime_s":600})"));
  ASSERT_TRUE(spec.ok()) << spec.status().toString();
  JobSpec expected;
  expected.nodes = 2;
  expected.walltime = std::chrono::minutes(10);
  EXPECT_EQ(*spec, expected);
}

TEST(Codec, SiteCapacityRoundTrips) {
  SiteCapacity c = sampleCapacity();
  Result<SiteCapacity> back = siteCapacityFromJson(toJson(c));
  ASSERT_TRUE(back.ok()) << back.status().toString();
  EXPECT_EQ(*back, c);
}

TEST(Codec, StartEstimatesAreOptionalAndRoundTrip) {
  SiteCapacity c = sampleCapacity();
  EXPECT_EQ(toJson(c.partitions[0]).count("start_estimates"), 0u) << "absent when not measured";
  c.partitions[0].start_estimates = {{1, 4, 0}, {8, 8, 5400.5}};
  boost::json::object o = toJson(c.partitions[0]);
  ASSERT_EQ(o.count("start_estimates"), 1u);
  EXPECT_EQ(boost::json::serialize(o.at("start_estimates")),
            R"([{"nodes":1,"gpus_per_node":4,"start_in_s":0},)"
            R"({"nodes":8,"gpus_per_node":8,"start_in_s":5.4005E3}])");
  Result<SiteCapacity> back = siteCapacityFromJson(toJson(c));
  ASSERT_TRUE(back.ok()) << back.status().toString();
  EXPECT_EQ(*back, c);

  o["start_estimates"].as_array()[1].as_object()["start_in_s"] = -1;
  Result<PartitionCapacity> bad = partitionFromJson(o, "body.capacity.partitions[0]");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().field(), "body.capacity.partitions[0].start_estimates[1].start_in_s");
}

// ---- bad input ----

TEST(DecodeBad, MalformedJson) {
  for (std::string_view frame : {"", "{", "{\"v\":\"1.0\",}", "not json", "{} trailing"}) {
    DecodeFailure f = decodeFails(frame);
    EXPECT_EQ(f.status.code(), StatusCode::kInvalidArgument) << frame;
    EXPECT_THAT(f.status.message(), ::testing::StartsWith("malformed JSON: ")) << frame;
    EXPECT_EQ(errorFor(f).code, "bad_message");
  }
}

TEST(DecodeBad, NonObjectIsMalformed) {
  DecodeFailure f = decodeFails("[1,2,3]");
  EXPECT_EQ(f.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(f.status.message(), ::testing::StartsWith("malformed JSON: "));
}

TEST(DecodeBad, UnknownMajorVersionNamesBothVersions) {
  DecodeFailure f = decodeFails(
      R"({"v":"2.0","type":"HEARTBEAT","msg_id":"x-1","site":"mimer","sent_at":1,"body":{}})");
  EXPECT_EQ(f.status.code(), StatusCode::kVersionMismatch);
  EXPECT_THAT(f.status.message(), HasSubstr("2.0"));
  EXPECT_THAT(f.status.message(), HasSubstr("1.2"));
  EXPECT_EQ(f.msg_id, "x-1");
  EXPECT_EQ(f.peer_version, "2.0");
  ErrorReply reply = errorFor(f);
  EXPECT_EQ(reply.code, "version_mismatch");
  EXPECT_EQ(reply.ref_msg_id, "x-1");
  EXPECT_EQ(reply.field, "v");
  EXPECT_EQ(reply.message, f.status.message());
}

TEST(DecodeBad, MalformedVersion) {
  DecodeFailure f = decodeFails(
      R"({"v":"one","type":"ACK","msg_id":"x-1","site":"s","sent_at":1,"body":{"ack_msg_id":"a"}})");
  EXPECT_EQ(f.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.status.field(), "v");
}

// A 1.0 agent's messages decode with every 1.1 field at its "unknown" value, and a 1.1
// coordinator's WELCOME without a lease means no lease.
TEST(Decode, OneDotZeroMessagesLeaveTheOneDotOneFieldsUnknown) {
  Message hello = decodeOk(testing_support::readTestFile(goldenPath("hello")));
  EXPECT_EQ(std::get<Hello>(hello.body).incarnation, 0u);
  EXPECT_EQ(std::get<Hello>(hello.body).jobs.at(0).seq, 0u);
  Message status = decodeOk(testing_support::readTestFile(goldenPath("job_status")));
  EXPECT_EQ(std::get<JobStatus>(status.body).seq, 0u);
  Message welcome = decodeOk(testing_support::readTestFile(goldenPath("welcome")));
  EXPECT_EQ(std::get<Welcome>(welcome.body).job_lease, Duration::zero());
  DecodeFailure f = decodeFails(
      R"({"v":"1.1","type":"WELCOME","msg_id":"w","site":"s","sent_at":1,"body":)"
      R"({"coordinator_version":"x","protocol_version":"1.1","heartbeat_interval_ms":5,)"
      R"("capacity_interval_ms":5,"job_lease_ms":-1}})");
  EXPECT_EQ(f.status.field(), "body.job_lease_ms");
}

TEST(Decode, HigherMinorVersionIsAccepted) {
  Message m = decodeOk(
      R"({"v":"1.7","type":"ACK","msg_id":"x-1","site":"s","sent_at":1,"body":{"ack_msg_id":"a"}})");
  EXPECT_EQ(m.v, "1.7");
  EXPECT_EQ(std::get<Ack>(m.body).ack_msg_id, "a");
}

TEST(Decode, UnknownFieldsAreIgnored) {
  Message m = decodeOk(
      R"({"v":"1.0","type":"HEARTBEAT","msg_id":"h-1","site":"mimer","sent_at":5,"trace":"abc",)"
      R"("body":{"epoch":3,"running_jobs":1,"pending_jobs":2,"gpu_temp_c":[61,63]}})");
  Message expected = makeMessage("mimer", "h-1", fromMillis(5),
                                 Heartbeat{.epoch = 3, .running_jobs = 1, .pending_jobs = 2});
  expected.v = "1.0";  // a 1.0 peer's message keeps its version
  EXPECT_EQ(m, expected);
}

TEST(DecodeBad, UnknownType) {
  DecodeFailure f =
      decodeFails(R"({"v":"1.0","type":"GOSSIP","msg_id":"g-1","site":"s","sent_at":1,"body":{}})");
  EXPECT_EQ(f.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.status.field(), "type");
  EXPECT_THAT(f.status.message(), HasSubstr("GOSSIP"));
  EXPECT_EQ(errorFor(f).code, "bad_message");
}

TEST(DecodeBad, MissingFieldNamesItsPath) {
  DecodeFailure f =
      decodeFails(R"({"v":"1.0","type":"HEARTBEAT","msg_id":"h-2","site":"mimer","sent_at":5,)"
                  R"("body":{"running_jobs":1,"pending_jobs":2}})");
  EXPECT_EQ(f.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.status.field(), "body.epoch");
  EXPECT_THAT(f.status.message(), HasSubstr("body.epoch"));
  EXPECT_EQ(f.msg_id, "h-2");
  ErrorReply reply = errorFor(f);
  EXPECT_EQ(reply.code, "missing_field");
  EXPECT_EQ(reply.field, "body.epoch");
  EXPECT_EQ(reply.ref_msg_id, "h-2");
}

TEST(DecodeBad, MissingEnvelopeFields) {
  DecodeFailure f = decodeFails(R"({"v":"1.0","type":"ACK","site":"s","sent_at":1,"body":{}})");
  EXPECT_EQ(f.status.field(), "msg_id");
  EXPECT_EQ(errorFor(f).code, "missing_field");
  f = decodeFails(R"({"type":"ACK","msg_id":"a","site":"s","sent_at":1,"body":{}})");
  EXPECT_EQ(f.status.field(), "v");
  f = decodeFails(R"({"v":"1.0","type":"ACK","msg_id":"a","site":"s","sent_at":1})");
  EXPECT_EQ(f.status.field(), "body");
}

struct MistypedCase {
  const char* frame;
  const char* field;
};

class DecodeMistyped : public ::testing::TestWithParam<MistypedCase> {};

TEST_P(DecodeMistyped, NamesTheField) {
  DecodeFailure f = decodeFails(GetParam().frame);
  EXPECT_EQ(f.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.status.field(), GetParam().field) << f.status.toString();
  EXPECT_THAT(f.status.message(), HasSubstr(GetParam().field));
  EXPECT_EQ(errorFor(f).code, "bad_message");
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DecodeMistyped,
    ::testing::Values(
        MistypedCase{R"({"v":"1.0","type":"HEARTBEAT","msg_id":"h","site":"s","sent_at":1,)"
                     R"("body":{"epoch":"3","running_jobs":1,"pending_jobs":2}})",
                     "body.epoch"},
        MistypedCase{R"({"v":"1.0","type":"HEARTBEAT","msg_id":"h","site":"s","sent_at":1,)"
                     R"("body":{"epoch":-1,"running_jobs":1,"pending_jobs":2}})",
                     "body.epoch"},
        MistypedCase{R"({"v":"1.0","type":"HEARTBEAT","msg_id":"h","site":"s","sent_at":1.5,)"
                     R"("body":{"epoch":1,"running_jobs":1,"pending_jobs":2}})",
                     "sent_at"},
        MistypedCase{R"({"v":"1.0","type":"HEARTBEAT","msg_id":"h","site":7,"sent_at":1,)"
                     R"("body":{"epoch":1,"running_jobs":1,"pending_jobs":2}})",
                     "site"},
        MistypedCase{R"({"v":"1.0","type":"DISPATCH_ACK","msg_id":"h","site":"s","sent_at":1,)"
                     R"("body":{"job_id":"j","attempt":1,"accepted":"yes"}})",
                     "body.accepted"},
        MistypedCase{R"({"v":"1.0","type":"JOB_STATUS","msg_id":"h","site":"s","sent_at":1,)"
                     R"("body":{"job_id":"j","attempt":1,"state":"sleeping"}})",
                     "body.state"},
        MistypedCase{R"({"v":"1.0","type":"JOB_STATUS","msg_id":"h","site":"s","sent_at":1,)"
                     R"("body":{"job_id":"j","attempt":1,"state":"queued"}})",
                     "body.state"},
        MistypedCase{R"({"v":"1.0","type":"HELLO","msg_id":"h","site":"s","sent_at":1,)"
                     R"("body":{"agent_version":"1","backend":"slurm","jobs":[{"job_id":"j",)"
                     R"("attempt":"1","state":"running"}]}})",
                     "body.jobs[0].attempt"},
        MistypedCase{R"({"v":"1.0","type":"CAPACITY","msg_id":"h","site":"s","sent_at":1,)"
                     R"("body":{"capacity":{"epoch":1,"partitions":[{"name":"gpu",)"
                     R"("node_type":{"accelerator":"h100","accelerators_per_node":4,)"
                     R"("cores":64,"memory_gib":512},"nodes_total":"16"}]}}})",
                     "body.capacity.partitions[0].nodes_total"},
        MistypedCase{R"({"v":"1.0","type":"DISPATCH","msg_id":"h","site":"s","sent_at":1,)"
                     R"("body":{"job_id":"j","attempt":1,"spec":{"nodes":2,"walltime_s":60,)"
                     R"("env":{"A":1}}}})",
                     "body.spec.env.A"},
        MistypedCase{R"({"v":"1.0","type":"ACK","msg_id":"h","site":"s","sent_at":1,"body":[]})",
                     "body"},
        MistypedCase{R"({"v":"1.2","type":"HEARTBEAT","msg_id":"h","site":"s","sent_at":1,)"
                     R"("body":{"epoch":1,"running_jobs":1,"pending_jobs":2,"health":[]}})",
                     "body.health"},
        MistypedCase{R"({"v":"1.2","type":"HEARTBEAT","msg_id":"h","site":"s","sent_at":1,)"
                     R"("body":{"epoch":1,"running_jobs":1,"pending_jobs":2,)"
                     R"("health":{"backend_ok":"yes"}}})",
                     "body.health.backend_ok"},
        MistypedCase{R"({"v":"1.2","type":"HEARTBEAT","msg_id":"h","site":"s","sent_at":1,)"
                     R"("body":{"epoch":1,"running_jobs":1,"pending_jobs":2,)"
                     R"("health":{"outbox_depth":-3}}})",
                     "body.health.outbox_depth"},
        MistypedCase{R"({"v":"1.2","type":"CAPACITY","msg_id":"h","site":"s","sent_at":1,)"
                     R"("body":{"capacity":{"epoch":1,"partitions":[]},)"
                     R"("health":{"last_backend_ok_at":-5}}})",
                     "body.health.last_backend_ok_at"}));

// The agent's health is optional: a HEARTBEAT without it (every agent before it) has
// none, and a partial object takes the defaults; 0 for the last success means never.
TEST(Decode, AgentHealthIsOptionalAndPartial) {
  Message old = decodeOk(testing_support::readTestFile(goldenPath("heartbeat")));
  EXPECT_FALSE(std::get<Heartbeat>(old.body).health.has_value());
  Message partial =
      decodeOk(R"({"v":"1.2","type":"HEARTBEAT","msg_id":"h","site":"s","sent_at":1,)"
               R"("body":{"epoch":1,"running_jobs":0,"pending_jobs":0,)"
               R"("health":{"backend_ok":false,"last_backend_ok_at":0,"future":1}}})");
  const std::optional<AgentHealth>& h = std::get<Heartbeat>(partial.body).health;
  ASSERT_TRUE(h.has_value());
  EXPECT_FALSE(h->backend_ok);
  EXPECT_EQ(h->version, "");
  EXPECT_EQ(h->backend_error, "");
  EXPECT_FALSE(h->last_backend_ok_at.has_value());
  EXPECT_EQ(h->outbox_depth, 0u);
  // Never succeeded is written as 0, and reads back as never.
  std::string encoded = encodeMessage(partial);
  EXPECT_THAT(encoded, HasSubstr(R"("last_backend_ok_at":0)"));
  EXPECT_EQ(decodeOk(encoded), partial);
}

TEST(DecodeBad, MissingCapacityEpochIsMissingField) {
  DecodeFailure f =
      decodeFails(R"({"v":"1.0","type":"CAPACITY","msg_id":"c-1","site":"s","sent_at":1,)"
                  R"("body":{"capacity":{"partitions":[]}}})");
  EXPECT_EQ(f.status.field(), "body.capacity.epoch");
  EXPECT_EQ(errorFor(f).code, "missing_field");
}

// Found by the protocol_message fuzz target (tests/fuzz/regressions/protocol_message):
// Boost.JSON reads 1e999 as infinity, which encodeMessage() then wrote as `Infinity`, a
// frame no JSON reader accepts.
TEST(DecodeBad, NumberBeyondDoubleIsRefused) {
  DecodeFailure f = decodeFails(
      R"({"v":"1.2","type":"CAPACITY","msg_id":"c-1","site":"s","sent_at":1,"body":{"capacity":)"
      R"({"epoch":1,"partitions":[{"name":"gpu","node_type":{"accelerator":"h200",)"
      R"("accelerators_per_node":8,"cores":112,"memory_gib":2048},"nodes_total":1,)"
      R"("nodes_idle":1,"nodes_allocated":0,"nodes_down":0,"nodes_draining":0,)"
      R"("pending_jobs":0,"pending_node_hours":1e999,"running_jobs":0}]}}})");
  EXPECT_EQ(f.status.field(), "body.capacity.partitions[0].pending_node_hours");
  EXPECT_THAT(f.status.message(), HasSubstr("must be a finite number"));
  EXPECT_FALSE(jobSpecFromJson(boost::json::parse(
                                   R"({"nodes":1,"walltime_s":60,)"
                                   R"("datasets":[{"id":"d","size_gb":-1e999}]})"))
                   .ok());
}

std::string dispatchWithSpec(const std::string& spec) {
  return R"({"v":"1.0","type":"DISPATCH","msg_id":"d-1","site":"mimer","sent_at":1,)"
         R"("body":{"job_id":"j-1","attempt":1,"spec":)" +
         spec + "}}";
}

struct InvalidSpecCase {
  const char* spec;
  const char* field;
};

class DecodeInvalidSpec : public ::testing::TestWithParam<InvalidSpecCase> {};

TEST_P(DecodeInvalidSpec, GivesTheFieldPath) {
  DecodeFailure f = decodeFails(dispatchWithSpec(GetParam().spec));
  EXPECT_EQ(f.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.status.field(), GetParam().field) << f.status.toString();
  EXPECT_THAT(f.status.message(), HasSubstr(GetParam().field));
  EXPECT_EQ(f.msg_id, "d-1");
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DecodeInvalidSpec,
    ::testing::Values(InvalidSpecCase{R"({"nodes":-1,"walltime_s":60})", "body.spec.nodes"},
                      InvalidSpecCase{R"({"nodes":2,"walltime_s":0})", "body.spec.walltime_s"},
                      InvalidSpecCase{
                          R"({"nodes":2,"walltime_s":60,"gpu_type":"h100","gpus_per_node":0})",
                          "body.spec.gpu_type"},
                      InvalidSpecCase{R"({"walltime_s":60})", "body.spec.nodes"},
                      InvalidSpecCase{R"({"nodes":2})", "body.spec.walltime_s"},
                      InvalidSpecCase{R"({"nodes":2.5,"walltime_s":60})", "body.spec.nodes"},
                      InvalidSpecCase{R"({"nodes":2,"walltime_s":60,"allowed_countries":["SE",3]})",
                                      "body.spec.allowed_countries[1]"}));

TEST(DecodeBad, WalltimeZeroSaysPositive) {
  DecodeFailure f = decodeFails(dispatchWithSpec(R"({"nodes":2,"walltime_s":0})"));
  EXPECT_THAT(f.status.message(), HasSubstr("walltime must be positive"));
}

TEST(JobSpecFromJson, ErrorFieldWithoutPrefix) {
  Result<JobSpec> spec = jobSpecFromJson(boost::json::parse(R"({"nodes":0,"walltime_s":1})"));
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().field(), "nodes");
}

// Issue 14: dependencies and output names are read, normalised ("12" is "j-12"), written
// only when set (a job without them encodes as before), and checked.
TEST(Codec, DependenciesAndOutputNamesRoundTripAndAreOmittedWhenUnset) {
  boost::json::value body = boost::json::parse(R"({"nodes": 1, "walltime_s": 60,
    "dependencies": [{"job": "12", "condition": "afterany"}, {"job": "j-13"}],
    "stdout": "run-%j.out", "stderr": "logs/run-%j.err"})");
  Result<JobSpec> spec = jobSpecFromJson(body);
  ASSERT_TRUE(spec.ok()) << spec.status().toString();
  ASSERT_EQ(spec->dependencies.size(), 2u);
  EXPECT_EQ(spec->dependencies[0], (JobDependency{"j-12", DependencyCondition::kAfterAny}));
  EXPECT_EQ(spec->dependencies[1], (JobDependency{"j-13", DependencyCondition::kAfterOk}));
  EXPECT_EQ(spec->stdout_name, "run-%j.out");
  EXPECT_EQ(spec->stderr_name, "logs/run-%j.err");
  Result<JobSpec> again = jobSpecFromJson(toJson(*spec));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *spec);
  JobSpec plain;
  plain.walltime = std::chrono::seconds(60);
  boost::json::object o = toJson(plain);
  EXPECT_EQ(o.if_contains("dependencies"), nullptr);
  EXPECT_EQ(o.if_contains("stdout"), nullptr);
  EXPECT_EQ(o.if_contains("stderr"), nullptr);
}

TEST(Codec, BadDependenciesAndOutputNamesNameTheirField) {
  struct Case {
    const char* extra;
    const char* field;
  };
  for (const Case& c : {Case{R"("dependencies": [{"job": "j-1", "condition": "after"}])",
                             "dependencies"},
                        Case{R"("dependencies": [{"job": "x-1"}])", "dependencies"},
                        Case{R"("dependencies": {"job": "j-1"})", "dependencies"},
                        Case{R"("stdout": "/etc/passwd")", "stdout"},
                        Case{R"("stderr": "../other/x.err")", "stderr"},
                        Case{R"("stdout": "a/../../b")", "stdout"}}) {
    boost::json::value body = boost::json::parse(
        std::string(R"({"nodes": 1, "walltime_s": 60, )") + c.extra + "}");
    Result<JobSpec> spec = jobSpecFromJson(body);
    ASSERT_FALSE(spec.ok()) << c.extra;
    EXPECT_EQ(spec.status().field(), c.field) << c.extra;
  }
  // A name may contain dots, just not a ".." component.
  EXPECT_TRUE(validateOutputName("run..1.out", "stdout").ok());
}

}  // namespace
}  // namespace aifed
