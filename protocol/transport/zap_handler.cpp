#include "protocol/transport/zap_handler.h"

#include <array>
#include <string_view>
#include <vector>

namespace aifed::transport {

namespace {
constexpr auto kReportEvery = std::chrono::minutes(1);
constexpr size_t kMaxRemembered = 1024;  // keys whose reports are spaced out

// ZMTP metadata (RFC 23): a one-octet name length, the name, a four-octet big-endian
// value length, the value.
std::string metadataProperty(std::string_view name, std::string_view value) {
  std::string out;
  out.push_back(static_cast<char>(name.size()));
  out.append(name);
  auto n = static_cast<uint32_t>(value.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((n >> shift) & 0xffU));
  }
  out.append(value);
  return out;
}
}  // namespace

ZapHandler::ZapHandler(zmq::context_t& context, std::map<std::string, std::string> keys,
                       RefusalFn on_refused)
    : context_(context),
      keys_(std::make_shared<const KeyTable>(std::move(keys))),
      socket_(context_, zmq::socket_type::rep),
      on_refused_(std::move(on_refused)) {
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

void ZapHandler::setKeys(std::map<std::string, std::string> keys) {
  auto table = std::make_shared<const KeyTable>(std::move(keys));
  std::lock_guard<std::mutex> lock(keys_mutex_);
  keys_ = std::move(table);
}

std::map<std::string, std::string> ZapHandler::keys() const {
  std::lock_guard<std::mutex> lock(keys_mutex_);
  return *keys_;
}

std::string ZapHandler::siteOf(const std::string& key) const {
  std::shared_ptr<const KeyTable> table;
  {
    std::lock_guard<std::mutex> lock(keys_mutex_);
    table = keys_;
  }
  auto it = table->find(key);
  return it == table->end() ? std::string() : it->second;
}

void ZapHandler::report(Refusal r) {
  if (!on_refused_) return;
  auto now = std::chrono::steady_clock::now();
  auto it = reported_.find(r.key);
  if (it != reported_.end() && now - it->second.at < kReportEvery) {
    ++it->second.since;
    return;
  }
  if (it != reported_.end()) {
    r.count = it->second.since + 1;
    it->second = {now, 0};
  } else {
    if (reported_.size() >= kMaxRemembered) reported_.clear();
    reported_[r.key] = {now, 0};
  }
  on_refused_(r);
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
    std::string key;
    if (version == "1.0" && mechanism == "CURVE" && request.size() >= 7 &&
        request[6].size() == 32) {
      std::array<char, 41> z85{};
      zmq_z85_encode(z85.data(), static_cast<const uint8_t*>(request[6].data()), 32);
      key.assign(z85.data(), 40);
    }
    if (version != "1.0") {
      status_text = "unsupported ZAP version";
    } else if (mechanism != "CURVE" || request.size() < 7 || request[6].size() != 32) {
      status_text = "CURVE required";
    } else if (std::string site = siteOf(key); !site.empty()) {
      status = "200";
      status_text = "OK";
      user_id = std::move(site);
    }
    (status == "200" ? accepted_ : refused_)++;
    if (status != "200") report({key, request.size() > 3 ? request[3].to_string() : "", status_text});
    try {
      socket_.send(zmq::buffer(std::string_view("1.0")), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(status), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(status_text), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(user_id), zmq::send_flags::sndmore);
      // Metadata: the key, so the coordinator can tell which key a connection used.
      std::string metadata = status == "200" ? metadataProperty(kKeyProperty, key) : "";
      socket_.send(zmq::buffer(metadata), zmq::send_flags::none);
    } catch (const zmq::error_t&) {
      return;
    }
  }
}

}  // namespace aifed::transport
