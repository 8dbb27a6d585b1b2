// docker's default seccomp profile for the default capability set, compiled
// to a BPF program once per process with libseccomp.
#pragma once

#include <linux/filter.h>

#include "util/result.h"

namespace strata::exec {

// The filter: an allowlist, everything else fails with EPERM; clone with
// namespace flags and clone3 (ENOSYS, so libc falls back to clone) denied as
// docker does without CAP_SYS_ADMIN. The program stays valid for the life of
// the process.
Result<const sock_fprog*> DefaultSeccompProgram();

}  // namespace strata::exec
