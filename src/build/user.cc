#include "build/user.h"

#include <fcntl.h>

#include <cerrno>
#include <charconv>
#include <optional>

#include "util/fs.h"
#include "util/io.h"

namespace strata::build {
namespace {

constexpr int64_t kMaxId = 2147483647;

// Reads <rootfs>/<rel> resolved inside rootfs; nullopt when it cannot be opened.
std::optional<std::string> ReadInRoot(const std::string& rootfs, const std::string& rel) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return std::nullopt;
  auto fd = OpenInRoot(root.get(), rel, O_RDONLY);
  if (!fd) return std::nullopt;
  FdReader r(fd->get());
  auto data = ReadAll(r, 64 << 20);
  if (!data) return std::nullopt;
  return std::move(*data);
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    if (p == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, p - start));
    start = p + 1;
  }
}

std::string_view TrimSpace(std::string_view s) {
  auto sp = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
  };
  while (!s.empty() && sp(s.front())) s.remove_prefix(1);
  while (!s.empty() && sp(s.back())) s.remove_suffix(1);
  return s;
}

// strconv.Atoi: optional sign, decimal digits, int64 range.
std::optional<int64_t> Atoi(std::string_view s) {
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
}

// strconv.ParseUint(s, 10, 32), or "root".
std::optional<uint32_t> ParseId(std::string_view s) {
  if (s == "root") return 0;
  uint32_t v = 0;
  if (s.empty() || s[0] == '+' || s[0] == '-') return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

struct PasswdEntry {
  std::string name;
  int64_t uid = 0;
  int64_t gid = 0;
};
struct GroupEntry {
  std::string name;
  int64_t gid = 0;
  std::vector<std::string> members;
};

// runc's ParsePasswdFilter / ParseGroupFilter: trimmed non-empty lines, ':'-separated fields,
// unparsable numbers read as 0.
std::vector<PasswdEntry> ParsePasswd(std::string_view data) {
  std::vector<PasswdEntry> out;
  for (std::string_view line : Split(data, '\n')) {
    line = TrimSpace(line);
    if (line.empty()) continue;
    auto f = Split(line, ':');
    PasswdEntry e;
    e.name = std::string(f[0]);
    if (f.size() > 2) e.uid = Atoi(f[2]).value_or(0);
    if (f.size() > 3) e.gid = Atoi(f[3]).value_or(0);
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<GroupEntry> ParseGroup(std::string_view data) {
  std::vector<GroupEntry> out;
  for (std::string_view line : Split(data, '\n')) {
    line = TrimSpace(line);
    if (line.empty()) continue;
    auto f = Split(line, ':');
    GroupEntry e;
    e.name = std::string(f[0]);
    if (f.size() > 2) e.gid = Atoi(f[2]).value_or(0);
    if (f.size() > 3 && !f[3].empty()) {
      for (auto m : Split(f[3], ',')) e.members.emplace_back(m);
    }
    out.push_back(std::move(e));
  }
  return out;
}

Error RangeError() { return InvalidArgument("uids and gids must be in range 0-2147483647"); }

}  // namespace

Result<Ids> ResolveUser(const std::string& rootfs, std::string_view spec) {
  // BuildKit's fast path: "" and "uid:gid" with both numeric need no files.
  if (spec.empty()) return Ids{};
  if (size_t c = spec.find(':'); c != std::string_view::npos) {
    auto u = ParseId(spec.substr(0, c));
    auto g = ParseId(spec.substr(c + 1));
    if (u && g) return Ids{*u, *g, {}};
  }

  auto passwd = ReadInRoot(rootfs, "etc/passwd");
  auto group = ReadInRoot(rootfs, "etc/group");
  auto parts = Split(spec, ':');
  std::string user_arg(parts[0]);
  std::string group_arg(parts.size() > 1 ? parts[1] : std::string_view());
  auto uid_num = Atoi(user_arg);
  auto gid_num = Atoi(group_arg);

  // docker 20.10 hands runc a nil *os.File for a missing file, whose read fails with EINVAL.
  if (!passwd) {
    return NotFound("unable to find user " + (user_arg.empty() ? std::string("0") : user_arg) +
                    ": invalid argument");
  }
  Ids ids;
  std::string matched;
  bool found = false;
  for (const auto& e : ParsePasswd(*passwd)) {
    bool hit = user_arg.empty() ? e.uid == 0 : uid_num ? e.uid == *uid_num : e.name == user_arg;
    if (hit) {
      matched = e.name;
      if (e.uid < 0 || e.uid > kMaxId || e.gid < 0 || e.gid > kMaxId) return RangeError();
      ids.uid = static_cast<uint32_t>(e.uid);
      ids.gid = static_cast<uint32_t>(e.gid);
      found = true;
      break;
    }
  }
  if (!found && !user_arg.empty()) {
    if (!uid_num) {
      return NotFound("unable to find user " + user_arg + ": no matching entries in passwd file");
    }
    if (*uid_num < 0 || *uid_num > kMaxId) return RangeError();
    ids.uid = static_cast<uint32_t>(*uid_num);
  }
  if (!group_arg.empty() || !matched.empty()) {
    if (!group) return NotFound("unable to find groups for spec " + matched + ": invalid argument");
    std::vector<GroupEntry> hits;
    for (auto& g : ParseGroup(*group)) {
      bool hit;
      if (group_arg.empty()) {
        hit = false;
        for (const auto& m : g.members) hit = hit || m == matched;
      } else {
        hit = gid_num ? g.gid == *gid_num : g.name == group_arg;
      }
      if (hit) hits.push_back(std::move(g));
    }
    if (!group_arg.empty()) {
      int64_t gid;
      if (!hits.empty()) {
        gid = hits[0].gid;
      } else if (!gid_num) {
        return NotFound("unable to find group " + group_arg +
                        ": no matching entries in group file");
      } else {
        gid = *gid_num;
      }
      if (gid < 0 || gid > kMaxId) return RangeError();
      ids.gid = static_cast<uint32_t>(gid);
    } else {
      for (const auto& g : hits) {
        if (g.gid < 0 || g.gid > kMaxId) return RangeError();
        ids.additional_gids.push_back(static_cast<uint32_t>(g.gid));
      }
    }
  }
  return ids;
}

Result<Ids> ResolveChown(const std::string& rootfs, std::string_view chown) {
  Ids ids;
  if (chown.empty()) return ids;
  size_t c = chown.find(':');
  std::string_view user = chown.substr(0, c);
  // dockerfile2llb's parseUID: "root" or a signed 32-bit decimal.
  auto numeric = [](std::string_view s) -> std::optional<int64_t> {
    if (s == "root") return 0;
    auto v = Atoi(s);
    if (!v || *v < INT32_MIN || *v > INT32_MAX) return std::nullopt;
    return v;
  };
  auto check = [&](int64_t v) -> Result<uint32_t> {
    if (v < 0) return InvalidArgument("invalid --chown=" + std::string(chown) + ": negative id");
    return static_cast<uint32_t>(v);
  };
  auto open_err = [&](const char* file) {
    return NotFound("open " + rootfs + "/etc/" + file + ": no such file or directory");
  };
  if (auto n = numeric(user)) {
    STRATA_ASSIGN_OR_RETURN(ids.uid, check(*n));
    ids.gid = ids.uid;
  } else {
    auto passwd = ReadInRoot(rootfs, "etc/passwd");
    if (!passwd) return open_err("passwd");
    // An unknown name leaves 0:0, as BuildKit's readUser does.
    for (const auto& e : ParsePasswd(*passwd)) {
      if (e.name == user) {
        STRATA_ASSIGN_OR_RETURN(ids.uid, check(e.uid));
        STRATA_ASSIGN_OR_RETURN(ids.gid, check(e.gid));
        break;
      }
    }
  }
  if (c != std::string_view::npos) {
    std::string_view group = chown.substr(c + 1);
    if (auto n = numeric(group)) {
      STRATA_ASSIGN_OR_RETURN(ids.gid, check(*n));
    } else {
      auto groups = ReadInRoot(rootfs, "etc/group");
      if (!groups) return open_err("group");
      for (const auto& g : ParseGroup(*groups)) {
        if (g.name == group) {
          STRATA_ASSIGN_OR_RETURN(ids.gid, check(g.gid));
          break;
        }
      }
    }
  }
  return ids;
}

}  // namespace strata::build
