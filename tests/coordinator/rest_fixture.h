// A REST API test bench: a real broker and a real Authenticator behind a fake
// JobService that keeps tokens and audit rows in memory. No sockets, no database:
// requests go straight through the router.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/rest/rest_api.h"

namespace aifed::coordinator::testing_support {

inline Federation twoSites() {
  Federation f;
  f.name = "test";
  for (auto [id, acc] : {std::pair{"site-a", "h100"}, std::pair{"site-b", "a100"}}) {
    SiteConfig s;
    s.id = id;
    s.name = id;
    s.country = "FI";
    s.partitions.push_back(PartitionConfig{"gpu", 16, NodeType{acc, 4, 64, 512}});
    f.sites.push_back(s);
  }
  for (const char* id : {"p1", "p2"}) {
    ProjectConfig p;
    p.id = id;
    p.country = "FI";
    p.allocations = {{"site-a", 1000}, {"site-b", 500}};
    f.projects.push_back(p);
  }
  return f;
}

class FakeService final : public JobService {
 public:
  FakeService() : broker_(twoSites(), broker::BrokerConfig{}) {}
  // --- JobService ---
  broker::Broker& broker() override { return broker_; }
  Time now() const override { return clock.now(); }
  Instant instant() const override { return clock.now(); }
  Status commit(broker::Effects& fx, std::vector<identity::AuditRecord> rows) override {
    ++commits;
    if (!fail_writes.ok()) return fail_writes;
    for (const broker::PolicyChange& c : fx.policy_changes) committed_changes.push_back(c);
    for (identity::AuditRecord& a : rows) {
      a.id = static_cast<int64_t>(audit.size()) + 1;
      audit.push_back(std::move(a));
    }
    fx.clear();
    return Status::Ok();
  }
  boost::json::object transportStats() const override { return {}; }
  Status writable() const override { return read_only; }
  Status saveToken(const identity::TokenRecord& token) override {
    saved_tokens[token.id] = token;
    return Status::Ok();
  }
  Result<std::vector<identity::AuditRecord>> auditLog(const store::AuditQuery& q) override {
    std::vector<identity::AuditRecord> out;
    for (auto it = audit.rbegin(); it != audit.rend() && out.size() < q.limit; ++it) {
      if (q.before != 0 && it->id >= q.before) continue;
      if (!q.actor.empty() && it->actor != q.actor) continue;
      if (!q.action.empty() && it->action != q.action) continue;
      out.push_back(*it);
    }
    return out;
  }
  void recordAudit(identity::AuditRecord row) override {
    row.id = static_cast<int64_t>(audit.size()) + 1;
    audit.push_back(std::move(row));
  }
  // Job output: answered at once by `output` when set (the base class's "unreachable"
  // otherwise); every request is kept.
  void requestOutput(const std::string& site, LogRequest request,
                     std::function<void(OutputAnswer)> done) override {
    output_requests.emplace_back(site, request);
    if (!output) return JobService::requestOutput(site, std::move(request), std::move(done));
    done(output(site, request));
  }
  std::function<OutputAnswer(const std::string&, const LogRequest&)> output;
  // POST /api/v1/admin/reload: answered by `reload` when set (the base class's "no
  // federation file" otherwise).
  Result<boost::json::object> reloadFederation(broker::Effects& fx) override {
    ++reloads;
    return reload ? reload(fx) : JobService::reloadFederation(fx);
  }
  std::function<Result<boost::json::object>(broker::Effects&)> reload;
  int reloads = 0;
  // Console history: the store the tests give it (none by default).
  HistoryAccess history() override { return history_access; }
  HistoryAccess history_access;
  std::vector<std::pair<std::string, LogRequest>> output_requests;

  ManualClock clock{fromMillis(1'800'000'000'000)};
  std::vector<broker::PolicyChange> committed_changes;
  std::vector<identity::AuditRecord> audit;  // every row, oldest first
  std::map<std::string, identity::TokenRecord> saved_tokens;
  int commits = 0;
  Status fail_writes;  // what commit() answers when set (a full disk)
  Status read_only;    // what writable() answers when set (after a failed write)

