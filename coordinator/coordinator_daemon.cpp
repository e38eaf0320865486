#include "coordinator/coordinator_daemon.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "common/files.h"
#include "coordinator/api/console.h"
#include "coordinator/api/events.h"
#include "coordinator/api/http_server.h"
#include "coordinator/api/metrics.h"
#include "coordinator/api/openapi.h"
#include "coordinator/api/tls.h"
#include "coordinator/federation_reload.h"
#include "coordinator/group_commit.h"
#include "coordinator/history_recorder.h"
#include "coordinator/id_lease.h"
#include "coordinator/maintenance_notices.h"
#include "coordinator/output_requests.h"
#include "coordinator/rest/rest_api.h"
#include "coordinator/site_transition_log.h"
#include "coordinator/store/coordinator_store.h"
#include "protocol/transport/curve_keys.h"
#include "protocol/transport/zap_handler.h"
#include "protocol/transport/zmq_socket.h"

namespace aifed::coordinator {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Frames handled per readiness event before effects are committed: the group commit.
constexpr int kMaxFramesPerBatch = 512;

// Keeps only the last version of each job and site: a batch often holds a job as
// submitted and as dispatched, and only the latter needs writing.
template <typename Record>
void keepLatest(std::vector<Record>& records) {
  if (records.size() < 2) return;
  std::unordered_map<std::string, size_t> last;
  for (size_t i = 0; i < records.size(); ++i) last[records[i].id] = i;
  if (last.size() == records.size()) return;
  std::vector<Record> out;
  out.reserve(last.size());
  for (size_t i = 0; i < records.size(); ++i) {
    if (last[records[i].id] == i) out.push_back(std::move(records[i]));
  }
  records = std::move(out);
}

// The minor of a "major.minor" version (0 when it has none).
int minorVersion(const std::string& v) {
  size_t dot = v.find('.');
  return dot == std::string::npos ? 0 : std::atoi(v.c_str() + dot + 1);
}

// Adds one to the counter of `key`, creating it at zero.
void countOne(std::map<std::string, uint64_t, std::less<>>& counters, std::string_view key) {
  auto it = counters.find(key);
  if (it == counters.end()) it = counters.emplace(std::string(key), 0).first;
  ++it->second;
}

// The database must be this federation's: made by --init, or (a database from before the
// federation's identity was recorded) holding its records. Anything else, an empty or a
// foreign database, stops the start: taken for a new federation it would cancel every
// job the sites run.
Status checkFederation(store::CoordinatorStore& store, const std::string& name, bool init,
                       Time now) {
  Result<std::optional<store::FederationIdentity>> id = store.federationIdentity();
  if (!id.ok()) return id.status();
  if (id->has_value()) {
    const store::FederationIdentity& have = **id;
    if (init) {
      return failedPrecondition("--init refused: the database holds federation \"" + have.name +
                                "\" already (id " + have.id + "); remove --init to start it");
    }
    if (have.name != name) {
      return failedPrecondition("the database holds federation \"" + have.name +
                                "\", but the federation file names \"" + name +
                                "\": a wrong --database or federation file?");
    }
    return Status::Ok();
  }
  Result<bool> records = store.holdsRecords();
  if (!records.ok()) return records.status();
  if (!init && !*records) {
    return failedPrecondition(
        "the database holds no federation (a failed restore or a wrong --database?); start a "
        "NEW federation with aifed-coordinator --init");
  }
  Result<store::FederationIdentity> made = store.initialise(name, now);
  if (!made.ok()) return made.status();
  spdlog::warn("{} federation \"{}\" (id {})", init ? "initialised" : "recorded the identity of",
               name, made->id);
  return Status::Ok();
}

class CoordinatorDaemonImpl final : public CoordinatorDaemon, public JobService {
 public:
  CoordinatorDaemonImpl(CoordinatorConfig config, const Clock& clock,
                        const MonotonicClock& monotonic, Federation federation,
                        transport::CurveKeyPair keys,
                        std::unique_ptr<store::CoordinatorStore> store,
                        std::unique_ptr<store::CoordinatorStore> writer_store,
                        std::unique_ptr<store::CoordinatorStore> history_store, api::TlsIdentity tls,
                        api::HttpServerOptions http_options)
      : config_(std::move(config)),
        clock_(clock),
        monotonic_(monotonic),
        keys_(std::move(keys)),
        store_(std::move(store)),
        writer_store_(std::move(writer_store)),
        tls_(std::move(tls)),
        federation_(federation),
        broker_(std::make_unique<broker::Broker>(federation, config_.broker)),
        boot_ms_(toMillis(clock.now())),
        zmq_fd_(io_),
        timer_(io_),
        events_timer_(io_),
        events_(eventRenderers(), {}),
        http_(io_, api::HttpServer::AsyncHandler([this](api::HttpRequest r, api::Reply reply) {
                router_.dispatch(r, [this, reply = std::move(reply)](api::HttpResponse response) {
                  ++counters_.http_requests[response.status];
                  reply(std::move(response));
                });
              }),
              std::move(http_options)),
        history_(io_, std::move(history_store), config_.history.retention) {
    accepted_keys_ = federationKeyTable(federation);
    zap_ = std::make_unique<transport::ZapHandler>(zmq_context_, accepted_keys_, logRefusedKey);
    router_socket_ = std::make_unique<transport::RouterSocket>(zmq_context_, keys_);
    if (oidc_.enabled()) {
      auth_.setOidc(&oidc_);
      for (const identity::OidcIssuer& i : config_.oidc.issuers) {
        spdlog::info("OIDC: trusting issuer {} (audience {}, keys {})", i.issuer, i.audience,
                     i.jwks_file);
      }
      oidc_.preload();
    }
    addRestRoutes(router_, *this, auth_);
    addObservabilityRoutes();
    counters_.started_at = clock.now();
    if (tls_.not_after != Time{}) counters_.tls_certificate_not_after = tls_.not_after;
    api::addConsoleRoutes(router_);
  }

