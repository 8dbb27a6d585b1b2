// .dockerignore: reading the file (moby/patternmatcher/ignorefile) and deciding which context
// paths are excluded the way docker's context walker does (moby/patternmatcher, tonistiigi/fsutil).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace strata::dockerfile {

// Patterns of a .dockerignore file, normalized as docker does: lines starting with '#' are
// comments, surrounding whitespace and blank lines are dropped, a leading '!' marks an exception,
// paths are filepath.Clean'ed and a leading '/' is removed. A UTF-8 BOM and CRLF are accepted.
Result<std::vector<std::string>> ParseDockerignore(std::string_view content);

// Go's filepath.Clean for '/'-separated paths ("" -> ".", "./a//b/../c/" -> "a/c").
std::string CleanPath(std::string_view path);

// The ignore file that applies to a build: `<dockerfile>.dockerignore` beside the Dockerfile when
// it exists (BuildKit's per-Dockerfile ignore file, which takes precedence), otherwise
// `<context_dir>/.dockerignore`. `exists(path)` tells whether a file exists. The Dockerfile and
// the ignore file are always read by the builder even when the patterns exclude them; exclusion
// only keeps them out of what COPY/ADD see.
template <typename ExistsFn>
std::string IgnoreFileFor(std::string_view context_dir, std::string_view dockerfile_path,
                          ExistsFn&& exists) {
  if (!dockerfile_path.empty()) {
    std::string named = std::string(dockerfile_path) + ".dockerignore";
    if (exists(named)) return named;
  }
  std::string root(context_dir);
  if (root.empty()) root = ".";
  return root + "/.dockerignore";
}
// Same, asking the file system.
std::string IgnoreFileFor(std::string_view context_dir, std::string_view dockerfile_path);

// The exclusion decision for context paths. Paths are relative, '/'-separated and clean ("a/b",
// never "./a" or "a/"). Patterns are evaluated in order; a later match wins, an exception ('!')
// re-includes, and a pattern that matches a parent directory matches everything under it.
class Matcher {
 public:
  // Per-pattern results for a directory, handed to its children so that they need not re-match
  // the parent chain (patternmatcher.MatchInfo).
  struct MatchInfo {
    std::vector<bool> parent_matched;
  };

  // Fails on a pattern that Go's filepath.Match rejects ("syntax error in pattern") and on a
  // lone "!" (`illegal exclusion pattern: "!"`).
  static Result<Matcher> Create(const std::vector<std::string>& patterns);

  Matcher() = default;

  // True when path is excluded (MatchesOrParentMatches).
  bool Matches(std::string_view path) const;
  // Same decision using the parent directory's results; pass a default MatchInfo for a path at
  // the top level (or when the parent's results are unknown). Fills *info for path's children.
  bool MatchesUsingParent(std::string_view path, const MatchInfo& parent, MatchInfo* info) const;
  // For an excluded directory: whether the walker must still descend because an exception pattern
  // may re-include something below it (fsutil's rule: some exception pattern starts with
  // "<dir>/"). When false the whole directory is skipped.
  bool MaybeIncludesChildren(std::string_view dir) const;
  // Whether any pattern is an exception.
  bool HasExclusions() const { return exclusions_; }
  bool empty() const { return patterns_.empty(); }

  // A compiled pattern (public so that the implementation file can define it).
  struct Pattern;

 private:
  std::vector<std::shared_ptr<const Pattern>> patterns_;
  bool exclusions_ = false;
};

}  // namespace strata::dockerfile
