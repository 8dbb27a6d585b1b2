#include "snapshot/storage.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "util/fs.h"

namespace strata::snapshot {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kInfoFile[] = "info";
constexpr char kLockFile[] = ".lock";
constexpr char kLastIdFile[] = ".last-id";
constexpr char kDriverFile[] = ".driver";
constexpr char kRemovingPrefix[] = "rm-";
constexpr char kProbePrefix[] = "probe-";

// Parses a snapshot dir name ("17"); 0 for anything else.
uint64_t ParseId(std::string_view s) {
  uint64_t id = 0;
  if (s.empty() || s[0] == '0') return 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc() || p != s.data() + s.size()) return 0;
  return id;
}

Result<Kind> ParseKind(std::string_view s) {
  if (s == "view") return Kind::kView;
  if (s == "active") return Kind::kActive;
  if (s == "committed") return Kind::kCommitted;
  return DataLoss("unknown snapshot kind " + std::string(s));
}

int64_t ToNanos(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

Result<std::string> EncodeRecord(const Record& r) {
  try {
    Json j = {{"kind", KindName(r.info.kind)},
              {"name", r.info.name},
              {"parent", r.info.parent},
              {"parent_id", r.parent_id},
              {"created", ToNanos(r.info.created)}};
    return j.dump() + "\n";
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("encode snapshot info: ") + e.what());
  }
}

Result<Record> DecodeRecord(uint64_t id, const std::string& data) {
  try {
    Json j = Json::parse(data);
    Record r;
    r.id = id;
    STRATA_ASSIGN_OR_RETURN(r.info.kind, ParseKind(j.at("kind").get<std::string>()));
    r.info.name = j.at("name").get<std::string>();
    r.info.parent = j.at("parent").get<std::string>();
    r.parent_id = j.at("parent_id").get<uint64_t>();
    r.info.created = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(j.at("created").get<int64_t>())));
    return r;
  } catch (const std::exception& e) {
    return DataLoss("snapshot " + std::to_string(id) + " info: " + e.what());
  }
}

const Record* Find(const std::vector<Record>& all, const std::string& name) {
  for (const auto& r : all) {
    if (r.info.name == name) return &r;
  }
  return nullptr;
}

Result<Chain> ChainOf(const std::vector<Record>& all, const Record& self) {
  std::map<uint64_t, const Record*> by_id;
  for (const auto& r : all) by_id[r.id] = &r;
  Chain c{self, {}};
  for (uint64_t p = self.parent_id; p != 0;) {
    auto it = by_id.find(p);
    if (it == by_id.end()) {
      return DataLoss("snapshot " + self.info.name + ": parent " + std::to_string(p) + " missing");
    }
    c.parents.push_back(*it->second);
    p = it->second->parent_id;
    if (c.parents.size() > all.size()) return DataLoss("snapshot parent cycle");
  }
  return c;
}

// Removes a removal leftover unless its remover still holds it.
void RemoveIfUnlocked(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return;
  UniqueFd dir(fd);
  if (::flock(dir.get(), LOCK_EX | LOCK_NB) != 0) return;
  (void)RemoveAll(path);
}

}  // namespace

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kView:
      return "view";
    case Kind::kActive:
      return "active";
    case Kind::kCommitted:
      return "committed";
  }
  return "unknown";
}

Result<UniqueFd> Storage::Lock(const std::string& snapshots_dir, bool exclusive) {
  std::string path = snapshots_dir + "/" + kLockFile;
  STRATA_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDWR | O_CREAT, 0600));
  int rc;
  do {
    rc = ::flock(fd.get(), exclusive ? LOCK_EX : LOCK_SH);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return ErrnoError("flock " + path);
  return fd;
}

Result<std::string> Storage::StoredDriver(const std::string& root) {
  auto data = ReadFile(root + "/snapshots/" + kDriverFile, 4096);
  if (!data) {
    if (data.error().code == ErrorCode::kNotFound) return std::string();
    return std::move(data).error();
  }
  std::string d = *data;
  while (!d.empty() && (d.back() == '\n' || d.back() == ' ')) d.pop_back();
  return d;
}

