// Build records: every build's complete log (no cut at 1 MiB as BuildKit's, docker/buildx#484)
// and its outcome, kept under build/history/<id>/ for `strata builder history ls|logs`, the
// counterpart of `docker buildx history`. The newest kMaxBuildRecords are kept.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/store.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace strata::engine {

inline constexpr size_t kMaxBuildRecords = 50;

struct BuildRecord {
  std::string id;      // 25 characters of [a-z0-9], as BuildKit's build refs
  std::string name;    // the first tag, else the context directory's name
  std::string status;  // Running, Completed, Error, Canceled
  int64_t started_ns = 0;
  int64_t completed_ns = 0;  // 0 while running (or when strata died mid-build)
  std::string image_id;
  std::string error;
};

// Records one build: lines are appended to its log as they are printed.
class BuildLog {
 public:
  static Result<std::unique_ptr<BuildLog>> Start(Store& s, std::string name);
  ~BuildLog();
  // Not thread-safe: the builder serializes its output lines.
  void Line(std::string_view line);
  // Ends the record: status from the result (Canceled when cancelled).
  Status Finish(bool ok, bool cancelled, const std::string& image_id, const std::string& error);
  const BuildRecord& record() const { return rec_; }

 private:
  BuildLog() = default;
  Status Flush();
  Status WriteRecord();
  std::string dir_;
  UniqueFd log_;
  std::string buffer_;
  BuildRecord rec_;
};

// Newest first.
Result<std::vector<BuildRecord>> ListBuildRecords(Store& s);
// "" (the newest), "^N" (N builds before the newest), an ID or a unique prefix of one.
Result<BuildRecord> FindBuildRecord(Store& s, std::string_view ref);
std::string BuildLogPath(Store& s, const BuildRecord& r);

}  // namespace strata::engine
