#include "archive/tar_writer.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <string>

namespace strata::archive {
namespace {

constexpr size_t kBlock = 512;

// USTAR field offsets and sizes.
struct Field {
  size_t off, len;
};
constexpr Field kName{0, 100}, kMode{100, 8}, kUid{108, 8}, kGid{116, 8}, kSize{124, 12},
    kMtime{136, 12}, kChksum{148, 8}, kType{156, 1}, kLinkname{157, 100}, kMagic{257, 6},
    kVersion{263, 2}, kDevmajor{329, 8}, kDevminor{337, 8}, kPrefix{345, 155};

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}
std::string ToAscii(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x80) out.push_back(c);
  }
  return out;
}
bool FitsOctal(size_t field_len, int64_t x) {
  // field_len-1 octal digits plus a NUL.
  int64_t max = (int64_t{1} << (3 * (field_len - 1))) - 1;
  return x >= 0 && x <= max;
}
// Like Go's formatter.formatString: copy, NUL-terminate when shorter, truncate.
void PutString(char* blk, Field f, std::string_view s) {
  size_t n = std::min(s.size(), f.len);
  std::memcpy(blk + f.off, s.data(), n);
  if (n < f.len) blk[f.off + n] = '\0';
}
// Like Go's formatter.formatOctal: zero-padded to len-1 digits, NUL; 0 if too big.
void PutOctal(char* blk, Field f, int64_t x) {
  if (!FitsOctal(f.len, x)) x = 0;
  std::string digits(f.len - 1, '0');
  for (size_t i = f.len - 1; i-- > 0 && x > 0; x >>= 3)
    digits[i] = static_cast<char>('0' + (x & 7));
  PutString(blk, f, digits);
}
void Finalize(char* blk) {
  std::memcpy(blk + kMagic.off, "ustar\0", 6);
  std::memcpy(blk + kVersion.off, "00", 2);
  std::memset(blk + kChksum.off, ' ', kChksum.len);
  unsigned sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += static_cast<unsigned char>(blk[i]);
  PutOctal(blk, Field{kChksum.off, 7}, sum);
  blk[kChksum.off + 7] = ' ';
}

// Go's splitUSTARPath.
bool SplitUstarPath(std::string_view name, std::string_view* prefix, std::string_view* suffix) {
  size_t length = name.size();
  if (length <= kName.len || !IsAscii(name)) return false;
  if (length > kPrefix.len + 1) {
    length = kPrefix.len + 1;
  } else if (name[length - 1] == '/') {
    --length;
  }
  size_t i = name.substr(0, length).rfind('/');
  if (i == std::string_view::npos || i == 0) return false;
  size_t nlen = name.size() - i - 1;
  if (nlen > kName.len || nlen == 0 || i > kPrefix.len) return false;
  *prefix = name.substr(0, i);
  *suffix = name.substr(i + 1);
  return true;
}

std::string PaxRecord(std::string_view k, std::string_view v) {
  size_t size = k.size() + v.size() + 3;
  size += std::to_string(size).size();
  std::string rec = std::to_string(size) + " " + std::string(k) + "=" + std::string(v) + "\n";
  if (rec.size() != size) {
    size = rec.size();
    rec = std::to_string(size) + " " + std::string(k) + "=" + std::string(v) + "\n";
  }
  return rec;
}

char TypeFlag(EntryType t) {
  switch (t) {
    case EntryType::kFile:
      return '0';
    case EntryType::kHardlink:
      return '1';
    case EntryType::kSymlink:
      return '2';
    case EntryType::kCharDevice:
      return '3';
    case EntryType::kBlockDevice:
      return '4';
    case EntryType::kDir:
      return '5';
    case EntryType::kFifo:
      return '6';
  }
  return '0';
}

}  // namespace

Status TarWriter::WriteBlock(const char* block) { return w_.Write(block, kBlock); }

Status TarWriter::FinishEntry() {
  if (remaining_ != 0) {
    return FailedPrecondition("tar: entry data short by " + std::to_string(remaining_) + " bytes");
  }
  size_t pad = (kBlock - written_in_entry_ % kBlock) % kBlock;
  written_in_entry_ = 0;
  if (pad > 0) {
    static const char kZeros[kBlock] = {};
    STRATA_TRY(w_.Write(kZeros, pad));
  }
  return Ok();
}