Result<Storage> Storage::Open(const std::string& root, std::string_view driver) {
  std::string dir = root + "/snapshots";
  STRATA_TRY(MakeDirs(dir));
  STRATA_ASSIGN_OR_RETURN(UniqueFd lock, Lock(dir, true));
  STRATA_ASSIGN_OR_RETURN(std::string stored, StoredDriver(root));
  if (stored.empty()) {
    STRATA_TRY(WriteFileAtomic(dir + "/" + kDriverFile, std::string(driver) + "\n"));
  } else if (stored != driver) {
    return FailedPrecondition("snapshots in " + dir + " were made by the " + stored +
                              " driver, not " + std::string(driver));
  }
  return Storage(dir);
}

Result<std::vector<Record>> Storage::LoadAll() const {
  std::vector<Record> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    uint64_t id = ParseId(it->path().filename().string());
    if (id == 0) continue;
    auto data = ReadFile(it->path().string() + "/" + kInfoFile, 1 << 20);
    if (!data) {
      // No info: being created or left by a crash; not a snapshot (yet).
      if (data.error().code == ErrorCode::kNotFound) continue;
      return std::move(data).error();
    }
    STRATA_ASSIGN_OR_RETURN(Record r, DecodeRecord(id, *data));
    out.push_back(std::move(r));
  }
  if (ec) return ErrnoError("list " + dir_, ec.value());
  std::sort(out.begin(), out.end(), [](const Record& a, const Record& b) { return a.id < b.id; });
  return out;
}

Result<uint64_t> Storage::AllocateId() {
  // Caller holds the exclusive lock. The counter keeps ids from being reused
  // after the newest snapshot is removed; the scan covers a lost counter.
  uint64_t last = 0;
  if (auto data = ReadFile(dir_ + "/" + kLastIdFile, 64)) {
    last = ParseId(std::string_view(*data).substr(0, data->find('\n')));
  }
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string n = it->path().filename().string();
    if (n.starts_with(kRemovingPrefix)) n = n.substr(sizeof(kRemovingPrefix) - 1);
    last = std::max(last, ParseId(n));
  }
  for (uint64_t id = last + 1;; ++id) {
    if (::mkdir(SnapshotDir(id).c_str(), 0700) == 0) {
      STRATA_TRY(WriteFileAtomic(dir_ + "/" + kLastIdFile, std::to_string(id) + "\n"));
      return id;
    }
    if (errno != EEXIST) return ErrnoError("mkdir " + SnapshotDir(id));
  }
}

Result<Chain> Storage::Create(Kind kind, const std::string& key, const std::string& parent,
                              const PopulateFn& populate) {
  if (key.empty()) return InvalidArgument("empty snapshot key");
  STRATA_ASSIGN_OR_RETURN(UniqueFd lock, Lock(dir_, true));
  STRATA_ASSIGN_OR_RETURN(std::vector<Record> all, LoadAll());
  if (Find(all, key)) return AlreadyExists("snapshot " + key + " already exists");
  Record rec;
  rec.info.kind = kind;
  rec.info.name = key;
  rec.info.parent = parent;
  rec.info.created = std::chrono::system_clock::now();
  if (!parent.empty()) {
    const Record* p = Find(all, parent);
    if (!p) return NotFound("parent snapshot " + parent + " not found");
    if (p->info.kind != Kind::kCommitted) {
      return FailedPrecondition("parent snapshot " + parent + " is not committed");
    }
    rec.parent_id = p->id;
  }
  STRATA_ASSIGN_OR_RETURN(Chain chain, ChainOf(all, rec));
  STRATA_ASSIGN_OR_RETURN(chain.self.id, AllocateId());
  rec.id = chain.self.id;
  std::string sdir = SnapshotDir(rec.id);
  auto fail = [&](Error e) {
    (void)RemoveAll(sdir);
    return e.Wrap("create snapshot " + key);
  };
  if (Status st = populate(chain); !st) return fail(std::move(st).error());
  auto encoded = EncodeRecord(rec);
  if (!encoded) return fail(std::move(encoded).error());
  // The info file is the commit point: until it exists, Recover may delete
  // the directory.
  if (Status st = WriteFileAtomic(sdir + "/" + kInfoFile, *encoded); !st) {
    return fail(std::move(st).error());
  }
  return chain;
}

Result<Chain> Storage::Get(const std::string& key_or_name) {
  STRATA_ASSIGN_OR_RETURN(UniqueFd lock, Lock(dir_, false));
  STRATA_ASSIGN_OR_RETURN(std::vector<Record> all, LoadAll());
  const Record* r = Find(all, key_or_name);
  if (!r) return NotFound("snapshot " + key_or_name + " not found");
  return ChainOf(all, *r);
}