 private:
  broker::Broker broker_;
};

// The bench: one token per role (submitter scoped to p1, site-admin to site-a), each
// belonging to the user of its name.
class RestBench : public ::testing::Test {
 public:
  RestBench() : auth_(svc_.clock) {
    addRestRoutes(router_, svc_, auth_);
    tokens_["admin"] = addToken("admin", identity::Role::kAdmin, {});
    tokens_["operator"] = addToken("operator", identity::Role::kOperator, {});
    tokens_["viewer"] = addToken("viewer", identity::Role::kViewer, {});
    tokens_["submitter"] = addToken("submitter", identity::Role::kSubmitter, {"p1"});
    tokens_["submitter2"] = addToken("submitter2", identity::Role::kSubmitter, {"p2"});
    tokens_["site-admin"] = addToken("site-admin", identity::Role::kSiteAdmin, {"site-a"});
  }

  std::string addToken(const std::string& name, identity::Role role,
                       std::vector<std::string> scope) {
    identity::NewToken t = *identity::generateToken();
    identity::TokenRecord r;
    r.id = t.id;
    r.name = name;
    r.user = name;
    r.role = role;
    r.scope = std::move(scope);
    r.secret_sha256 = t.secret_sha256;
    r.created_at = svc_.now();
    r.created_by = "bootstrap";
    auth_.tokens().put(r);
    return t.text;
  }
  std::string idOf(const std::string& who) { return identity::parseToken(tokens_.at(who))->id; }

  api::HttpRequest request(const std::string& method, const std::string& target,
                           const std::string& body = "", const std::string& who = "admin") {
    api::HttpRequest r;
    r.method = method;
    r.target = target;
    size_t q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = *api::parseQueryString(target.substr(q + 1));
    r.body = body;
    r.remote_address = "10.0.0.1:5000";
    r.headers["host"] = "127.0.0.1:7780";
    if (!who.empty()) r.headers["authorization"] = "Bearer " + tokens_.at(who);
    return r;
  }

  // Through dispatch(), which also serves the asynchronous routes (job submission); the
  // fake service answers them before dispatch() returns.
  api::HttpResponse send(const api::HttpRequest& r) {
    std::optional<api::HttpResponse> answer;
    router_.dispatch(r, [&answer](api::HttpResponse resp) { answer = std::move(resp); });
    EXPECT_TRUE(answer.has_value()) << r.method << " " << r.target << " got no answer";
    return answer ? std::move(*answer) : api::HttpResponse{};
  }

  // Sends as `who` ("" for no credentials) and expects `status`; returns the JSON body
  // (null when empty).
  boost::json::value call(const std::string& method, const std::string& target, int status,
                          const std::string& body = "", const std::string& who = "admin") {
    api::HttpResponse resp = send(request(method, target, body, who));
    EXPECT_EQ(resp.status, status) << method << " " << target << " as " << who << ": " << resp.body;
    if (resp.body.empty()) return nullptr;
    return boost::json::parse(resp.body);
  }

  void bringUp(const std::string& site, int idle) {
    broker::Effects fx;
    Time t = svc_.now();
    svc_.broker().onMessage(*svc_.broker().siteIndex(site), makeMessage(site, "h", t, Hello{"t", "simulated", {}}), t, fx);
    Capacity c;
    c.capacity.epoch = 1;
    PartitionCapacity p;
    p.name = "gpu";
    p.node_type = svc_.broker().federation().findSite(site)->partitions[0].node_type;
    p.nodes_total = 16;
    p.nodes_idle = idle;
    c.capacity.partitions = {p};
    svc_.broker().onMessage(*svc_.broker().siteIndex(site), makeMessage(site, "c", t, c), t, fx);
  }

  // Submits a one-node job for `project` as admin, owned by `user` (the admin's own
  // when empty); returns its id.
  std::string submitFor(const std::string& project, const std::string& gpu = "h100",
                        const std::string& user = "") {
    boost::json::object spec{{"nodes", 1},
                             {"gpus_per_node", 4},
                             {"gpu_type", gpu},
                             {"walltime_s", 3600},
                             {"project", project}};
    if (!user.empty()) spec["user"] = user;
    boost::json::value job = call("POST", "/api/v1/jobs", 201, boost::json::serialize(spec));
    return std::string(job.at("id").as_string());
  }

  FakeService svc_;
  api::Authenticator auth_;
  api::Router router_;
  std::map<std::string, std::string> tokens_;  // role name -> token text
};

}  // namespace aifed::coordinator::testing_support
