// Admission: the checks a job spec must pass against the federation before the broker
// queues it, each refusal naming the field and its real cause (residency, accelerator
// model, size, allocation) with what the federation offers instead.
// (validateJobSpec in protocol/types.h checks what needs no federation.)
//
//   if (Status s = checkAgainstFederation(spec, federation); !s.ok()) return s;   // 400
#pragma once

#include "protocol/federation.h"
#include "protocol/status.h"
#include "protocol/types.h"

namespace aifed::broker {

// kInvalidArgument (with the field) when no site could ever run the job, checked in this
// order (the first that excludes every site is named):
//   gpu_type           an accelerator model nobody offers
//   allowed_sites      names a site the federation does not have
//   allowed_countries  names no country with a site
//   gpus_per_node, cores_per_node
//                      no partition anywhere has such nodes
//   allowed_countries, allowed_sites
//                      the job's own lists exclude every site with such nodes
//   project            the project's residency excludes every such site left
//   nodes              more nodes than the largest partition it may use
//   project            the project has allocations, none at a site where it fits
Status checkAgainstFederation(const JobSpec& spec, const Federation& federation);

}  // namespace aifed::broker
