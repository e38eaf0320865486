// JobOutputReader: what an agent answers to LOG_REQUEST, on real files in a temp dir.
#include "site-agent/job_output.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "tests/store/test_dir.h"

namespace aifed::agent {
namespace {

// The agent's records in memory.
class MemoryLedger final : public DispatchLedger {
 public:
  Result<std::optional<DispatchRecord>> findDispatch(const JobTag& tag) override {
    if (!readable) return unavailable("database is locked");
    auto it = records.find({tag.job_id, tag.attempt});
    if (it == records.end()) return std::optional<DispatchRecord>();
    return std::optional<DispatchRecord>(it->second);
  }
  Status saveDispatch(const DispatchRecord& r) override {
    records[{r.tag.job_id, r.tag.attempt}] = r;
    return Status::Ok();
  }
  std::map<std::pair<std::string, int>, DispatchRecord> records;
  bool readable = true;
};

class JobOutputTest : public ::testing::Test {
 protected:
  // A file with `content`, and an accepted attempt j-1/1 whose stdout it is.
  std::string givenOutput(const std::string& content, std::optional<uint32_t> uid = {}) {
    std::string path = dir_.file("j-1-1.out");
    std::ofstream(path, std::ios::binary) << content;
    DispatchRecord r;
    r.tag = {"j-1", 1};
    r.accepted = true;
    r.local_id = "sim-1";
    r.stdout_path = path;
    r.identity.uid = uid;
    (void)ledger_.saveDispatch(r);
    return path;
  }
  static LogRequest request(std::optional<uint64_t> offset, uint64_t max_bytes,
                            std::string stream = "stdout") {
    return LogRequest{.request_id = "r-1",
                      .job_id = "j-1",
                      .attempt = 1,
                      .stream = std::move(stream),
                      .offset = offset,
                      .max_bytes = max_bytes};
  }

