// Issue 17: a bare public key file, the older TOML one still read, and the fingerprint
// two admins compare out of band (docs/security.md, "Keys").
#include "protocol/transport/curve_keys.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/files.h"
#include "tests/store/test_dir.h"

namespace aifed::transport {
namespace {

using testing_support::TestDir;

// The public key of docs/security.md's example (ZeroMQ's own documentation uses it).
constexpr const char* kKey = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
// Worked out independently of this code (Python's hashlib and base64 over the Z85
// decoding 54fcba24...1bc2d652): base64 of SHA-256 over the 32 raw bytes, '=' dropped.
constexpr const char* kFingerprint = "SHA256:UiUB9OemP2Hdd21+1oKRBMgVAiTJW5bZXRioJUnsVdM";

TEST(CurveKeyFingerprintTest, IsSha256OfTheRawKeyInUnpaddedBase64) {
  Result<std::string> fp = curveKeyFingerprint(kKey);
  ASSERT_TRUE(fp.ok()) << fp.status().toString();
  EXPECT_EQ(*fp, kFingerprint);
  // 43 base64 characters carry 256 bits; the padding '=' is dropped as ssh does.
  EXPECT_EQ(fp->size(), std::string("SHA256:").size() + 43);
}

TEST(CurveKeyFingerprintTest, DiffersForAnotherKeyAndRefusesANonKey) {
  Result<CurveKeyPair> other = generateCurveKeyPair();
  ASSERT_TRUE(other.ok());
  Result<std::string> fp = curveKeyFingerprint(other->public_key);
  ASSERT_TRUE(fp.ok());
  EXPECT_NE(*fp, kFingerprint);
  Result<std::string> bad = curveKeyFingerprint("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("40-character"), std::string::npos);
}

TEST(CurveKeyFilesTest, PubFileIsTheBareKeyAndANewline) {
  TestDir dir;
  Result<CurveKeyPair> kp = generateCurveKeyPair();
  ASSERT_TRUE(kp.ok());
  ASSERT_TRUE(writeKeyPair(*kp, dir.file("keys"), "mimer").ok());
  Result<std::string> text = common::readFile(dir.file("keys/mimer.pub"));
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, kp->public_key + "\n") << "pasteable into the federation file as it is";
  Result<CurveKeyPair> back = readKeyPairFile(dir.file("keys/mimer.pub"));
  ASSERT_TRUE(back.ok()) << back.status().toString();
  EXPECT_EQ(back->public_key, kp->public_key);
  EXPECT_TRUE(back->secret_key.empty());
}

TEST(CurveKeyFilesTest, OlderTomlPubFileAndCommentedBareKeyAreRead) {
  TestDir dir;
  std::ofstream(dir.file("old.pub"))
      << "# aifed CURVE public key for \"mimer\": put it in the federation file.\n"
      << "public = \"" << kKey << "\"\n";
  Result<CurveKeyPair> old = readKeyPairFile(dir.file("old.pub"));
  ASSERT_TRUE(old.ok()) << old.status().toString();
  EXPECT_EQ(old->public_key, kKey);
  std::ofstream(dir.file("mailed.pub")) << "# from mimer's admin\n\n  " << kKey << "  \r\n";
  Result<CurveKeyPair> mailed = readKeyPairFile(dir.file("mailed.pub"));
  ASSERT_TRUE(mailed.ok()) << mailed.status().toString();
  EXPECT_EQ(mailed->public_key, kKey);
}

TEST(CurveKeyFilesTest, GarbageIsRefusedNamingTheFile) {
  TestDir dir;
  std::ofstream(dir.file("bad.pub")) << "not a key\n";
  Result<CurveKeyPair> bad = readKeyPairFile(dir.file("bad.pub"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find(dir.file("bad.pub")), std::string::npos);
}

TEST(CurveKeyFilesTest, ReadPublicKeyTakesAFileOrTheKeyItself) {
  TestDir dir;
  std::ofstream(dir.file("k.pub")) << kKey << "\n";
  EXPECT_EQ(readPublicKey(dir.file("k.pub")).value(), kKey);
  EXPECT_EQ(readPublicKey(kKey).value(), kKey);
  EXPECT_EQ(readPublicKey(dir.file("absent.pub")).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace aifed::transport
