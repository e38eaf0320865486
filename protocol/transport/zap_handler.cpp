#include "protocol/transport/zap_handler.h"

#include <array>
#include <vector>

namespace aifed::transport {

ZapHandler::ZapHandler(zmq::context_t& context, std::map<std::string, std::string> keys)
    : context_(context), keys_(std::move(keys)), socket_(context_, zmq::socket_type::rep) {
  socket_.set(zmq::sockopt::linger, 0);
  // Poll with a short receive timeout so the destructor can stop the thread.
  socket_.set(zmq::sockopt::rcvtimeo, 100);
  socket_.bind("inproc://zeromq.zap.01");
  thread_ = std::thread([this] { serve(); });
}

ZapHandler::~ZapHandler() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ZapHandler::serve() {
  while (!stop_) {
    std::vector<zmq::message_t> request;
    try {
      zmq::message_t part;
      if (!socket_.recv(part)) continue;  // timeout: check stop_
      request.push_back(std::move(part));
      while (request.back().more()) {
        zmq::message_t next;
        if (!socket_.recv(next)) break;
        request.push_back(std::move(next));
      }
    } catch (const zmq::error_t&) {
      return;  // context terminated
    }
    // Frames: version, request id, domain, address, identity, mechanism, credentials...
    std::string version = request.size() > 0 ? request[0].to_string() : "";
    std::string request_id = request.size() > 1 ? request[1].to_string() : "";
    std::string mechanism = request.size() > 5 ? request[5].to_string() : "";
    std::string status = "400";
    std::string status_text = "unknown key";
    std::string user_id;
    if (version != "1.0") {
      status_text = "unsupported ZAP version";
    } else if (mechanism != "CURVE" || request.size() < 7 || request[6].size() != 32) {
      status_text = "CURVE required";
    } else {
      std::array<char, 41> z85{};
      zmq_z85_encode(z85.data(), static_cast<const uint8_t*>(request[6].data()), 32);
      auto it = keys_.find(std::string(z85.data(), 40));
      if (it != keys_.end()) {
        status = "200";
        status_text = "OK";
        user_id = it->second;
      }
    }
    (status == "200" ? accepted_ : refused_)++;
    try {
      socket_.send(zmq::buffer(std::string_view("1.0")), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(status), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(status_text), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(user_id), zmq::send_flags::sndmore);
      socket_.send(zmq::message_t(), zmq::send_flags::none);  // metadata: none
    } catch (const zmq::error_t&) {
      return;
    }
  }
}

}  // namespace aifed::transport
