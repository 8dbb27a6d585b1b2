#include "archive/tar_split.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "archive/apply.h"
#include "archive/whiteout.h"
#include "util/fs.h"

namespace strata::archive {
namespace {

// The split stream: kMagic, then records, each a tag byte and varints:
//   'R' len bytes       verbatim tar bytes
//   'F' len path size   `size` bytes of data from the unpacked file `path`
//   'E' total           end; the tar is `total` bytes long
constexpr std::string_view kMagic = "strata-tar-split/1\n";
constexpr size_t kBlock = 512;
constexpr size_t kRawFlush = 64 << 10;
// pax and GNU long-name payloads larger than this are kept but not parsed;
// the next entry's data then stays verbatim as well.
constexpr size_t kMaxMeta = 1 << 20;

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// A tar numeric field: octal digits (space or NUL terminated, leading spaces
// allowed) or, with the high bit of the first byte set, base-256.
bool ParseNumber(const char* f, size_t n, int64_t* out) {
  const auto* u = reinterpret_cast<const unsigned char*>(f);
  if (u[0] & 0x80) {
    if (u[0] != 0x80) return false;  // negative or too large for our use
    uint64_t v = 0;
    for (size_t i = 1; i < n; ++i) {
      if (v >> 55) return false;
      v = (v << 8) | u[i];
    }
    *out = static_cast<int64_t>(v);
    return true;
  }
  size_t i = 0;
  while (i < n && f[i] == ' ') ++i;
  uint64_t v = 0;
  bool any = false;
  for (; i < n && f[i] >= '0' && f[i] <= '7'; ++i) {
    if (v >> 60) return false;
    v = v * 8 + static_cast<uint64_t>(f[i] - '0');
    any = true;
  }
  if (i < n && f[i] != ' ' && f[i] != '\0') return false;
  *out = any ? static_cast<int64_t>(v) : 0;
  return true;
}

std::string Field(const char* f, size_t n) { return std::string(f, strnlen(f, n)); }

bool ChecksumOk(const std::string& h) {
  int64_t want = 0;
  if (!ParseNumber(h.data() + 148, 8, &want)) return false;
  int64_t unsigned_sum = 0, signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    bool in_field = i >= 148 && i < 156;
    unsigned char c = in_field ? ' ' : static_cast<unsigned char>(h[i]);
    unsigned_sum += c;
    signed_sum += in_field ? ' ' : static_cast<signed char>(h[i]);
  }
  return want == unsigned_sum || want == signed_sum;
}

// Records of a pax extended header: "<len> <key>=<value>\n".
void ParsePax(std::string_view p, std::string* path, int64_t* size, bool* sparse, bool* odd) {
  while (!p.empty()) {
    size_t sp = p.find(' ');
    if (sp == std::string_view::npos) return;
    int64_t len = 0;
    for (char c : p.substr(0, sp)) {
      if (c < '0' || c > '9' || len > (1 << 24)) {
        *odd = true;
        return;
      }
      len = len * 10 + (c - '0');
    }
    if (len <= static_cast<int64_t>(sp) + 1 || static_cast<size_t>(len) > p.size()) {
      *odd = true;
      return;
    }
    std::string_view rec = p.substr(sp + 1, static_cast<size_t>(len) - sp - 1);
    if (!rec.empty() && rec.back() == '\n') rec.remove_suffix(1);
    size_t eq = rec.find('=');
    if (eq != std::string_view::npos) {
      std::string_view k = rec.substr(0, eq), v = rec.substr(eq + 1);
      if (k == "path") {
        *path = std::string(v);
      } else if (k == "size") {
        int64_t s = 0;
        for (char c : v) {
          if (c < '0' || c > '9' || s > (int64_t{1} << 56)) {
            *odd = true;
            break;
          }
          s = s * 10 + (c - '0');
        }
        *size = s;
      } else if (k.starts_with("GNU.sparse.")) {
        *sparse = true;
      }
    }
    p.remove_prefix(static_cast<size_t>(len));
  }
}

// Whether ApplyLayer writes this entry's data to a file at `clean`: not the
// root, not a whiteout or whiteout metadata, not a V7-style "dir/" file.
bool UnpackedAsFile(const std::string& raw_name, const std::string& clean) {
  if (clean.empty() || raw_name.ends_with('/')) return false;
  std::string_view first(clean);
  first = first.substr(0, first.find('/'));
  if (first.starts_with(kWhiteoutMetaPrefix)) return false;
  std::string_view base(clean);
  if (size_t s = base.rfind('/'); s != std::string_view::npos) base = base.substr(s + 1);
  return !base.starts_with(kWhiteoutPrefix);
}

}  // namespace

