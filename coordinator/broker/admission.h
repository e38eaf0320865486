// Admission: the checks a job spec must pass against the federation before the broker
// queues it, each refusal naming the field and what the federation offers instead.
// (validateJobSpec in protocol/types.h checks what needs no federation.)
//
//   if (Status s = checkAgainstFederation(spec, federation); !s.ok()) return s;   // 400
#pragma once

#include "protocol/federation.h"
#include "protocol/status.h"
#include "protocol/types.h"

namespace aifed::broker {

// kInvalidArgument (with the field) when no site could ever run the job: an accelerator
// model nobody offers, an allowed site or country list that names no usable site, a
// node type nobody has, or more nodes than the largest partition it may use.
Status checkAgainstFederation(const JobSpec& spec, const Federation& federation);

}  // namespace aifed::broker
