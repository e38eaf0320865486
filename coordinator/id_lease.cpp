#include "coordinator/id_lease.h"

#include <charconv>

#include "common/files.h"

namespace aifed::coordinator {
namespace {
constexpr std::string_view kHeader = "aifed job id lease v1\nnext_job_seq=";
}  // namespace

Status IdLease::open(const std::string& path) {
  path_ = path;
  Result<std::string> text = common::readFile(path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return Status::Ok();
    return text.status();
  }
  std::string_view t = *text;
  int64_t value = 0;
  if (!t.starts_with(kHeader)) {
    return invalidArgument(path + " is not an aifed job id lease file");
  }
  t.remove_prefix(kHeader.size());
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (ec != std::errc() || value < 1) {
    return invalidArgument(path + ": next_job_seq is not a positive integer");
  }
  leased_ = value;
  return Status::Ok();
}

Status IdLease::ensure(int64_t next_seq) {
  if (next_seq <= leased_) return Status::Ok();
  int64_t bound = next_seq + kBlock;
  std::string content = std::string(kHeader) + std::to_string(bound) + "\n";
  if (Status s = common::writeFileAtomically(path_, content, 0600); !s.ok()) {
    return unavailable("cannot lease new job ids in " + path_ + ": " + s.message());
  }
  leased_ = bound;
  return Status::Ok();
}

}  // namespace aifed::coordinator