  ~CoordinatorDaemonImpl() override {
    // The descriptor belongs to libzmq: never let asio close it.
    if (zmq_fd_.is_open()) zmq_fd_.release();
  }

  Status restore() {
    RETURN_IF_ERROR(id_lease_.open(config_.database + ".ids"));
    RETURN_IF_ERROR(loadBroker(*broker_));
    RETURN_IF_ERROR(id_lease_.ensure(broker_->nextJobSeq() + 1));
    return restoreTokens();
  }

  // Fills a fresh broker from the store: jobs, sites, quarantine, the id high-water mark
  // and the policy last switched to. At start, and after a failed write (rebuild()).
  Status loadBroker(broker::Broker& b) {
    auto jobs = store_->loadJobs();
    if (!jobs.ok()) return jobs.status();
    auto sites = store_->loadSites();
    if (!sites.ok()) return sites.status();
    auto quarantined = store_->loadQuarantined();
    if (!quarantined.ok()) return quarantined.status();
    auto seq = store_->nextJobSeq();
    if (!seq.ok()) return seq.status();
    auto window_seq = store_->nextWindowSeq();
    if (!window_seq.ok()) return window_seq.status();
    auto arrays = store_->loadArrays();
    if (!arrays.ok()) return arrays.status();
    auto array_seq = store_->nextArraySeq();
    if (!array_seq.ok()) return array_seq.status();
    spdlog::info("restored {} jobs, {} sites and {} quarantined attempts from {}", jobs->size(),
                 sites->size(), quarantined->size(), config_.database);
    b.restore({std::move(*jobs), std::move(*sites), std::move(*quarantined),
               std::max(*seq, id_lease_.floor()), *window_seq, std::move(*arrays), *array_seq},
              instant());
    notices_.seed(b.sites());
    transitions_.seed(b.sites());
    events_.seed(b.sites(), b.listJobs(std::nullopt, "", 0, SIZE_MAX));
    // A policy switched at run time outlives a restart: the last recorded switch wins.
    auto changes = store_->policyChanges();
    if (!changes.ok()) return changes.status();
    if (!changes->empty() && changes->back().to != b.policy().name) {
      broker::Effects ignored;  // re-applying a recorded switch records nothing new
      if (Status s = b.setPolicy(changes->back().to, "", "", clock_.now(), ignored); !s.ok()) {
        spdlog::warn("recorded policy {} is no longer offered: {}", changes->back().to,
                     s.toString());
      }
    }
    return Status::Ok();
  }

  // After a failed write: the broker's memory ran ahead of the database, so it is
  // replaced by one rebuilt from the store. Ids handed out meanwhile are never reused.
  // Agents keep their sessions' messages in their outboxes and say HELLO again.
  void rebuild() {
    auto fresh = std::make_unique<broker::Broker>(federation_, config_.broker);
    int64_t ids_used = broker_->nextJobSeq();
    int64_t arrays_used = broker_->nextArraySeq();
    if (Status s = loadBroker(*fresh); !s.ok()) {
      // Reads fail too: keep serving what the old broker knows, refusing changes, and
      // try again at the next failure or tick.
      spdlog::error("cannot rebuild the coordinator's state from {}: {}", config_.database,
                    s.toString());
      return;
    }
    fresh->reserveJobSeq(ids_used);
    fresh->reserveArraySeq(arrays_used);
    broker_ = std::move(fresh);
    ++counters_.state_rebuilds;
    spdlog::warn("rebuilt the coordinator's state from {} after a failed write", config_.database);
  }

  // Loads the API tokens; with none at all, creates the bootstrap admin token and writes
  // it to config_.admin_token_file (mode 0600). The log names the file, never the secret.
  Status restoreTokens() {
    auto tokens = store_->loadTokens();
    if (!tokens.ok()) return tokens.status();
    for (identity::TokenRecord& t : *tokens) auth_.tokens().put(std::move(t));
    if (auth_.tokens().size() > 0) return Status::Ok();
    Result<identity::NewToken> fresh = identity::generateToken();
    if (!fresh.ok()) return fresh.status();
    identity::TokenRecord t;
    t.id = fresh->id;
    t.name = "bootstrap-admin";
    t.user = t.name;
    t.role = identity::Role::kAdmin;
    t.secret_sha256 = fresh->secret_sha256;
    t.created_at = clock_.now();
    t.created_by = "bootstrap";
    const std::string& path = config_.admin_token_file;
    if (Status s = common::writeFileAtomically(path, fresh->text + "\n", 0600); !s.ok()) {
      return s;
    }
    // The token is durable only after its file: a crash in between leaves no token and
    // the next start makes another.
    if (Status s = store_->saveToken(t); !s.ok()) return s;
    auth_.tokens().put(t);
    spdlog::warn("created the bootstrap admin token {} and wrote it to {}", t.id, path);
    return Status::Ok();
  }

