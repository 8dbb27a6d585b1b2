#include "build/context.h"

#include <sys/stat.h>

#include <cstdlib>

#include "util/fs.h"

namespace strata::build {

Result<Context> Context::Open(std::string dir, const std::string& dockerfile_path,
                              HashCache* cache) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    return ErrnoError("unable to prepare context: path \"" + dir + "\" not found");
  }
  if (!S_ISDIR(st.st_mode)) {
    return InvalidArgument("unable to prepare context: context must be a directory: " + dir);
  }
  // Absolute and canonical: the hash cache keys files by full path.
  if (char* real = ::realpath(dir.c_str(), nullptr)) {
    dir = real;
    ::free(real);
  }
  Context c;
  c.dir_ = dir;
  c.cache_ = cache;
  c.dockerfile_path_ = dockerfile_path.empty() ? dir + "/Dockerfile" : dockerfile_path;
  std::string ignore = dockerfile::IgnoreFileFor(dir, c.dockerfile_path_);
  auto text = ReadFile(ignore, 16 << 20);
  if (text) {
    auto pats = dockerfile::ParseDockerignore(*text);
    if (!pats) return std::move(pats).error().Wrap("parse " + ignore);
    c.ignore_file_ = ignore;
    c.patterns_ = std::move(*pats);
  } else if (text.error().code != ErrorCode::kNotFound) {
    return std::move(text).error();
  }
  auto m = dockerfile::Matcher::Create(c.patterns_);
  if (!m) return std::move(m).error().Wrap(ignore);
  c.matcher_ = std::make_unique<dockerfile::Matcher>(std::move(*m));
  return c;
}

Result<std::string> Context::ReadDockerfile() const { return ReadFile(dockerfile_path_, 64 << 20); }

bool Context::Includes(std::string_view rel) const {
  return rel.empty() || rel == "." || !matcher_->Matches(rel);
}

CopySource Context::Source() const {
  CopySource s;
  s.root = dir_;
  s.ignore = matcher_->empty() ? nullptr : matcher_.get();
  s.cache = cache_;
  s.is_context = true;
  return s;
}

}  // namespace strata::build
