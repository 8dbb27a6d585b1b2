#include "build/hash_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "digest/hasher.h"
#include "util/fs.h"

namespace strata::build {
namespace {

constexpr std::string_view kMagic = "strata-hashcache-v1\n";

int64_t Ns(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

template <typename T>
void Put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(v));
}
template <typename T>
bool Get(std::string_view& in, T* v) {
  if (in.size() < sizeof(T)) return false;
  std::memcpy(v, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return true;
}

}  // namespace

Result<digest::Digest> DigestFd(int fd) {
  digest::Hasher h;
  std::vector<char> buf(1 << 18);
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read");
    if (n == 0) break;
    h.Update(buf.data(), static_cast<size_t>(n));
  }
  return h.Sum();
}

Result<std::unique_ptr<HashCache>> HashCache::Open(std::string dir) {
  auto c = std::make_unique<HashCache>();
  c->dir_ = std::move(dir);
  auto data = ReadFile(c->dir_ + "/hashcache", size_t{1} << 30);
  if (!data) return c;  // missing or unreadable: start empty
  c->data_ = std::move(*data);
  std::string_view in = c->data_;
  if (in.substr(0, kMagic.size()) != kMagic) return c;
  in.remove_prefix(kMagic.size());
  // A record is the path plus 68 bytes; paths run 20-60 bytes.
  c->entries_.reserve(in.size() / 100 + 16);
  while (!in.empty()) {
    uint32_t len = 0;
    Entry e;
    if (!Get(in, &len) || in.size() < len) break;
    std::string_view path = in.substr(0, len);
    in.remove_prefix(len);
    if (!Get(in, &e.size) || !Get(in, &e.mtime_ns) || !Get(in, &e.ctime_ns) || !Get(in, &e.ino) ||
        !Get(in, &e.mode) || in.size() < 32) {
      c->entries_.clear();  // truncated: trust nothing
      break;
    }
    std::memcpy(e.sha256, in.data(), 32);
    in.remove_prefix(32);
    c->entries_.insert_or_assign(path, e);
  }
  return c;
}

HashCache::Entry HashCache::KeyOf(const struct stat& st) {
  Entry key;
  key.size = static_cast<uint64_t>(st.st_size);
  key.mtime_ns = Ns(st.st_mtim);
  key.ctime_ns = Ns(st.st_ctim);
  key.ino = st.st_ino;
  key.mode = st.st_mode;
  return key;
}

bool HashCache::SameFile(const Entry& a, const Entry& b) {
  return a.size == b.size && a.mtime_ns == b.mtime_ns && a.ctime_ns == b.ctime_ns &&
         a.ino == b.ino && a.mode == b.mode;
}

bool HashCache::Has(const std::string& path, const struct stat& st) const {
  std::shared_lock lock(mu_);
  auto it = entries_.find(path);
  return it != entries_.end() && SameFile(it->second, KeyOf(st));
}

Result<digest::Digest> HashCache::FileDigest(int dirfd, const char* name, const std::string& path,
                                             const struct stat& st) {
  Entry key = KeyOf(st);
  {
    std::shared_lock lock(mu_);
    auto it = entries_.find(path);
    if (it != entries_.end() && SameFile(it->second, key)) {
      std::atomic_ref<bool>(it->second.used).store(true, std::memory_order_relaxed);
      return digest::Digest::FromSha256Bytes(it->second.sha256);
    }
  }
  UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return ErrnoError("open " + path);
  files_read_.fetch_add(1);
  auto d = DigestFd(fd.get());
  if (!d) return std::move(d).error().Wrap(path);
  // Raw bytes back from the hex string.
  const std::string& hex = d->hex();
  for (size_t i = 0; i < 32; ++i) {
    key.sha256[i] = static_cast<unsigned char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  }
  key.used = true;
  std::unique_lock lock(mu_);
  if (auto it = entries_.find(path); it != entries_.end()) {
    it->second = key;
  } else {
    entries_.emplace(added_keys_.emplace_back(path), key);
  }
  dirty_ = true;
  return d;
}

size_t HashCache::size() const {
  std::shared_lock lock(mu_);
  return entries_.size();
}

Status HashCache::Save() {
  std::unique_lock lock(mu_);
  if (dir_.empty() || !dirty_) return Ok();
  if (entries_.size() > kMaxEntries) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = it->second.used ? std::next(it) : entries_.erase(it);
    }
  }
  std::string out(kMagic);
  out.reserve(entries_.size() * 100);
  for (const auto& [path, e] : entries_) {
    Put(out, static_cast<uint32_t>(path.size()));
    out += path;
    Put(out, e.size);
    Put(out, e.mtime_ns);
    Put(out, e.ctime_ns);
    Put(out, e.ino);
    Put(out, e.mode);
    out.append(reinterpret_cast<const char*>(e.sha256), 32);
  }
  STRATA_TRY(MakeDirs(dir_));
  STRATA_TRY_CTX(WriteFileAtomic(dir_ + "/hashcache", out), "save hash cache");
  dirty_ = false;
  return Ok();
}

}  // namespace strata::build