  // CoordinatorDaemon
  Status start() override {
    Result<std::string> ep = router_socket_->bind(config_.zmq_bind);
    if (!ep.ok()) return ep.status();
    zmq_endpoint_ = *ep;
    Result<uint16_t> port = http_.listen(config_.http_address, config_.http_port);
    if (!port.ok()) return port.status();
    http_port_ = *port;
    zmq_fd_.assign(router_socket_->fd());
    armZmq();
    asio::post(io_, [this] { onZmqReadable(); });
    armTimer();
    spdlog::info("coordinator up: agents on {}, REST on https://{}:{}", zmq_endpoint_,
                 config_.http_address, http_port_);
    spdlog::info("TLS certificate SHA-256 fingerprint: {} ({})", tls_.fingerprint, tls_.cert_path);
    // On stdout too, for whoever started the daemon by hand and must pin it.
    std::printf("TLS certificate SHA-256 fingerprint: %s\n", tls_.fingerprint.c_str());
    std::fflush(stdout);
    if (!config_.ready_file.empty()) {
      json::object ready{{"zmq_endpoint", zmq_endpoint_},
                         {"http_port", http_port_},
                         {"public_key", keys_.public_key},
                         {"tls_fingerprint", tls_.fingerprint},
                         {"tls_cert", tls_.cert_path}};
      if (Status s = common::writeFileAtomically(config_.ready_file, json::serialize(ready) + "\n");
          !s.ok()) {
        return s;
      }
    }
    return Status::Ok();
  }

  void run() override { io_.run(); }

  void stop() override {
    asio::post(io_, [this] {
      commit_.stop();  // audit rows still waiting are written before the end
      history_.stop();
      stopping_ = true;
      http_.stop();
      timer_.cancel();
      events_timer_.cancel();
      if (zmq_fd_.is_open()) {
        zmq_fd_.cancel();
        zmq_fd_.release();
      }
    });
  }

  void reload() override {
    asio::post(io_, [this] {
      if (stopping_) return;
      identity::AuditRecord audit;
      audit.at = clock_.now();
      audit.action = "federation-reloaded";
      audit.actor = audit.actor_name = "SIGHUP";
      broker::Effects fx;
      Result<json::object> diff = commit_.writable()
                                      ? reloadFederation(fx)
                                      : Result<json::object>(writable());
      audit.outcome = diff.ok() ? "ok" : "error";
      audit.detail = diff.ok() ? json::serialize(*diff) : diff.status().message();
      commit_.submit(std::move(fx), {std::move(audit)}, nullptr);
    });
  }

  std::string zmqEndpoint() const override { return zmq_endpoint_; }
  uint16_t httpPort() const override { return http_port_; }
  std::vector<std::pair<std::string, std::string>> routes() const override {
    return router_.list();
  }