  testing_support::TestDir dir_;
  MemoryLedger ledger_;
  JobOutputReader reader_{{.hard_cap = 16}};
};

TEST_F(JobOutputTest, TailIsTheLastMaxBytes) {
  std::string path = givenOutput("line one\nline two\n");  // 18 bytes
  LogData d = reader_.answer(request(std::nullopt, 9), ledger_);
  EXPECT_EQ(d.error, "");
  EXPECT_EQ(d.request_id, "r-1");
  EXPECT_EQ(d.job_id, "j-1");
  EXPECT_EQ(d.stream, "stdout");
  EXPECT_EQ(d.path, path);
  EXPECT_EQ(d.size, 18u);
  EXPECT_EQ(d.offset, 9u);
  EXPECT_EQ(d.end, 18u);
  EXPECT_EQ(d.data, "line two\n");
}

TEST_F(JobOutputTest, FromAnOffset) {
  givenOutput("line one\nline two\n");
  LogData d = reader_.answer(request(5, 8), ledger_);
  EXPECT_EQ(d.offset, 5u);
  EXPECT_EQ(d.end, 13u);
  EXPECT_EQ(d.data, "one\nline");
  // At or past the end: nothing, and the offset is the size (the next read starts there).
  LogData past = reader_.answer(request(100, 8), ledger_);
  EXPECT_EQ(past.error, "");
  EXPECT_EQ(past.offset, 18u);
  EXPECT_EQ(past.end, 18u);
  EXPECT_EQ(past.data, "");
}

TEST_F(JobOutputTest, TheAgentsCapWinsOverTheRequest) {
  givenOutput(std::string(40, 'x'));
  // Asked for 1000 (and for 0, "as much as allowed"): the hard cap of 16.
  LogData big = reader_.answer(request(0, 1000), ledger_);
  EXPECT_EQ(big.data.size(), 16u);
  EXPECT_EQ(big.end, 16u);
  LogData unbounded = reader_.answer(request(std::nullopt, 0), ledger_);
  EXPECT_EQ(unbounded.offset, 24u);
  EXPECT_EQ(unbounded.data.size(), 16u);
}

TEST_F(JobOutputTest, ASymlinkIsRefused) {
  std::string target = givenOutput("secret\n");
  std::string link = dir_.file("link.out");
  std::filesystem::create_symlink(target, link);
  ledger_.records.begin()->second.stdout_path = link;
  LogData d = reader_.answer(request(std::nullopt, 100), ledger_);
  EXPECT_EQ(d.error, "unreadable");
  EXPECT_NE(d.message.find("symbolic link"), std::string::npos) << d.message;
  EXPECT_EQ(d.data, "");
}

TEST_F(JobOutputTest, AFileOfAnotherOwnerIsRefused) {
  givenOutput("someone else's\n", static_cast<uint32_t>(::getuid()) + 1);
  LogData d = reader_.answer(request(std::nullopt, 100), ledger_);
  EXPECT_EQ(d.error, "unreadable");
  EXPECT_NE(d.message.find("belongs to uid " + std::to_string(::getuid())), std::string::npos)
      << d.message;
  EXPECT_EQ(d.data, "");
  // The same file for a job that runs as this uid is read.
  ledger_.records.begin()->second.identity.uid = ::getuid();
  EXPECT_EQ(reader_.answer(request(std::nullopt, 100), ledger_).data, "someone else's\n");
}

TEST_F(JobOutputTest, ADirectoryOrFifoIsNotARegularFile) {
  givenOutput("");
  std::string fifo = dir_.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ledger_.records.begin()->second.stdout_path = fifo;
  // O_NONBLOCK: opening a FIFO nobody writes to does not hang the agent.
  LogData d = reader_.answer(request(std::nullopt, 100), ledger_);
  EXPECT_EQ(d.error, "unreadable");
  EXPECT_NE(d.message.find("not a regular file"), std::string::npos) << d.message;
}

TEST_F(JobOutputTest, InvalidUtf8BecomesTheReplacementCharacter) {
  givenOutput("ok \xFF\xC0\xAF done\n");  // a stray byte and an overlong '/'
  LogData d = reader_.answer(request(0, 16), ledger_);
  EXPECT_EQ(d.data, "ok \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD done\n");
  EXPECT_EQ(d.end, 12u);  // the raw bytes read, not the longer text
}

TEST_F(JobOutputTest, ACharacterCutByTheReadIsNotCorrupted) {
  // "é" is C3 A9; "€" is E2 82 AC. Bytes: a(0) é(1,2) b(3) €(4,5,6) c(7)
  givenOutput(
      "a\xC3\xA9"
      "b\xE2\x82\xAC"
      "c");
  // Ending inside "€": it is left for the next read.
  LogData head = reader_.answer(request(0, 6), ledger_);
  EXPECT_EQ(head.data,
            "a\xC3\xA9"
            "b");
  EXPECT_EQ(head.end, 4u);
  LogData next = reader_.answer(request(head.end, 6), ledger_);
  EXPECT_EQ(next.data,
            "\xE2\x82\xAC"
            "c");
  // Starting inside "é" (the tail of 6 bytes starts at byte 2): skipped, offset moved on.
  LogData tail = reader_.answer(request(std::nullopt, 6), ledger_);
  EXPECT_EQ(tail.offset, 3u);
  EXPECT_EQ(tail.data,
            "b\xE2\x82\xAC"
            "c");
}

TEST_F(JobOutputTest, Utf8Helpers) {
  EXPECT_EQ(sanitizeUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(sanitizeUtf8("\xF4\x90\x80\x80").size(), 12u);  // above U+10FFFF
  EXPECT_EQ(sanitizeUtf8("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(incompleteTail("x\xF0\x9F\x98"), 3u);
  EXPECT_EQ(incompleteTail("x\xF0\x8F"), 0u);  // an overlong start is no start: U+FFFD
  EXPECT_EQ(incompleteTail("x\xC3\xA9"), 0u);
  EXPECT_EQ(leadingContinuationBytes("\x80\x80\x80\x80x"), 3u);
}

TEST_F(JobOutputTest, UnknownAttemptIsNotFound) {
  givenOutput("x");
  LogRequest r = request(std::nullopt, 10);
  r.attempt = 2;
  LogData d = reader_.answer(r, ledger_);
  EXPECT_EQ(d.error, "not_found");
  EXPECT_EQ(d.message, "no attempt 2 of j-1 at this site");
  EXPECT_EQ(d.attempt, 2);
  // A refused dispatch holds no job either.
  ledger_.records.begin()->second.accepted = false;
  EXPECT_EQ(reader_.answer(request(std::nullopt, 10), ledger_).error, "not_found");
  ledger_.readable = false;
  EXPECT_EQ(reader_.answer(request(std::nullopt, 10), ledger_).error, "not_found");
}

TEST_F(JobOutputTest, NoOutputWhenTheBackendNamesNoneOrItIsNotWrittenYet) {
  std::string path = givenOutput("x");
  LogData err = reader_.answer(request(std::nullopt, 10, "stderr"), ledger_);
  EXPECT_EQ(err.error, "no_output");
  EXPECT_NE(err.message.find("keeps no stderr"), std::string::npos) << err.message;
  std::filesystem::remove(path);
  LogData gone = reader_.answer(request(std::nullopt, 10), ledger_);
  EXPECT_EQ(gone.error, "no_output");
  EXPECT_NE(gone.message.find("does not exist"), std::string::npos) << gone.message;
}

}  // namespace
}  // namespace aifed::agent
