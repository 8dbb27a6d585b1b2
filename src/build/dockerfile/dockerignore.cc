// .dockerignore reading and matching. Patterns are classified the way moby/patternmatcher does
// (exact, prefix "foo**", suffix "**foo", or a regexp-equivalent token list) and the regexp form is
// run as a small NFA over runes, so that '?' and '*' see UTF-8 characters as Go's regexp does.
#include "build/dockerfile/dockerignore.h"

#include <unistd.h>

#include "build/dockerfile/go_compat.h"

namespace strata::dockerfile {

namespace {

constexpr char32_t kReplacement = 0xFFFD;
constexpr size_t kMaxLine = 64 * 1024;  // bufio.Scanner's default token limit

using go::DecodeRune;
using go::TrimSpace;

// Syntax check of Go's filepath.Match (which patternmatcher.New runs on every pattern).
bool ValidGlob(std::string_view p) {
  size_t i = 0;
  size_t n = p.size();
  // getEsc: one (possibly escaped) character of a class, which may not end the pattern.
  auto get_esc = [&](char32_t* out) {
    if (i >= n || p[i] == '-' || p[i] == ']') return false;
    if (p[i] == '\\') {
      ++i;
      if (i >= n) return false;
    }
    size_t w;
    char32_t r = DecodeRune(p, i, &w);
    if (r == kReplacement && w == 1) return false;
    i += w;
    *out = r;
    return i < n;
  };
  while (i < n) {
    char c = p[i];
    if (c == '\\') {
      if (i + 1 >= n) return false;
      size_t w;
      DecodeRune(p, i + 1, &w);
      i += 1 + w;
    } else if (c == '[') {
      ++i;
      if (i < n && p[i] == '^') ++i;
      int nrange = 0;
      for (;;) {
        if (i < n && p[i] == ']' && nrange > 0) {
          ++i;
          break;
        }
        char32_t lo, hi;
        if (!get_esc(&lo)) return false;
        hi = lo;
        if (p[i] == '-') {
          ++i;
          if (!get_esc(&hi)) return false;
        }
        // Go's regexp (which does the matching) rejects a reversed range.
        if (lo > hi) return false;
        ++nrange;
      }
    } else {
      ++i;
    }
  }
  return true;
}

struct Tok {
  enum Kind { kLit, kAnyNoSlash, kStarNoSlash, kDoubleStarDir, kDotStar, kClass } kind;
  char32_t ch = 0;
  bool negated = false;
  std::vector<std::pair<char32_t, char32_t>> ranges;