  // JobService
  broker::Broker& broker() override { return *broker_; }
  Time now() const override { return clock_.now(); }
  Instant instant() const override { return {clock_.now(), monotonic_.now()}; }
  void tick(Instant now, broker::Effects& fx) override {
    size_t decisions = fx.decisions.size();
    std::chrono::nanoseconds start = monotonic_.sinceOrigin();
    broker_->tick(now, fx);
    if (fx.decisions.size() > decisions) {
      counters_.placement_duration.observe(
          std::chrono::duration<double>(monotonic_.sinceOrigin() - start).count());
    }
  }
  Status commit(broker::Effects& fx, std::vector<identity::AuditRecord> audit) override {
    return commit_.commitNow(fx, std::move(audit));
  }
  void commitAsync(broker::Effects fx, std::vector<identity::AuditRecord> audit,
                   std::function<void(Status)> done) override {
    commit_.submit(std::move(fx), std::move(audit), std::move(done));
  }
  Status writable() const override {
    if (commit_.writable()) return Status::Ok();
    return unavailable("the coordinator's database refuses writes");
  }
  Status reserveJobId() override { return reserveJobIds(1); }
  Status reserveJobIds(int64_t count) override {
    if (Status s = id_lease_.ensure(broker_->nextJobSeq() + count); !s.ok()) {
      spdlog::error("{}", s.toString());
      return unavailable("the coordinator cannot record new job ids now");
    }
    return Status::Ok();
  }
  Result<std::vector<broker::PlacementDecision>> storedDecisions(
      const std::string& job_id) override {
    return store_->decisions(job_id);
  }
  Status saveToken(const identity::TokenRecord& token) override { return store_->saveToken(token); }
  Result<std::vector<identity::AuditRecord>> auditLog(const store::AuditQuery& query) override {
    return store_->audit(query);
  }
  void recordAudit(identity::AuditRecord row) override {
    // Group-committed like submissions: refusals arriving while a batch is written share
    // the next transaction.
    commit_.submit({}, {std::move(row)}, nullptr);
  }
  Result<std::vector<broker::PolicyChange>> policyChanges() override {
    return store_->policyChanges();
  }
  HistoryAccess history() override {
    return {store_.get(), config_.history.interval, config_.history.retention,
            [this](std::function<void(store::CoordinatorStore&)> read, std::function<void()> done) {
              history_.read(std::move(read), std::move(done));
            }};
  }
  // Sends LOG_REQUEST and answers from the matching LOG_DATA (handleFrame) or the
  // timeout (the timer): the HTTP handler never waits (docs/api.md, job output).
  void requestOutput(const std::string& site, LogRequest request,
                     std::function<void(OutputAnswer)> done) override {
    using Failure = OutputAnswer::Failure;
    const broker::SiteRecord* record = broker_->findSite(site);
    if (!broker_->hasSession(site) || !routes_.count(site) || !record ||
        record->state == SiteState::kUnreachable) {
      return done(
          {Failure::kUnreachable, "site " + site + " is not connected to the coordinator", {}});
    }
    auto v = site_minor_.find(site);
    int minor = v == site_minor_.end() ? 0 : v->second;
    if (minor < 2) {
      return done({Failure::kOldAgent,
                   "the agent of site " + site + " speaks protocol 1." + std::to_string(minor) +
                       ": job output needs 1.2",
                   {}});
    }
    Result<std::string> id = output_requests_.add(site, done, monotonic_.now());
    if (!id.ok()) return done({Failure::kBusy, id.status().message(), {}});
    request.request_id = *id;
    sendToSite(site, std::move(request));
    asio::post(io_, [this] { onZmqReadable(); });  // sending may consume ZMQ_FD's edge
    rearmTimerIfSooner();
  }
  // On the loop: the broker takes the file's sites, the ZAP handler its keys; sessions
  // of the sites kept are untouched (federation_reload.h).
  Result<json::object> reloadFederation(broker::Effects& fx) override {
    Result<FederationDiff> diff =
        coordinator::reloadFederation(config_.federation_file, *broker_, instant(), fx);
    if (!diff.ok()) {
      spdlog::error("federation reload refused, the federation in force stays: {}",
                    diff.status().toString());
      return diff.status();
    }
    federation_ = broker_->federation();
    accepted_keys_ = federationKeyTable(federation_);
    zap_->setKeys(accepted_keys_);
    for (const std::string& site : diff->removed) routes_.erase(site);
    if (!diff->added.empty() || !diff->removed.empty()) {
      events_.seed(broker_->sites(), broker_->listJobs(std::nullopt, "", 0, SIZE_MAX));
    }
    spdlog::warn("federation reloaded from {}: {}", config_.federation_file, diff->summary());
    return diff->toJson();
  }
  json::object transportStats() const override {
    return json::object{{"frames_in", frames_in_},
                        {"frames_out", frames_out_},
                        {"errors_sent", errors_sent_},
                        {"wrong_site_refused", wrong_site_},
                        {"handshakes_accepted", zap_->stats().accepted},
                        {"handshakes_refused", zap_->stats().refused},
                        // Group commit: transactions written, and REST submissions they
                        // carried (submissions / transactions is the batch size).
                        {"commits", commit_.commits()},
                        {"committed_submissions", commit_.committedSubmissions()},
                        {"failed_writes", commit_.failures()}};
  }

 private:
  // --- Group commit (group_commit.h) ---
  GroupCommit::Hooks commitHooks() {
    return {
        .prepare = [this](GroupCommit::Batch& b) { tick(instant(), b.fx); },
        .write = [this](GroupCommit::Batch& b) { return persist(b); },
        .durable = [this](GroupCommit::Batch& b) { onDurable(b); },
        .failed =
            [this](const Status&) {
              ++counters_.failed_writes;
              rebuild();
            },
        .recovered =
            [this] {
              // Agents' frames waited in the socket meanwhile; the timer resumes ticking.
              asio::post(io_, [this] { onZmqReadable(); });
              rearmTimerIfSooner();
            },
    };
  }

  // On the writer thread, or on the io thread while the writer is idle.
  Status persist(GroupCommit::Batch& batch) {
    if (!batch.hasDurable()) return writer_store_->probeWrite(clock_.now());  // a probe
    keepLatest(batch.fx.jobs);
    keepLatest(batch.fx.sites);
    return writer_store_->apply(batch.fx, batch.audit);
  }

  // The batch is durable: its events are published and its messages sent.
  void onDurable(GroupCommit::Batch& batch) {
    events_.publish(batch.fx, clock_.now());
    bool sent = !batch.fx.messages.empty();
    std::vector<store::SiteEvent> site_events;
    for (const LogLine& l : transitions_.observe(batch.fx.sites, clock_.now(), &site_events)) {
      l.warn ? spdlog::warn("{}", l.text) : spdlog::info("{}", l.text);
    }
    if (!site_events.empty()) {
      nameResumers(site_events, batch.audit);
      history_.add({}, std::move(site_events), clock_.now());
    }
    notices_.observe(batch.fx);  // before the messages are taken apart by sending
    for (broker::OutboundMessage& out : batch.fx.messages) sendToSite(out.site, std::move(out.body));
    sent = sendMaintenance() || sent;  // after the batch's WELCOMEs went out
    deliverEvents();
    if (sent) {
      // Sending may consume ZMQ_FD's edge: look for input that arrived meanwhile.
      asio::post(io_, [this] { onZmqReadable(); });
    }
    rearmTimerIfSooner();
  }

