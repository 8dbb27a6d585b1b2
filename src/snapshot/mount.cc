#include "snapshot/mount.h"

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <thread>

#include "util/unique_fd.h"

namespace strata::snapshot {
namespace {

// mount(2) copies at most one page of fs data.
constexpr size_t kMountDataMax = 4095;

struct ParsedOptions {
  unsigned long flags = 0;
  std::vector<std::string> data;  // fs-specific "key=value" or "flag"
  std::string Data() const {
    std::string out;
    for (const auto& d : data) {
      if (!out.empty()) out += ',';
      out += d;
    }
    return out;
  }
};

ParsedOptions ParseOptions(const std::vector<std::string>& options) {
  ParsedOptions p;
  for (const auto& o : options) {
    if (o == "ro") {
      p.flags |= MS_RDONLY;
    } else if (o == "rw") {
      p.flags &= ~static_cast<unsigned long>(MS_RDONLY);
    } else if (o == "bind") {
      p.flags |= MS_BIND;
    } else if (o == "rbind") {
      p.flags |= MS_BIND | MS_REC;
    } else if (o == "nosuid") {
      p.flags |= MS_NOSUID;
    } else if (o == "nodev") {
      p.flags |= MS_NODEV;
    } else if (o == "noexec") {
      p.flags |= MS_NOEXEC;
    } else {
      p.data.push_back(o);
    }
  }
  return p;
}

// Splits overlay's lowerdir value on unescaped ':' (overlay accepts "\:").
std::vector<std::string> SplitLowerdirs(std::string_view v) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      cur += v[++i];
    } else if (v[i] == ':') {
      out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += v[i];
    }
  }
  out.push_back(std::move(cur));
  return out;
}

Status MountBind(const Mount& m, const ParsedOptions& p, const std::string& target) {
  unsigned long flags = p.flags | MS_BIND;
  if (::mount(m.source.c_str(), target.c_str(), nullptr, flags & (MS_BIND | MS_REC), nullptr) !=
      0) {
    return ErrnoError("bind mount " + m.source + " on " + target);
  }
  // A bind mount ignores MS_RDONLY and friends until remounted.
  unsigned long extra = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (extra != 0 &&
      ::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | extra, nullptr) != 0) {
    Error e = ErrnoError("remount " + target);
    ::umount2(target.c_str(), MNT_DETACH);
    return e;
  }
  return Ok();
}

Status MountData(const Mount& m, const ParsedOptions& p, const std::string& target) {
  std::string data = p.Data();
  if (data.size() > kMountDataMax) {
    return InvalidArgument("mount options of " + target + " exceed a page (" +
                           std::to_string(data.size()) + " bytes)");
  }
  if (::mount(m.source.c_str(), target.c_str(), m.type.c_str(), p.flags, data.c_str()) != 0) {
    return ErrnoError("mount " + m.type + " on " + target);
  }
  return Ok();
}

Status MountFsConfig(const Mount& m, const ParsedOptions& p, const std::string& target) {
  UniqueFd fs(::fsopen(m.type.c_str(), FSOPEN_CLOEXEC));
  if (!fs) return ErrnoError("fsopen " + m.type);
  auto set = [&](const std::string& key, const std::string& value) -> Status {
    int rc = value.empty() && key.find('=') == std::string::npos
                 ? ::fsconfig(fs.get(), FSCONFIG_SET_FLAG, key.c_str(), nullptr, 0)
                 : ::fsconfig(fs.get(), FSCONFIG_SET_STRING, key.c_str(), value.c_str(), 0);
    if (rc != 0) return ErrnoError("fsconfig " + m.type + " " + key);
    return Ok();
  };
  STRATA_TRY(set("source", m.source));
  for (const auto& d : p.data) {
    size_t eq = d.find('=');
    if (eq == std::string::npos) {
      STRATA_TRY(set(d, ""));
      continue;
    }
    std::string key = d.substr(0, eq), value = d.substr(eq + 1);
    if (key == "lowerdir" && m.type == "overlay") {
      // One layer per call: no page limit on the whole list.
      for (const auto& l : SplitLowerdirs(value)) STRATA_TRY(set("lowerdir+", l));
    } else {
      STRATA_TRY(set(key, value));
    }
  }
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return ErrnoError("fsconfig create " + m.type);
  }
  unsigned attrs = 0;
  if (p.flags & MS_RDONLY) attrs |= MOUNT_ATTR_RDONLY;
  if (p.flags & MS_NOSUID) attrs |= MOUNT_ATTR_NOSUID;
  if (p.flags & MS_NODEV) attrs |= MOUNT_ATTR_NODEV;
  if (p.flags & MS_NOEXEC) attrs |= MOUNT_ATTR_NOEXEC;
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, attrs));
  if (!mnt) return ErrnoError("fsmount " + m.type);
  if (::move_mount(mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    return ErrnoError("move_mount " + m.type + " on " + target);
  }
  return Ok();
}