Status TarWriter::WriteHeader(const TarEntry& e) {
  if (closed_) return FailedPrecondition("tar: write after close");
  STRATA_TRY(FinishEntry());
  std::string name = e.path;
  if (e.type == EntryType::kDir && (name.empty() || name.back() != '/')) name += '/';
  int64_t size = e.type == EntryType::kFile ? e.size : 0;
  if (size < 0) return InvalidArgument("tar: negative size for \"" + e.path + "\"");

  // Decide, as Go does, which fields need PAX records.
  std::map<std::string, std::string> pax;
  bool must_pax = false;
  std::string_view prefix, suffix;
  bool split = false;
  if (name.size() > kName.len || !IsAscii(name)) {
    pax["path"] = name;
    split = SplitUstarPath(name, &prefix, &suffix);
    if (!split) must_pax = true;
  }
  if (e.linkname.size() > kLinkname.len || !IsAscii(e.linkname)) {
    pax["linkpath"] = e.linkname;
    must_pax = true;
  }
  auto numeric = [&](const char* key, Field f, int64_t v) -> Status {
    if (v < 0)
      return InvalidArgument(std::string("tar: negative ") + key + " for \"" + e.path + "\"");
    if (!FitsOctal(f.len, v)) {
      if (key == nullptr) return InvalidArgument("tar: value too large for \"" + e.path + "\"");
      pax[key] = std::to_string(v);
      must_pax = true;
    }
    return Ok();
  };
  STRATA_TRY(numeric("uid", kUid, e.uid));
  STRATA_TRY(numeric("gid", kGid, e.gid));
  STRATA_TRY(numeric("size", kSize, size));
  if (!FitsOctal(kMtime.len, e.mtime_sec)) {
    pax["mtime"] = std::to_string(e.mtime_sec);
    must_pax = true;
  }
  if (!FitsOctal(kDevmajor.len, e.devmajor) || !FitsOctal(kDevminor.len, e.devminor)) {
    return InvalidArgument("tar: device number too large for \"" + e.path + "\"");
  }
  for (const auto& [k, v] : e.xattrs) {
    pax["SCHILY.xattr." + k] = v;
    must_pax = true;
  }

  char blk[kBlock];
  if (must_pax) {
    std::string data;
    for (const auto& [k, v] : pax) data += PaxRecord(k, v);  // std::map: sorted keys
    // Go: path.Join(dir, "PaxHeaders.0", file), ASCII, <=100, no trailing '/'.
    size_t slash = name.rfind('/');
    std::string dir = slash == std::string::npos ? "" : name.substr(0, slash + 1);
    std::string file = name.substr(dir.size());
    std::string xname = dir + "PaxHeaders.0" + (file.empty() ? "" : "/" + file);
    xname = ToAscii(xname);
    if (xname.size() > kName.len) xname.resize(kName.len);
    while (!xname.empty() && xname.back() == '/') xname.pop_back();
    std::memset(blk, 0, kBlock);
    PutString(blk, kName, xname);
    PutOctal(blk, kMode, 0);
    PutOctal(blk, kUid, 0);
    PutOctal(blk, kGid, 0);
    PutOctal(blk, kSize, static_cast<int64_t>(data.size()));
    PutOctal(blk, kMtime, 0);
    blk[kType.off] = 'x';
    Finalize(blk);
    STRATA_TRY(WriteBlock(blk));
    STRATA_TRY(w_.Write(data));
    written_in_entry_ = static_cast<int64_t>(data.size());
    STRATA_TRY(FinishEntry());
  }

  std::memset(blk, 0, kBlock);
  if (!must_pax && split) {
    PutString(blk, kName, suffix);
    PutString(blk, kPrefix, prefix);
  } else {
    PutString(blk, kName, ToAscii(name));
  }
  PutOctal(blk, kMode, e.mode & 07777);
  PutOctal(blk, kUid, e.uid);
  PutOctal(blk, kGid, e.gid);
  PutOctal(blk, kSize, size);
  PutOctal(blk, kMtime, e.mtime_sec);
  blk[kType.off] = TypeFlag(e.type);
  PutString(blk, kLinkname, ToAscii(e.linkname));
  PutOctal(blk, kDevmajor, e.devmajor);
  PutOctal(blk, kDevminor, e.devminor);
  Finalize(blk);
  STRATA_TRY(WriteBlock(blk));
  remaining_ = size;
  return Ok();
}

Status TarWriter::WriteData(const void* buf, size_t n) {
  if (static_cast<int64_t>(n) > remaining_) {
    return FailedPrecondition("tar: entry data longer than its header size");
  }
  STRATA_TRY(w_.Write(buf, n));
  remaining_ -= static_cast<int64_t>(n);
  written_in_entry_ += static_cast<int64_t>(n);
  return Ok();
}

Status TarWriter::Close() {
  if (closed_) return Ok();
  STRATA_TRY(FinishEntry());
  closed_ = true;
  static const char kZeros[2 * kBlock] = {};
  return w_.Write(kZeros, sizeof(kZeros));
}

}  // namespace strata::archive