Status Storage::Commit(const std::string& name, const std::string& key) {
  if (name.empty()) return InvalidArgument("empty snapshot name");
  auto check = [&](const std::vector<Record>& all) -> Result<Record> {
    const Record* r = Find(all, key);
    if (!r) return NotFound("commit " + name + ": snapshot " + key + " not found");
    if (r->info.kind != Kind::kActive) {
      return FailedPrecondition("commit " + name + ": snapshot " + key + " is " +
                                std::string(KindName(r->info.kind)) + ", not active");
    }
    if (Find(all, name)) return AlreadyExists("commit: snapshot " + name + " already exists");
    return *r;
  };
  uint64_t id;
  {
    STRATA_ASSIGN_OR_RETURN(UniqueFd lock, Lock(dir_, false));
    STRATA_ASSIGN_OR_RETURN(std::vector<Record> all, LoadAll());
    STRATA_ASSIGN_OR_RETURN(Record r, check(all));
    id = r.id;
  }
  // The layer's files must be durable before the info makes it committed.
  // One syncfs is far cheaper than an fsync per file; it runs unlocked
  // because it may take a while.
  std::string fs_dir = FsDir(id);
  STRATA_ASSIGN_OR_RETURN(UniqueFd fs_fd, OpenFile(fs_dir, O_RDONLY | O_DIRECTORY));
  if (::syncfs(fs_fd.get()) != 0) return ErrnoError("commit " + name + ": syncfs " + fs_dir);

  STRATA_ASSIGN_OR_RETURN(UniqueFd lock, Lock(dir_, true));
  STRATA_ASSIGN_OR_RETURN(std::vector<Record> all, LoadAll());
  STRATA_ASSIGN_OR_RETURN(Record c, check(all));  // it may have changed meanwhile
  if (c.id != id) return Conflict("commit " + name + ": snapshot " + key + " was replaced");
  c.info.kind = Kind::kCommitted;
  c.info.name = name;
  STRATA_ASSIGN_OR_RETURN(std::string encoded, EncodeRecord(c));
  // One rename turns the active snapshot into the committed one.
  STRATA_TRY_CTX(WriteFileAtomic(SnapshotDir(c.id) + "/" + kInfoFile, encoded), "commit " + name);
  return Ok();
}

Status Storage::Remove(const std::string& key_or_name) {
  std::string sdir, removing;
  UniqueFd held;
  {
    STRATA_ASSIGN_OR_RETURN(UniqueFd lock, Lock(dir_, true));
    STRATA_ASSIGN_OR_RETURN(std::vector<Record> all, LoadAll());
    const Record* r = Find(all, key_or_name);
    if (!r) return NotFound("remove: snapshot " + key_or_name + " not found");
    for (const auto& o : all) {
      if (o.parent_id == r->id) {
        return FailedPrecondition("remove " + key_or_name + ": snapshot " + o.info.name +
                                  " depends on it");
      }
    }
    sdir = SnapshotDir(r->id);
    removing = dir_ + "/" + kRemovingPrefix + std::to_string(r->id);
    // Hold the dir so Recover in another process leaves our deletion alone.
    STRATA_ASSIGN_OR_RETURN(held, OpenFile(sdir, O_RDONLY | O_DIRECTORY));
    if (::flock(held.get(), LOCK_EX) != 0) return ErrnoError("flock " + sdir);
    if (::rename(sdir.c_str(), removing.c_str()) != 0) return ErrnoError("rename " + sdir);
    STRATA_TRY(FsyncDir(dir_));
  }
  // The snapshot is gone; deleting its files needs no lock.
  STRATA_TRY_CTX(RemoveAll(removing), "remove " + key_or_name);
  return Ok();
}

Result<std::vector<Record>> Storage::List() {
  STRATA_ASSIGN_OR_RETURN(UniqueFd lock, Lock(dir_, false));
  return LoadAll();
}

