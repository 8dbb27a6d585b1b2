#include "content/local_store.h"

#include <dirent.h>
#include <fcntl.h>
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

Status LocalStore::CleanIngest(int64_t min_age_seconds) const {
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
    if (now - st.st_mtime >= min_age_seconds) ::unlink(p.c_str());
  }
  ::closedir(dp);
  return Ok();
}

}  // namespace strata::content
