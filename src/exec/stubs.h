// Mount points created in a root filesystem for one run, and their removal
// afterwards so that they do not end up in the committed layer.
#pragma once

#include <string>
#include <vector>

#include "exec/sandbox.h"
#include "util/result.h"

namespace strata::exec {

// Resolves `path` inside `rootfs` as if rootfs were "/": symlinks (absolute
// ones relative to rootfs) are followed, ".." stops at the root, and missing
// components are kept as they are. Returns the resulting path relative to
// rootfs without symlinks ("" for the root itself).
Result<std::string> ResolveInRoot(const std::string& rootfs, const std::string& path);

// Records every file and directory it had to create; on destruction removes
// them as the policy says (see StubCleanup).
class MountStubs {
 public:
  MountStubs(std::string rootfs, StubCleanup policy)
      : rootfs_(std::move(rootfs)), policy_(policy) {}
  MountStubs(const MountStubs&) = delete;
  MountStubs& operator=(const MountStubs&) = delete;
  ~MountStubs() { Remove(); }

  // Makes sure `path` exists (as a directory or, for as_dir false, as
  // whatever is there or an empty file) and returns its resolved relative path.
  Result<std::string> Ensure(const std::string& path, bool as_dir);
  // Removes the stubs now (idempotent).
  void Remove();

 private:
  std::string rootfs_;
  StubCleanup policy_;
  std::vector<std::string> dirs_;   // created directories, in creation order
  std::vector<std::string> files_;  // created empty files
};

}  // namespace strata::exec
