// Human-readable output of the `aifed` CLI: aligned text tables and key/value blocks
// built from the REST API's JSON (docs/api.md). Pure functions of their input, so they
// are tested without a server. Missing or null fields print as "-": an older or newer
// server never makes the CLI fail to print.
//
//   TextTable t({"ID", "STATE"});
//   t.addRow({"j-1", "running"});
//   std::cout << t.render();      // "ID   STATE\nj-1  running\n"
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace aifed::cli {

// Columns separated by two spaces, each as wide as its widest cell (counted in UTF-8
// characters); the last column is not padded, so long reasons do not leave trailing blanks.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header);
  // Rows shorter than the header are padded with empty cells; longer ones are cut.
  void addRow(std::vector<std::string> cells);
  size_t rowCount() const { return rows_.size(); }
  std::string render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// "key:   value" lines with the values aligned.
std::string renderKeyValues(const std::vector<std::pair<std::string, std::string>>& rows);

// Number of UTF-8 characters (code points) in `s`.
size_t displayWidth(const std::string& s);

// Milliseconds since the epoch -> "2026-11-25 14:03:07Z" (UTC); null or missing -> "-".
std::string formatInstant(const boost::json::value* ms);
// Seconds -> sbatch's time form: 2700 -> "00:45:00", 129600 -> "1-12:00:00".
std::string formatSlurmDuration(int64_t seconds);

// Renderers for the REST answers (the JSON bodies of docs/api.md); the job list is
// job_format.h's.
std::string renderJob(const boost::json::value& job);        // GET /api/v1/jobs/{id}
std::string renderSiteList(const boost::json::value& body);  // GET /api/v1/sites
std::string renderSite(const boost::json::value& site);      // GET /api/v1/sites/{id}
// The site's maintenance windows, one row each (`aifed maintenance SITE`).
std::string renderMaintenance(const boost::json::value& site);
// GET /api/v1/jobs/{id}/explain: "why here" (placed) or "why not yet" (waiting), a row
// per site with its verdict, and per feasible site each plugin's raw input and score.
std::string renderExplain(const boost::json::value& body);
// GET /api/v1/policy: the active policy, the ones on offer and the switches made.
std::string renderPolicy(const boost::json::value& body);
// GET /api/v1/policy/history: every switch, oldest first.
std::string renderPolicyHistory(const boost::json::value& body);
// GET /api/v1/tokens (never a secret) and POST /api/v1/tokens (the secret, once).
std::string renderTokenList(const boost::json::value& body);
std::string renderTokenCreated(const boost::json::value& token);
// GET /api/v1/audit: newest first, with the --before of the next page.
std::string renderAudit(const boost::json::value& body);
// GET /api/v1/projects and /api/v1/projects/{id}: GPU-hours used and allocated.
std::string renderProjectList(const boost::json::value& body);
std::string renderProject(const boost::json::value& project);

}  // namespace aifed::cli