  // A resume's event names who resumed: the batch's audit row of the request says.
  static void nameResumers(std::vector<store::SiteEvent>& events,
                           const std::vector<identity::AuditRecord>& audit) {
    for (store::SiteEvent& e : events) {
      if (!e.actor.empty() || e.from != "draining") continue;
      for (const identity::AuditRecord& a : audit) {
        if (a.action == "site.resume" && a.target == e.site && a.outcome == "ok") {
          e.actor = a.actor_name;
        }
      }
    }
  }

  // A sample of every site when one is due (the timer runs at least once a second).
  void sampleHistory() {
    Time now = clock_.now();
    if (!history_sampler_.due(now)) return;
    history_.add(history_sampler_.sample(broker_->sites(), now), {}, now);
  }

  std::string nextMsgId() {
    return "coordinator-" + std::to_string(boot_ms_) + "-" + std::to_string(++msg_counter_);
  }

  // The message's id, or "" when it could not be sent.
  std::string sendFrame(const std::string& route, const std::string& site, Body body) {
    Message m = makeMessage(site, nextMsgId(), clock_.now(), std::move(body));
    if (Status s = router_socket_->send(route, encodeMessage(m)); !s.ok()) {
      spdlog::debug("not sent to {}: {}", site, s.toString());
      return {};
    }
    ++frames_out_;
    countOne(counters_.messages_sent, messageTypeName(m.body));
    return m.msg_id;
  }

  std::string sendToSite(const std::string& site, Body body) {
    auto it = routes_.find(site);
    if (it == routes_.end()) return {};  // never connected; retries cover it
    return sendFrame(it->second, site, std::move(body));
  }

  // MAINTENANCE that is due (maintenance_notices.h); true when something was sent.
  bool sendMaintenance() {
    MonoTime now = monotonic_.now();
    bool any = false;
    for (MaintenanceNotices::Notice& n : notices_.due(now)) {
      std::string id = sendToSite(n.site, std::move(n.body));
      notices_.sent(n.site, id, now);
      any = any || !id.empty();
    }
    return any;
  }

  // A refused CURVE handshake (on the ZAP handler's thread; spdlog is thread-safe).
  static void logRefusedKey(const transport::ZapHandler::Refusal& r) {
    spdlog::warn("key-refused key={} address={} {} count={}", r.key.empty() ? "-" : r.key,
                 r.address.empty() ? "-" : r.address, quoted("why", r.why), r.count);
  }

  void replyError(const std::string& route, const std::string& site, ErrorReply error) {
    ++errors_sent_;
    spdlog::warn("ERROR {} to {}: {}", error.code, site.empty() ? route : site, error.message);
    sendFrame(route, site, std::move(error));
  }

  void handleFrame(const transport::InboundFrame& in, Instant now, broker::Effects& fx) {
    ++frames_in_;
    // ZAP admitted only federation keys and named their site; without a name there is
    // no authenticated peer (this cannot happen with CURVE on), so refuse.
    const std::string& key_site = in.user_id;
    auto decoded = decodeMessage(in.payload);
    if (auto* failure = std::get_if<DecodeFailure>(&decoded)) {
      countOne(counters_.messages_received, "invalid");
      replyError(in.route, key_site, errorFor(*failure));
      return;
    }
    Message& m = std::get<Message>(decoded);
    countOne(counters_.messages_received, messageTypeName(m.body));
    if (key_site.empty() || broker_->federation().findSite(key_site) == nullptr) {
      replyError(in.route, m.site,
                 {"unknown_site", "this connection is not authenticated as a federation site",
                  "site", m.msg_id});
      return;
    }
    if (keyRetired(in, m)) return;
    if (m.site != key_site) {
      ++wrong_site_;
      spdlog::warn("wrong-site key_site={} claimed_site={} type={}", key_site,
                   m.site.empty() ? "-" : m.site, messageTypeName(m.body));
      replyError(in.route, key_site,
                 {"wrong_site",
                  "the key of site \"" + key_site + "\" cannot speak for site \"" + m.site + "\"",
                  "site", m.msg_id});
      return;
    }
    routes_[key_site] = in.route;
    if (std::holds_alternative<Hello>(m.body)) site_minor_[key_site] = minorVersion(m.v);
    if (!std::holds_alternative<Hello>(m.body) && !broker_->hasSession(key_site)) {
      replyError(in.route, key_site,
                 {"hello_required", "no session for site \"" + key_site + "\": send HELLO first",
                  "type", m.msg_id});
      return;
    }
    if (const Ack* ack = std::get_if<Ack>(&m.body)) {
      if (auto held = notices_.acknowledged(key_site, ack->ack_msg_id)) {
        broker_->maintenanceAcknowledged(key_site, *held, fx);
      }
    }
    if (auto* data = std::get_if<LogData>(&m.body)) {
      // Not the broker's: the answer to a REST request waiting in output_requests_.
      if (!output_requests_.complete(key_site, std::move(*data))) {
        spdlog::debug("LOG_DATA from {} answers no waiting request (late?)", key_site);
      }
      return;
    }
    broker_->onMessage(*broker_->siteIndex(key_site), std::move(m), now, fx);
  }