void FileListHasher::Add(std::string_view clean_path, int64_t size) {
  std::string rec(clean_path);
  rec.push_back('\0');
  rec += std::to_string(size);
  rec.push_back('\n');
  h_.Update(rec.data(), rec.size());
}

TarSplitWriter::TarSplitWriter(Writer& out) : out_(out) {}

TarSplitWriter::~TarSplitWriter() = default;

Status TarSplitWriter::Flush() {
  if (!started_) {
    STRATA_TRY(out_.Write(kMagic));
    started_ = true;
  }
  if (raw_.empty()) return Ok();
  std::string rec(1, 'R');
  PutVarint(rec, raw_.size());
  STRATA_TRY(out_.Write(rec));
  STRATA_TRY(out_.Write(raw_));
  raw_.clear();
  return Ok();
}

void TarSplitWriter::Header() {
  // The whole block is verbatim; only what follows it depends on its kind.
  raw_ += hdr_;
  const std::string& h = hdr_;
  if (std::all_of(h.begin(), h.end(), [](char c) { return c == '\0'; })) {
    state_ = State::kHeader;  // end-of-archive blocks
    return;
  }
  int64_t size = 0;
  if (!ChecksumOk(h) || !ParseNumber(h.data() + 124, 12, &size)) {
    // Not a header we can read: the rest of the stream stays verbatim.
    if (why_.empty()) why_ = "unreadable tar header at byte " + std::to_string(total_);
    state_ = State::kRawData;
    left_ = INT64_MAX;
    return;
  }
  char type = h[156];
  std::string path = next_path_;
  int64_t pax_size = next_size_;
  bool sparse = next_sparse_;
  next_path_.clear();
  next_size_ = -1;
  next_sparse_ = false;
  if (pax_size >= 0 && type != 'x' && type != 'g') size = pax_size;
  pad_ = static_cast<int64_t>((kBlock - static_cast<uint64_t>(size) % kBlock) % kBlock);
  left_ = size;
  switch (type) {
    case 'x':
    case 'g':
    case 'L':
    case 'K':
      state_ = State::kMeta;
      meta_type_ = type;
      meta_.clear();
      break;
    case '0':
    case '\0':
    case '7': {
      if (path.empty() && !path_unknown_) {
        std::string name = Field(h.data(), 100);
        if (std::memcmp(h.data() + 257, "ustar\0", 6) == 0) {
          std::string prefix = Field(h.data() + 345, 155);
          if (!prefix.empty()) name = prefix + "/" + name;
        }
        path = std::move(name);
      }
      auto clean = CleanLayerPath(path);
      if (!path_unknown_ && !sparse && !global_odd_ && clean && UnpackedAsFile(path, *clean)) {
        files_.Add(*clean, size);
        state_ = State::kFileData;
        file_path_ = std::move(*clean);
        file_record_pending_ = true;
        break;
      }
      state_ = State::kRawData;
      break;
    }
    default:  // links, dirs, devices, sparse and unknown kinds: data verbatim
      state_ = State::kRawData;
      break;
  }
  path_unknown_ = false;
}

