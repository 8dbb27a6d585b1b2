#include "content/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <random>

#include "content/paths.h"
#include "util/fs.h"
#include "util/writeback.h"

namespace strata::content {
namespace {

// Reader that verifies size and digest at EOF.
class VerifiedReader : public Reader {
 public:
  VerifiedReader(UniqueFd fd, digest::Digest want, uint64_t size)
      : fd_(std::move(fd)), raw_(fd_.get()), hr_(raw_), want_(std::move(want)), size_(size) {}
  Result<size_t> Read(void* buf, size_t n) override {
    STRATA_ASSIGN_OR_RETURN(size_t k, hr_.Read(buf, n));
    if (k == 0 && !checked_) {
      checked_ = true;
      if (hr_.size() != size_ || hr_.Sum() != want_) {
        return DataLoss("blob " + want_.str() + " is corrupted: content has digest " +
                        hr_.Sum().str());
      }
    }
    return k;
  }

 private:
  UniqueFd fd_;
  FdReader raw_;
  digest::HashingReader hr_;
  digest::Digest want_;
  uint64_t size_;
  bool checked_ = false;
};

std::string RandomSuffix() {
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  return std::to_string(::getpid()) + "-" + std::to_string(rd()) + "-" +
         std::to_string(counter.fetch_add(1));
}

}  // namespace

IngestWriter::IngestWriter(std::string root, std::string tmp_path, UniqueFd fd, IngestOptions o)
    : root_(std::move(root)),
      tmp_path_(std::move(tmp_path)),
      fd_(std::move(fd)),
      hash_(o.hash),
      writeback_(o.writeback) {
  out_ = std::make_unique<FdWriter>(fd_.get());
  hasher_ = digest::HashingWriter(*out_);
}

IngestWriter::~IngestWriter() {
  if (!done_ && !tmp_path_.empty()) ::unlink(tmp_path_.c_str());
}

Status IngestWriter::Write(const void* buf, size_t n) {
  if (hash_) {
    STRATA_TRY(hasher_.Write(buf, n));
  } else {
    STRATA_TRY(out_->Write(buf, n));
    size_ += n;
  }
  int64_t written = static_cast<int64_t>(size());
  if (writeback_ && written - flushed_ >= kWritebackChunk) {
    StartWriteback(fd_.get(), flushed_, written - flushed_);
    flushed_ = written;
  }
  return Ok();
}

Result<digest::Digest> IngestWriter::Commit(const digest::Digest& expected, int64_t expected_size) {
  digest::Digest got = hash_ ? hasher_.Sum() : expected;
  if (!hash_ && expected.empty()) {
    // The caller has no digest after all (the bytes were not what it
    // expected to hash elsewhere): read them back, mostly from page cache.
    digest::Hasher h;
    std::string buf(kCopyBufferSize, '\0');
    for (off_t off = 0;;) {
      ssize_t k = ::pread(fd_.get(), buf.data(), buf.size(), off);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) return ErrnoError("read back " + tmp_path_);
      if (k == 0) break;
      h.Update(buf.data(), static_cast<size_t>(k));
      off += k;
    }
    got = h.Sum();
  }
  if (expected_size >= 0 && static_cast<uint64_t>(expected_size) != size()) {
    return DataLoss("blob " + (expected.empty() ? got.str() : expected.str()) +
                    ": size mismatch: expected " + std::to_string(expected_size) + " bytes, got " +
                    std::to_string(size()));
  }
  if (!expected.empty() && expected != got) {
    return DataLoss("digest mismatch: expected " + expected.str() + ", got " + got.str());
  }
  if (::fsync(fd_.get()) != 0) return ErrnoError("fsync " + tmp_path_);
  fd_.reset();
  std::string dest = content::BlobPath(root_, got);
  std::string dir = BlobsDir(root_) + "/" + got.algorithm();
  STRATA_TRY(MakeDirs(dir));
  if (::rename(tmp_path_.c_str(), dest.c_str()) != 0) return ErrnoError("commit blob " + dest);
  done_ = true;
  STRATA_TRY(FsyncDir(dir));
  return got;
}

Status LocalStore::Init() const {
  STRATA_TRY(MakeDirs(BlobsDir(root_) + "/sha256"));
  return MakeDirs(IngestDir(root_));
}

