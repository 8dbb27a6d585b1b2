// The build context: a directory on disk seen through its .dockerignore, as BuildKit's context
// transfer presents it to COPY/ADD, plus the Dockerfile that the frontend always reads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "build/copy.h"
#include "build/dockerfile/dockerignore.h"
#include "util/result.h"

namespace strata::build {

class HashCache;

// Nothing is walked up front: COPY walks only the paths it names (lazily, never following a
// symlink out of the directory), so opening a large context costs two small file reads.
class Context {
 public:
  // dir: the context directory. dockerfile_path: the Dockerfile (relative to the current
  // directory or absolute; "" = <dir>/Dockerfile). Its `<Dockerfile>.dockerignore` wins over
  // `<dir>/.dockerignore`, as in BuildKit. cache may be null.
  static Result<Context> Open(std::string dir, const std::string& dockerfile_path,
                              HashCache* cache);

  const std::string& dir() const { return dir_; }
  const std::string& dockerfile_path() const { return dockerfile_path_; }
  // The ignore file that applied ("" when there was none) and its patterns.
  const std::string& ignore_file() const { return ignore_file_; }
  const std::vector<std::string>& ignore_patterns() const { return patterns_; }

  // The Dockerfile's text, whatever the ignore patterns say (docker reads it separately).
  Result<std::string> ReadDockerfile() const;
  // Whether COPY sees a path (relative, clean): false when .dockerignore excludes it.
  bool Includes(std::string_view rel) const;
  // The context as a COPY/ADD source (valid while this Context lives).
  CopySource Source() const;

 private:
  std::string dir_;
  std::string dockerfile_path_;
  std::string ignore_file_;
  std::vector<std::string> patterns_;
  std::unique_ptr<dockerfile::Matcher> matcher_;  // stable address for CopySource
  HashCache* cache_ = nullptr;
};

}  // namespace strata::build