  bool InClass(char32_t r) const {
    bool in = false;
    for (auto [lo, hi] : ranges) {
      if (r >= lo && r <= hi) {
        in = true;
        break;
      }
    }
    return in != negated;
  }
};

// filepath.Dir for clean relative paths.
std::string_view Dir(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

struct Matcher::Pattern {
  enum Type { kExact, kPrefix, kSuffix, kRegexp };
  std::string cleaned;
  bool exclusion = false;
  Type type = kExact;
  std::vector<Tok> toks;

  // Mirrors patternmatcher's Pattern.compile (with '/' as the separator).
  void Compile() {
    std::u32string rs = go::ToRunes(cleaned);
    size_t i = 0;
    for (size_t iter = 0; i < rs.size(); ++iter) {
      char32_t ch = rs[i++];
      auto peek = [&]() -> long { return i < rs.size() ? static_cast<long>(rs[i]) : -1; };
      if (ch == '*') {
        if (peek() == '*') {
          ++i;
          if (peek() == '/') ++i;  // "**/" is the same as "**"
          if (peek() == -1) {
            if (type == kExact) {
              type = kPrefix;
            } else {
              toks.push_back({Tok::kDotStar});
              type = kRegexp;
            }
          } else {
            toks.push_back({Tok::kDoubleStarDir});
            type = kRegexp;
          }
          if (iter == 0) type = kSuffix;
        } else {
          toks.push_back({Tok::kStarNoSlash});
          type = kRegexp;
        }
      } else if (ch == '?') {
        toks.push_back({Tok::kAnyNoSlash});
        type = kRegexp;
      } else if (ch == '\\') {
        if (i < rs.size()) {
          toks.push_back({Tok::kLit, rs[i++]});
          type = kRegexp;
        } else {
          toks.push_back({Tok::kLit, '\\'});
        }
      } else if (ch == '[') {
        Tok t{Tok::kClass};
        if (i < rs.size() && rs[i] == '^') {
          t.negated = true;
          ++i;
        }
        auto get = [&]() {
          if (i < rs.size() && rs[i] == '\\') ++i;
          return i < rs.size() ? rs[i++] : 0;
        };
        while (i < rs.size() && !(rs[i] == ']' && !t.ranges.empty())) {
          char32_t lo = get();
          char32_t hi = lo;
          if (i < rs.size() && rs[i] == '-') {
            ++i;
            hi = get();
          }
          t.ranges.emplace_back(lo, hi);
        }
        if (i < rs.size()) ++i;  // ']'
        toks.push_back(std::move(t));
        type = kRegexp;
      } else if (ch == ']') {
        toks.push_back({Tok::kLit, ch});
        type = kRegexp;
      } else {
        toks.push_back({Tok::kLit, ch});
      }
    }
  }

  bool Match(std::string_view path) const {
    switch (type) {
      case kExact:
        return path == cleaned;
      case kPrefix:
        return path.starts_with(std::string_view(cleaned).substr(0, cleaned.size() - 2));
      case kSuffix: {
        std::string_view suffix = std::string_view(cleaned).substr(2);
        if (path.ends_with(suffix)) return true;
        // "**/foo" also matches "foo".
        return !suffix.empty() && suffix[0] == '/' && path == suffix.substr(1);
      }
      case kRegexp:
        return MatchTokens(path);
    }
    return false;
  }

  // NFA over the tokens: state k (< n) waits at token k, state n accepts, state n+1+k is inside
  // the "(.*/)?" of token k.
  bool MatchTokens(std::string_view path) const {
    size_t n = toks.size();
    std::vector<char> cur(2 * n + 1, 0), next(2 * n + 1, 0);
    auto add = [&](std::vector<char>& set, size_t k) {
      // Epsilon closure: optional tokens may be skipped.
      while (!set[k]) {
        set[k] = 1;
        if (k == n) break;
        Tok::Kind kind = toks[k].kind;
        if (kind != Tok::kStarNoSlash && kind != Tok::kDoubleStarDir && kind != Tok::kDotStar) {
          break;
        }
        ++k;
      }
    };
    add(cur, 0);
    size_t pos = 0;
    while (pos < path.size()) {
      size_t w;
      char32_t r = DecodeRune(path, pos, &w);
      pos += w;
      std::fill(next.begin(), next.end(), 0);
      bool any = false;
      for (size_t k = 0; k < n; ++k) {
        if (cur[n + 1 + k]) {  // inside "(.*/)?"
          if (r != '\n') {
            next[n + 1 + k] = 1;
            any = true;
          }
          if (r == '/') {
            add(next, k + 1);
            any = true;
          }
        }
        if (!cur[k]) continue;
        const Tok& t = toks[k];
        switch (t.kind) {
          case Tok::kLit:
            if (r == t.ch) add(next, k + 1), any = true;
            break;
          case Tok::kAnyNoSlash:
            if (r != '/') add(next, k + 1), any = true;
            break;
          case Tok::kClass:
            if (t.InClass(r)) add(next, k + 1), any = true;
            break;
          case Tok::kStarNoSlash:
            if (r != '/') add(next, k), any = true;
            break;
          case Tok::kDotStar:
            if (r != '\n') add(next, k), any = true;
            break;
          case Tok::kDoubleStarDir:
            if (r != '\n') next[n + 1 + k] = 1, any = true;
            if (r == '/') add(next, k + 1), any = true;
            break;
        }
      }
      if (!any) return false;
      cur.swap(next);
    }
    return cur[n];
  }
};

std::string CleanPath(std::string_view path) {
  if (path.empty()) return ".";
  bool rooted = path[0] == '/';
  size_t n = path.size();
  std::string out;
  size_t r = 0, dotdot = 0;
  if (rooted) {
    out += '/';
    r = dotdot = 1;
  }
  while (r < n) {
    if (path[r] == '/') {
      ++r;
    } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
      ++r;
    } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
      r += 2;
      if (out.size() > dotdot) {
        // Back up to the previous separator (Go's lazybuf index arithmetic).
        size_t w = out.size() - 1;
        while (w > dotdot && out[w] != '/') --w;
        out.resize(w);
      } else if (!rooted) {
        if (!out.empty()) out += '/';
        out += "..";
        dotdot = out.size();
      }
    } else {
      if ((rooted && out.size() != 1) || (!rooted && !out.empty())) out += '/';
      while (r < n && path[r] != '/') out += path[r++];
    }
  }
  if (out.empty()) return ".";
  return out;
}

Result<std::vector<std::string>> ParseDockerignore(std::string_view content) {
  std::vector<std::string> out;
  bool first = true;
  while (!content.empty()) {
    size_t nl = content.find('\n');
    std::string_view line = content.substr(0, nl);
    content = nl == std::string_view::npos ? std::string_view() : content.substr(nl + 1);
    if (line.size() > kMaxLine) {
      return InvalidArgument("error reading .dockerignore: bufio.Scanner: token too long");
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    first = false;
    if (line.starts_with("#")) continue;
    std::string_view pattern = TrimSpace(line);
    if (pattern.empty()) continue;
    bool invert = pattern[0] == '!';
    if (invert) pattern = TrimSpace(pattern.substr(1));
    std::string p(pattern);
    if (!p.empty()) {
      p = CleanPath(p);
      if (p.size() > 1 && p[0] == '/') p.erase(0, 1);
    }
    out.push_back(invert ? "!" + p : p);
  }
  return out;
}

std::string IgnoreFileFor(std::string_view context_dir, std::string_view dockerfile_path) {
  return IgnoreFileFor(context_dir, dockerfile_path,
                       [](const std::string& p) { return access(p.c_str(), F_OK) == 0; });
}

Result<Matcher> Matcher::Create(const std::vector<std::string>& patterns) {
  Matcher m;
  for (const std::string& raw : patterns) {
    std::string_view trimmed = TrimSpace(raw);
    if (trimmed.empty()) continue;
    std::string p = CleanPath(trimmed);
    auto pat = std::make_shared<Pattern>();
    if (p[0] == '!') {
      if (p.size() == 1) return InvalidArgument("illegal exclusion pattern: \"!\"");
      pat->exclusion = true;
      p.erase(0, 1);
      m.exclusions_ = true;
    }
    if (!ValidGlob(p)) return InvalidArgument("syntax error in pattern");
    pat->cleaned = std::move(p);
    pat->Compile();
    m.patterns_.push_back(std::move(pat));
  }
  return m;
}

bool Matcher::Matches(std::string_view path) const {
  bool matched = false;
  std::string_view parent = Dir(path);
  for (const auto& p : patterns_) {
    if (p->exclusion != matched) continue;
    bool match = p->Match(path);
    if (!match && parent != ".") {
      // Any ancestor directory matching the pattern matches the path.
      for (size_t slash = parent.find('/');; slash = parent.find('/', slash + 1)) {
        if (p->Match(parent.substr(0, slash))) {
          match = true;
          break;
        }
        if (slash == std::string_view::npos) break;
      }
    }
    if (match) matched = !p->exclusion;
  }
  return matched;
}

bool Matcher::MatchesUsingParent(std::string_view path, const MatchInfo& parent,
                                 MatchInfo* info) const {
  const std::vector<bool>& pm = parent.parent_matched;
  bool have_parent = pm.size() == patterns_.size() && !pm.empty();
  MatchInfo local;
  MatchInfo& out = info ? *info : local;
  out.parent_matched.assign(patterns_.size(), false);
  bool matched = false;
  for (size_t i = 0; i < patterns_.size(); ++i) {
    const Pattern& p = *patterns_[i];
    bool match = have_parent && pm[i];
    if (!match) {
      if (p.exclusion != matched) continue;
      match = p.Match(path);
      if (!match && !have_parent) {
        std::string_view dir = Dir(path);
        if (dir != ".") {
          for (size_t slash = dir.find('/');; slash = dir.find('/', slash + 1)) {
            if (p.Match(dir.substr(0, slash))) {
              match = true;
              break;
            }
            if (slash == std::string_view::npos) break;
          }
        }
      }
    }
    out.parent_matched[i] = match;
    if (match) matched = !p.exclusion;
  }
  return matched;
}

bool Matcher::MaybeIncludesChildren(std::string_view dir) const {
  if (!exclusions_) return false;
  std::string dir_slash = std::string(dir) + "/";
  for (const auto& p : patterns_) {
    if (!p->exclusion) continue;
    if ((p->cleaned + "/").starts_with(dir_slash)) return true;
  }
  return false;
}

}  // namespace strata::dockerfile