std::string LocalStore::BlobPath(const digest::Digest& d) const {
  return content::BlobPath(root_, d);
}

Result<std::unique_ptr<Reader>> LocalStore::Open(const digest::Digest& d, bool verify) const {
  int fd = ::open(BlobPath(d).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("blob " + d.str() + ": not found");
    return ErrnoError("open blob " + d.str());
  }
  UniqueFd ufd(fd);
  if (!verify) return std::unique_ptr<Reader>(std::make_unique<OwnedFdReader>(std::move(ufd)));
  struct stat st;
  if (::fstat(ufd.get(), &st) != 0) return ErrnoError("stat blob " + d.str());
  return std::unique_ptr<Reader>(
      std::make_unique<VerifiedReader>(std::move(ufd), d, static_cast<uint64_t>(st.st_size)));
}

Result<Info> LocalStore::Stat(const digest::Digest& d) const {
  struct stat st;
  if (::stat(BlobPath(d).c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound("blob " + d.str() + ": not found");
    return ErrnoError("stat blob " + d.str());
  }
  return Info{d, static_cast<uint64_t>(st.st_size)};
}

bool LocalStore::Exists(const digest::Digest& d) const {
  return ::access(BlobPath(d).c_str(), F_OK) == 0;
}

Result<IngestWriter> LocalStore::Ingest(IngestOptions o) const {
  STRATA_TRY(MakeDirs(IngestDir(root_)));
  std::string tmp = IngestDir(root_) + "/" + RandomSuffix();
  STRATA_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(tmp, O_RDWR | O_CREAT | O_EXCL, 0644));
  return IngestWriter(root_, tmp, std::move(fd), o);
}

Result<digest::Digest> LocalStore::Put(std::string_view data) const {
  digest::Digest d = digest::Sha256Of(data);
  if (Exists(d)) return d;
  STRATA_ASSIGN_OR_RETURN(IngestWriter w, Ingest());
  STRATA_TRY(w.Write(data));
  return w.Commit(d, static_cast<int64_t>(data.size()));
}

Result<std::string> LocalStore::ReadBlob(const digest::Digest& d, size_t max_bytes) const {
  STRATA_ASSIGN_OR_RETURN(auto r, Open(d, /*verify=*/true));
  return ReadAll(*r, max_bytes);
}

Status LocalStore::Delete(const digest::Digest& d) const {
  if (::unlink(BlobPath(d).c_str()) != 0 && errno != ENOENT) {
    return ErrnoError("delete blob " + d.str());
  }
  return Ok();
}

Status LocalStore::Walk(const std::function<void(const Info&)>& fn) const {
  std::string dir = BlobsDir(root_) + "/sha256";
  DIR* dp = ::opendir(dir.c_str());
  if (!dp) {
    if (errno == ENOENT) return Ok();
    return ErrnoError("open " + dir);
  }
  while (dirent* e = ::readdir(dp)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    auto d = digest::Digest::Parse("sha256:" + name);
    if (!d) continue;  // foreign file; not ours to report
    struct stat st;
    if (::stat((dir + "/" + name).c_str(), &st) != 0) continue;
    fn(Info{*d, static_cast<uint64_t>(st.st_size)});
  }
  ::closedir(dp);
  return Ok();
}

PartialIngest::PartialIngest(std::string root, std::string path, UniqueFd fd, digest::Digest want,
                             uint64_t size)
    : root_(std::move(root)),
      path_(std::move(path)),
      fd_(std::move(fd)),
      want_(std::move(want)),
      offset_(size),
      size_(size),
      flushed_(static_cast<int64_t>(size)) {}

Status PartialIngest::Write(const void* buf, size_t n) {
  if (done_) return FailedPrecondition("write to committed blob " + want_.str());
  const char* p = static_cast<const char*>(buf);
  for (size_t left = n; left > 0;) {
    ssize_t k = ::pwrite(fd_.get(), p, left, static_cast<off_t>(size_));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return ErrnoError("write " + path_);
    if (hasher_) hasher_->Update(p, static_cast<size_t>(k));
    p += k;
    left -= static_cast<size_t>(k);
    size_ += static_cast<uint64_t>(k);
  }
  int64_t written = static_cast<int64_t>(size_);
  if (written - flushed_ >= kWritebackChunk) {
    StartWriteback(fd_.get(), flushed_, written - flushed_);
    flushed_ = written;
  }
  return Ok();
}

