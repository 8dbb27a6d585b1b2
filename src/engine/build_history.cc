#include "engine/build_history.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>

#include "engine/timefmt.h"
#include "util/fs.h"

namespace strata::engine {
namespace {

std::string HistoryDir(Store& s) { return s.root() + "/build/history"; }

std::string NewId() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::string id(25, 'a');
  for (char& c : id) c = kAlphabet[rd() % 36];
  return id;
}

Result<BuildRecord> ReadRecord(const std::string& dir) {
  STRATA_ASSIGN_OR_RETURN(std::string text, ReadFile(dir + "/record.json"));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return DataLoss("build record " + dir + " is not JSON");
  BuildRecord r;
  r.id = j.value("id", "");
  r.name = j.value("name", "");
  r.status = j.value("status", "");
  r.started_ns = j.value("started_ns", int64_t{0});
  r.completed_ns = j.value("completed_ns", int64_t{0});
  r.image_id = j.value("image_id", "");
  r.error = j.value("error", "");
  return r;
}

}  // namespace

Result<std::unique_ptr<BuildLog>> BuildLog::Start(Store& s, std::string name) {
  std::unique_ptr<BuildLog> b(new BuildLog());
  b->rec_.id = NewId();
  b->rec_.name = std::move(name);
  b->rec_.status = "Running";
  b->rec_.started_ns = NowUnixNanos();
  b->dir_ = HistoryDir(s) + "/" + b->rec_.id;
  STRATA_TRY(MakeDirs(b->dir_));
  STRATA_ASSIGN_OR_RETURN(b->log_,
                          OpenFile(b->dir_ + "/log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC));
  STRATA_TRY(b->WriteRecord());
  // Only the newest records stay; the records are read only when there are too many.
  size_t count = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(HistoryDir(s), ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++count;
  }
  if (count <= kMaxBuildRecords) return b;
  if (auto all = ListBuildRecords(s); all && all->size() > kMaxBuildRecords) {
    for (size_t i = kMaxBuildRecords; i < all->size(); ++i) {
      (void)RemoveAll(HistoryDir(s) + "/" + (*all)[i].id);
    }
  }
  return b;
}

BuildLog::~BuildLog() { (void)Flush(); }

void BuildLog::Line(std::string_view line) {
  buffer_.append(line);
  buffer_ += '\n';
  if (buffer_.size() >= (64 << 10)) (void)Flush();
}

Status BuildLog::Flush() {
  if (buffer_.empty() || !log_) return Ok();
  FdWriter w(log_.get());
  Status st = w.Write(buffer_.data(), buffer_.size());
  buffer_.clear();
  return st;
}

Status BuildLog::WriteRecord() {
  nlohmann::json j = {{"id", rec_.id},
                      {"name", rec_.name},
                      {"status", rec_.status},
                      {"started_ns", rec_.started_ns},
                      {"completed_ns", rec_.completed_ns},
                      {"image_id", rec_.image_id},
                      {"error", rec_.error}};
  return WriteFileAtomicStream(dir_ + "/record.json", 0644, false, [&](Writer& w) {
    std::string text = j.dump();
    return w.Write(text.data(), text.size());
  });
}

Status BuildLog::Finish(bool ok, bool cancelled, const std::string& image_id,
                        const std::string& error) {
  STRATA_TRY(Flush());
  rec_.status = ok ? "Completed" : cancelled ? "Canceled" : "Error";
  rec_.completed_ns = NowUnixNanos();
  rec_.image_id = image_id;
  rec_.error = error;
  return WriteRecord();
}

Result<std::vector<BuildRecord>> ListBuildRecords(Store& s) {
  std::vector<BuildRecord> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(HistoryDir(s), ec)) {
    // A record being written or left by a crash is skipped, not an error.
    if (auto r = ReadRecord(e.path().string())) out.push_back(std::move(*r));
  }
  std::sort(out.begin(), out.end(), [](const BuildRecord& a, const BuildRecord& b) {
    return a.started_ns != b.started_ns ? a.started_ns > b.started_ns : a.id < b.id;
  });
  return out;
}

Result<BuildRecord> FindBuildRecord(Store& s, std::string_view ref) {
  STRATA_ASSIGN_OR_RETURN(auto all, ListBuildRecords(s));
  if (ref.empty() || ref.starts_with("^")) {
    size_t back = 0;
    if (ref.size() > 1) {
      std::string n(ref.substr(1));
      if (n.find_first_not_of("0123456789") != std::string::npos || n.size() > 6) {
        return InvalidArgument("invalid offset " + std::string(ref));
      }
      back = std::stoul(n);
    }
    if (back >= all.size()) return NotFound("no completed build found");
    return all[back];
  }
  const BuildRecord* found = nullptr;
  for (const auto& r : all) {
    if (!r.id.starts_with(ref)) continue;
    if (found) return InvalidArgument("ambiguous build record " + std::string(ref));
    found = &r;
  }
  if (!found) return NotFound("no record found for ref \"" + std::string(ref) + "\"");
  return *found;
}

std::string BuildLogPath(Store& s, const BuildRecord& r) {
  return HistoryDir(s) + "/" + r.id + "/log";
}

}  // namespace strata::engine