  // A connection admitted with a key a reload has retired since (or moved to another
  // site) is refused, message by message, until its agent connects again with a key in
  // force: ZeroMQ cannot close one peer of a ROUTER, so the coordinator forgets its
  // route and answers ERROR "key_retired" (docs/security.md, "Rotating a site's key").
  bool keyRetired(const transport::InboundFrame& in, const Message& m) {
    auto it = accepted_keys_.find(in.key);
    if (in.key.empty() || (it != accepted_keys_.end() && it->second == in.user_id)) return false;
    if (auto r = routes_.find(in.user_id); r != routes_.end() && r->second == in.route) {
      routes_.erase(r);
    }
    replyError(in.route, in.user_id,
               {"key_retired",
                "the key this connection presented is no longer accepted for site \"" +
                    in.user_id + "\": connect again with the site's current key",
                "", m.msg_id});
    return true;
  }

  void armZmq() {
    if (stopping_ || !zmq_fd_.is_open()) return;
    zmq_fd_.async_wait(asio::posix::stream_descriptor::wait_read,
                       [this](const boost::system::error_code& ec) {
                         if (ec || stopping_) return;
                         onZmqReadable();
                         armZmq();
                       });
  }

  void onZmqReadable() {
    // Read-only after a failed write: frames wait in the socket (agents resend what is
    // not acknowledged) rather than change state that could not be made durable.
    if (stopping_ || !commit_.writable()) return;
    while (true) {
      broker::Effects fx;
      Instant now = instant();
      int n = 0;
      for (; n < kMaxFramesPerBatch; ++n) {
        std::optional<transport::InboundFrame> in = router_socket_->tryReceive();
        if (!in) break;
        handleFrame(*in, now, fx);
      }
      if (n == 0) return;
      tick(now, fx);
      commitAsync(std::move(fx), {}, nullptr);
    }
  }

  // The broker's next deadline or an output request's, whichever comes first.
  std::optional<MonoTime> nextDeadline() const {
    std::optional<MonoTime> d = broker_->nextDeadline();
    std::optional<MonoTime> out = output_requests_.nextDeadline();
    if (!d || (out && *out < *d)) return out;
    return d;
  }

