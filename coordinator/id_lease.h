// Job ids are never handed out twice, not even when the database is restored from an
// older backup or its last writes were lost: the coordinator leases ids in blocks, in a
// small file beside its database (`<database>.ids`), and makes each block durable before
// it hands out any id of it. A restart continues above the lease, whatever the database
// remembers. (Restoring the lease file along with an old database defeats it: back up the
// database alone, docs/operations.md, "Backups and restores". Agents' reports of jobs the
// coordinator does not know push the ids up as well: coordinator/broker/quarantine.h.)
//
//   IdLease lease;
//   RETURN_IF_ERROR(lease.open(database + ".ids"));
//   next = std::max(store_next, lease.floor());
//   if (Status s = lease.ensure(next + 1); !s.ok()) refuse(s);   // before each new id
#pragma once

#include <cstdint>
#include <string>

#include "protocol/status.h"

namespace aifed::coordinator {

class IdLease {
 public:
  static constexpr int64_t kBlock = 1000;  // ids leased per write of the file

  // Reads the lease (an absent file: nothing leased yet). kInvalidArgument naming the
  // file when it is not a lease file.
  Status open(const std::string& path);
  // Every id below this may have been handed out.
  int64_t floor() const { return leased_; }
  // Makes sure every id below `next_seq` is leased, writing a new block when needed.
  // kUnavailable (nothing leased) when the file cannot be written: no new id may be
  // handed out then.
  Status ensure(int64_t next_seq);

 private:
  std::string path_;
  int64_t leased_ = 1;
};

}  // namespace aifed::coordinator