Status TarSplitWriter::Write(const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  total_ += n;
  while (n > 0) {
    switch (state_) {
      case State::kHeader: {
        size_t k = std::min(n, kBlock - hdr_.size());
        hdr_.append(p, k);
        p += k;
        n -= k;
        if (hdr_.size() == kBlock) {
          Header();
          hdr_.clear();
          if (file_record_pending_) {
            file_record_pending_ = false;
            STRATA_TRY(Flush());
            std::string rec(1, 'F');
            PutVarint(rec, file_path_.size());
            rec += file_path_;
            PutVarint(rec, static_cast<uint64_t>(left_));
            STRATA_TRY(out_.Write(rec));
          }
          if (left_ == 0 && state_ != State::kHeader) EndData();
        }
        break;
      }
      case State::kFileData: {
        size_t k = static_cast<size_t>(std::min<int64_t>(left_, static_cast<int64_t>(n)));
        p += k;
        n -= k;
        left_ -= static_cast<int64_t>(k);
        if (left_ == 0) EndData();
        break;
      }
      case State::kMeta:
      case State::kRawData:
      case State::kPadding: {
        size_t k = static_cast<size_t>(std::min<int64_t>(left_, static_cast<int64_t>(n)));
        raw_.append(p, k);
        if (state_ == State::kMeta && meta_.size() + k <= kMaxMeta) meta_.append(p, k);
        if (state_ == State::kMeta && meta_.size() + k > kMaxMeta) meta_overflow_ = true;
        p += k;
        n -= k;
        left_ -= static_cast<int64_t>(k);
        if (left_ == 0) EndData();
        break;
      }
    }
    if (raw_.size() >= kRawFlush) STRATA_TRY(Flush());
  }
  return Ok();
}

// The current entry's data (or its padding) is complete.
void TarSplitWriter::EndData() {
  if (state_ == State::kPadding) {
    state_ = State::kHeader;
    return;
  }
  if (state_ == State::kMeta) {
    if (meta_overflow_) {
      path_unknown_ = true;
    } else if (meta_type_ == 'x') {
      bool odd = false;
      ParsePax(meta_, &next_path_, &next_size_, &next_sparse_, &odd);
      if (odd) path_unknown_ = true;
    } else if (meta_type_ == 'g') {
      std::string p;
      int64_t s = -1;
      bool sparse = false, odd = false;
      ParsePax(meta_, &p, &s, &sparse, &odd);
      // A global path or size would apply to every later entry; rare enough
      // that such tars simply keep all their data verbatim.
      if (!p.empty() || s >= 0 || sparse || odd) global_odd_ = true;
    } else if (meta_type_ == 'L') {
      next_path_ = Field(meta_.data(), meta_.size());
    }
    meta_.clear();
    meta_overflow_ = false;
  }
  if (pad_ > 0) {
    state_ = State::kPadding;
    left_ = pad_;
    pad_ = 0;
  } else {
    state_ = State::kHeader;
  }
}

Status TarSplitWriter::Finish() {
  if (finished_) return Ok();
  finished_ = true;
  raw_ += hdr_;  // a truncated last block, verbatim
  hdr_.clear();
  if (state_ != State::kHeader && !(state_ == State::kRawData && left_ == INT64_MAX)) {
    if (why_.empty()) why_ = "tar stream ends inside an entry";
  }
  STRATA_TRY(Flush());
  std::string rec(1, 'E');
  PutVarint(rec, total_);
  return out_.Write(rec);
}

// ---------------------------------------------------------------------------

TarSplitReader::TarSplitReader(Reader& split, UniqueFd root)
    : split_(split), root_(std::move(root)) {}

TarSplitReader::~TarSplitReader() = default;

Result<std::unique_ptr<TarSplitReader>> TarSplitReader::Open(Reader& split,
                                                             const std::string& root) {
  STRATA_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(root, O_PATH | O_DIRECTORY));
  std::unique_ptr<TarSplitReader> r(new TarSplitReader(split, std::move(fd)));
  STRATA_TRY(r->Fill(kMagic.size()));
  if (std::string_view(r->buf_).substr(0, kMagic.size()) != kMagic) {
    return DataLoss("tar-split: not a strata tar-split stream");
  }
  r->pos_ = kMagic.size();
  return r;
}

