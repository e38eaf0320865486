// CURVE + ZAP on real sockets over loopback (ports chosen by the kernel).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "protocol/transport/curve_keys.h"
#include "protocol/transport/zap_handler.h"
#include "protocol/transport/zmq_socket.h"

namespace aifed::transport {
namespace {

using namespace std::chrono_literals;

CurveKeyPair newKeys() {
  auto kp = generateCurveKeyPair();
  EXPECT_TRUE(kp.ok()) << kp.status().toString();
  return *kp;
}

// Polls the router until a frame arrives or the deadline passes.
std::optional<InboundFrame> receiveWithin(RouterSocket& router, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto in = router.tryReceive()) return in;
    std::this_thread::sleep_for(5ms);
  }
  return std::nullopt;
}

class CurveTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = newKeys();
    mimer_ = newKeys();
    lumi_ = newKeys();
    zap_ = std::make_unique<ZapHandler>(
        context_, std::map<std::string, std::string>{{mimer_.public_key, "mimer"},
                                                     {lumi_.public_key, "lumi-aif"}});
    router_ = std::make_unique<RouterSocket>(context_, server_);
    auto ep = router_->bind("tcp://127.0.0.1:*");
    ASSERT_TRUE(ep.ok()) << ep.status().toString();
    endpoint_ = *ep;
  }
  void TearDown() override {
    router_.reset();
    zap_.reset();
  }

  zmq::context_t context_;
  CurveKeyPair server_, mimer_, lumi_;
  std::unique_ptr<ZapHandler> zap_;
  std::unique_ptr<RouterSocket> router_;
  std::string endpoint_;
};

TEST_F(CurveTransportTest, KnownKeyIsAdmittedAndNamedByItsSite) {
  DealerSocket dealer(context_, "mimer", mimer_, server_.public_key);
  ASSERT_TRUE(dealer.connect(endpoint_).ok());
  // IMMEDIATE: sends fail until the handshake completes, so retry for a moment.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!dealer.send("hello").ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  auto in = receiveWithin(*router_, 5s);
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->payload, "hello");
  EXPECT_EQ(in->user_id, "mimer");
  EXPECT_EQ(in->route, dealer.routingId());
  EXPECT_EQ(dealer.routingId().rfind("mimer/", 0), 0u);
  ASSERT_TRUE(router_->send(in->route, "welcome").ok());
  std::optional<InboundFrame> back;
  deadline = std::chrono::steady_clock::now() + 5s;
  while (!(back = dealer.tryReceive()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->payload, "welcome");
  EXPECT_GE(dealer.pollEvents().connected, 1u);
  EXPECT_GE(zap_->stats().accepted, 1u);
}

TEST_F(CurveTransportTest, UnknownKeyNeverGetsAFrameThrough) {
  CurveKeyPair stranger = newKeys();
  DealerSocket dealer(context_, "mimer", stranger, server_.public_key);
  ASSERT_TRUE(dealer.connect(endpoint_).ok());
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (dealer.pollEvents().auth_failed == 0 && std::chrono::steady_clock::now() < deadline) {
    (void)dealer.send("HELLO I am mimer");
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_GE(dealer.pollEvents().auth_failed, 1u);
  EXPECT_GE(zap_->stats().refused, 1u);
  EXPECT_FALSE(receiveWithin(*router_, 300ms).has_value());
}

TEST_F(CurveTransportTest, IdentityComesFromTheKeyNotFromTheRoutingId) {
  // lumi's key, dressed up with mimer's site name in its routing id.
  DealerSocket dealer(context_, "mimer", lumi_, server_.public_key);
  ASSERT_TRUE(dealer.connect(endpoint_).ok());
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!dealer.send("x").ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  auto in = receiveWithin(*router_, 5s);
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->user_id, "lumi-aif");
}

TEST_F(CurveTransportTest, WrongServerKeyFailsTheHandshake) {
  CurveKeyPair impostor = newKeys();
  DealerSocket dealer(context_, "mimer", mimer_, impostor.public_key);
  ASSERT_TRUE(dealer.connect(endpoint_).ok());
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(dealer.send("x").ok());
  EXPECT_FALSE(receiveWithin(*router_, 300ms).has_value());
}

// Sends until the socket takes the frame (IMMEDIATE: not before a handshake).
void sendWhenConnected(DealerSocket& dealer, const std::string& frame) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!dealer.send(frame).ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
}

