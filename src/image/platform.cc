#include "image/platform.h"

#include <sys/utsname.h>

#include <algorithm>
#include <charconv>

#include "image/descriptor.h"
#include "util/ascii.h"
#include "util/url_escape.h"

namespace strata::image {
namespace {

std::string NormalizeOs(std::string_view os) {
  if (os.empty()) return "linux";  // containerd: runtime.GOOS; strata runs on linux
  std::string o = AsciiLower(os);
  if (o == "macos") o = "darwin";
  return o;
}

void NormalizeArch(std::string* arch, std::string* variant) {
  *arch = AsciiLower(*arch);
  *variant = AsciiLower(*variant);
  const std::string& a = *arch;
  std::string& v = *variant;
  if (a == "i386") {
    *arch = "386";
    v.clear();
  } else if (a == "x86_64" || a == "x86-64" || a == "amd64") {
    *arch = "amd64";
    if (v == "v1") v.clear();
  } else if (a == "aarch64" || a == "arm64") {
    *arch = "arm64";
    if (v == "8" || v == "v8") v.clear();
  } else if (a == "armhf") {
    *arch = "arm";
    v = "v7";
  } else if (a == "armel") {
    *arch = "arm";
    v = "v6";
  } else if (a == "arm") {
    if (v.empty() || v == "7") {
      v = "v7";
    } else if (v == "5" || v == "6" || v == "8") {
      v = "v" + v;
    }
  }
}

bool IsKnownOs(std::string_view os) {
  for (std::string_view k :
       {"aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux",
        "nacl", "netbsd", "openbsd", "plan9", "solaris", "windows", "zos"}) {
    if (os == k) return true;
  }
  return false;
}

bool IsKnownArch(std::string_view arch) {
  for (std::string_view k :
       {"386",     "amd64",    "amd64p32",  "arm",         "armbe",   "arm64",
        "arm64be", "ppc64",    "ppc64le",   "loong64",     "mips",    "mipsle",
        "mips64",  "mips64le", "mips64p32", "mips64p32le", "ppc",     "riscv",
        "riscv64", "s390",     "s390x",     "sparc",       "sparc64", "wasm"}) {
    if (arch == k) return true;
  }
  return false;
}

bool IsSpecifierChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

// url.PathUnescape for OS options ("%2B" -> "+").
Result<std::string> DecodeOsOption(std::string_view v) {
  auto out = PathUnescape(v);
  if (!out) return InvalidArgument("invalid URL escape");
  return *out;
}

std::string EncodeOsOption(std::string_view v) {
  std::string out;
  for (char c : v) {
    switch (c) {
      case '%':
        out += "%25";
        break;
      case '+':
        out += "%2B";
        break;
      case '(':
        out += "%28";
        break;
      case ')':
        out += "%29";
        break;
      case '/':
        out += "%2F";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::optional<int> VariantNumber(std::string_view variant) {
  if (!variant.empty() && variant[0] == 'v') variant.remove_prefix(1);
  int n = 0;
  auto [p, ec] = std::from_chars(variant.data(), variant.data() + variant.size(), n);
  if (ec != std::errc() || p != variant.data() + variant.size() || variant.empty()) {
    return std::nullopt;
  }
  return n;
}

Platform Make(const Platform& base, std::string arch, std::string variant) {
  Platform p;
  p.os = base.os;
  p.os_version = base.os_version;
  p.os_features = base.os_features;
  p.architecture = std::move(arch);
  p.variant = std::move(variant);
  return p;
}

// containerd platformVector: the platform, then what it can also run, best first.
void PlatformVector(const Platform& p, std::vector<Platform>* out) {
  out->push_back(p);
  if (p.architecture == "amd64") {
    if (auto v = VariantNumber(p.variant); v && *v > 1) {
      for (int k = *v - 1; k >= 1; --k) out->push_back(Make(p, "amd64", "v" + std::to_string(k)));
    }
    out->push_back(Make(p, "386", ""));
  } else if (p.architecture == "arm") {
    if (auto v = VariantNumber(p.variant); v && *v > 5) {
      for (int k = *v - 1; k >= 5; --k) out->push_back(Make(p, "arm", "v" + std::to_string(k)));
    }
  } else if (p.architecture == "arm64") {
    std::string variant = p.variant.empty() ? "v8" : p.variant;
    std::string_view major_s = variant, minor_s;
    bool has_minor = false;
    if (size_t dot = variant.find('.'); dot != std::string::npos) {
      major_s = std::string_view(variant).substr(0, dot);
      minor_s = std::string_view(variant).substr(dot + 1);
      has_minor = true;
    }
    if (auto major = VariantNumber(major_s); major && *major >= 8) {
      int arm_major = *major, arm_minor = 0;
      if (variant.size() == 4 && has_minor) {
        int m = 0;
        auto [ptr, ec] = std::from_chars(minor_s.data(), minor_s.data() + minor_s.size(), m);
        if (ec == std::errc() && ptr == minor_s.data() + minor_s.size()) arm_minor = m;
      }
      auto name = [](int maj, int min) {
        return min == 0 ? "v" + std::to_string(maj)
                        : "v" + std::to_string(maj) + "." + std::to_string(min);
      };
      if (arm_major == 9) {
        for (int m = arm_minor - 1; m >= 0; --m) out->push_back(Make(p, "arm64", name(9, m)));
        // v9.0 diverged from v8.5: v9.x runs v8.{x+5}.
        arm_minor += 5;
        arm_major = 8;
        out->push_back(Make(p, "arm64", "v8." + std::to_string(arm_minor)));
      }
      for (int m = arm_minor - 1; m >= 0; --m) {
        out->push_back(Make(p, "arm64", name(arm_major, m)));
      }
    }
    if (variant.rfind("v8.", 0) == 0 || variant.rfind("v9.", 0) == 0) variant = "v8";
    PlatformVector(Make(p, "arm", variant), out);
  }
}

}  // namespace

Result<Platform> Platform::FromJson(const OrderedJson& j, std::string_view what) {
  if (!j.is_object()) return InvalidArgument(std::string(what) + ": expected an object");
  FieldReader r(j, std::string(what));
  Platform p;
  STRATA_TRY(r.String("architecture", &p.architecture));
  STRATA_TRY(r.String("os", &p.os));
  STRATA_TRY(r.String("os.version", &p.os_version));
  STRATA_TRY(r.StringList("os.features", &p.os_features));
  STRATA_TRY(r.String("variant", &p.variant));
  p.extra = r.Finish();
  p.source.object = j;
  return p;
}

OrderedJson Platform::ToJson() const {
  FieldWriter w;
  w.SetString("architecture", architecture, /*omitempty=*/false);
  w.SetString("os", os, /*omitempty=*/false);
  w.SetString("os.version", os_version);
  w.SetStringList("os.features", os_features);
  w.SetString("variant", variant);
  return w.Build(extra, source);
}

Platform Normalize(Platform p) {
  p.os = NormalizeOs(p.os);
  NormalizeArch(&p.architecture, &p.variant);
  if (!p.os_features.empty()) {
    std::sort(p.os_features.begin(), p.os_features.end());
    p.os_features.erase(std::unique(p.os_features.begin(), p.os_features.end()),
                        p.os_features.end());
  }
  return p;
}

Result<Platform> ParsePlatform(std::string_view specifier) {
  std::string spec(specifier);
  auto invalid = [&](std::string msg) {
    return InvalidArgument("\"" + spec + "\": " + msg + ": invalid argument");
  };
  if (specifier.find('*') != std::string_view::npos) return invalid("wildcards not yet supported");
  std::vector<std::string_view> parts;
  std::string_view rest = specifier;
  while (parts.size() < 3) {
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) break;
    parts.push_back(rest.substr(0, slash));
    rest.remove_prefix(slash + 1);
  }
  parts.push_back(rest);  // SplitN(…, 4): the fourth part keeps any further slashes

  Platform p;
  // First element: os [ "(" version ("+" feature)* ")" ].
  std::string_view first = parts[0], os_name = first, options;
  bool has_options = false;
  if (size_t open = first.find('('); open != std::string_view::npos) {
    if (first.back() != ')') {
      return InvalidArgument("\"" + std::string(first) + "\" is an invalid OS component of \"" +
                             spec + "\": invalid argument");
    }
    os_name = first.substr(0, open);
    options = first.substr(open + 1, first.size() - open - 2);
    has_options = true;
  }
  auto bad_os = [&]() {
    return InvalidArgument("\"" + std::string(first) + "\" is an invalid OS component of \"" +
                           spec + "\": invalid argument");
  };
  if (os_name.empty()) return bad_os();
  for (char c : os_name) {
    if (!IsSpecifierChar(c) || c == '.') return bad_os();
  }
  if (has_options) {
    for (char c : options) {
      if (!IsSpecifierChar(c) && c != '%' && c != '+') return bad_os();
    }
    std::string_view version = options.substr(0, options.find('+'));
    STRATA_ASSIGN_OR_RETURN(p.os_version, DecodeOsOption(version));
    if (version.size() < options.size()) {
      std::string_view feats = options.substr(version.size() + 1);
      while (true) {
        size_t plus = feats.find('+');
        std::string_view f = feats.substr(0, plus);
        if (f.empty()) return bad_os();
        STRATA_ASSIGN_OR_RETURN(std::string feature, DecodeOsOption(f));
        p.os_features.push_back(std::move(feature));
        if (plus == std::string_view::npos) break;
        feats.remove_prefix(plus + 1);
      }
    }
  }
  p.os = NormalizeOs(os_name);
  for (size_t i = 1; i < parts.size(); ++i) {
    bool ok = !parts[i].empty();
    for (char c : parts[i]) ok = ok && IsSpecifierChar(c);
    if (!ok) {
      return InvalidArgument("\"" + std::string(parts[i]) + "\" is an invalid component of \"" +
                             spec + "\": invalid argument");
    }
  }
  switch (parts.size()) {
    case 1: {
      if (IsKnownOs(p.os)) {
        Platform host = HostPlatform();
        p.architecture = host.architecture;
        if (p.architecture == "arm" && host.variant != "v7") p.variant = host.variant;
        return p;
      }
      p.architecture = std::string(parts[0]);
      NormalizeArch(&p.architecture, &p.variant);
      if (p.architecture == "arm" && p.variant == "v7") p.variant.clear();
      if (IsKnownArch(p.architecture)) {
        p.os = "linux";
        p.os_version.clear();
        p.os_features.clear();
        return p;
      }
      return invalid("unknown operating system or architecture");
    }
    case 2:
      p.architecture = std::string(parts[1]);
      NormalizeArch(&p.architecture, &p.variant);
      if (p.architecture == "arm" && p.variant == "v7") p.variant.clear();
      return p;
    case 3:
      p.architecture = std::string(parts[1]);
      p.variant = std::string(parts[2]);
      NormalizeArch(&p.architecture, &p.variant);
      if (p.architecture == "arm64" && p.variant.empty()) p.variant = "v8";
      return p;
    default:
      return invalid("cannot parse platform specifier");
  }
}

std::string FormatPlatform(const Platform& p) {
  if (p.os.empty()) return "unknown";
  std::string s = p.os;
  if (!p.architecture.empty()) s += "/" + p.architecture;
  if (!p.variant.empty()) s += "/" + p.variant;
  return s;
}

std::string FormatPlatformAll(const Platform& p) {
  if (p.os.empty()) return "unknown";
  std::string opts = EncodeOsOption(p.os_version);
  std::vector<std::string> features = p.os_features;
  std::sort(features.begin(), features.end());
  for (const auto& f : features) opts += "+" + EncodeOsOption(f);
  Platform q = p;
  if (!opts.empty()) q.os = p.os + "(" + opts + ")";
  return FormatPlatform(q);
}

Platform PlatformFromMachine(std::string_view os, std::string_view machine) {
  Platform p;
  p.os = std::string(os);
  std::string m = AsciiLower(machine);
  if (m == "x86_64" || m == "amd64") {
    p.architecture = "amd64";
  } else if (m == "i386" || m == "i486" || m == "i586" || m == "i686") {
    p.architecture = "386";
  } else if (m == "aarch64" || m == "arm64") {
    p.architecture = "arm64";
    p.variant = "v8";
  } else if (m == "armv8l") {
    p.architecture = "arm";
    p.variant = "v8";
  } else if (m.rfind("armv7", 0) == 0) {
    p.architecture = "arm";
    p.variant = "v7";
  } else if (m.rfind("armv6", 0) == 0) {
    p.architecture = "arm";
    p.variant = "v6";
  } else if (m.rfind("armv5", 0) == 0) {
    p.architecture = "arm";
    p.variant = "v5";
  } else if (m == "mips64") {
    p.architecture = "mips64";
  } else if (m == "mips64el") {
    p.architecture = "mips64le";
  } else if (m == "loongarch64") {
    p.architecture = "loong64";
  } else {
    p.architecture = m;  // ppc64le, s390x, riscv64 already use Go's names
  }
  return p;
}

Platform HostPlatform() {
  struct utsname u;
  if (uname(&u) != 0) return PlatformFromMachine("linux", "x86_64");
  return PlatformFromMachine("linux", u.machine);
}

PlatformMatcher::PlatformMatcher(const Platform& p) { PlatformVector(Normalize(p), &vector_); }

PlatformMatcher PlatformMatcher::Strict(const Platform& p) {
  PlatformMatcher m;
  m.vector_.push_back(Normalize(p));
  return m;
}

bool PlatformMatcher::Equal(const Platform& want, const Platform& candidate) {
  Platform m = Normalize(want);
  Platform n = Normalize(candidate);
  if (m.os != n.os || m.architecture != n.architecture || m.variant != n.variant) return false;
  // The candidate's OS features must be a subset of the wanted platform's.
  return std::includes(m.os_features.begin(), m.os_features.end(), n.os_features.begin(),
                       n.os_features.end());
}

int PlatformMatcher::Rank(const Platform& candidate) const {
  for (size_t i = 0; i < vector_.size(); ++i) {
    if (Equal(vector_[i], candidate)) return static_cast<int>(i);
  }
  return -1;
}

bool PlatformMatcher::Match(const Platform& candidate) const { return Rank(candidate) >= 0; }

std::optional<size_t> SelectManifest(const std::vector<Descriptor>& manifests,
                                     const PlatformMatcher& matcher) {
  std::optional<size_t> best;
  int best_rank = -1;
  for (size_t i = 0; i < manifests.size(); ++i) {
    if (!manifests[i].platform) continue;
    int r = matcher.Rank(*manifests[i].platform);
    if (r < 0) continue;
    if (!best || r < best_rank) {
      best = i;
      best_rank = r;
    }
  }
  return best;
}

}  // namespace strata::image