Status PartialIngest::HashFromStart() {
  digest::Hasher h;
  std::string buf(kCopyBufferSize, '\0');
  for (uint64_t off = 0; off < size_;) {
    ssize_t k = ::pread(fd_.get(), buf.data(), std::min<uint64_t>(buf.size(), size_ - off),
                        static_cast<off_t>(off));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return ErrnoError("read " + path_);
    if (k == 0) return DataLoss(path_ + ": shorter than " + std::to_string(size_) + " bytes");
    h.Update(buf.data(), static_cast<size_t>(k));
    off += static_cast<uint64_t>(k);
  }
  hasher_.emplace(std::move(h));
  return Ok();
}

Status PartialIngest::Discard() {
  if (::ftruncate(fd_.get(), 0) != 0) return ErrnoError("truncate " + path_);
  size_ = offset_ = 0;
  flushed_ = 0;
  if (hasher_) hasher_.emplace();
  return Ok();
}

void PartialIngest::Remove() {
  if (!done_ && !path_.empty()) ::unlink(path_.c_str());
  size_ = offset_ = 0;
  done_ = true;
}

Result<digest::Digest> PartialIngest::Commit(int64_t expected_size) {
  if (done_) return FailedPrecondition("blob " + want_.str() + " already committed or removed");
  if (expected_size >= 0 && static_cast<uint64_t>(expected_size) != size_) {
    return DataLoss("blob " + want_.str() + ": size mismatch: expected " +
                    std::to_string(expected_size) + " bytes, got " + std::to_string(size_));
  }
  if (hasher_ && hasher_->Sum() != want_) {
    return DataLoss("digest mismatch: expected " + want_.str() + ", got " + hasher_->Sum().str());
  }
  if (::fsync(fd_.get()) != 0) return ErrnoError("fsync " + path_);
  std::string dir = BlobsDir(root_) + "/" + want_.algorithm();
  STRATA_TRY(MakeDirs(dir));
  std::string dest = content::BlobPath(root_, want_);
  if (::rename(path_.c_str(), dest.c_str()) != 0) return ErrnoError("commit blob " + dest);
  done_ = true;
  fd_.reset();  // drops the lock, after the name is gone
  STRATA_TRY(FsyncDir(dir));
  return want_;
}

Result<PartialIngest> LocalStore::OpenPartial(const digest::Digest& d) const {
  STRATA_TRY(MakeDirs(IngestDir(root_)));
  std::string path = PartialPath(root_, d);
  for (;;) {
    STRATA_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDWR | O_CREAT, 0644));
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) return Conflict("blob " + d.str() + " is being downloaded");
      return ErrnoError("lock " + path);
    }
    // The previous holder may have committed (renamed) or removed it before we locked it:
    // then our fd names a file nobody else will see; start over on the current name.
    struct stat by_fd, by_name;
    if (::fstat(fd.get(), &by_fd) != 0) return ErrnoError("stat " + path);
    if (::stat(path.c_str(), &by_name) != 0 || by_fd.st_ino != by_name.st_ino ||
        by_fd.st_dev != by_name.st_dev) {
      continue;
    }
    // Touch it: the age CleanIngest looks at runs from the last pull that used it.
    (void)::futimens(fd.get(), nullptr);
    return PartialIngest(root_, path, std::move(fd), d, static_cast<uint64_t>(by_fd.st_size));
  }
}

Status LocalStore::CleanIngest(int64_t min_age_seconds, int64_t partial_min_age_seconds) const {
  std::string dir = IngestDir(root_);
  DIR* dp = ::opendir(dir.c_str());
  if (!dp) return Ok();
  time_t now = ::time(nullptr);
  while (dirent* e = ::readdir(dp)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string p = dir + "/" + name;
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) continue;
    int64_t min_age = name.starts_with(kPartialPrefix) ? partial_min_age_seconds : min_age_seconds;
    if (now - st.st_mtime < min_age) continue;
    if (name.starts_with(kPartialPrefix)) {
      // A download in progress holds the lock; its file is not stale whatever its age.
      int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0) continue;
      bool busy = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
      if (!busy) ::unlink(p.c_str());
      ::close(fd);
      continue;
    }
    ::unlink(p.c_str());
  }
  ::closedir(dp);
  return Ok();
}

}  // namespace strata::content
