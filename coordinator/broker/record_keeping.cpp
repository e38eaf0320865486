#include "coordinator/broker/record_keeping.h"

#include <unordered_map>

namespace aifed::broker {
namespace {

// Replaces the record with the same id in `records`, or appends it: Effects hold the
// latest version of each changed record once.
template <typename Record>
void upsert(std::vector<Record>& records, const Record& r) {
  for (Record& e : records) {
    if (e.id == r.id) {
      e = r;
      return;
    }
  }
  records.push_back(r);
}

// RecordKeeping implementation for the daemon.
class KeepEverything final : public RecordKeeping {
 public:
  // RecordKeeping
  bool explains() const override { return true; }
  bool keepsEndedJobs() const override { return true; }
  void jobChanged(const JobRecord& job, Effects& fx) override { upsert(fx.jobs, job); }
  void siteChanged(const SiteRecord& site, Effects& fx) override { upsert(fx.sites, site); }
  void decided(PlacementDecision& d, Effects& fx) override {
    auto it = last_.find(d.job_id);
    // A waiting job is re-examined on every tick: keep only decisions that say
    // something new.
    if (d.chosen_site.empty() && it != last_.end() && it->second.chosen_site.empty() &&
        it->second.summary == d.summary) {
      return;
    }
    last_[d.job_id] = d;
    fx.decisions.push_back(std::move(d));
    d = PlacementDecision{};
  }
  const PlacementDecision* lastDecision(const std::string& job_id) const override {
    auto it = last_.find(job_id);
    return it == last_.end() ? nullptr : &it->second;
  }
  void forgetDecisions(const std::string& job_id) override { last_.erase(job_id); }

 private:
  std::unordered_map<std::string, PlacementDecision> last_;
};

// RecordKeeping implementation for the simulator.
class KeepOutcomesOnly final : public RecordKeeping {
 public:
  // RecordKeeping
  bool explains() const override { return false; }
  bool keepsEndedJobs() const override { return false; }
  void jobChanged(const JobRecord& job, Effects& fx) override {
    if (isTerminal(job.state)) upsert(fx.jobs, job);
  }
  void siteChanged(const SiteRecord&, Effects&) override {}
  void decided(PlacementDecision&, Effects&) override {}
  const PlacementDecision* lastDecision(const std::string&) const override { return nullptr; }
  void forgetDecisions(const std::string&) override {}
};

}  // namespace

std::unique_ptr<RecordKeeping> keepEverything() {
  return std::make_unique<KeepEverything>();
}

std::unique_ptr<RecordKeeping> keepOutcomesOnly() {
  return std::make_unique<KeepOutcomesOnly>();
}

}  // namespace aifed::broker
