#include "coordinator/broker/staging.h"

namespace aifed::broker {
namespace {

double datasetSize(const DatasetRef& ref, const Federation& fed) {
  if (ref.size_gb > 0) return ref.size_gb;
  for (const DatasetConfig& d : fed.datasets) {
    if (d.id == ref.id) return d.size_gb;
  }
  return 0;
}

// Calls visit(ref, from_site or null, size_gb, gbps) for each data set to move to `site`,
// in the job's order.
template <typename Visit>
void forEachTransfer(const JobSpec& spec, std::string_view site, const Federation& fed,
                     Visit&& visit) {
  for (const DatasetRef& ref : spec.datasets) {
    double size = datasetSize(ref, fed);
    if (size <= 0) continue;
    const std::string* from = nullptr;
    double best_gbps = 0;
    bool local = false;
    for (const DatasetConfig& d : fed.datasets) {
      if (d.id != ref.id) continue;
      if (d.site == site) {
        local = true;
        break;
      }
      double gbps = fed.bandwidthGbps(d.site, site);
      if (!from || gbps > best_gbps) {
        from = &d.site;
        best_gbps = gbps;
      }
    }
    if (local) continue;
    if (!from) best_gbps = fed.default_bandwidth_gbps;
    if (best_gbps <= 0) best_gbps = 1;
    visit(ref, from, size, best_gbps);
  }
}

}  // namespace

StagingPlan planStaging(const JobSpec& spec, const std::string& site, const Federation& federation) {
  StagingPlan plan;
  planStaging(spec, site, federation, plan);
  return plan;
}

void planStaging(const JobSpec& spec, const std::string& site, const Federation& federation,
                 StagingPlan& plan) {
  plan.steps.clear();
  plan.seconds = 0;
  plan.gigabytes = 0;
  forEachTransfer(spec, site, federation,
                  [&](const DatasetRef& ref, const std::string* from, double gb, double gbps) {
                    StagingStep& s = plan.steps.emplace_back();
                    s.dataset = ref.id;
                    s.from_site = from ? *from : std::string();
                    s.size_gb = gb;
                    s.gbps = gbps;
                    s.seconds = gb * 8.0 / gbps;  // GB -> Gbit, over Gbit/s
                    plan.seconds += s.seconds;
                    plan.gigabytes += gb;
                  });
}

double stagingSeconds(const JobSpec& spec, const SiteConfig& site, const Federation& federation) {
  double total = 0;
  forEachTransfer(spec, site.id, federation,
                  [&](const DatasetRef&, const std::string*, double gb, double gbps) {
                    total += gb * 8.0 / gbps;
                  });
  return total;
}

}  // namespace aifed::broker
