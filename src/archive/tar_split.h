// Tar-split: the bytes of a layer tar minus its files' contents (headers,
// padding, trailer kept verbatim; each file's data replaced by its path and
// size), so a layer unpacked into a snapshot need not also be stored as a tar
// to be saved or pushed byte for byte later. Docker keeps the same thing
// (vbatts/tar-split); this format is strata's own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "digest/hasher.h"
#include "util/io.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace strata::archive {

// Digest of the sequence of regular files a tar carries: each file's cleaned
// path (CleanLayerPath) and data size, in order. ApplyLayer computes it from
// what it unpacked, TarSplitWriter from the raw bytes; equal sums prove that
// the split's file records name exactly the files the apply wrote.
class FileListHasher {
 public:
  void Add(std::string_view clean_path, int64_t size);
  digest::Digest Sum() const { return h_.Sum(); }

 private:
  digest::Hasher h_;
};

// Receives a tar stream's raw bytes in order (tee them from the stream that
// is being unpacked) and writes the split to `out`. Only the data of regular
// file entries (typeflag '0', '\0', '7', without sparse maps) is left out;
// everything else, including data of odd entries, is kept verbatim, so the
// split never loses a byte it cannot get back from the unpacked files.
class TarSplitWriter : public Writer {
 public:
  explicit TarSplitWriter(Writer& out);
  ~TarSplitWriter() override;
  using Writer::Write;
  Status Write(const void* buf, size_t n) override;
  // Writes the end record. The split is usable only if Finish succeeded,
  // ok() holds and files() equals the apply's FileListHasher sum.
  Status Finish();
  // False when the raw stream is not a tar the writer understands (bad
  // header checksum, a truncated entry); why() says what.
  bool ok() const { return why_.empty(); }
  const std::string& why() const { return why_; }
  digest::Digest files() const { return files_.Sum(); }
  uint64_t tar_size() const { return total_; }

 private:
  Status Flush();
  void Header();
  void EndData();
  std::string why_;
  bool started_ = false;  // magic written
  Writer& out_;
  std::string raw_;  // verbatim bytes not yet written out
  std::string hdr_;  // the current 512-byte block being collected
  // What the bytes being consumed are.
  enum class State { kHeader, kMeta, kFileData, kRawData, kPadding } state_ = State::kHeader;
  int64_t left_ = 0;  // bytes left in the current data or padding run
  int64_t pad_ = 0;   // padding after the current data
  std::string meta_;  // a pax or GNU long-name payload being collected
  char meta_type_ = 0;
  bool meta_overflow_ = false;
  bool path_unknown_ = false;  // the next entry's name could not be read
  bool global_odd_ = false;    // a pax global header changes names or sizes
  std::string file_path_;      // cleaned path of the file whose data is skipped
  bool file_record_pending_ = false;
  std::string next_path_;  // from a pax 'x' or GNU 'L' entry, for the next header
  int64_t next_size_ = -1;
  bool next_sparse_ = false;
  uint64_t total_ = 0;
  FileListHasher files_;
  bool finished_ = false;
};

// Regenerates the original tar from a split and the directory its files were
// unpacked into. Fails (DataLoss) if a file is missing, not a regular file, or
// has another size; callers hash the output against the diff ID to catch a
// changed content.
class TarSplitReader : public Reader {
 public:
  // split: the bytes TarSplitWriter wrote; root: the unpacked layer.
  static Result<std::unique_ptr<TarSplitReader>> Open(Reader& split, const std::string& root);
  ~TarSplitReader() override;
  Result<size_t> Read(void* buf, size_t n) override;

 private:
  TarSplitReader(Reader& split, UniqueFd root);
  Status Fill(size_t n);
  Result<uint64_t> Varint();
  Status NextRecord();
  Reader& split_;
  UniqueFd root_;
  std::string buf_;  // undecoded split bytes
  size_t pos_ = 0;
  bool split_eof_ = false;
  bool done_ = false;
  std::string raw_;  // raw bytes of the current record not yet returned
  size_t raw_pos_ = 0;
  UniqueFd file_;  // the current file record's file
  std::string file_path_;
  int64_t file_left_ = 0;
  uint64_t produced_ = 0;
};

}  // namespace strata::archive
