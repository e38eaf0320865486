// Inside CoordinatorStore (coordinator_store.h): the SQLite implementation's class and
// the helpers its files share. Private to coordinator/store; the rows of each kind live
// in their own file:
//
//   coordinator_store.cpp  schema and migrations, open (and its guards), apply
//   job_rows.cpp           jobs and sites, the next job sequence number
//   decision_rows.cpp      placement decisions with their verdicts and scores, policy switches
//   identity_rows.cpp      API tokens and the audit log
//   quarantine_rows.cpp    quarantined attempts and the federation's identity
//   maintenance_rows.cpp   maintenance windows (JSON columns of sites), the window counter
//   history_rows.cpp       the console's history: site samples and site events
//   array_rows.cpp         job arrays and the array counter
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/store/coordinator_store.h"
#include "sqlite/database.h"

namespace aifed::store::internal {

using broker::Effects;
using broker::JobRecord;
using broker::PlacementDecision;
using broker::SiteRecord;
using broker::SiteVerdict;
using sqlite::Database;
using sqlite::Statement;
using sqlite::Transaction;

std::optional<int64_t> optionalMillis(const std::optional<Time>& t);
std::optional<Time> optionalTime(const Statement& st, int column);
// The <seq> of a job id "j-<seq>" (common::parseJobSeq), or kInvalidArgument.
Result<int64_t> jobSeq(const std::string& id);
Result<boost::json::value> parseJson(const std::string& text, const std::string& where);
// Maintenance windows as a JSON array (the sites table's maintenance columns), and back.
std::string windowsJson(const std::vector<MaintenanceWindow>& windows);
Result<std::vector<MaintenanceWindow>> windowsFromJson(const std::string& text,
                                                       const std::string& where);

class CoordinatorStoreImpl final : public CoordinatorStore {
 public:
  explicit CoordinatorStoreImpl(Database db) : db_(std::move(db)) {}

  // --- CoordinatorStore ---
  Status apply(const Effects& fx, const std::vector<identity::AuditRecord>& audit) override;
  Result<std::vector<JobRecord>> loadJobs() override;
  Result<std::vector<SiteRecord>> loadSites() override;
  Result<int64_t> nextJobSeq() override;
  Result<int64_t> nextWindowSeq() override;
  Result<std::vector<PlacementDecision>> decisions(const std::string& job_id) override;
  Result<std::vector<broker::PolicyChange>> policyChanges() override;
  Result<int> schemaVersion() override { return db_.schemaVersion(); }
  Status saveToken(const identity::TokenRecord& token) override;
  Result<std::vector<identity::TokenRecord>> loadTokens() override;
  Result<std::vector<identity::AuditRecord>> audit(const AuditQuery& query) override;
  Result<std::vector<broker::QuarantinedJob>> loadQuarantined() override;
  Result<std::optional<FederationIdentity>> federationIdentity() override;
  Result<FederationIdentity> initialise(const std::string& name, Time now) override;
  Result<bool> holdsRecords() override;
  Status probeWrite(Time now) override;
  Status saveHistory(const std::vector<HistorySample>& samples,
                     const std::vector<SiteEvent>& events, Time prune_before) override;
  Result<std::vector<HistorySample>> siteHistory(const std::string& site, Time since,
                                                 Time until) override;
  Result<std::vector<FederationSample>> federationHistory(Time since, Time until) override;
  Result<std::vector<SiteEvent>> siteEvents(const std::string& site, size_t limit) override;
  Result<std::vector<broker::ArrayRecord>> loadArrays() override;
  Result<int64_t> nextArraySeq() override;

 private:
  Status saveAudit(const std::vector<identity::AuditRecord>& rows);
  Status savePolicyChanges(const std::vector<broker::PolicyChange>& changes);
  Status saveJobs(const std::vector<JobRecord>& jobs);
  Status saveSites(const std::vector<SiteRecord>& sites);
  Status saveDecisions(const std::vector<PlacementDecision>& decisions);
  Status saveQuarantined(const std::vector<broker::QuarantinedJob>& entries);
  Status saveWindowSeq(std::optional<int64_t> next);
  Status saveSamples(const std::vector<HistorySample>& samples);
  Status saveSiteEvents(const std::vector<SiteEvent>& events);
  Status saveArrays(const std::vector<broker::ArrayRecord>& arrays, std::optional<int64_t> next);

  Database db_;
};

}  // namespace aifed::store::internal
