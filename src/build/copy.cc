#include "build/copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "archive/apply.h"
#include "archive/compression.h"
#include "archive/tar_reader.h"
#include "build/hash_cache.h"
#include "digest/hasher.h"
#include "util/fs.h"
#include "util/io.h"
#include "util/writeback.h"

namespace strata::build {
namespace {

// ---- paths ---------------------------------------------------------------------------------

std::vector<std::string> Components(std::string_view p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    if (j > i) out.emplace_back(p.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string JoinComponents(const std::vector<std::string>& c, size_t from = 0,
                           size_t to = std::string::npos) {
  std::string out;
  for (size_t i = from; i < std::min(to, c.size()); ++i) {
    if (!out.empty()) out += '/';
    out += c[i];
  }
  return out;
}

// path.Join("/", p) without the leading '/': "../x" -> "x", "/a/./b/" -> "a/b", "/" -> "".
std::string CleanRel(std::string_view p) {
  std::vector<std::string> out;
  for (auto& c : Components(p)) {
    if (c == ".") continue;
    if (c == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(std::move(c));
  }
  return JoinComponents(out);
}

std::string JoinRel(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  return std::string(a) + "/" + std::string(b);
}

std::string Dirname(std::string_view rel) {
  size_t s = rel.rfind('/');
  return s == std::string_view::npos ? std::string() : std::string(rel.substr(0, s));
}
std::string Basename(std::string_view rel) {
  size_t s = rel.rfind('/');
  return std::string(s == std::string_view::npos ? rel : rel.substr(s + 1));
}

// What errors call a path in a root: "<root>/<rel>", like docker's host paths.
std::string Show(const std::string& root, std::string_view rel) {
  return rel.empty() ? root : root + "/" + std::string(rel);
}

// continuity's fs.RootPath: resolves every symlink of `path` (the last one too) as if root_fd
// were '/', keeping components that do not exist. Returns a clean relative path.
Result<std::string> RootPath(int root_fd, std::string_view path) {
  std::deque<std::string> todo;
  for (auto& c : Components(path)) todo.push_back(std::move(c));
  std::vector<std::string> out;
  int links = 0;
  while (!todo.empty()) {
    std::string c = std::move(todo.front());
    todo.pop_front();
    if (c == ".") continue;
    if (c == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(c);
    std::string cand = JoinComponents(out);
    struct stat st;
    if (::fstatat(root_fd, cand.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) continue;  // kept as written
      return ErrnoError("lstat /" + cand);
    }
    if (!S_ISLNK(st.st_mode)) continue;
    if (++links > 255) return Error{ErrorCode::kInvalidArgument, "too many links: /" + cand};
    std::string target(static_cast<size_t>(std::max<off_t>(st.st_size, 255)) + 1, '\0');
    ssize_t n = ::readlinkat(root_fd, cand.c_str(), target.data(), target.size());
    if (n < 0) return ErrnoError("readlink /" + cand);
    target.resize(static_cast<size_t>(n));
    out.pop_back();
    if (!target.empty() && target[0] == '/') out.clear();
    auto tc = Components(target);
    todo.insert(todo.begin(), tc.begin(), tc.end());
  }
  return JoinComponents(out);
}

// ---- wildcards (Go's filepath.Match on one path component) ------------------------------------

bool ContainsWildcards(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '*' || s[i] == '?' || s[i] == '[') {
      return true;
    }
  }
  return false;
}

// Matches a character class starting after '['; sets *end past ']'. false on a bad pattern.
bool MatchClass(std::string_view p, size_t* pos, unsigned char c, bool* matched) {
  size_t i = *pos;
  bool negate = false;
  if (i < p.size() && p[i] == '^') {
    negate = true;
    ++i;
  }
  bool any = false;
  bool first = true;
  while (true) {
    if (i >= p.size()) return false;
    if (p[i] == ']' && !first) {
      ++i;
      break;
    }
    first = false;
    auto read_char = [&](unsigned char* out) {
      if (i >= p.size()) return false;
      if (p[i] == '\\') {
        ++i;
        if (i >= p.size()) return false;
      } else if (p[i] == '-' || p[i] == ']') {
        return false;
      }
      *out = static_cast<unsigned char>(p[i++]);
      return true;
    };
    unsigned char lo, hi;
    if (!read_char(&lo)) return false;
    hi = lo;
    if (i < p.size() && p[i] == '-') {
      ++i;
      if (!read_char(&hi)) return false;
    }
    if (lo <= c && c <= hi) any = true;
  }
  *pos = i;
  *matched = any != negate;
  return true;
}

// Go's filepath.Match for a name without '/', bytewise (ASCII patterns behave as in Go).
bool GoMatch(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0;
  size_t star_p = std::string_view::npos, star_s = 0;
  while (si < s.size() || pi < p.size()) {
    if (pi < p.size()) {
      char pc = p[pi];
      if (pc == '*') {
        star_p = ++pi;
        star_s = si;
        continue;
      }
      if (si < s.size()) {
        if (pc == '?') {
          ++pi;
          ++si;
          continue;
        }
        if (pc == '[') {
          size_t np = pi + 1;
          bool m = false;
          if (!MatchClass(p, &np, static_cast<unsigned char>(s[si]), &m)) return false;
          if (m) {
            pi = np;
            ++si;
            continue;
          }
        } else {
          if (pc == '\\') {
            if (pi + 1 >= p.size()) return false;
            pc = p[pi + 1];
            if (s[si] == pc) {
              pi += 2;
              ++si;
              continue;
            }
          } else if (s[si] == pc) {
            ++pi;
            ++si;
            continue;
          }
        }
      }
    }
    if (star_p != std::string_view::npos && star_s < s.size()) {
      pi = star_p;
      si = ++star_s;
      continue;
    }
    return false;
  }
  return true;
}

// ---- sources -----------------------------------------------------------------------------------

struct Match {
  std::string rel;       // as matched (symlinks not yet followed), relative to the source root
  std::string resolved;  // rel with symlinks followed inside the root
  struct stat st {};
  std::string dest_rel;      // --parents: where under dest it goes
  std::string exclude_path;  // the match's own path for --exclude ("" = never excluded)
};

class SourceWalker;

struct State {
  const CopySource& src;
  const CopyRequest& req;
  UniqueFd root;
  std::optional<dockerfile::Matcher> excludes;
};

bool IgnoredInContext(const State& s, const std::string& rel) {
  return s.src.ignore != nullptr && !rel.empty() && s.src.ignore->Matches(rel);
}

bool IsSpecial(mode_t m) { return !S_ISREG(m) && !S_ISDIR(m) && !S_ISLNK(m); }

Error NotFoundError(const std::string& resolved) {
  return NotFound("failed to compute cache key: \"/" + resolved + "\" not found: not found");
}

// Names in dirfd, sorted like Go's ReadDir.
Result<std::vector<std::string>> SortedNames(int dirfd) {
  STRATA_ASSIGN_OR_RETURN(auto names, ListDir(dirfd));
  std::sort(names.begin(), names.end());
  return names;
}

// Lists the entries under `base` (resolved, relative to the root) that match the pattern
// components pat[i..], as filepath.Walk + filepath.Match do: a matching directory is not
// descended; only real directories are walked for the next component.
Status Glob(const State& s, const std::string& base, const std::vector<std::string>& pat, size_t i,
            std::vector<std::string>* out) {
  auto fd = OpenInRoot(s.root.get(), base, O_RDONLY | O_DIRECTORY);
  if (!fd) return Ok();  // missing base: no matches
  STRATA_ASSIGN_OR_RETURN(auto names, SortedNames(fd->get()));
  for (const auto& n : names) {
    if (!GoMatch(pat[i], n)) continue;
    std::string rel = JoinRel(base, n);
    struct stat st;
    if (::fstatat(fd->get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (s.src.is_context && IsSpecial(st.st_mode)) continue;
    if (IgnoredInContext(s, rel) &&
        !(S_ISDIR(st.st_mode) && s.src.ignore->MaybeIncludesChildren(rel))) {
      continue;
    }
    if (i + 1 == pat.size()) {
      out->push_back(rel);
    } else if (S_ISDIR(st.st_mode)) {
      STRATA_TRY(Glob(s, rel, pat, i + 1, out));
    }
  }
  return Ok();
}

// Stats a resolved source path; false when it does not exist for this source.
Result<bool> StatSource(const State& s, const std::string& resolved, struct stat* st) {
  int rc = resolved.empty() ? ::fstat(s.root.get(), st)
                            : ::fstatat(s.root.get(), resolved.c_str(), st, AT_SYMLINK_NOFOLLOW);
  if (rc != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return ErrnoError("lstat /" + resolved);
  }
  if (s.src.is_context && IsSpecial(st->st_mode)) return false;
  if (IgnoredInContext(s, resolved)) {
    return S_ISDIR(st->st_mode) && s.src.ignore->MaybeIncludesChildren(resolved);
  }
  return true;
}

Result<std::vector<Match>> ResolveSource(const State& s, const std::string& source) {
  const bool parents = s.req.parents;
  // --parents: "a/./b/c" copies b/c under dest; without a pivot the whole path is kept.
  std::string pivot;
  if (parents) {
    std::string_view raw = source;
    size_t from = 0;
    while (raw.substr(from, 2) == "./") from += 2;
    size_t p = raw.find("/./", from);
    if (p != std::string_view::npos) pivot = CleanRel(raw.substr(0, p));
  }
  std::string cleaned = CleanRel(source);
  std::vector<std::string> comps = Components(cleaned);
  size_t w = 0;
  while (w < comps.size() && !ContainsWildcards(comps[w])) ++w;
  const bool wildcard = w < comps.size();

  std::vector<std::string> rels;
  std::string glob_base;
  if (wildcard) {
    STRATA_ASSIGN_OR_RETURN(glob_base, RootPath(s.root.get(), JoinComponents(comps, 0, w)));
    STRATA_TRY(Glob(s, glob_base, comps, w, &rels));
  } else {
    rels.push_back(cleaned);
  }
  std::vector<Match> out;
  for (auto& rel : rels) {
    Match m;
    STRATA_ASSIGN_OR_RETURN(m.resolved, RootPath(s.root.get(), rel));
    STRATA_ASSIGN_OR_RETURN(bool exists, StatSource(s, m.resolved, &m.st));
    if (!exists) {
      // BuildKit's --parents treats every source as a pattern: a missing one copies nothing.
      if (parents && !wildcard) continue;
      return NotFoundError(m.resolved);
    }
    if (parents) {
      m.dest_rel = rel;
      if (!pivot.empty()) {
        if (rel == pivot) {
          m.dest_rel.clear();
        } else if (rel.compare(0, pivot.size() + 1, pivot + "/") == 0) {
          m.dest_rel = rel.substr(pivot.size() + 1);
        }
      }
      m.exclude_path = m.dest_rel;
    } else if (wildcard) {
      m.exclude_path = glob_base.empty() ? rel : rel.substr(glob_base.size() + 1);
    }
    // --exclude applies to what a pattern matched, not to a path named outright.
    if (s.excludes && !m.exclude_path.empty() && s.excludes->Matches(m.exclude_path) &&
        !(S_ISDIR(m.st.st_mode) && s.excludes->MaybeIncludesChildren(m.exclude_path))) {
      continue;
    }
    m.rel = std::move(rel);
    out.push_back(std::move(m));
  }
  return out;
}

// ---- walking a match ---------------------------------------------------------------------------

struct Entry {
  const std::string& rel;      // relative to the match root ("" for the root)
  const std::string& src_rel;  // relative to the source root
  int dirfd;                   // directory holding it (for the root of a file match: its parent)
  const char* name;
  const struct stat& st;
};

class Visitor {
 public:
  virtual ~Visitor() = default;
  virtual Status Leaf(const Entry& e) = 0;
  // fd: the source directory, open for reading.
  virtual Status EnterDir(const Entry& e, int fd) = 0;
  virtual Status LeaveDir(const Entry& e, int fd) = 0;
  // A split walk (Walker::RunChildrenSplit) gives this visitor the match's top-level names
  // [begin, end) only.
  virtual void Part(size_t /*begin*/, size_t /*end*/) {}
};

class Walker {
 public:
  Walker(const State& s, const Match& m) : s_(s), m_(m) {}

  Status Run(Visitor& v) {
    if (S_ISDIR(m_.st.st_mode)) {
      auto fd = OpenInRoot(s_.root.get(), m_.resolved, O_RDONLY | O_DIRECTORY);
      if (!fd) return std::move(fd).error().Wrap("open source /" + m_.resolved);
      std::string rel;
      Entry e{rel, m_.resolved, -1, "", m_.st};
      STRATA_TRY(v.EnterDir(e, fd->get()));
      STRATA_TRY(Children(v, fd->get(), rel, m_.resolved));
      return v.LeaveDir(e, fd->get());
    }
    auto parent = OpenInRoot(s_.root.get(), Dirname(m_.resolved), O_RDONLY | O_DIRECTORY);
    if (!parent) return std::move(parent).error().Wrap("open source /" + m_.resolved);
    std::string rel, name = Basename(m_.resolved);
    return v.Leaf(Entry{rel, m_.resolved, parent->get(), name.c_str(), m_.st});
  }

  // The entries of a directory match under its top-level names [begin, end), without the
  // match's own EnterDir/LeaveDir.
  Status RunRange(Visitor& v, size_t begin, size_t end) {
    auto fd = OpenInRoot(s_.root.get(), m_.resolved, O_RDONLY | O_DIRECTORY);
    if (!fd) return std::move(fd).error().Wrap("open source /" + m_.resolved);
    auto names = SortedNames(fd->get());
    if (!names) return std::move(names).error().Wrap("read directory /" + m_.resolved);
    for (size_t i = begin; i < std::min(end, names->size()); ++i) {
      STRATA_TRY(Child(v, fd->get(), (*names)[i], "", m_.resolved));
    }
    return Ok();
  }

  // For a directory match: its entries (not the match itself) split into runs of consecutive
  // names, one per visitor, each walked on its own thread (the last on this one). Read part
  // after part, the visits are what Run makes between the match's EnterDir and LeaveDir.
  // Each visitor learns its part's range first (Visitor::Part), to read ahead in it.
  Status RunChildrenSplit(const std::vector<Visitor*>& parts) {
    auto fd = OpenInRoot(s_.root.get(), m_.resolved, O_RDONLY | O_DIRECTORY);
    if (!fd) return std::move(fd).error().Wrap("open source /" + m_.resolved);
    auto names = SortedNames(fd->get());
    if (!names) return std::move(names).error().Wrap("read directory /" + m_.resolved);
    std::vector<Status> results(parts.size());
    std::vector<std::thread> threads;
    size_t per = (names->size() + parts.size() - 1) / std::max<size_t>(parts.size(), 1);
    for (size_t p = 0; p < parts.size(); ++p) {
      size_t begin = std::min(names->size(), p * per), end = std::min(names->size(), begin + per);
      parts[p]->Part(begin, end);
      auto work = [&, p, begin, end] {
        for (size_t i = begin; i < end && results[p]; ++i) {
          results[p] = Child(*parts[p], fd->get(), (*names)[i], "", m_.resolved);
        }
      };
      if (p + 1 == parts.size()) {
        work();
      } else {
        threads.emplace_back(work);
      }
    }
    for (auto& t : threads) t.join();
    for (auto& r : results) STRATA_TRY(r);
    return Ok();
  }

 private:
  enum class Keep { kYes, kNo, kMaybe };  // kMaybe: an excluded dir that may hold included paths

  Keep Decide(const std::string& rel, const std::string& src_rel, const struct stat& st) const {
    if (s_.src.is_context && IsSpecial(st.st_mode)) return Keep::kNo;
    bool dir = S_ISDIR(st.st_mode);
    Keep k = Keep::kYes;
    if (IgnoredInContext(s_, src_rel)) {
      if (!dir || !s_.src.ignore->MaybeIncludesChildren(src_rel)) return Keep::kNo;
      k = Keep::kMaybe;
    }
    if (s_.excludes) {
      std::string p = JoinRel(m_.exclude_path, rel);
      if (s_.excludes->Matches(p)) {
        if (!dir || !s_.excludes->MaybeIncludesChildren(p)) return Keep::kNo;
        k = Keep::kMaybe;
      }
    }
    return k;
  }

  // Whether anything under an excluded directory is included after all.
  Result<bool> AnyIncluded(int fd, const std::string& rel, const std::string& src_rel) {
    STRATA_ASSIGN_OR_RETURN(auto names, SortedNames(fd));
    for (const auto& n : names) {
      struct stat st;
      if (::fstatat(fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      std::string crel = JoinRel(rel, n), csrc = JoinRel(src_rel, n);
      Keep k = Decide(crel, csrc, st);
      if (k == Keep::kYes) return true;
      if (k == Keep::kMaybe) {
        UniqueFd c(::openat(fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!c) continue;
        STRATA_ASSIGN_OR_RETURN(bool any, AnyIncluded(c.get(), crel, csrc));
        if (any) return true;
      }
    }
    return false;
  }

  Status Children(Visitor& v, int fd, const std::string& rel, const std::string& src_rel) {
    auto names = SortedNames(fd);
    if (!names) return std::move(names).error().Wrap("read directory /" + src_rel);
    for (const auto& n : *names) STRATA_TRY(Child(v, fd, n, rel, src_rel));
    return Ok();
  }

  // One entry of a directory and, for a directory, everything under it.
  Status Child(Visitor& v, int fd, const std::string& n, const std::string& rel,
               const std::string& src_rel) {
    struct stat st;
    if (::fstatat(fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return Ok();  // removed meanwhile
      return ErrnoError("lstat /" + JoinRel(src_rel, n));
    }
    std::string crel = JoinRel(rel, n), csrc = JoinRel(src_rel, n);
    Keep k = Decide(crel, csrc, st);
    if (k == Keep::kNo) return Ok();
    Entry e{crel, csrc, fd, n.c_str(), st};
    if (!S_ISDIR(st.st_mode)) return v.Leaf(e);
    UniqueFd c(::openat(fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!c) return ErrnoError("open /" + csrc);
    if (k == Keep::kMaybe) {
      STRATA_ASSIGN_OR_RETURN(bool any, AnyIncluded(c.get(), crel, csrc));
      if (!any) return Ok();
    }
    STRATA_TRY(v.EnterDir(e, c.get()));
    STRATA_TRY(Children(v, c.get(), crel, csrc));
    return v.LeaveDir(e, c.get());
  }

  const State& s_;
  const Match& m_;
};

// ---- read-ahead --------------------------------------------------------------------------------

// A walk that reads its files one after the other waits for the disk once per file when the
// page cache is cold: here 10,000 files of 10 KB read at ~45 MB/s one by one and ~150 MB/s
// with many reads in flight (bench/README). ReadAhead walks the same entries of a directory
// match on its own thread, in the same order, and has the kernel start reading every regular
// file the walk will read (posix_fadvise WILLNEED), at most kLead bytes ahead of what the walk
// says it has read, so memory stays bounded whatever the context's size.
class ReadAhead : private Visitor {
 public:
  using Wanted = std::function<bool(const Entry&)>;
  static constexpr uint64_t kLead = 32 << 20;

  // The entries of directory match m under its top-level names [begin, end).
  ReadAhead(const State& s, const Match& m, Wanted wanted, size_t begin = 0, size_t end = SIZE_MAX)
      : wanted_(std::move(wanted)), thread_([this, &s, &m, begin, end] {
          Walker w(s, m);
          (void)w.RunRange(*this, begin, end);  // read-ahead only: the walk reports errors
        }) {}
  ~ReadAhead() {
    {
      std::lock_guard l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  // The walk has read n more bytes of wanted files.
  void Read(uint64_t n) {
    bool wake;
    {
      std::lock_guard l(mu_);
      read_ += n;
      wake = waiting_;
    }
    if (wake) cv_.notify_all();  // a wake-up per file costs a futex call each
  }

 private:
  Status Leaf(const Entry& e) override {
    if (!S_ISREG(e.st.st_mode) || e.st.st_size == 0 || !wanted_(e)) return Ok();
    {
      std::unique_lock l(mu_);
      waiting_ = true;
      cv_.wait(l, [&] { return stop_ || advised_ < read_ + kLead; });
      waiting_ = false;
      if (stop_) return Cancelled("read-ahead stopped");
      advised_ += static_cast<uint64_t>(e.st.st_size);
    }
    UniqueFd fd(::openat(e.dirfd, e.name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd) (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_WILLNEED);
    return Ok();
  }
  Status EnterDir(const Entry&, int) override {
    std::lock_guard l(mu_);
    return stop_ ? Status(Cancelled("read-ahead stopped")) : Ok();
  }
  Status LeaveDir(const Entry&, int) override { return Ok(); }

  Wanted wanted_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, waiting_ = false;
  uint64_t advised_ = 0, read_ = 0;
  std::thread thread_;  // last: starts once the members above exist
};

// ---- checksum ----------------------------------------------------------------------------------

class ChecksumVisitor : public Visitor {
 public:
  // Records go to `out`, which the caller hashes (and may flush) in walk order; `sums`, when
  // given, gets each entry's own record digest by source path.
  // m: the directory match walked, to read ahead in it (none: no read-ahead).
  ChecksumVisitor(const State& s, std::string& out, FileSums* sums = nullptr,
                  const Match* m = nullptr)
      : s_(s), out_(out), sums_(sums), m_(m) {}

  Status Leaf(const Entry& e) override {
    Record(e);
    STRATA_TRY(LeafContent(e));
    Sum(e);
    return Ok();
  }
  Status EnterDir(const Entry& e, int) override {
    Record(e);
    Sum(e);
    return Ok();
  }
  Status LeaveDir(const Entry&, int) override {
    Str("..");
    return Ok();
  }

  void Str(std::string_view s) {
    Num(s.size());
    out_.append(s.data(), s.size());
  }
  void Num(uint64_t v) { out_.append(reinterpret_cast<const char*>(&v), sizeof(v)); }
  void Part(size_t begin, size_t end) override {
    begin_ = begin;
    end_ = end;
  }
  // A file with several links was seen: its record depends on which name came first in the
  // whole walk, which a part of a split walk cannot know.
  bool saw_hardlink() const { return saw_hardlink_; }

 private:
  Status LeafContent(const Entry& e) {
    if (S_ISREG(e.st.st_mode)) {
      if (e.st.st_nlink > 1) {
        saw_hardlink_ = true;
        auto [it, fresh] = links_.try_emplace({e.st.st_dev, e.st.st_ino}, e.rel);
        Str(fresh ? std::string() : it->second);
        if (!fresh) return Ok();
      }
      Result<digest::Digest> d = digest::Digest();
      HashCache* cache = s_.src.cache;
      std::string path = cache != nullptr ? Show(s_.src.root, e.src_rel) : std::string();
      // Read-ahead starts with the first file that must be read: a rebuild whose files are
      // all in the hash cache reads none and walks the context once.
      bool read = cache == nullptr || !cache->Has(path, e.st);
      if (read && !read_ahead_ && m_ != nullptr && S_ISDIR(m_->st.st_mode)) {
        const CopySource& src = s_.src;
        read_ahead_ = std::make_unique<ReadAhead>(
            s_, *m_,
            [&src](const Entry& f) {
              return src.cache == nullptr || !src.cache->Has(Show(src.root, f.src_rel), f.st);
            },
            begin_, end_);
      }
      if (cache != nullptr) {
        d = cache->FileDigest(e.dirfd, e.name, path, e.st);
      } else {
        UniqueFd fd(::openat(e.dirfd, e.name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return ErrnoError("open /" + e.src_rel);
        d = DigestFd(fd.get());
      }
      if (!d) return std::move(d).error();
      if (read && read_ahead_) read_ahead_->Read(static_cast<uint64_t>(e.st.st_size));
      Str(d->hex());
    } else if (S_ISLNK(e.st.st_mode)) {
      std::string target(static_cast<size_t>(e.st.st_size) + 256, '\0');
      ssize_t n = ::readlinkat(e.dirfd, e.name, target.data(), target.size());
      if (n < 0) return ErrnoError("readlink /" + e.src_rel);
      target.resize(static_cast<size_t>(n));
      Str(target);
    } else {
      Num(e.st.st_rdev);
    }
    return Ok();
  }
  void Record(const Entry& e) {
    start_ = out_.size();
    Str(e.rel);
    Num(e.st.st_mode & (S_IFMT | 07777));
    if (!s_.src.is_context) {
      Num(e.st.st_uid);
      Num(e.st.st_gid);
    }
  }
  void Sum(const Entry& e) {
    if (!sums_) return;
    sums_->emplace_back("/" + e.src_rel,
                        std::hash<std::string_view>{}(std::string_view(out_).substr(start_)));
  }
  const State& s_;
  std::string& out_;
  FileSums* sums_;
  size_t start_ = 0;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  bool saw_hardlink_ = false;
  const Match* m_;
  size_t begin_ = 0, end_ = SIZE_MAX;
  std::unique_ptr<ReadAhead> read_ahead_;
};

// ---- copy --------------------------------------------------------------------------------------

// The process's umask, read without changing it (umask(2) can only set it, which would race
// with other threads creating files); all bits when unknown.
mode_t CurrentUmask() {
  auto status = ReadFile("/proc/self/status");
  if (!status) return 0777;
  size_t at = status->find("\nUmask:");
  if (at == std::string::npos) return 0777;
  return static_cast<mode_t>(std::strtoul(status->c_str() + at + 7, nullptr, 8)) & 0777;
}

struct DestRoot {
  std::string path;
  UniqueFd fd;
  uint32_t uid = 0, gid = 0;  // owner of directories COPY creates
  bool privileged = ::geteuid() == 0;
  mode_t umask = CurrentUmask();

  // A big copy has its written data flushed to disk while it goes on (BackgroundFlusher), so
  // the unmount and the commit's syncfs after it find little left to write: a COPY of a
  // 100 MB context otherwise waits ~0.2 s for the disk at the end.
  void Wrote(uint64_t n) {
    written += n;
    if (!flusher && written >= kFlushAfter) flusher.emplace(fd.get());
    if (flusher) flusher->Wrote(n);
  }
  static constexpr uint64_t kFlushAfter = 16 << 20;
  uint64_t written = 0;
  std::optional<BackgroundFlusher> flusher;
};

Status Chown(const DestRoot& d, int dirfd, const char* name, uint32_t uid, uint32_t gid,
             const std::string& what) {
  int rc = name == nullptr ? ::fchown(dirfd, uid, gid)
                           : ::fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
  // Unprivileged (tests): keep our own ids rather than failing.
  if (rc != 0 && !(errno == EPERM && !d.privileged)) return ErrnoError("chown " + what);
  return Ok();
}

// fsutil's MkdirAll inside the root: missing directories are created 0755 and owned by the
// --chown ids; an existing non-directory is an error. `rel` must be resolved (RootPath).
Result<UniqueFd> MkdirAll(const DestRoot& d, const std::string& rel) {
  UniqueFd cur(::openat(d.fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cur) return ErrnoError("open " + d.path);
  std::string done;
  for (const auto& c : Components(rel)) {
    done = JoinRel(done, c);
    UniqueFd next(::openat(cur.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next && errno == ENOENT) {
      if (::mkdirat(cur.get(), c.c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoError("mkdir " + Show(d.path, done));
      }
      next.reset(::openat(cur.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!next) return ErrnoError("open " + Show(d.path, done));
      STRATA_TRY(Chown(d, next.get(), nullptr, d.uid, d.gid, Show(d.path, done)));
      if (::fchmod(next.get(), 0755) != 0) return ErrnoError("chmod " + Show(d.path, done));
    } else if (!next) {
      if (errno == ENOTDIR || errno == ELOOP) {
        // Go's wording (syscall.ENOTDIR), as docker prints it.
        return FailedPrecondition("mkdir " + Show(d.path, done) + ": not a directory");
      }
      return ErrnoError("open " + Show(d.path, done));
    }
    cur = std::move(next);
  }
  return cur;
}

Status CopyXattrs(int src, int dst) {
  ssize_t n = ::flistxattr(src, nullptr, 0);
  if (n <= 0) return Ok();
  std::string names(static_cast<size_t>(n), '\0');
  n = ::flistxattr(src, names.data(), names.size());
  if (n <= 0) return Ok();
  names.resize(static_cast<size_t>(n));
  for (size_t pos = 0; pos < names.size();) {
    std::string key = names.c_str() + pos;
    pos += key.size() + 1;
    if (key.empty()) continue;
    ssize_t vn = ::fgetxattr(src, key.c_str(), nullptr, 0);
    if (vn < 0) continue;
    std::string value(static_cast<size_t>(vn), '\0');
    vn = ::fgetxattr(src, key.c_str(), value.data(), value.size());
    if (vn < 0) continue;
    // Best effort, as BuildKit copies with AllowXAttrErrors.
    (void)::fsetxattr(dst, key.c_str(), value.data(), static_cast<size_t>(vn), 0);
  }
  return Ok();
}

class CopyVisitor : public Visitor {
 public:
  // target: the resolved destination of the match, relative to the dest root. For a directory
  // match it exists and is a directory; for a file it is the path to create.
  // read_ahead, when given, is told how much the copy has read.
  CopyVisitor(const State& s, DestRoot& d, std::string target, ReadAhead* read_ahead = nullptr)
      : s_(s), d_(d), target_(std::move(target)), read_ahead_(read_ahead) {}

  Status Leaf(const Entry& e) override {
    std::string out_rel = JoinRel(target_, e.rel);
    int parent;
    const char* name;
    UniqueFd top_parent;
    std::string top_name;
    if (e.rel.empty()) {  // a file match: its target's parent exists (prepared by the caller)
      auto p = OpenInRoot(d_.fd.get(), Dirname(out_rel), O_RDONLY | O_DIRECTORY);
      if (!p) return std::move(p).error().Wrap("open " + Show(d_.path, Dirname(out_rel)));
      top_parent = std::move(*p);
      top_name = Basename(out_rel);
      parent = top_parent.get();
      name = top_name.c_str();
    } else {
      parent = dirs_.back();
      name = e.name;
    }
    const std::string shown = Show(d_.path, out_rel);
    // fsutil's ensureEmptyFileTarget: a directory in the way is an error, anything else goes.
    // Nothing is in the way in a directory this walk made (each name comes once), which
    // spares a lookup per file (on overlayfs, through every layer).
    bool fresh_parent = !e.rel.empty() && fresh_.back();
    struct stat cur;
    if (!fresh_parent && ::fstatat(parent, name, &cur, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISDIR(cur.st_mode)) {
        return FailedPrecondition("cannot replace to directory " + shown + " with file");
      }
      if (::unlinkat(parent, name, 0) != 0) return ErrnoError("remove " + shown);
    }
    if (S_ISREG(e.st.st_mode) && e.st.st_nlink > 1) {
      auto [it, fresh] = links_.try_emplace({e.st.st_dev, e.st.st_ino}, out_rel);
      if (!fresh) {
        if (::linkat(d_.fd.get(), it->second.c_str(), parent, name, 0) != 0) {
          return ErrnoError("link " + shown);
        }
        return Ok();
      }
    }
    uint32_t uid, gid;
    Owner(e.st, &uid, &gid);
    if (S_ISREG(e.st.st_mode)) {
      UniqueFd in(::openat(e.dirfd, e.name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!in) return ErrnoError("open source /" + e.src_rel);
      // Created with its final permissions when the umask keeps them (no special bits), and
      // owned by us: in a directory this walk made (no setgid yet) a file owned by the right
      // ids needs no chown. Two system calls less per file.
      const mode_t mode = Mode(e.st);
      const bool mode_at_create = (mode & (07000 | d_.umask)) == 0;
      UniqueFd out(::openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                            mode_at_create ? mode : 0600));
      if (!out) return ErrnoError("create " + shown);
      STRATA_TRY(CopyFileData(in.get(), out.get(), e.st.st_size, can_, "/" + out_rel));
      if (read_ahead_ != nullptr) read_ahead_->Read(static_cast<uint64_t>(e.st.st_size));
      d_.Wrote(static_cast<uint64_t>(e.st.st_size));
      if (!(fresh_parent && uid == kEuid && gid == kEgid)) {
        STRATA_TRY(Chown(d_, out.get(), nullptr, uid, gid, shown));
      }
      if (!mode_at_create && ::fchmod(out.get(), mode) != 0) return ErrnoError("chmod " + shown);
      STRATA_TRY(CopyXattrs(in.get(), out.get()));
      struct timespec ts[2] = {e.st.st_atim, e.st.st_mtim};
      if (::futimens(out.get(), ts) != 0) return ErrnoError("utimes " + shown);
      return Ok();
    }
    if (S_ISLNK(e.st.st_mode)) {
      std::string target(static_cast<size_t>(e.st.st_size) + 256, '\0');
      ssize_t n = ::readlinkat(e.dirfd, e.name, target.data(), target.size());
      if (n < 0) return ErrnoError("readlink /" + e.src_rel);
      target.resize(static_cast<size_t>(n));
      if (::symlinkat(target.c_str(), parent, name) != 0) return ErrnoError("symlink " + shown);
    } else {
      if (::mknodat(parent, name, (e.st.st_mode & S_IFMT) | 0600, e.st.st_rdev) != 0) {
        return ErrnoError("mknod " + shown);
      }
    }
    STRATA_TRY(Chown(d_, parent, name, uid, gid, shown));
    if (!S_ISLNK(e.st.st_mode) && ::fchmodat(parent, name, Mode(e.st), 0) != 0) {
      return ErrnoError("chmod " + shown);
    }
    struct timespec ts[2] = {e.st.st_atim, e.st.st_mtim};
    if (::utimensat(parent, name, ts, AT_SYMLINK_NOFOLLOW) != 0)
      return ErrnoError("utimes " + shown);
    return Ok();
  }

  Status EnterDir(const Entry& e, int) override {
    std::string out_rel = JoinRel(target_, e.rel);
    if (e.rel.empty()) {  // the match's root: dest itself, left as it is
      auto fd = OpenInRoot(d_.fd.get(), out_rel, O_RDONLY | O_DIRECTORY);
      if (!fd) return std::move(fd).error().Wrap("open " + Show(d_.path, out_rel));
      owned_.push_back(std::move(*fd));
      dirs_.push_back(owned_.back().get());
      fresh_.push_back(false);
      return Ok();
    }
    int parent = dirs_.back();
    struct stat cur;
    bool made = false;
    if (!fresh_.back() && ::fstatat(parent, e.name, &cur, AT_SYMLINK_NOFOLLOW) == 0) {
      if (!S_ISDIR(cur.st_mode)) {
        return FailedPrecondition("cannot copy to non-directory: " + Show(d_.path, out_rel));
      }
    } else if (::mkdirat(parent, e.name, 0700) != 0) {
      return ErrnoError("mkdir " + Show(d_.path, out_rel));
    } else {
      made = true;
    }
    UniqueFd fd(::openat(parent, e.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return ErrnoError("open " + Show(d_.path, out_rel));
    owned_.push_back(std::move(fd));
    dirs_.push_back(owned_.back().get());
    fresh_.push_back(made);
    return Ok();
  }

  Status LeaveDir(const Entry& e, int src_fd) override {
    int fd = dirs_.back();
    Status st = Ok();
    if (!e.rel.empty()) {
      // Metadata last, so a read-only directory still takes its children.
      const std::string shown = Show(d_.path, JoinRel(target_, e.rel));
      uint32_t uid, gid;
      Owner(e.st, &uid, &gid);
      st = Chown(d_, fd, nullptr, uid, gid, shown);
      if (st && ::fchmod(fd, Mode(e.st)) != 0) st = ErrnoError("chmod " + shown);
      if (st) st = CopyXattrs(src_fd, fd);
      // The context docker transfers has directories timed at the transfer: keep only a
      // stage's directory times.
      if (st && !s_.src.is_context) {
        struct timespec ts[2] = {e.st.st_atim, e.st.st_mtim};
        if (::futimens(fd, ts) != 0) st = ErrnoError("utimes " + shown);
      }
    }
    dirs_.pop_back();
    owned_.pop_back();
    fresh_.pop_back();
    return st;
  }

 private:
  void Owner(const struct stat& st, uint32_t* uid, uint32_t* gid) const {
    if (s_.req.chown) {
      *uid = s_.req.chown->uid;
      *gid = s_.req.chown->gid;
    } else if (s_.src.is_context) {
      *uid = *gid = 0;
    } else {
      *uid = st.st_uid;
      *gid = st.st_gid;
    }
  }
  mode_t Mode(const struct stat& st) const {
    if (!s_.req.chmod) return st.st_mode & 07777;
    uint32_t m = *s_.req.chmod;
    // Without special bits in --chmod the source's are kept (fsutil replaces the 0777 part).
    if ((m & 07000) == 0) return (st.st_mode & 07000) | (m & 0777);
    return m & 07777;
  }

  const State& s_;
  DestRoot& d_;
  std::string target_;
  std::vector<UniqueFd> owned_;
  std::vector<int> dirs_;
  std::vector<bool> fresh_;  // per entry of dirs_: made by this walk
  static inline const uid_t kEuid = ::geteuid();
  static inline const gid_t kEgid = ::getegid();

  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  FileCopyMethods can_;
  ReadAhead* read_ahead_;
};

Result<State> MakeState(const CopySource& src, const CopyRequest& req) {
  State s{src, req, UniqueFd(::open(src.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)), {}};
  if (!s.root) return ErrnoError("open source " + src.root);
  if (!req.excludes.empty()) {
    std::vector<std::string> pats;
    for (const auto& p : req.excludes) pats.push_back(dockerfile::CleanPath(p));
    auto m = dockerfile::Matcher::Create(pats);
    if (!m) return std::move(m).error().Wrap("--exclude");
    s.excludes = std::move(*m);
  }
  return s;
}

bool EndsWithSlash(std::string_view p) { return !p.empty() && p.back() == '/'; }

}  // namespace

// BuildKit's isArchivePath: a regular file that decompresses (gzip, bzip2, xz, zstd or none)
// into something whose first tar header reads.
bool IsArchive(int fd) {
  if (::lseek(fd, 0, SEEK_SET) != 0) return false;
  FdReader raw(fd);
  auto dec = archive::NewDecompressingReader(raw);
  if (!dec) return false;
  archive::TarReader tr(**dec);
  auto e = tr.Next();
  return e && e->has_value();
}

Status ExtractArchive(int fd, const std::string& dir, const std::string& label) {
  if (::lseek(fd, 0, SEEK_SET) != 0) return ErrnoError("seek " + label);
  FdReader raw(fd);
  STRATA_ASSIGN_OR_RETURN(auto dec, archive::NewDecompressingReader(raw));
  archive::ApplyOptions opts;
  opts.label = label;
  auto st = archive::ApplyLayer(*dec, dir, opts);
  if (!st) return std::move(st).error();
  return Ok();
}

std::string CopyDestination(const std::string& workdir, const std::string& dest) {
  std::string joined = !dest.empty() && dest[0] == '/' ? dest : workdir + "/" + dest;
  std::string out = "/" + CleanRel(joined);
  if (dest.empty() || dest == "." || EndsWithSlash(dest)) {
    if (!EndsWithSlash(out)) out += '/';
  }
  return out;
}

namespace {

// Checksum records of one directory match, walked in kParts parts on as many threads: the walk
// of a 10,000-file context is stat and hash-cache work that splits cleanly, and with the page
// cache cold it mostly waits for directory blocks, so more parts than cores keep more reads
// in flight. Falls back to one sequential walk when a part saw a hardlinked file.
constexpr size_t kParts = 4;

Status ChecksumMatch(const State& s, const Match& m, std::string& out, FileSums* sums) {
  Walker w(s, m);
  if (s.src.split_walk && S_ISDIR(m.st.st_mode) && std::thread::hardware_concurrency() > 1) {
    std::vector<std::string> records(kParts);
    std::vector<FileSums> part_sums(kParts);
    std::vector<std::unique_ptr<ChecksumVisitor>> visitors;
    std::vector<Visitor*> parts;
    for (size_t p = 0; p < kParts; ++p) {
      visitors.push_back(
          std::make_unique<ChecksumVisitor>(s, records[p], sums ? &part_sums[p] : nullptr, &m));
      parts.push_back(visitors.back().get());
    }
    STRATA_TRY(w.RunChildrenSplit(parts));
    bool linked = false;
    for (const auto& v : visitors) linked = linked || v->saw_hardlink();
    if (!linked) {
      // The match's own records around its entries', as Run writes them.
      ChecksumVisitor root(s, out, sums);
      std::string rel;
      Entry e{rel, m.resolved, -1, "", m.st};
      STRATA_TRY(root.EnterDir(e, -1));
      for (size_t p = 0; p < kParts; ++p) {
        out += records[p];
        if (sums) {
          sums->insert(sums->end(), std::make_move_iterator(part_sums[p].begin()),
                       std::make_move_iterator(part_sums[p].end()));
        }
      }
      return root.LeaveDir(e, -1);
    }
  }
  ChecksumVisitor v(s, out, sums, &m);
  return w.Run(v);
}

}  // namespace

Result<digest::Digest> ChecksumSources(const CopySource& src, const CopyRequest& req,
                                       FileSums* files) {
  STRATA_ASSIGN_OR_RETURN(State s, MakeState(src, req));
  digest::Hasher h;
  std::string records;
  ChecksumVisitor v(s, records);
  auto flush = [&] {
    h.Update(records.data(), records.size());
    records.clear();
  };
  for (const auto& source : req.sources) {
    v.Str("source");
    v.Str(source);
    STRATA_ASSIGN_OR_RETURN(auto matches, ResolveSource(s, source));
    for (const auto& m : matches) {
      v.Str("match");
      v.Str(m.rel);
      v.Str(m.dest_rel);
      // Hardlink groups are per match, as the copy keeps them.
      STRATA_TRY(ChecksumMatch(s, m, records, files));
      flush();
    }
  }
  flush();
  return h.Sum();
}

Status Copy(const CopySource& src, const CopyRequest& req, const std::string& dest_root) {
  STRATA_ASSIGN_OR_RETURN(State s, MakeState(src, req));
  DestRoot d;
  d.path = dest_root;
  d.fd.reset(::open(dest_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d.fd) return ErrnoError("open " + dest_root);
  if (req.chown) {
    d.uid = req.chown->uid;
    d.gid = req.chown->gid;
  }
  const std::string dest = CopyDestination(req.workdir, req.dest);
  for (const auto& source : req.sources) {
    STRATA_ASSIGN_OR_RETURN(auto matches, ResolveSource(s, source));
    for (const auto& m : matches) {
      std::string dest_m = dest;
      if (req.parents) {
        dest_m = "/" + JoinRel(CleanRel(dest), m.dest_rel);
        if (S_ISDIR(m.st.st_mode) || m.dest_rel.empty()) dest_m += '/';
      }
      if (req.is_add && S_ISREG(m.st.st_mode)) {
        auto in = OpenInRoot(s.root.get(), m.resolved, O_RDONLY);
        if (!in) return std::move(in).error().Wrap("open source /" + m.resolved);
        if (IsArchive(in->get())) {
          STRATA_ASSIGN_OR_RETURN(std::string target, RootPath(d.fd.get(), dest_m));
          {
            auto made = MkdirAll(d, target);
            if (!made) return std::move(made).error();
          }
          STRATA_TRY(ExtractArchive(in->get(), Show(dest_root, target), "/" + m.rel));
          continue;
        }
      }
      // fsutil's Copy: make dest (trailing '/') or its parent, resolve it, then decide.
      std::string ensure = EndsWithSlash(dest_m) ? dest_m : Dirname(CleanRel(dest_m));
      STRATA_ASSIGN_OR_RETURN(std::string ensure_rel, RootPath(d.fd.get(), ensure));
      {
        auto made = MkdirAll(d, ensure_rel);
        if (!made) return std::move(made).error();
      }
      STRATA_ASSIGN_OR_RETURN(std::string target, RootPath(d.fd.get(), CleanRel(dest_m)));
      struct stat ts;
      bool exists = ::fstatat(d.fd.get(), target.empty() ? "." : target.c_str(), &ts,
                              AT_SYMLINK_NOFOLLOW) == 0;
      bool src_dir = S_ISDIR(m.st.st_mode);
      if (!src_dir && exists && S_ISDIR(ts.st_mode)) {
        target = JoinRel(target, Basename(m.rel.empty() ? m.resolved : m.rel));
      } else if (src_dir) {
        if (exists && !S_ISDIR(ts.st_mode)) {
          return FailedPrecondition("cannot copy to non-directory: " + Show(dest_root, target));
        }
        if (!exists) {
          auto made = MkdirAll(d, target);
          if (!made) return std::move(made).error();
        }
      }
      // The copy reads every file of a directory match.
      std::optional<ReadAhead> read_ahead;
      if (src_dir) read_ahead.emplace(s, m, [](const Entry&) { return true; });
      CopyVisitor v(s, d, target, read_ahead ? &*read_ahead : nullptr);
      Walker w(s, m);
      STRATA_TRY(w.Run(v));
    }
  }
  return Ok();
}

}  // namespace strata::build
