#include "archive/tar_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <vector>

namespace strata::archive {

std::string_view EntryTypeName(EntryType t) {
  switch (t) {
    case EntryType::kFile:
      return "file";
    case EntryType::kDir:
      return "directory";
    case EntryType::kSymlink:
      return "symlink";
    case EntryType::kHardlink:
      return "hardlink";
    case EntryType::kCharDevice:
      return "char device";
    case EntryType::kBlockDevice:
      return "block device";
    case EntryType::kFifo:
      return "fifo";
  }
  return "unknown";
}

namespace {
constexpr size_t kReadBufSize = 64 << 10;
}  // namespace

struct TarReader::Impl : public Reader {
  explicit Impl(Reader& src) : r(src), buf(kReadBufSize) {}
  ~Impl() override {
    if (a != nullptr) archive_read_free(a);
  }

  static la_ssize_t ReadCb(struct archive* ar, void* self_v, const void** out) {
    auto* self = static_cast<Impl*>(self_v);
    auto got = self->r.Read(self->buf.data(), self->buf.size());
    if (!got) {
      self->src_err = got.error();
      self->have_src_err = true;
      archive_set_error(ar, EIO, "%s", got.error().message.c_str());
      return -1;
    }
    if (*got == 0) self->src_eof = true;
    *out = self->buf.data();
    return static_cast<la_ssize_t>(*got);
  }

  Error Fail(std::string_view what) {
    if (have_src_err) return src_err;
    const char* msg = archive_error_string(a);
    std::string m = msg ? msg : "unknown error";
    if (m.find("runcated") != std::string::npos || m.find("premature") != std::string::npos) {
      m = "unexpected EOF (" + m + ")";
    }
    failed = true;
    return DataLoss(std::string(what) + ": " + m);
  }

  Result<size_t> Read(void* out, size_t n) override {
    if (!in_entry || n == 0) return size_t{0};
    la_ssize_t got = archive_read_data(a, out, n);
    if (got < 0) return Fail("tar: read entry data");
    return static_cast<size_t>(got);
  }

  Reader& r;
  std::vector<char> buf;
  struct archive* a = nullptr;
  Error src_err;
  bool have_src_err = false;
  bool src_eof = false;
  bool in_entry = false;
  bool at_end = false;
  bool failed = false;
};

TarReader::TarReader(Reader& r) : impl_(std::make_unique<Impl>(r)) {}
TarReader::~TarReader() = default;

Reader& TarReader::content() { return *impl_; }

Result<std::optional<TarEntry>> TarReader::Next() {
  Impl& s = *impl_;
  if (s.failed) return FailedPrecondition("tar: reader failed earlier");
  if (s.at_end) return std::optional<TarEntry>();
  if (s.a == nullptr) {
    s.a = archive_read_new();
    if (s.a == nullptr) return Internal("libarchive: cannot allocate reader");
    // Decompression happens before the tar layer; only tar dialects here.
    archive_read_support_format_tar(s.a);
    archive_read_support_format_empty(s.a);
    if (archive_read_open(s.a, &s, nullptr, &Impl::ReadCb, nullptr) != ARCHIVE_OK) {
      return s.Fail("tar: open");
    }
  }
  s.in_entry = false;
  archive_entry* e = nullptr;
  int ret = archive_read_next_header(s.a, &e);
  if (ret == ARCHIVE_EOF) {
    s.at_end = true;
    return std::optional<TarEntry>();
  }
  if (ret < ARCHIVE_WARN) return s.Fail("tar: read header");

  TarEntry t;
  const char* p = archive_entry_pathname(e);
  if (p == nullptr) p = archive_entry_pathname_utf8(e);
  if (p == nullptr) return DataLoss("tar: entry without a path");
  t.path = p;
  const char* hl = archive_entry_hardlink(e);
  if (hl == nullptr) hl = archive_entry_hardlink_utf8(e);
  if (hl != nullptr) {
    t.type = EntryType::kHardlink;
    t.linkname = hl;
  } else {
    switch (archive_entry_filetype(e)) {
      case AE_IFREG:
        t.type = EntryType::kFile;
        break;
      case AE_IFDIR:
        t.type = EntryType::kDir;
        break;
      case AE_IFLNK: {
        t.type = EntryType::kSymlink;
        const char* sl = archive_entry_symlink(e);
        if (sl == nullptr) sl = archive_entry_symlink_utf8(e);
        if (sl == nullptr) return DataLoss("tar: symlink \"" + t.path + "\" without a target");
        t.linkname = sl;
        break;
      }
      case AE_IFCHR:
        t.type = EntryType::kCharDevice;
        break;
      case AE_IFBLK:
        t.type = EntryType::kBlockDevice;
        break;
      case AE_IFIFO:
        t.type = EntryType::kFifo;
        break;
      default:
        return DataLoss("tar: entry \"" + t.path + "\" has an unsupported type");
    }
  }
  t.mode = archive_entry_perm(e) & 07777;
  t.uid = archive_entry_uid(e);
  t.gid = archive_entry_gid(e);
  t.size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
  if (t.size < 0) return DataLoss("tar: entry \"" + t.path + "\" has a negative size");
  t.mtime_sec = archive_entry_mtime(e);
  t.mtime_nsec = archive_entry_mtime_nsec(e);
  if (t.type == EntryType::kCharDevice || t.type == EntryType::kBlockDevice) {
    t.devmajor = archive_entry_rdevmajor(e);
    t.devminor = archive_entry_rdevminor(e);
  }
  if (archive_entry_xattr_reset(e) > 0) {
    const char* name;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      t.xattrs.emplace_back(name, std::string(static_cast<const char*>(value), size));
    }
    std::sort(t.xattrs.begin(), t.xattrs.end());
  }
  s.in_entry = t.type == EntryType::kFile || t.type == EntryType::kHardlink;
  return std::optional<TarEntry>(std::move(t));
}

Result<bool> TarReader::ReadBlock(const void** buf, size_t* len, int64_t* offset) {
  Impl& s = *impl_;
  if (!s.in_entry) return false;
  la_int64_t off = 0;
  int ret = archive_read_data_block(s.a, buf, len, &off);
  if (ret == ARCHIVE_EOF) return false;
  if (ret < ARCHIVE_WARN) return s.Fail("tar: read entry data");
  *offset = off;
  return true;
}

Status TarReader::Finish() {
  Impl& s = *impl_;
  s.in_entry = false;
  if (s.src_eof) return Ok();
  // Whatever libarchive did not pull (zero blocks, record padding) is read here.
  for (;;) {
    STRATA_ASSIGN_OR_RETURN(size_t got, s.r.Read(s.buf.data(), s.buf.size()));
    if (got == 0) break;
  }
  s.src_eof = true;
  return Ok();
}

}  // namespace strata::archive
