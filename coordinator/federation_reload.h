// Re-reading the federation file while the coordinator runs (SIGHUP, or POST
// /api/v1/admin/reload; docs/operations.md, "Reloading the federation file").
//
// Everything is validated before anything is applied: the file must parse, name the same
// federation, and remove no site that still holds active jobs. On any error nothing
// changes and the error names the file (and, for a file that does not parse, the line
// and key). Then the broker takes the new sites (Broker::updateFederation) and the caller
// swaps the ZAP handler's key table (federationKeyTable()).
//
//   broker::Effects fx;
//   Result<FederationDiff> diff = reloadFederation(path, broker, now, fx);
//   if (!diff.ok()) log(diff.status());          // the old federation stays in force
//   else zap.setKeys(federationKeyTable(broker.federation()));
#pragma once

#include <boost/json.hpp>
#include <map>
#include <string>
#include <vector>

#include "coordinator/broker/broker.h"
#include "protocol/federation.h"
#include "protocol/status.h"

namespace aifed::coordinator {

// What a reload changes, site by site (ids in the new file's order, removed ones in the
// old file's).
struct FederationDiff {
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::vector<std::string> rekeyed;  // the set of accepted keys changed
  std::vector<std::string> changed;  // anything else changed (partitions, country, prices...)
  size_t unchanged = 0;              // sites neither re-keyed nor changed

  // {"added":[...],"removed":[...],"rekeyed":[...],"changed":[...],"unchanged":N}
  boost::json::object toJson() const;
  // One line for the log: "added b; removed -; rekeyed a; changed -; unchanged 1".
  std::string summary() const;
};

// Compares two federations site by site. A site both re-keyed and otherwise changed is
// listed in both.
FederationDiff diffFederations(const Federation& before, const Federation& after);

// Z85 public key -> site id, for the ZAP handler: every key of every site.
std::map<std::string, std::string> federationKeyTable(const Federation& federation);

// Reads `path`, checks it against the broker's federation, and applies it. Errors:
// those of loadFederationFile() (file, line, key), kInvalidArgument for a changed name,
// kFailedPrecondition naming the jobs of a removed site that still holds some; each
// message starts with `path`. Nothing changes on an error.
Result<FederationDiff> reloadFederation(const std::string& path, broker::Broker& broker,
                                        Instant now, broker::Effects& fx);

}  // namespace aifed::coordinator
