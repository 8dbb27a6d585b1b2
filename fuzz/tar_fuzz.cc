// libFuzzer target: arbitrary bytes through compression detection, the tar
// reader and ApplyLayer into a fresh temp dir (both apply modes), with the
// tar-split of the same bytes taken alongside: whenever it is usable (as load
// decides), rebuilding from it and the unpacked files must give the input
// back byte for byte.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "archive/apply.h"
#include "archive/compression.h"
#include "archive/tar_split.h"
#include "digest/hasher.h"
#include "util/fs.h"

namespace {

const std::string& Base() {
  static const std::string base = [] {
    std::string tmpl = "/tmp/strata-tar-fuzz-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) abort();
    return tmpl;
  }();
  return base;
}

// Mutations almost always break header checksums, which stops the tar reader
// before apply logic runs; repair them so the fuzzer reaches deeper.
std::string FixChecksums(std::string_view in) {
  std::string s(in);
  for (size_t off = 0; off + 512 <= s.size(); off += 512) {
    char* b = s.data() + off;
    if (std::string_view(b + 257, 5) != "ustar") continue;
    std::memset(b + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < 512; ++i) sum += static_cast<unsigned char>(b[i]);
    std::snprintf(b + 148, 8, "%06o", sum);
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata;
  auto dir = TempDir::Create(Base(), "it-");
  if (!dir) abort();
  std::string input = FixChecksums(std::string_view(reinterpret_cast<const char*>(data), size));
  StringReader sr(input);
  auto r = archive::NewDecompressingReader(sr);
  if (!r) return 0;
  digest::HashingReader hr(**r);
  archive::ApplyOptions opts;
  opts.label = "fuzz";
  opts.mode = size % 2 ? archive::ApplyMode::kOverlayDiff : archive::ApplyMode::kMerged;
  StringWriter split_bytes;
  archive::TarSplitWriter split(split_bytes);
  struct Tee : Reader {
    Reader& r;
    Writer& w;
    std::string seen;
    Tee(Reader& r, Writer& w) : r(r), w(w) {}
    Result<size_t> Read(void* buf, size_t n) override {
      STRATA_ASSIGN_OR_RETURN(size_t k, r.Read(buf, n));
      seen.append(static_cast<char*>(buf), k);
      STRATA_TRY(w.Write(buf, k));
      return k;
    }
  } tee(hr, split);
  auto stats = archive::ApplyLayer(tee, dir->path(), opts);
  // Applied without reading anything? (A compressed stream may hold zero bytes:
  // an empty layer, which docker accepts too.)
  if (stats && hr.size() == 0 && archive::DetectCompression(input) == archive::Compression::kNone &&
      size > 0) {
    abort();
  }
  CountingWriter rest;
  if (!stats || !Copy(tee, rest) || !split.Finish()) return 0;
  if (opts.mode != archive::ApplyMode::kOverlayDiff || !split.ok() ||
      split.files() != stats->file_list || stats->replaced || geteuid() != 0) {
    return 0;
  }
  StringReader sr2(split_bytes.str());
  auto rebuilt = archive::TarSplitReader::Open(sr2, dir->path());
  if (!rebuilt) abort();
  auto back = ReadAll(**rebuilt, 64 << 20);
  if (!back || *back != tee.seen) abort();  // a usable split must rebuild the tar
  return 0;                                 // TempDir removes the tree
}