// Makes at least n undecoded bytes available (fewer only at the split's end).
Status TarSplitReader::Fill(size_t n) {
  if (pos_ > 0 && buf_.size() - pos_ < n) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  while (buf_.size() - pos_ < n && !split_eof_) {
    size_t old = buf_.size();
    buf_.resize(old + std::max<size_t>(n, 64 << 10));
    auto got = split_.Read(buf_.data() + old, buf_.size() - old);
    if (!got) {
      buf_.resize(old);
      return std::move(got).error();
    }
    buf_.resize(old + *got);
    if (*got == 0) split_eof_ = true;
  }
  return Ok();
}

Result<uint64_t> TarSplitReader::Varint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    STRATA_TRY(Fill(1));
    if (pos_ >= buf_.size()) return DataLoss("tar-split: truncated");
    auto c = static_cast<unsigned char>(buf_[pos_++]);
    v |= static_cast<uint64_t>(c & 0x7f) << shift;
    if (!(c & 0x80)) return v;
  }
  return DataLoss("tar-split: bad number");
}

Status TarSplitReader::NextRecord() {
  STRATA_TRY(Fill(1));
  if (pos_ >= buf_.size()) return DataLoss("tar-split: truncated");
  char tag = buf_[pos_++];
  switch (tag) {
    case 'R': {
      STRATA_ASSIGN_OR_RETURN(uint64_t len, Varint());
      if (len > (64 << 20)) return DataLoss("tar-split: record too large");
      STRATA_TRY(Fill(len));
      if (buf_.size() - pos_ < len) return DataLoss("tar-split: truncated");
      raw_.assign(buf_, pos_, len);
      raw_pos_ = 0;
      pos_ += len;
      return Ok();
    }
    case 'F': {
      STRATA_ASSIGN_OR_RETURN(uint64_t len, Varint());
      if (len > (1 << 20)) return DataLoss("tar-split: path too long");
      STRATA_TRY(Fill(len));
      if (buf_.size() - pos_ < len) return DataLoss("tar-split: truncated");
      std::string path = buf_.substr(pos_, len);
      pos_ += len;
      STRATA_ASSIGN_OR_RETURN(uint64_t size, Varint());
      auto fd = OpenInRoot(root_.get(), path, O_RDONLY | O_NOFOLLOW);
      if (!fd) return DataLoss("layer file \"" + path + "\" is missing: " + fd.error().message);
      struct stat st;
      if (::fstat(fd->get(), &st) != 0) return ErrnoError("stat \"" + path + "\"");
      if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != size) {
        return DataLoss("layer file \"" + path + "\" changed since it was unpacked");
      }
      file_ = std::move(*fd);
      file_path_ = std::move(path);
      file_left_ = static_cast<int64_t>(size);
      return Ok();
    }
    case 'E': {
      STRATA_ASSIGN_OR_RETURN(uint64_t total, Varint());
      if (total != produced_) {
        return DataLoss("tar-split: regenerated " + std::to_string(produced_) +
                        " bytes, expected " + std::to_string(total));
      }
      done_ = true;
      return Ok();
    }
    default:
      return DataLoss("tar-split: bad record");
  }
}

Result<size_t> TarSplitReader::Read(void* buf, size_t n) {
  if (n == 0) return size_t{0};
  for (;;) {
    if (raw_pos_ < raw_.size()) {
      size_t k = std::min(n, raw_.size() - raw_pos_);
      std::memcpy(buf, raw_.data() + raw_pos_, k);
      raw_pos_ += k;
      produced_ += k;
      return k;
    }
    if (file_left_ > 0) {
      size_t want = static_cast<size_t>(std::min<int64_t>(file_left_, static_cast<int64_t>(n)));
      ssize_t k = ::read(file_.get(), buf, want);
      if (k < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("read \"" + file_path_ + "\"");
      }
      if (k == 0) return DataLoss("layer file \"" + file_path_ + "\" shrank while read");
      file_left_ -= k;
      produced_ += static_cast<uint64_t>(k);
      if (file_left_ == 0) file_.reset();
      return static_cast<size_t>(k);
    }
    if (done_) return size_t{0};
    STRATA_TRY(NextRecord());
  }
}

}  // namespace strata::archive
