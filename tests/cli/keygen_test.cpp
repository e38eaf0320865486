// Issue 17: `aifed keygen --out DIR --name NAME` as docs/security.md documents it, the
// older `--out PREFIX`, `aifed key fingerprint`, and `aifed --version`.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "cli/commands.h"
#include "common/files.h"
#include "protocol/transport/curve_keys.h"
#include "tests/store/test_dir.h"

namespace aifed::cli {
namespace {

using testing_support::TestDir;

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

CliRun runAifed(std::vector<std::string> args) {
  args.insert(args.begin(), "aifed");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  std::ostringstream out, err;
  int code = runCli(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

TEST(KeygenCommandTest, OutDirAndNameWriteNameKeyAndBarePub) {
  TestDir dir;
  std::string keys = dir.file("etc/aifed/keys");
  CliRun r = runAifed({"keygen", "--out", keys, "--name", "mimer"});
  ASSERT_EQ(r.code, 0) << r.err;
  Result<std::string> pub = common::readFile(keys + "/mimer.pub");
  ASSERT_TRUE(pub.ok()) << pub.status().toString();
  ASSERT_EQ(pub->size(), 41u) << *pub;
  std::string key = pub->substr(0, 40);
  EXPECT_TRUE(transport::isValidZ85Key(key));
  EXPECT_EQ(pub->back(), '\n');
  struct stat st {};
  ASSERT_EQ(stat((keys + "/mimer.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(transport::readKeyPairFile(keys + "/mimer.key")->public_key, key);
  // It prints the public key and its fingerprint.
  std::string fp = transport::curveKeyFingerprint(key).value();
  EXPECT_NE(r.out.find("public key:  " + key), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fingerprint: " + fp), std::string::npos) << r.out;
  // A second run refuses to overwrite the secret (exit 2) and leaves it as it was.
  CliRun again = runAifed({"keygen", "--out", keys, "--name", "mimer"});
  EXPECT_EQ(again.code, 2);
  EXPECT_NE(again.err.find("refusing to overwrite"), std::string::npos) << again.err;
  EXPECT_EQ(transport::readKeyPairFile(keys + "/mimer.key")->public_key, key);
}

TEST(KeygenCommandTest, PrefixFormKeepsWorkingAndJsonCarriesTheFingerprint) {
  TestDir dir;
  CliRun r = runAifed({"keygen", "--out", dir.file("keys/lumi-aif"), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Result<transport::CurveKeyPair> kp = transport::readKeyPairFile(dir.file("keys/lumi-aif.pub"));
  ASSERT_TRUE(kp.ok()) << kp.status().toString();
  EXPECT_NE(r.out.find("\"public_key\":\"" + kp->public_key + "\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"fingerprint\":\"SHA256:"), std::string::npos) << r.out;
}

TEST(KeygenCommandTest, NameWithASlashIsAUsageError) {
  TestDir dir;
  CliRun r = runAifed({"keygen", "--out", dir.file("k"), "--name", "../mimer"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--name"), std::string::npos) << r.err;
}

TEST(KeyFingerprintCommandTest, OfAFileAndOfAKeyAgree) {
  TestDir dir;
  const std::string key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
  std::ofstream(dir.file("old.pub")) << "public = \"" << key << "\"\n";
  CliRun of_file = runAifed({"key", "fingerprint", dir.file("old.pub")});
  ASSERT_EQ(of_file.code, 0) << of_file.err;
  EXPECT_EQ(of_file.out, "SHA256:UiUB9OemP2Hdd21+1oKRBMgVAiTJW5bZXRioJUnsVdM  " + key + "\n");
  CliRun of_key = runAifed({"key", "fingerprint", key});
  EXPECT_EQ(of_key.code, 0);
  EXPECT_EQ(of_key.out, of_file.out);
  CliRun bad = runAifed({"key", "fingerprint", dir.file("absent.pub")});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("absent.pub"), std::string::npos) << bad.err;
}

TEST(VersionTest, AifedPrintsItsNameAndVersion) {
  CliRun r = runAifed({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, std::string("aifed ") + AIFED_VERSION + "\n");
}

}  // namespace
}  // namespace aifed::cli
