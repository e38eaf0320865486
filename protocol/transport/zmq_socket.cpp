#include "protocol/transport/zmq_socket.h"

#include <cstdio>
#include <cstring>
#include <random>

namespace aifed::transport {
namespace {

void applyCommon(zmq::socket_t& s, const SocketOptions& o) {
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::heartbeat_ivl, o.heartbeat_ivl_ms);
  s.set(zmq::sockopt::heartbeat_timeout, o.heartbeat_timeout_ms);
  s.set(zmq::sockopt::heartbeat_ttl, o.heartbeat_timeout_ms);
  s.set(zmq::sockopt::sndhwm, o.send_hwm);
  s.set(zmq::sockopt::rcvhwm, o.send_hwm);
  s.set(zmq::sockopt::maxmsgsize, o.max_message_bytes);
}

std::optional<InboundFrame> receiveOne(zmq::socket_t& s, bool with_route) {
  try {
    InboundFrame in;
    zmq::message_t part;
    if (with_route) {
      if (!s.recv(part, zmq::recv_flags::dontwait)) return std::nullopt;
      in.route = part.to_string();
      // A ROUTER message is [route, payload]; anything else is dropped whole.
      if (!part.more()) return InboundFrame{};
      if (!s.recv(part, zmq::recv_flags::dontwait)) return std::nullopt;
    } else if (!s.recv(part, zmq::recv_flags::dontwait)) {
      return std::nullopt;
    }
    in.payload = part.to_string();
    // zmq_msg_gets, not message_t::gets: the latter throws when the property is absent
    // (always so on the agent's side, which has no ZAP).
    if (const char* uid = zmq_msg_gets(part.handle(), "User-Id")) in.user_id = uid;
    // The ZAP handler's metadata (zap_handler.h): the key the handshake presented.
    if (const char* key = zmq_msg_gets(part.handle(), "X-Curve-Key")) in.key = key;
    while (part.more()) {  // extra frames are not part of the protocol: discard
      if (!s.recv(part, zmq::recv_flags::dontwait)) break;
    }
    return in;
  } catch (const zmq::error_t&) {
    return std::nullopt;
  }
}

std::string randomNonce() {
  std::random_device rd;
  std::uniform_int_distribution<uint64_t> dist;
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(dist(rd)));
  return buf;
}

}  // namespace

RouterSocket::RouterSocket(zmq::context_t& context, const CurveKeyPair& keys, SocketOptions options)
    : socket_(context, zmq::socket_type::router) {
  applyCommon(socket_, options);
  socket_.set(zmq::sockopt::router_mandatory, 1);
  socket_.set(zmq::sockopt::curve_server, 1);
  socket_.set(zmq::sockopt::curve_secretkey, keys.secret_key);
  socket_.set(zmq::sockopt::zap_domain, "aifed");
#ifdef AIFED_FAULT_INJECTION
  faults_ = FaultInjector::fromEnvironment("coordinator");
#endif
}

Result<std::string> RouterSocket::bind(const std::string& endpoint) {
  try {
    socket_.bind(endpoint);
    return socket_.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return unavailable("cannot bind " + endpoint + ": " + e.what());
  }
}

std::optional<InboundFrame> RouterSocket::tryReceive() {
#ifdef AIFED_FAULT_INJECTION
  if (faults_) faults_->flush();
#endif
  return receiveOne(socket_, true);
}

Status RouterSocket::send(const std::string& route, const std::string& payload) {
#ifdef AIFED_FAULT_INJECTION
  if (faults_) {
    return faults_->send(payload, [this, route](const std::string& p) { return rawSend(route, p); });
  }
#endif
  return rawSend(route, payload);
}

Status RouterSocket::rawSend(const std::string& route, const std::string& payload) {
  try {
    if (!socket_.send(zmq::buffer(route), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return unavailable("send queue to " + route + " is full");
    }
    socket_.send(zmq::buffer(payload), zmq::send_flags::dontwait);
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return unavailable("cannot send to " + route + ": " + e.what());
  }
}

int RouterSocket::fd() const {
  return socket_.get(zmq::sockopt::fd);
}

DealerSocket::DealerSocket(zmq::context_t& context, const std::string& site,
                           const CurveKeyPair& keys, const std::string& server_public_key,
                           SocketOptions options)
    : routing_id_(site + "/" + randomNonce()),
      socket_(context, zmq::socket_type::dealer),
      monitor_(context, zmq::socket_type::pair) {
  applyCommon(socket_, options);
  socket_.set(zmq::sockopt::routing_id, routing_id_);
  socket_.set(zmq::sockopt::immediate, 1);
  socket_.set(zmq::sockopt::reconnect_ivl, options.reconnect_ivl_ms);
  socket_.set(zmq::sockopt::reconnect_ivl_max, options.reconnect_ivl_max_ms);
  socket_.set(zmq::sockopt::curve_serverkey, server_public_key);
  socket_.set(zmq::sockopt::curve_publickey, keys.public_key);
  socket_.set(zmq::sockopt::curve_secretkey, keys.secret_key);
  std::string monitor_ep = "inproc://aifed-monitor-" + randomNonce();
  zmq_socket_monitor(socket_.handle(), monitor_ep.c_str(),
                     ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_DISCONNECTED);
  monitor_.set(zmq::sockopt::linger, 0);
  monitor_.connect(monitor_ep);
#ifdef AIFED_FAULT_INJECTION
  faults_ = FaultInjector::fromEnvironment(site);
#endif
}

Status DealerSocket::connect(const std::string& endpoint) {
  try {
    socket_.connect(endpoint);
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return invalidArgument("cannot connect to " + endpoint + ": " + e.what(), "coordinator");
  }
}

std::optional<InboundFrame> DealerSocket::tryReceive() {
#ifdef AIFED_FAULT_INJECTION
  if (faults_) faults_->flush();
#endif
  return receiveOne(socket_, false);
}

Status DealerSocket::send(const std::string& payload) {
#ifdef AIFED_FAULT_INJECTION
  if (faults_) {
    return faults_->send(payload, [this](const std::string& p) { return rawSend(p); });
  }
#endif
  return rawSend(payload);
}

Status DealerSocket::rawSend(const std::string& payload) {
  try {
    if (!socket_.send(zmq::buffer(payload), zmq::send_flags::dontwait)) {
      return unavailable("not connected to the coordinator");
    }
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return unavailable(std::string("cannot send to the coordinator: ") + e.what());
  }
}

int DealerSocket::fd() const {
  return socket_.get(zmq::sockopt::fd);
}

DealerSocket::Events DealerSocket::pollEvents() {
  while (true) {
    zmq::message_t event;
    try {
      if (!monitor_.recv(event, zmq::recv_flags::dontwait)) break;
    } catch (const zmq::error_t&) {
      break;
    }
    // Frame 1: 16-bit event id + 32-bit value; frame 2: the endpoint address.
    uint16_t id = 0;
    if (event.size() >= sizeof(id)) std::memcpy(&id, event.data(), sizeof(id));
    if (event.more()) {
      zmq::message_t address;
      (void)monitor_.recv(address, zmq::recv_flags::dontwait);
    }
    if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) events_.connected++;
    if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
      events_.auth_failed++;
    }
    if (id == ZMQ_EVENT_DISCONNECTED) events_.disconnected++;
  }
  return events_;
}

}  // namespace aifed::transport