TEST_F(CurveTransportTest, OversizedFrameIsRefusedAndTheSiteConnectsAgain) {
  DealerSocket dealer(context_, "mimer", mimer_, server_.public_key);
  ASSERT_TRUE(dealer.connect(endpoint_).ok());
  sendWhenConnected(dealer, "before");
  auto in = receiveWithin(*router_, 5s);
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->payload, "before");

  // 1 byte over the bound: ZeroMQ refuses it and drops that connection.
  std::string oversized(static_cast<size_t>(SocketOptions{}.max_message_bytes) + 1, 'x');
  ASSERT_TRUE(dealer.send(oversized).ok());
  EXPECT_FALSE(receiveWithin(*router_, 1s).has_value());

  // The dealer reconnects by itself; the router still serves it.
  bool arrived = false;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (!arrived && std::chrono::steady_clock::now() < deadline) {
    (void)dealer.send("after");
    if (auto again = receiveWithin(*router_, 200ms)) arrived = again->payload == "after";
  }
  EXPECT_TRUE(arrived) << "no frame got through after the oversized one";
  EXPECT_GE(dealer.pollEvents().disconnected, 1u);
}

// The bound applies to the frame on the wire, CURVE's box included (a few dozen bytes):
// a payload 4 KiB under it passes.
TEST_F(CurveTransportTest, FrameJustUnderTheBoundPasses) {
  DealerSocket dealer(context_, "mimer", mimer_, server_.public_key);
  ASSERT_TRUE(dealer.connect(endpoint_).ok());
  std::string largest(static_cast<size_t>(SocketOptions{}.max_message_bytes) - 4096, 'y');
  sendWhenConnected(dealer, largest);
  auto in = receiveWithin(*router_, 10s);
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->payload.size(), largest.size());
}

#ifdef AIFED_FAULT_INJECTION
// AIFED_FAULTS read when the socket is made: the dealer loses every HEARTBEAT it sends and
// nothing else; a socket made without the variable is untouched.
TEST_F(CurveTransportTest, FaultPlanFromTheEnvironmentActsOnTheSocketsFrames) {
  setenv("AIFED_FAULTS", "drop=1,drop_type=HEARTBEAT", 1);
  DealerSocket faulty(context_, "mimer", mimer_, server_.public_key);
  unsetenv("AIFED_FAULTS");
  ASSERT_TRUE(faulty.connect(endpoint_).ok());
  const std::string heartbeat = R"({"v":"1.1","type":"HEARTBEAT","body":{}})";
  const std::string status = R"({"v":"1.1","type":"JOB_STATUS","body":{"state":"running"}})";
  sendWhenConnected(faulty, status);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(faulty.send(heartbeat).ok());
  ASSERT_TRUE(faulty.send(status).ok());
  std::vector<std::string> got;
  while (auto in = receiveWithin(*router_, 500ms)) got.push_back(in->payload);
  EXPECT_EQ(got, (std::vector<std::string>{status, status}));
}
#endif

TEST(CurveKeysTest, KeyFilesRoundTripAndProtectTheSecret) {
  auto dir = std::filesystem::temp_directory_path() / ("aifed-keys-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  CurveKeyPair kp = newKeys();
  ASSERT_TRUE(writeKeyPair(kp, dir.string(), "mimer").ok());
  auto back = readKeyPairFile((dir / "mimer.key").string());
  ASSERT_TRUE(back.ok()) << back.status().toString();
  EXPECT_EQ(back->public_key, kp.public_key);
  EXPECT_EQ(back->secret_key, kp.secret_key);
  auto pub = readKeyPairFile((dir / "mimer.pub").string());
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->public_key, kp.public_key);
  EXPECT_TRUE(pub->secret_key.empty());
  auto perms = std::filesystem::status(dir / "mimer.key").permissions();
  EXPECT_EQ(perms & std::filesystem::perms::group_read, std::filesystem::perms::none);
  EXPECT_EQ(perms & std::filesystem::perms::others_read, std::filesystem::perms::none);
  // Never overwrite a secret key silently.
  Status again = writeKeyPair(newKeys(), dir.string(), "mimer");
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(writeKeyPair(newKeys(), dir.string(), "mimer", /*overwrite=*/true).ok());
  std::filesystem::remove_all(dir);
}

TEST(CurveKeysTest, BadKeyFilesAreRefusedWithTheReason) {
  auto dir = std::filesystem::temp_directory_path() / ("aifed-badkeys-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "short.key") << "public = \"abc\"\n";
  auto r = readKeyPairFile((dir / "short.key").string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("public"), std::string::npos);
  EXPECT_EQ(readKeyPairFile((dir / "absent.key").string()).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(isValidZ85Key("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf"));    // 39 chars
  EXPECT_FALSE(isValidZ85Key("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\""));  // bad char
  EXPECT_TRUE(isValidZ85Key("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace aifed::transport
