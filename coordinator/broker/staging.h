// The staging plan: which of a job's input data sets must be moved to a site before it
// can run there, from where, and how long that takes. One rule for the broker's
// estimate (the `estimated-start` score, "staging" in every verdict) and for the
// simulator's sites (staging runs inside the job's allocation), so the estimate and
// the simulated cost never disagree.
//
// Rule: a data set held at the site is not moved. Otherwise it comes from the
// best-connected site that holds it (the federation's [[link]] bandwidth, else its
// default; ties go to the first holder in the file); a data set the federation does not
// list comes from outside at the default bandwidth, with the size the job gives. Its
// size is the job's figure when given, else the federation's; a data set of no known
// size costs nothing. Time = size_gb x 8 / bandwidth_gbps (a bandwidth that is not
// positive counts as 1 Gbit/s).
//
//   StagingPlan plan = planStaging(job.spec, "mimer", federation);
//   for (const StagingStep& s : plan.steps) copy(s.dataset, s.from_site, s.seconds);
#pragma once

#include <string>
#include <vector>

#include "protocol/federation.h"
#include "protocol/types.h"

namespace aifed::broker {

struct StagingStep {
  std::string dataset;
  std::string from_site;  // "" when the federation does not list the data set
  double size_gb = 0;
  double gbps = 0;
  double seconds = 0;
};

struct StagingPlan {
  std::vector<StagingStep> steps;  // in the order of the job's data sets
  double seconds = 0;              // the steps' sum, added in order
  double gigabytes = 0;
};

StagingPlan planStaging(const JobSpec& spec, const std::string& site, const Federation& federation);
// The same into `plan` (replacing its contents, reusing its storage).
void planStaging(const JobSpec& spec, const std::string& site, const Federation& federation,
                 StagingPlan& plan);

// planStaging(...).seconds without building the steps (placement's hot path).
double stagingSeconds(const JobSpec& spec, const SiteConfig& site, const Federation& federation);

}  // namespace aifed::broker