Status MountChdir(const Mount& m, const ParsedOptions& p, const std::string& target) {
  RelativeOverlay rel = RelativizeOverlayOptions(p.data);
  ParsedOptions rp = p;
  rp.data = rel.options;
  std::string abs_target = std::filesystem::absolute(target).string();
  Status result;
  // chdir is per process unless the thread unshares its fs context, so the
  // relative mount runs on its own thread that owns a private cwd.
  std::thread t([&] {
    if (::unshare(CLONE_FS) != 0) {
      result = ErrnoError("unshare(CLONE_FS)");
      return;
    }
    if (::chdir(rel.dir.c_str()) != 0) {
      result = ErrnoError("chdir " + rel.dir);
      return;
    }
    result = MountData(m, rp, abs_target);
  });
  t.join();
  return result;
}

Status MountOne(const Mount& m, const std::string& target, OverlayMethod method) {
  ParsedOptions p = ParseOptions(m.options);
  if (m.type == "bind" || (p.flags & MS_BIND)) return MountBind(m, p, target);
  if (m.type != "overlay") return MountData(m, p, target);
  switch (method) {
    case OverlayMethod::kMountData:
      return MountData(m, p, target);
    case OverlayMethod::kFsConfig:
      return MountFsConfig(m, p, target);
    case OverlayMethod::kChdir:
      return MountChdir(m, p, target);
    case OverlayMethod::kAuto:
      break;
  }
  if (p.Data().size() <= kMountDataMax) return MountData(m, p, target);
  Status st = MountFsConfig(m, p, target);
  if (st) return st;
  // Kernels before 6.8 reject "lowerdir+"; fall back to short relative paths.
  Status rel = MountChdir(m, p, target);
  if (rel) return rel;
  return rel.error().Wrap("(fd mount API: " + st.error().message + ")");
}

}  // namespace

RelativeOverlay RelativizeOverlayOptions(const std::vector<std::string>& options) {
  namespace fs = std::filesystem;
  std::vector<fs::path> paths;
  for (const auto& o : options) {
    if (o.starts_with("lowerdir=")) {
      for (const auto& l : SplitLowerdirs(o.substr(9))) paths.emplace_back(l);
    } else if (o.starts_with("upperdir=") || o.starts_with("workdir=")) {
      paths.emplace_back(o.substr(o.find('=') + 1));
    }
  }
  if (paths.empty()) return {".", options};
  // Longest common directory of all paths (a path's own last component is
  // never part of it, so each relative path stays non-empty).
  fs::path common = paths[0].parent_path();
  for (const auto& p : paths) {
    fs::path dir = p.parent_path(), next;
    auto a = common.begin(), b = dir.begin();
    for (; a != common.end() && b != dir.end() && *a == *b; ++a, ++b) next /= *a;
    common = next;
  }
  auto rel = [&](const std::string& p) { return fs::path(p).lexically_relative(common).string(); };
  RelativeOverlay out{common.empty() ? "." : common.string(), {}};
  for (const auto& o : options) {
    if (o.starts_with("lowerdir=")) {
      std::string v;
      for (const auto& l : SplitLowerdirs(o.substr(9))) {
        if (!v.empty()) v += ':';
        v += rel(l);
      }
      out.options.push_back("lowerdir=" + v);
    } else if (o.starts_with("upperdir=") || o.starts_with("workdir=")) {
      size_t eq = o.find('=');
      out.options.push_back(o.substr(0, eq + 1) + rel(o.substr(eq + 1)));
    } else {
      out.options.push_back(o);
    }
  }
  return out;
}

MountGuard& MountGuard::operator=(MountGuard&& o) noexcept {
  if (this != &o) {
    (void)Unmount();
    targets_ = std::exchange(o.targets_, {});
  }
  return *this;
}

MountGuard::~MountGuard() { (void)Unmount(); }

Status MountGuard::Unmount() {
  Status result;
  while (!targets_.empty()) {
    std::string t = std::move(targets_.back());
    targets_.pop_back();
    if (::umount2(t.c_str(), 0) == 0) continue;
    Error e = ErrnoError("unmount " + t);
    if (errno == EBUSY) ::umount2(t.c_str(), MNT_DETACH);
    if (result) result = e;
  }
  return result;
}

Result<MountGuard> MountAll(const std::vector<Mount>& mounts, const std::string& target,
                            OverlayMethod method) {
  std::vector<std::string> done;
  for (const auto& m : mounts) {
    Status st = MountOne(m, target, method);
    if (!st) {
      MountGuard undo(std::move(done));
      return st.error();
    }
    done.push_back(target);
  }
  return MountGuard(std::move(done));
}

}  // namespace strata::snapshot
