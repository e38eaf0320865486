// The ZAP handler's key table replaced at run time (a federation reload): handshakes
// from then on follow the new table, connections already admitted keep their User-Id,
// and each frame names the key its connection presented.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "protocol/transport/curve_keys.h"
#include "protocol/transport/zap_handler.h"
#include "protocol/transport/zmq_socket.h"

namespace aifed::transport {
namespace {

using namespace std::chrono_literals;

CurveKeyPair freshKeys() {
  auto kp = generateCurveKeyPair();
  EXPECT_TRUE(kp.ok()) << kp.status().toString();
  return *kp;
}

// Sends `frame` until the socket takes it (IMMEDIATE: not before a handshake), then
// polls the router for it; nullopt when nothing arrived within `limit`.
std::optional<InboundFrame> roundTrip(DealerSocket& dealer, RouterSocket& router,
                                      const std::string& frame, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!dealer.send(frame).ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto in = router.tryReceive()) return in;
    std::this_thread::sleep_for(5ms);
  }
  return std::nullopt;
}

class ZapReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = freshKeys();
    old_ = freshKeys();
    new_ = freshKeys();
    zap_ = std::make_unique<ZapHandler>(
        context_, std::map<std::string, std::string>{{old_.public_key, "mimer"}});
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
  CurveKeyPair server_, old_, new_;
  std::unique_ptr<ZapHandler> zap_;
  std::unique_ptr<RouterSocket> router_;
  std::string endpoint_;
};

TEST_F(ZapReloadTest, AFrameNamesTheKeyItsConnectionPresented) {
  DealerSocket dealer(context_, "mimer", old_, server_.public_key);
  ASSERT_TRUE(dealer.connect(endpoint_).ok());
  auto in = roundTrip(dealer, *router_, "x", 5s);
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->user_id, "mimer");
  EXPECT_EQ(in->key, old_.public_key);
}

TEST_F(ZapReloadTest, ANewKeyIsAcceptedOnceTheTableListsIt) {
  DealerSocket before(context_, "mimer", new_, server_.public_key);
  ASSERT_TRUE(before.connect(endpoint_).ok());
  EXPECT_FALSE(roundTrip(before, *router_, "x", 500ms).has_value());
  uint64_t refused = zap_->stats().refused;
  EXPECT_GE(refused, 1u);

  // The overlap: both keys act for mimer.
  zap_->setKeys({{old_.public_key, "mimer"}, {new_.public_key, "mimer"}});
  EXPECT_EQ(zap_->keys().size(), 2u);
  DealerSocket after(context_, "mimer", new_, server_.public_key);
  ASSERT_TRUE(after.connect(endpoint_).ok());
  auto in = roundTrip(after, *router_, "y", 5s);
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->payload, "y");
  EXPECT_EQ(in->user_id, "mimer");
  EXPECT_EQ(in->key, new_.public_key);
}

TEST_F(ZapReloadTest, ARetiredKeyIsRefusedAtTheNextHandshakeOnly) {
  DealerSocket admitted(context_, "mimer", old_, server_.public_key);
  ASSERT_TRUE(admitted.connect(endpoint_).ok());
  ASSERT_TRUE(roundTrip(admitted, *router_, "a", 5s).has_value());

  zap_->setKeys({{new_.public_key, "mimer"}});
  // The admitted connection keeps its User-Id and key (the coordinator, not ZeroMQ,
  // refuses it: coordinator_daemon.cpp, "key_retired")...
  auto in = roundTrip(admitted, *router_, "b", 5s);
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->user_id, "mimer");
  EXPECT_EQ(in->key, old_.public_key);
  // ...while a new handshake with the retired key is refused.
  uint64_t refused = zap_->stats().refused;
  DealerSocket again(context_, "mimer", old_, server_.public_key);
  ASSERT_TRUE(again.connect(endpoint_).ok());
  EXPECT_FALSE(roundTrip(again, *router_, "c", 500ms).has_value());
  EXPECT_GT(zap_->stats().refused, refused);
}

TEST_F(ZapReloadTest, AKeyMovedToAnotherSiteNamesTheNewSiteAtTheNextHandshake) {
  zap_->setKeys({{old_.public_key, "lumi-aif"}});
  DealerSocket dealer(context_, "lumi-aif", old_, server_.public_key);
  ASSERT_TRUE(dealer.connect(endpoint_).ok());
  auto in = roundTrip(dealer, *router_, "x", 5s);
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->user_id, "lumi-aif");
}

}  // namespace
}  // namespace aifed::transport
