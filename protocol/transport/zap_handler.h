// The coordinator's ZAP handler (ZeroMQ RFC 27): decides, during the CURVE handshake,
// whether a connecting agent's public key belongs to the federation, and names the
// site it speaks for. libzmq attaches that name to every message of the connection as
// the "User-Id" property, which the coordinator compares with each envelope's `site`:
// a key may act only for its own site.
//
//   ZapHandler zap(context, {{"<mimer public key>", "mimer"}});   // serves from now on
//   ... bind the ROUTER with ZMQ_ZAP_DOMAIN set ...
//   zap.stats().refused   // handshakes refused so far
//
// Each refused key is reported to `on_refused` (on the handler's thread): the first time,
// then at most once a minute per key with the number of refusals since, so an agent
// retrying with a wrong key cannot flood the log.
//
// The handler runs on its own thread because libzmq's I/O thread waits for its answer
// while the handshake is in progress. The key table may be replaced at run time
// (setKeys(), a federation reload): handshakes from then on are judged by the new table;
// connections already admitted keep their User-Id. Each admitted connection also carries
// the key it presented as the metadata property "X-Curve-Key" (kKeyProperty), so the
// coordinator can refuse a connection whose key was retired since (docs/security.md).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <zmq.hpp>

namespace aifed::transport {

class ZapHandler {
 public:
  struct Stats {
    uint64_t accepted = 0;
    uint64_t refused = 0;
  };

  // A handshake refused. Which site the peer meant to be is not known here: a ZAP
  // request carries no identity of the client (its routing id travels in the encrypted
  // handshake, which libzmq reads only for accepted peers).
  struct Refusal {
    std::string key;            // the Z85 public key presented ("" without CURVE)
    std::string address;        // the peer's IP address
    std::string why;            // "unknown key", "CURVE required", ...
    uint64_t count = 1;         // refusals of this key since the last report
  };
  using RefusalFn = std::function<void(const Refusal&)>;

  // `keys`: Z85 public key -> site id. Binds inproc://zeromq.zap.01 in `context`; at
  // most one handler may exist per context.
  ZapHandler(zmq::context_t& context, std::map<std::string, std::string> keys,
             RefusalFn on_refused = nullptr);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  Stats stats() const { return {accepted_.load(), refused_.load()}; }

  // Replaces the key table (any thread): the next handshake is judged by `keys`.
  void setKeys(std::map<std::string, std::string> keys);
  // The key table in force.
  std::map<std::string, std::string> keys() const;

  // The message property (zmq_msg_gets) holding the Z85 key a connection presented.
  static constexpr const char* kKeyProperty = "X-Curve-Key";

 private:
  void serve();
  void report(Refusal r);

  using KeyTable = std::map<std::string, std::string>;
  // The site of `key` in the table in force ("" for none).
  std::string siteOf(const std::string& key) const;

  zmq::context_t& context_;
  mutable std::mutex keys_mutex_;
  std::shared_ptr<const KeyTable> keys_;  // swapped whole under keys_mutex_
  zmq::socket_t socket_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_{0};
  RefusalFn on_refused_;
  struct Reported {
    std::chrono::steady_clock::time_point at;
    uint64_t since = 0;  // refusals not reported since `at`
  };
  std::map<std::string, Reported> reported_;  // by key; the handler thread's only
  std::thread thread_;
};

}  // namespace aifed::transport
