// ZeroMQ sockets of the aifed wire protocol, set up the one way the protocol allows:
// CURVE on, heartbeats on, no lingering. One JSON frame per message.
//
// Coordinator side:
//   RouterSocket router(context, coordinator_keys);      // CURVE server, ZAP domain "aifed"
//   Result<std::string> ep = router.bind("tcp://127.0.0.1:*");   // "tcp://127.0.0.1:40123"
//   while (auto in = router.tryReceive()) handle(in->route, in->user_id, in->payload);
//   router.send(route, frame);
// Agent side:
//   DealerSocket dealer(context, "mimer", agent_keys, coordinator_public_key);
//   dealer.connect("tcp://127.0.0.1:40123");
//
// Both expose fd() (ZMQ_FD) for an event loop; after the fd signals, and after every
// send, drain with tryReceive() until it returns nothing: ZMQ_FD is edge-triggered.
//
// Frames longer than SocketOptions::max_message_bytes are refused by ZeroMQ itself
// (ZMQ_MAXMSGSIZE): the peer that sent one is disconnected and may connect again.
// Builds with AIFED_FAULT_INJECTION (Debug) read a fault plan from AIFED_FAULTS when a
// socket is made (fault_injector.h); other builds have no such code.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "protocol/status.h"
#include "protocol/transport/curve_keys.h"
#ifdef AIFED_FAULT_INJECTION
#include "protocol/transport/fault_injector.h"
#endif

namespace aifed::transport {

struct InboundFrame {
  std::string route;    // the peer's routing id (ROUTER only)
  std::string user_id;  // the site the ZAP handler named for the peer's key
  std::string key;      // the Z85 key the peer's handshake presented (ZapHandler::kKeyProperty)
  std::string payload;
};

struct SocketOptions {
  int heartbeat_ivl_ms = 2000;  // ZMTP-level ping, detects dead TCP peers
  int heartbeat_timeout_ms = 6000;
  int reconnect_ivl_ms = 200;
  int reconnect_ivl_max_ms = 5000;
  int send_hwm = 100000;
  // Far above the largest legitimate frame (a HELLO listing every job of a busy site is
  // a few MiB at most; a DISPATCH carries a spec of at most 1 MiB).
  int64_t max_message_bytes = int64_t{16} << 20;
};

class RouterSocket {
 public:
  // `keys` must hold the secret key. A ZapHandler must serve `context`.
  RouterSocket(zmq::context_t& context, const CurveKeyPair& keys, SocketOptions options = {});
  // "tcp://127.0.0.1:*" picks a free port; returns the endpoint actually bound.
  Result<std::string> bind(const std::string& endpoint);
  std::optional<InboundFrame> tryReceive();
  // kUnavailable if no peer holds `route` (it disconnected) or its queue is full.
  Status send(const std::string& route, const std::string& payload);
  int fd() const;

 private:
  Status rawSend(const std::string& route, const std::string& payload);

  zmq::socket_t socket_;
#ifdef AIFED_FAULT_INJECTION
  std::unique_ptr<FaultInjector> faults_;
#endif
};

class DealerSocket {
 public:
  // The routing id is "<site>/<random nonce>": the coordinator learns routes from
  // authenticated messages, so a routing id is never trusted on its own.
  DealerSocket(zmq::context_t& context, const std::string& site, const CurveKeyPair& keys,
               const std::string& server_public_key, SocketOptions options = {});
  Status connect(const std::string& endpoint);
  std::optional<InboundFrame> tryReceive();
  // kUnavailable while no connection is established (messages are not queued for a
  // peer that is not there: durable messages live in the agent's outbox).
  Status send(const std::string& payload);
  int fd() const;
  const std::string& routingId() const { return routing_id_; }

  // Handshake events observed through a socket monitor, for operators' logs.
  struct Events {
    uint64_t connected = 0;    // handshakes that succeeded
    uint64_t auth_failed = 0;  // coordinator refused our key
    uint64_t disconnected = 0;
  };
  // Reads pending monitor events (non-blocking) and returns the running totals.
  Events pollEvents();

 private:
  Status rawSend(const std::string& payload);

  std::string routing_id_;
  zmq::socket_t socket_;
  zmq::socket_t monitor_;
  Events events_;
#ifdef AIFED_FAULT_INJECTION
  std::unique_ptr<FaultInjector> faults_;
#endif
};

}  // namespace aifed::transport
