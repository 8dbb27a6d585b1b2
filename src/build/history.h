// The history text ("created_by") BuildKit's Dockerfile frontend records for each
// instruction, so `docker history` of a strata build reads like one of docker's.
#pragma once

#include <string>

#include "build/dockerfile/plan.h"

namespace strata::build {

// created_by of one planned step, as dockerfile2llb writes it: "RUN /bin/sh -c make
// # buildkit", "RUN |1 V=x /bin/sh -c …", "COPY a b /dst/ # buildkit", "ENV K=v",
// "EXPOSE map[80/tcp:{}]", "VOLUME [/a /b]", "CMD [\"/bin/sh\" \"-c\" \"x\"]",
// "HEALTHCHECK &{[\"CMD-SHELL\" \"x\"] \"30s\" \"0s\" \"0s\" '\x00'}".
std::string CreatedBy(const dockerfile::Step& step);

// For a WORKDIR step: the absolute directory it makes current (step.workdir is
// the one in effect before it).
std::string WorkdirAfter(const dockerfile::Step& step);

// Whether the step adds a layer (RUN, COPY, ADD, WORKDIR) or only changes the
// config (history entry with empty_layer).
bool ChangesFilesystem(const dockerfile::Step& step);

}  // namespace strata::build