Status Storage::Recover() {
  STRATA_ASSIGN_OR_RETURN(UniqueFd lock, Lock(dir_, true));
  // Creators hold the exclusive lock until the info file exists, so any info-less
  // dir seen now was left by a crash.
  std::vector<fs::path> entries;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    entries.push_back(it->path());
  }
  if (ec) return ErrnoError("list " + dir_, ec.value());
  for (const auto& p : entries) {
    std::string n = p.filename().string();
    if (ParseId(n) != 0) {
      if (!fs::exists(p / kInfoFile)) {
        STRATA_TRY(RemoveAll(p.string()));
        continue;
      }
      // Temp files of an interrupted info write.
      for (fs::directory_iterator f(p, ec), end; !ec && f != end; f.increment(ec)) {
        if (f->path().filename().string().starts_with(".")) (void)RemoveAll(f->path().string());
      }
    } else if (n.starts_with(kRemovingPrefix)) {
      RemoveIfUnlocked(p.string());
    } else if (n.starts_with(kProbePrefix)) {
      // Probes hold the shared lock; this one's prober died, maybe mid-mount.
      ::umount2((p / "merged").c_str(), MNT_DETACH);
      STRATA_TRY(RemoveAll(p.string()));
    } else if (n.starts_with(".") && n.find(".tmp") != std::string::npos) {
      (void)RemoveAll(p.string());
    }
  }
  return FsyncDir(dir_);
}

Usage TreeUsage(const std::string& path) {
  Usage u;
  std::set<std::pair<dev_t, ino_t>> seen;
  auto add = [&](const std::string& p) {
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) return;
    if (!seen.insert({st.st_dev, st.st_ino}).second) return;
    u.inodes++;
    u.size += static_cast<uint64_t>(st.st_blocks) * 512;
  };
  add(path);
  std::error_code ec;
  fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    add(it->path().string());
  }
  return u;
}

// LocalSnapshotter

Result<std::vector<Mount>> LocalSnapshotter::Prepare(const std::string& key,
                                                     const std::string& parent) {
  auto chain =
      storage_.Create(Kind::kActive, key, parent, [this](const Chain& c) { return Populate(c); });
  if (!chain) return std::move(chain).error().Wrap("prepare");
  return MountsFor(*chain);
}

Result<std::vector<Mount>> LocalSnapshotter::View(const std::string& key,
                                                  const std::string& parent) {
  auto chain =
      storage_.Create(Kind::kView, key, parent, [this](const Chain& c) { return Populate(c); });
  if (!chain) return std::move(chain).error().Wrap("view");
  return MountsFor(*chain);
}

Result<std::vector<Mount>> LocalSnapshotter::Mounts(const std::string& key) {
  STRATA_ASSIGN_OR_RETURN(Chain chain, storage_.Get(key));
  if (chain.self.info.kind == Kind::kCommitted) {
    return FailedPrecondition("mounts: snapshot " + key + " is committed; Prepare or View it");
  }
  return MountsFor(chain);
}

Result<std::string> LocalSnapshotter::Dir(const std::string& key) {
  STRATA_ASSIGN_OR_RETURN(Chain chain, storage_.Get(key));
  if (chain.self.info.kind != Kind::kActive) {
    return FailedPrecondition("dir: snapshot " + key + " is not active");
  }
  return storage_.FsDir(chain.self.id);
}

Result<std::string> LocalSnapshotter::CommittedDir(const std::string& name) {
  STRATA_ASSIGN_OR_RETURN(Chain chain, storage_.Get(name));
  if (chain.self.info.kind != Kind::kCommitted) {
    return FailedPrecondition("snapshot " + name + " is not committed");
  }
  return storage_.FsDir(chain.self.id);
}

Status LocalSnapshotter::Commit(const std::string& name, const std::string& key) {
  return storage_.Commit(name, key);
}

Status LocalSnapshotter::Remove(const std::string& key_or_name) {
  return storage_.Remove(key_or_name);
}

Result<Info> LocalSnapshotter::Stat(const std::string& key_or_name) {
  STRATA_ASSIGN_OR_RETURN(Chain chain, storage_.Get(key_or_name));
  return chain.self.info;
}

Status LocalSnapshotter::Walk(const std::function<Status(const Info&)>& fn) {
  // The lock is released before fn runs, so fn may call back into us.
  STRATA_ASSIGN_OR_RETURN(std::vector<Record> all, storage_.List());
  for (const auto& r : all) STRATA_TRY(fn(r.info));
  return Ok();
}

Result<snapshot::Usage> LocalSnapshotter::Usage(const std::string& key_or_name) {
  STRATA_ASSIGN_OR_RETURN(Chain chain, storage_.Get(key_or_name));
  return TreeUsage(storage_.FsDir(chain.self.id));
}

Status LocalSnapshotter::Recover() { return storage_.Recover(); }

}  // namespace strata::snapshot
