// User and group resolution against an image's rootfs (/etc/passwd, /etc/group), the way
// BuildKit resolves USER for RUN (runc's GetExecUser) and --chown for COPY/ADD (file backend).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace strata::build {

struct Ids {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;  // RUN only: groups listing the user by name
  bool operator==(const Ids&) const = default;
};

// USER for RUN (BuildKit executor/oci.GetUser). "uid:gid" with both numeric (or "root") and ""
// never read files; anything else is resolved by runc's rules against <rootfs>/etc/passwd and
// /etc/group, both opened inside rootfs (symlinks cannot leave it):
//   "name"        -> its uid and primary gid, plus every group whose member list names it
//   "uid"         -> that uid (passwd entry or not); gid from the entry, else 0
//   "x:group"     -> the group by name or number; no additional groups
// Errors read like docker's: `unable to find user nosuch: no matching entries in passwd file`,
// `unable to find group g: no matching entries in group file`. A missing passwd file reads as
// docker 20.10 reads it (`unable to find user 5: invalid argument`).
Result<Ids> ResolveUser(const std::string& rootfs, std::string_view user);

// --chown for COPY/ADD (dockerfile2llb WithUser + the file backend's readUser): each half is a
// number ("root" is 0) or a name. A number needs no file; a name needs the file to exist (else
// `open <rootfs>/etc/passwd: no such file or directory`) but an unknown name silently maps to 0,
// as BuildKit does. A lone user gives gid = the user's primary gid (name) or the uid (number).
Result<Ids> ResolveChown(const std::string& rootfs, std::string_view chown);

}  // namespace strata::build