  void armTimer() {
    if (stopping_) return;
    MonoTime now = monotonic_.now();
    MonoTime next = now + std::chrono::seconds(1);
    if (std::optional<MonoTime> d = nextDeadline()) {
      next = std::min(next, std::max(*d, now));
    }
    timer_deadline_ = next;
    timer_.expires_after(next - now);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      output_requests_.expire(monotonic_.now());  // 504 for LOG_REQUESTs left unanswered
      broker::Effects fx;
      if (commit_.writable()) tick(instant(), fx);
      commitAsync(std::move(fx), {}, nullptr);
      sampleHistory();
      if (sendMaintenance()) asio::post(io_, [this] { onZmqReadable(); });
      armTimer();
    });
  }

  void rearmTimerIfSooner() {
    std::optional<MonoTime> d = nextDeadline();
    if (d && *d < timer_deadline_ && !stopping_) {
      timer_.cancel();  // the cancelled handler returns; arm anew
      armTimer();
    }
  }

  // GET /metrics, GET /api/v1/openapi.json and the /api/v1/events WebSocket (docs/api.md).
  void addObservabilityRoutes() {
    router_.add("GET", "/metrics", [this](const api::HttpRequest& req, const api::PathParams&) {
      if (std::optional<api::HttpResponse> refused = refuse(req, api::Action::kMetricsRead)) {
        return *refused;
      }
      counters_.handshakes_accepted = zap_->stats().accepted;
      counters_.handshakes_refused = zap_->stats().refused;
      api::HttpResponse r;
      r.content_type = std::string(api::kPrometheusContentType);
      r.body = api::renderCoordinatorMetrics(*broker_, counters_, clock_.now(), AIFED_VERSION);
      return r;
    });
    router_.add("GET", "/api/v1/openapi.json", [](const api::HttpRequest&, const api::PathParams&) {
      api::HttpResponse r;
      r.body = std::string(api::openApiDocument());
      return r;
    });
    // Cookie or bearer; each connection sees the jobs its principal may read.
    http_.setWebSocketHandler("/api/v1/events", [this](const api::HttpRequest& upgrade) {
      Result<api::Principal> who = auth_.authenticate(upgrade);
      if (!who.ok()) return api::WebSocketDecision::refuse(unauthenticatedResponse(who.status()));
      return api::WebSocketDecision::accept(
          [this, who = *who](std::shared_ptr<api::WebSocketPeer> peer) {
            subscribeEvents(std::move(peer), who);
          });
    });
  }

  // 401 with a WWW-Authenticate challenge, as the REST routes answer.
  static api::HttpResponse unauthenticatedResponse(const Status& s) {
    api::HttpResponse r = api::errorResponse(s);
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"aifed\"");
    return r;
  }

  // The refusal of a request whose principal may not do `action` (401 or 403), if any.
  std::optional<api::HttpResponse> refuse(const api::HttpRequest& req, api::Action action) {
    Result<api::Principal> who = auth_.authenticate(req);
    if (!who.ok()) return unauthenticatedResponse(who.status());
    if (Status s = api::authorize(*who, action, api::Resource::none()); !s.ok()) {
      return api::errorResponse(s);
    }
    return std::nullopt;
  }

  // A new /api/v1/events connection: its snapshot goes out at once, then every event
  // its principal may read, for as long as the principal holds (deliverEvents()).
  void subscribeEvents(std::shared_ptr<api::WebSocketPeer> peer, api::Principal who) {
    if (stopping_ || peer->closed()) return;
    api::EventHub::SubscriberId id = events_.subscribe(
        [who](const broker::JobRecord& job) { return api::mayRead(who, job); }, clock_.now());
    event_peers_[id] = EventPeer{peer, std::move(who)};
    peer->onClose([this, id] {
      events_.unsubscribe(id);
      event_peers_.erase(id);
    });
    deliverEvents();
  }

  // The event stream shows the REST API's own site, job and federation objects.
  api::EventRenderers eventRenderers() {
    api::EventRenderers r;
    r.site = [this](const broker::SiteRecord& s) {
      // A site a reload removed may still have an update queued: shown with its id only.
      const SiteConfig* config = broker_->federation().findSite(s.id);
      SiteConfig removed;
      removed.id = s.id;
      json::object o = siteJson(s, config ? *config : removed, broker_->reservedNodes(s.id),
                                clock_.now(), broker_->config().heartbeat_interval);
      // Health reports change the record without an event: the agent's health is the
      // latest, not the one of the record's last event.
      if (const broker::SiteRecord* live = broker_->findSite(s.id)) {
        o["agent"] = agentHealthJson(*live, clock_.now(), broker_->config().heartbeat_interval);
      }
      return o;
    };
    r.job = [this](const broker::JobRecord& j) { return jobJson(j, broker_->lastDecision(j.id)); };
    r.federation = [this] {
      int64_t up = 0;
      for (const broker::SiteRecord& s : broker_->sites()) up += s.state == SiteState::kUp;
      json::object jobs;
      for (JobState st :
           {JobState::kQueued, JobState::kDispatched, JobState::kPending, JobState::kRunning,
            JobState::kCompleted, JobState::kFailed, JobState::kCancelled, JobState::kTimeout,
            JobState::kNodeFail, JobState::kLost}) {
        jobs[jobStateName(st)] = broker_->countJobs(st);
      }
      return json::object{{"name", broker_->federation().name},
                          {"policy", broker_->policy().name},
                          {"sites_total", broker_->sites().size()},
                          {"sites_up", up},
                          {"jobs_total", broker_->countJobs(std::nullopt)},
                          {"jobs", std::move(jobs)}};
    };
    return r;
  }

  // Hands the frames the hub queued to their connections, closes the connections that
  // fell behind, and arms the timer for coalesced site updates.
  void deliverEvents() {
    if (events_.subscriberCount() == 0) return;
    for (api::EventHub::SubscriberId id : events_.subscribers()) {
      auto it = event_peers_.find(id);
      if (it == event_peers_.end()) continue;
      std::shared_ptr<api::WebSocketPeer> peer = it->second.peer;  // onClose may erase `it`
      // A stream authenticates once, at the upgrade: a token revoked or a session ended
      // since then ends the stream before it is sent anything more.
      if (!auth_.stillValid(it->second.who)) {
        (void)events_.take(id);
        peer->close(1008, "the token was revoked or has expired, or the session ended");
        continue;
      }
      api::EventHub::Delivery d = events_.take(id);
      if (d.overflowed) {
        peer->close(1008, "too slow: events were dropped");
        continue;
      }
      for (std::string& frame : d.frames) {
        if (!peer->send(std::move(frame))) break;  // closed; onClose unsubscribes
      }
    }
    std::optional<Time> due = events_.nextFlush();
    if (!due || events_timer_armed_ || stopping_) return;
    events_timer_armed_ = true;
    Time now = clock_.now();
    events_timer_.expires_after(std::max(*due - now, Duration(0)));
    events_timer_.async_wait([this](const boost::system::error_code& ec) {
      events_timer_armed_ = false;
      if (ec || stopping_) return;
      events_.flush(clock_.now());
      deliverEvents();
    });
  }

  CoordinatorConfig config_;
  const Clock& clock_;
  const MonotonicClock& monotonic_;
  transport::CurveKeyPair keys_;
  std::unique_ptr<store::CoordinatorStore> store_;         // the io thread's connection
  std::unique_ptr<store::CoordinatorStore> writer_store_;  // the group commit's connection
  api::TlsIdentity tls_;
  Federation federation_;
  IdLease id_lease_;
  std::unique_ptr<broker::Broker> broker_;  // replaced by rebuild() after a failed write
  int64_t boot_ms_;
  uint64_t msg_counter_ = 0;

  asio::io_context io_;
  zmq::context_t zmq_context_;
  std::unique_ptr<transport::ZapHandler> zap_;
  std::unique_ptr<transport::RouterSocket> router_socket_;
  asio::posix::stream_descriptor zmq_fd_;
  asio::steady_timer timer_;
  MonoTime timer_deadline_{};
  asio::steady_timer events_timer_;
  bool events_timer_armed_ = false;
  api::CoordinatorCounters counters_;
  MaintenanceNotices notices_{config_.broker.retry_interval, config_.broker.maintenance_grace};
  SiteTransitionLog transitions_;
  // Before the server: connections it closes on destruction may still unsubscribe.
  api::EventHub events_;
  struct EventPeer {
    std::shared_ptr<api::WebSocketPeer> peer;
    api::Principal who;
  };
  std::map<api::EventHub::SubscriberId, EventPeer> event_peers_;
  identity::FileReaderImpl oidc_files_;
  identity::OidcVerifier oidc_{config_.oidc, oidc_files_};
  api::Authenticator auth_{clock_};
  api::Router router_;
  api::HttpServer http_;
  HistorySampler history_sampler_{config_.history, config_.broker.heartbeat_interval};
  HistoryWriter history_;  // its thread finishes before the io context goes away
  // Last but the commit: its writer thread finishes before anything it uses goes away.
  GroupCommit commit_{io_, commitHooks()};
  std::map<std::string, std::string> routes_;  // site -> routing id of its live connection
  std::map<std::string, std::string> accepted_keys_;  // key -> site: the federation's, now
  std::map<std::string, int> site_minor_;      // site -> protocol minor of its last HELLO
  OutputRequests output_requests_;             // REST output reads waiting for LOG_DATA
  std::string zmq_endpoint_;
  uint16_t http_port_ = 0;
  bool stopping_ = false;
  uint64_t frames_in_ = 0, frames_out_ = 0, errors_sent_ = 0, wrong_site_ = 0;

};

}  // namespace

