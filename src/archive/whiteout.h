// OCI whiteouts (image-spec layer.md) and their overlayfs equivalents: the
// names apply.cc reads and diff.cc writes.
#pragma once

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <string_view>

namespace strata::archive {

// `.wh.<name>` in a layer deletes <name> from the layers below.
inline constexpr std::string_view kWhiteoutPrefix = ".wh.";
// `.wh..wh..opq` in a directory hides everything lower layers put there.
inline constexpr std::string_view kWhiteoutOpaqueDir = ".wh..wh..opq";
// Reserved prefix (aufs metadata such as `.wh..wh.plnk`); never extracted.
inline constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";

// overlayfs: a whiteout is a 0/0 character device; an opaque directory
// carries this xattr with value "y" (user.overlay.* with -o userxattr).
inline constexpr const char* kOverlayOpaqueXattr = "trusted.overlay.opaque";
inline constexpr const char* kOverlayUserOpaqueXattr = "user.overlay.opaque";

inline bool IsOverlayWhiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0;
}

// xattrs that belong to overlayfs itself: never taken from or put into a tar,
// since a layer must not be able to forge overlay metadata (redirects, opaque).
inline bool IsOverlayInternalXattr(std::string_view name) {
  return name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.");
}

}  // namespace strata::archive
