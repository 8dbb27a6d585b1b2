// COPY and ADD with BuildKit's semantics (dockerfile2llb + the file backend + fsutil's copy):
// source resolution (wildcards, symlinks followed inside the source root, .dockerignore),
// destination rules, ownership, modes, times, hardlinks, ADD's archive extraction; and the
// checksum of the sources that goes into a step's cache key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "build/dockerfile/dockerignore.h"
#include "build/user.h"
#include "digest/digest.h"
#include "util/result.h"

namespace strata::build {

class HashCache;

// Where COPY reads from: the build context (filtered) or a stage's / image's rootfs.
struct CopySource {
  std::string root;
  // Context only: paths the .dockerignore excludes do not exist for COPY.
  const dockerfile::Matcher* ignore = nullptr;
  // Remembers file digests across builds (context files; optional).
  HashCache* cache = nullptr;
  // The build context as docker transfers it: owners become 0:0, fifos, sockets and devices are
  // left out, and directories take the time of the copy instead of their own mtime. A stage
  // source keeps owners and times and copies special files (current fsutil; docker 20.10's
  // dropped fifos).
  bool is_context = false;
  // ChecksumSources walks a directory in parts on several threads; the digest is the same
  // either way (tests compare).
  bool split_walk = true;
};

struct CopyRequest {
  // Already variable-expanded, as written (relative to the source root; "../x" and "/x" both
  // mean <root>/x). Wildcards: Go's filepath.Match per path component.
  std::vector<std::string> sources;
  std::string dest;           // as written; relative to workdir unless absolute
  std::string workdir = "/";  // the stage's WORKDIR
  std::optional<Ids> chown;   // resolved by the caller (ResolveChown)
  std::optional<uint32_t> chmod;
  std::vector<std::string> excludes;  // --exclude patterns (.dockerignore syntax)
  bool parents = false;               // --parents (a "/./" in a source marks the pivot)
  // ADD: a local regular file that is a tar (plain, gzip, bzip2, xz, zstd) is extracted into
  // dest, keeping the owners and modes of its entries (--chown/--chmod apply only to the
  // directories ADD creates). Directories named as sources are copied, never extracted.
  bool is_add = false;
};

// The digest of exactly what Copy would read for `req`: per source and match, relative names,
// types, content digests, modes, symlink targets, hardlink groups, and owners unless the source
// is the context; not times. dest, chown and chmod are not included: the caller keys those.
// Errors are docker's, e.g. `failed to compute cache key: "/nosuch" not found: not found`.
// files, when given, gets for every entry read (its path in the source, "/x/y") a hash of its
// record, so two builds' reads can be compared to say which file changed. Not in path order
// (the walk runs in parts); not for security, only to tell a change.
using FileSums = std::vector<std::pair<std::string, uint64_t>>;
Result<digest::Digest> ChecksumSources(const CopySource& src, const CopyRequest& req,
                                       FileSums* files = nullptr);

// Copies into dest_root (the target rootfs, not a mount of it that someone else writes).
// Every path in dest_root is resolved inside it (a symlink in the image resolves as if
// dest_root were `/`), so nothing outside dest_root is written. Rules (verified on docker 20.10
// with BuildKit):
// - a source directory copies its contents; a file goes to dest, or into dest when dest ends
//   with '/' ("." too) or is an existing directory; several sources each follow these rules;
// - a wildcard matching nothing copies nothing; a missing plain source is the error above;
// - missing directories of dest are created 0755, owned by --chown (else 0:0);
// - files keep their mode and mtime; --chmod replaces the permission bits of every copied file
//   and directory (not of dest itself); owners are 0:0 (context) or kept (stage) unless --chown;
// - symlinks inside copied trees are copied as symlinks; a source named directly (or by a
//   wildcard) that is a symlink is followed inside the source root;
// - hardlinks are kept among the files of one source match;
// - a file replaces an existing file or symlink; an existing directory in its way is an error
//   (`cannot replace to directory <path> with file`), as is a non-directory in the way of a
//   directory (`cannot copy to non-directory: <path>`).
Status Copy(const CopySource& src, const CopyRequest& req, const std::string& dest_root);

// The absolute destination COPY uses: dest joined to workdir, with a trailing '/' when dest is
// ".", "" or ends with '/' (dockerfile2llb).
std::string CopyDestination(const std::string& workdir, const std::string& dest);

// BuildKit's isArchivePath: the file `fd` decompresses (gzip, bzip2, xz, zstd or none) into
// something whose first tar header reads.
bool IsArchive(int fd);
// Unpacks that archive onto dir, every entry placed inside dir (archive::ApplyLayer); label
// names the archive in errors.
Status ExtractArchive(int fd, const std::string& dir, const std::string& label);

}  // namespace strata::build
