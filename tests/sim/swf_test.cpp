#include "sim/swf.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace aifed::sim {
namespace {

TEST(SwfTest, ReadsHeaderAndAll18Fields) {
  std::string text =
      "; Version: 2.2\n"
      "; MaxNodes: 128\n"
      "; MaxProcs: 256\n"
      "; Note: there is no information on wait times\n"
      ";       continued free text: with a colon\n"
      "\n"
      "  57  25574  3  10  1  2.5  100  4  3600  2048  1  4  1  2  0  1  -1  -1\r\n";
  Result<SwfTrace> t = parseSwf(text, "t.swf");
  ASSERT_TRUE(t.ok()) << t.status().toString();
  EXPECT_EQ(t->maxNodes(), 128);
  EXPECT_EQ(t->maxProcs(), 256);
  EXPECT_EQ(t->header.at("Note"), "there is no information on wait times");
  EXPECT_EQ(t->header.count("continued free text"), 0u);
  ASSERT_EQ(t->jobs.size(), 1u);
  const SwfJob& j = t->jobs[0];
  EXPECT_EQ(j.job_number, 57);  // real traces do not start at 1
  EXPECT_EQ(j.submit_time, 25574);
  EXPECT_EQ(j.wait_time, 3);
  EXPECT_EQ(j.run_time, 10);
  EXPECT_EQ(j.allocated_procs, 1);
  EXPECT_EQ(j.avg_cpu_time, 2.5);
  EXPECT_EQ(j.used_memory_kb, 100);
  EXPECT_EQ(j.requested_procs, 4);
  EXPECT_EQ(j.requested_time, 3600);
  EXPECT_EQ(j.requested_memory_kb, 2048);
  EXPECT_EQ(j.status, 1);
  EXPECT_EQ(j.user_id, 4);
  EXPECT_EQ(j.group_id, 1);
  EXPECT_EQ(j.executable, 2);
  EXPECT_EQ(j.queue, 0);
  EXPECT_EQ(j.partition, 1);
  EXPECT_EQ(j.preceding_job, -1);
  EXPECT_EQ(j.think_time, -1);
  EXPECT_EQ(j.line, 7);
}

TEST(SwfTest, AcceptsFloatFieldsAndUnknownRuntime) {
  Result<SwfTrace> t =
      parseSwf("1 10.5 -1 -1 8.0 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1\n", "f.swf");
  ASSERT_TRUE(t.ok()) << t.status().toString();
  EXPECT_EQ(t->jobs[0].submit_time, 10.5);
  EXPECT_EQ(t->jobs[0].run_time, -1);
  EXPECT_EQ(t->jobs[0].allocated_procs, 8);
  EXPECT_FALSE(t->maxProcs().has_value());
}

TEST(SwfTest, TruncatedLineNamesFileAndLine) {
  Result<SwfTrace> t = parseSwf(
      "; MaxProcs: 4\n1 0 -1 5 1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1\n2 3 -1 5 1\n", "x.swf");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "x.swf:3: expected 18 fields, got 5 (truncated line?)");
}

TEST(SwfTest, MalformedFieldNamesFieldAndLine) {
  Result<SwfTrace> t = parseSwf("1 0 -1 5 abc -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1\n", "x.swf");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "x.swf:1: field 5 (allocated procs) is not a number: 'abc'");
  Result<SwfTrace> extra =
      parseSwf("1 0 -1 5 1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 9\n", "x.swf");
  ASSERT_FALSE(extra.ok());
  EXPECT_EQ(extra.status().message(), "x.swf:1: expected 18 fields, got 19");
}

// Found by the swf fuzz target (tests/fuzz/regressions/swf): converting a number beyond
// int64_t to an integer was undefined behaviour.
TEST(SwfTest, NumbersBeyondInt64AreRefusedNotConverted) {
  Result<SwfTrace> t =
      parseSwf("1 0 -1 5 1e19 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1\n", "x.swf");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "x.swf:1: field 5 (allocated procs) is out of range: '1e19'");
  Result<SwfTrace> huge =
      parseSwf("; MaxProcs: 1e43\n; MaxNodes: 9223372036854775807\n", "x.swf");
  ASSERT_TRUE(huge.ok()) << huge.status().toString();
  EXPECT_EQ(huge->maxProcs(), std::nullopt);
  EXPECT_EQ(huge->maxNodes(), std::nullopt);  // 2^63 - 1 is 2^63 as a double
  Result<SwfTrace> big = parseSwf("; MaxProcs: 9007199254740992\n", "x.swf");
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->maxProcs(), 9007199254740992);  // 2^53
}

TEST(SwfTest, ReadsGzipAndReportsMissingAndTruncatedFiles) {
  std::string line = "1 0 -1 5 1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1\n";
  std::string path = ::testing::TempDir() + "/swf_test.swf.gz";
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::string text = "; MaxProcs: 4\n";
  for (int i = 0; i < 2000; ++i) text += line;
  gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
  Result<SwfTrace> t = readSwfFile(path);
  ASSERT_TRUE(t.ok()) << t.status().toString();
  EXPECT_EQ(t->jobs.size(), 2000u);
  EXPECT_EQ(t->maxProcs(), 4);

  // Cut the compressed file in half: an error, not a silently shorter trace.
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::string cut = ::testing::TempDir() + "/swf_test_cut.swf.gz";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  EXPECT_FALSE(readSwfFile(cut).ok());

  Result<SwfTrace> missing = readSwfFile("/nonexistent/x.swf");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(SwfTest, ReadsBothSampleTraces) {
  Result<SwfTrace> nasa = readSwfFile(AIFED_SOURCE_DIR "/data/traces/NASA-iPSC-1993-3.1-cln.swf");
  ASSERT_TRUE(nasa.ok()) << nasa.status().toString();  // data/traces is in the repository
  EXPECT_EQ(nasa->jobs.size(), 18239u);
  EXPECT_EQ(nasa->maxProcs(), 128);
}

}  // namespace
}  // namespace aifed::sim