Result<std::unique_ptr<CoordinatorDaemon>> CoordinatorDaemon::create(
    CoordinatorConfig config, const Clock& clock, const MonotonicClock& monotonic) {
  Result<Federation> fed = loadFederationFile(config.federation_file);
  if (!fed.ok()) return fed.status();
  int keyed = 0;
  for (const SiteConfig& s : fed->sites) {
    if (s.curve_public_key.empty()) {
      spdlog::warn("site {} has no curve_public_key in {}: its agent cannot connect", s.id,
                   config.federation_file);
    } else {
      ++keyed;
    }
  }
  if (keyed == 0) {
    return invalidArgument(config.federation_file +
                           ": no site has a curve_public_key, so no agent could connect");
  }
  Result<transport::CurveKeyPair> keys = transport::readKeyPairFile(config.key_file);
  if (!keys.ok()) return keys.status();
  if (keys->secret_key.empty()) {
    return invalidArgument(config.key_file + ": the coordinator needs its secret key", "key_file");
  }
  if (auto dir = std::filesystem::path(config.database).parent_path(); !dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
  }
  // What derives from the database's place is decided from the final one (--database).
  if (config.admin_token_file.empty()) {
    config.admin_token_file =
        (std::filesystem::path(config.database).parent_path() / "admin.token").string();
  }
  auto store = store::CoordinatorStore::open(config.database, config.init);
  if (!store.ok()) return store.status();
  if (Status s = checkFederation(**store, fed->name, config.init, clock.now()); !s.ok()) return s;
  auto writer_store = store::CoordinatorStore::open(config.database);
  if (!writer_store.ok()) return writer_store.status();
  auto history_store = store::CoordinatorStore::open(config.database);  // HistoryWriter's
  if (!history_store.ok()) return history_store.status();
  std::string tls_dir =
      (std::filesystem::path(config.database).parent_path() / "tls").lexically_normal().string();
  Result<api::TlsIdentity> tls =
      api::loadOrCreateTlsIdentity(config.tls_cert, config.tls_key, tls_dir, clock.now());
  if (!tls.ok()) return tls.status();
  if (tls->generated) {
    spdlog::info("created a self-signed TLS certificate {} (key {})", tls->cert_path,
                 tls->key_path);
  }
  auto tls_context = api::makeServerTlsContext(*tls);
  if (!tls_context.ok()) return tls_context.status();
  api::HttpServerOptions http_options;
  http_options.tls = std::move(*tls_context);
  // A bug the broker survived in a Release build (an illegal job transition, refused).
  config.broker.report_bug = [](std::string_view what) { spdlog::error("broker bug: {}", what); };
  auto daemon = std::make_unique<CoordinatorDaemonImpl>(
      std::move(config), clock, monotonic, std::move(*fed), std::move(*keys), std::move(*store),
      std::move(*writer_store), std::move(*history_store), std::move(*tls),
      std::move(http_options));
  if (Status s = daemon->restore(); !s.ok()) return s;
  return std::unique_ptr<CoordinatorDaemon>(std::move(daemon));
}

}  // namespace aifed::coordinator
