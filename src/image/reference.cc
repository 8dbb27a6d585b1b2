#include "image/reference.h"

#include <cstdint>

#include "util/ascii.h"

namespace strata::image {
namespace {

// Error texts of distribution/reference and go-digest, verbatim: scripts match on them.
constexpr char kErrReferenceInvalidFormat[] = "invalid reference format";
constexpr char kErrNameContainsUppercase[] = "repository name must be lowercase";
constexpr char kErrNameEmpty[] = "repository name must have at least one component";
constexpr char kErrNameTooLong[] = "repository name must not be more than 255 characters";
constexpr char kErrTagInvalidFormat[] = "invalid tag format";
constexpr char kErrDigestInvalidFormat[] = "invalid checksum digest format";
constexpr char kErrDigestInvalidLength[] = "invalid checksum digest length";
constexpr char kErrDigestUnsupported[] = "unsupported digest algorithm";

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
bool IsWord(char c) { return IsAlnum(c) || c == '_'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }

// pathComponent := [a-z0-9]+ ( ( [._] | "__" | "-"+ ) [a-z0-9]+ )*
bool MatchPathComponent(std::string_view s) {
  size_t i = 0, n = s.size();
  if (n == 0 || !IsLowerAlnum(s[0])) return false;
  while (i < n) {
    while (i < n && IsLowerAlnum(s[i])) ++i;
    if (i == n) return true;
    // A separator, which must be followed by an alphanumeric run.
    if (s[i] == '.') {
      ++i;
    } else if (s[i] == '_') {
      ++i;
      if (i < n && s[i] == '_') ++i;
    } else if (s[i] == '-') {
      while (i < n && s[i] == '-') ++i;
    } else {
      return false;
    }
    if (i == n || !IsLowerAlnum(s[i])) return false;
  }
  return true;
}

// remoteName := pathComponent ( "/" pathComponent )*
bool MatchRemoteName(std::string_view s) {
  while (true) {
    size_t slash = s.find('/');
    if (!MatchPathComponent(s.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    s.remove_prefix(slash + 1);
  }
}

// domainNameComponent := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool MatchDomainNameComponent(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '-') return false;
  }
  return true;
}

// domainAndPort := ( domainName | "[" [a-fA-F0-9:]+ "]" ) ( ":" [0-9]+ )?
bool MatchDomainAndPort(std::string_view s) {
  std::string_view host = s, port;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : s.substr(1, close - 1)) {
      if (!IsHex(c) && c != ':') return false;
    }
    host = {};
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
  } else {
    size_t colon = s.find(':');
    if (colon != std::string_view::npos) {
      host = s.substr(0, colon);
      port = s.substr(colon + 1);
      if (port.empty()) return false;
    }
    // domainName := component ( "." component )*
    std::string_view h = host;
    while (true) {
      size_t dot = h.find('.');
      if (!MatchDomainNameComponent(h.substr(0, dot))) return false;
      if (dot == std::string_view::npos) break;
      h.remove_prefix(dot + 1);
    }
  }
  for (char c : port) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

// The anchored name pattern: [domainAndPort "/"] remoteName. Like the leftmost-first
// regexp, the domain is taken whenever the first "/"-element can be one.
bool SplitName(std::string_view name, std::string_view* domain, std::string_view* path) {
  size_t slash = name.find('/');
  if (slash != std::string_view::npos && MatchDomainAndPort(name.substr(0, slash)) &&
      MatchRemoteName(name.substr(slash + 1))) {
    *domain = name.substr(0, slash);
    *path = name.substr(slash + 1);
    return true;
  }
  if (!MatchRemoteName(name)) return false;
  *domain = {};
  *path = name;
  return true;
}

// digestPat := [A-Za-z][A-Za-z0-9]* ( [-_+.] [A-Za-z][A-Za-z0-9]* )* ":" [[:xdigit:]]{32,}
bool MatchDigestPattern(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view alg = s.substr(0, colon), hex = s.substr(colon + 1);
  size_t i = 0;
  while (true) {
    if (i >= alg.size() || !IsAlpha(alg[i])) return false;
    ++i;
    while (i < alg.size() && IsAlnum(alg[i])) ++i;
    if (i == alg.size()) break;
    char c = alg[i];
    if (c != '-' && c != '_' && c != '+' && c != '.') return false;
    ++i;
  }
  if (hex.size() < 32) return false;
  for (char c : hex) {
    if (!IsHex(c)) return false;
  }
  return true;
}

// go-digest's DigestRegexpAnchored: [a-z0-9]+([.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+
bool MatchGoDigestRegexp(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view alg = s.substr(0, colon), enc = s.substr(colon + 1);
  size_t i = 0;
  while (true) {
    size_t start = i;
    while (i < alg.size() && IsLowerAlnum(alg[i])) ++i;
    if (i == start) return false;
    if (i == alg.size()) break;
    char c = alg[i];
    if (c != '.' && c != '+' && c != '_' && c != '-') return false;
    ++i;
  }
  if (enc.empty()) return false;
  for (char c : enc) {
    if (!IsAlnum(c) && c != '=' && c != '_' && c != '-') return false;
  }
  return true;
}

// go-digest Parse/Validate with sha256, sha384 and sha512 registered (as in docker).
Result<digest::Digest> ParseDigest(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) {
    return InvalidArgument(kErrDigestInvalidFormat);
  }
  std::string_view alg = s.substr(0, colon), enc = s.substr(colon + 1);
  size_t want = 0;
  if (alg == "sha256") {
    want = 64;
  } else if (alg == "sha384") {
    want = 96;
  } else if (alg == "sha512") {
    want = 128;
  } else {
    return InvalidArgument(MatchGoDigestRegexp(s) ? kErrDigestUnsupported
                                                  : kErrDigestInvalidFormat);
  }
  if (enc.size() != want) return InvalidArgument(kErrDigestInvalidLength);
  for (char c : enc) {
    if (!IsDigit(c) && !(c >= 'a' && c <= 'f')) return InvalidArgument(kErrDigestInvalidFormat);
  }
  // strata's Digest holds sha256 and sha512 only; a sha384 reference cannot be resolved.
  auto d = digest::Digest::Parse(s);
  if (!d) return InvalidArgument(kErrDigestUnsupported);
  return std::move(d).value();
}

struct Parts {
  std::string_view name, tag, digest;
};

// The anchored referencePat: name [":" tag] ["@" digest], with the regexp's captures.
bool MatchReference(std::string_view s, Parts* out) {
  std::string_view rest = s;
  size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    out->digest = rest.substr(at + 1);
    if (!MatchDigestPattern(out->digest)) return false;
    rest = rest.substr(0, at);
  } else {
    out->digest = {};
  }
  // A ":" after the last "/" cannot belong to the name (a port is always followed by "/"),
  // so it starts the tag.
  size_t colon = rest.rfind(':');
  size_t slash = rest.rfind('/');
  out->tag = {};
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    out->tag = rest.substr(colon + 1);
    if (!IsValidTag(out->tag)) return false;
    rest = rest.substr(0, colon);
  }
  out->name = rest;
  std::string_view domain, path;
  return SplitName(rest, &domain, &path);
}

// Whether Go's strings.ToLower changes s. ASCII capitals do; so does invalid UTF-8 (ToLower
// rewrites it as U+FFFD). Non-ASCII capital letters are not detected (documented difference).
bool ToLowerChanges(std::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (IsUpper(static_cast<char>(c))) return true;
      ++i;
      continue;
    }
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + len > n) return true;
    uint32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return true;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong encodings, surrogates and out-of-range code points are invalid too.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return true;
    }
    i += len;
  }
  return false;
}

// splitDockerDomain: domain and remote name of a familiar name, "library/" added for
// single-component Docker Hub names.
void SplitDockerDomain(std::string_view name, std::string* domain, std::string* remote) {
  size_t slash = name.find('/');
  if (slash == std::string_view::npos) {
    *domain = kDefaultDomain;
    *remote = std::string(kOfficialRepoPrefix) + std::string(name);
    return;
  }
  std::string_view maybe_domain = name.substr(0, slash), maybe_remote = name.substr(slash + 1);
  if (maybe_domain == "localhost") {
    *domain = maybe_domain;
    *remote = maybe_remote;
  } else if (maybe_domain == kLegacyDefaultDomain) {
    *domain = kDefaultDomain;
    *remote = maybe_remote;
  } else if (maybe_domain.find_first_of(".:") != std::string_view::npos ||
             ToLowerChanges(maybe_domain)) {
    // Looks like a host ("example.com", "host:5000", "[::1]:5000"), or has capitals,
    // which a Docker Hub namespace cannot have.
    *domain = maybe_domain;
    *remote = maybe_remote;
  } else {
    *domain = kDefaultDomain;
    *remote = name;
  }
  if (*domain == kDefaultDomain && remote->find('/') == std::string::npos) {
    *remote = std::string(kOfficialRepoPrefix) + *remote;
  }
}

}  // namespace

bool IsIdentifier(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!IsDigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

bool IsValidTag(std::string_view s) {
  if (s.empty() || s.size() > 128 || !IsWord(s[0])) return false;
  for (char c : s) {
    if (!IsWord(c) && c != '.' && c != '-') return false;
  }
  return true;
}

std::string Reference::Name() const {
  if (domain_.empty()) return path_;
  return domain_ + "/" + path_;
}

std::string Reference::String() const {
  std::string s = Name();
  if (HasTag()) s += ":" + tag_;
  if (HasDigest()) s += (s.empty() ? "" : "@") + digest_.str();
  return s;
}

std::string Reference::FamiliarName() const {
  if (domain_ != kDefaultDomain) return Name();
  std::string_view path = path_;
  if (path.substr(0, kOfficialRepoPrefix.size()) == kOfficialRepoPrefix) {
    std::string_view rest = path.substr(kOfficialRepoPrefix.size());
    // Only "library/<name>" is an official image; "library/a/b" keeps its prefix.
    if (rest.find('/') == std::string_view::npos) path = rest;
  }
  return std::string(path);
}

std::string Reference::FamiliarString() const {
  std::string s = HasName() ? FamiliarName() : std::string();
  if (HasTag()) s += ":" + tag_;
  if (HasDigest()) s += (s.empty() ? "" : "@") + digest_.str();
  return s;
}

Result<Reference> Reference::WithTag(std::string_view tag) const {
  if (!IsValidTag(tag)) return InvalidArgument(kErrTagInvalidFormat);
  Reference r = *this;
  r.tag_ = std::string(tag);
  return r;
}

Reference Reference::WithDigest(const digest::Digest& d) const {
  Reference r = *this;
  r.digest_ = d;
  return r;
}

Reference Reference::NameOnly() const {
  Reference r = *this;
  r.tag_.clear();
  r.digest_ = {};
  return r;
}

Result<Reference> ParseReference(std::string_view s) {
  if (s.empty()) return InvalidArgument(kErrNameEmpty);
  Parts parts;
  if (!MatchReference(s, &parts)) {
    if (ToLowerChanges(s)) {
      std::string lower = AsciiLower(s);
      Parts ignored;
      if (MatchReference(lower, &ignored)) return InvalidArgument(kErrNameContainsUppercase);
    }
    return InvalidArgument(kErrReferenceInvalidFormat);
  }
  Reference ref;
  std::string_view domain, path;
  if (!parts.name.empty() && SplitName(parts.name, &domain, &path)) {
    ref.domain_ = std::string(domain);
    ref.path_ = std::string(path);
  }
  if (ref.path_.size() > kRepositoryNameTotalLengthMax) return InvalidArgument(kErrNameTooLong);
  ref.tag_ = std::string(parts.tag);
  if (!parts.digest.empty()) {
    STRATA_ASSIGN_OR_RETURN(ref.digest_, ParseDigest(parts.digest));
  }
  if (ref.path_.empty() && ref.digest_.empty()) return InvalidArgument(kErrNameEmpty);
  return ref;
}

Result<Reference> ParseNormalizedNamed(std::string_view s) {
  if (IsIdentifier(s)) {
    return InvalidArgument("invalid repository name (" + std::string(s) +
                           "), cannot specify 64-byte hexadecimal strings");
  }
  std::string domain, remainder;
  SplitDockerDomain(s, &domain, &remainder);
  std::string_view remote = remainder;
  if (size_t colon = remote.find(':'); colon != std::string_view::npos) {
    remote = remote.substr(0, colon);
  }
  if (ToLowerChanges(remote)) {
    return InvalidArgument("invalid reference format: repository name (" + std::string(remote) +
                           ") must be lowercase");
  }
  STRATA_ASSIGN_OR_RETURN(Reference ref, ParseReference(domain + "/" + remainder));
  if (!ref.HasName()) return InvalidArgument("reference " + ref.String() + " has no name");
  return ref;
}

Result<Reference> ParseDockerRef(std::string_view s) {
  STRATA_ASSIGN_OR_RETURN(Reference ref, ParseNormalizedNamed(s));
  if (ref.HasTag() && ref.HasDigest()) return ref.NameOnly().WithDigest(ref.Digest());
  return TagNameOnly(std::move(ref));
}

Result<Reference> ParseAnyReference(std::string_view s) {
  if (IsIdentifier(s)) {
    Reference r;
    r.digest_ = *digest::Digest::Parse("sha256:" + std::string(s));
    return r;
  }
  // Go: digest.Parse(s) succeeding makes a digest-only reference.
  if (s.find('/') == std::string_view::npos && s.find('@') == std::string_view::npos) {
    size_t colon = s.find(':');
    if (colon != std::string_view::npos && colon > 0 && colon + 1 < s.size()) {
      std::string_view alg = s.substr(0, colon);
      if (alg == "sha256" || alg == "sha384" || alg == "sha512") {
        if (auto d = ParseDigest(s)) {
          Reference r;
          r.digest_ = std::move(d).value();
          return r;
        }
      }
    }
  }
  return ParseNormalizedNamed(s);
}

std::optional<FamiliarParts> SplitCanonical(std::string_view s) {
  FamiliarParts out;
  if (size_t at = s.find('@'); at != std::string_view::npos) {
    out.digest = s.substr(at + 1);
    s = s.substr(0, at);
    // Only the common sha256 form; other algorithms take the full parser.
    if (out.digest.size() != 71 || !out.digest.starts_with("sha256:") ||
        !IsIdentifier(out.digest.substr(7))) {
      return std::nullopt;
    }
  }
  size_t slash = s.find('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  std::string_view domain = s.substr(0, slash);
  // What SplitDockerDomain keeps as a domain; the legacy Docker Hub name is rewritten there.
  if (domain == kLegacyDefaultDomain) return std::nullopt;
  if (domain != "localhost" && domain.find_first_of(".:") == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view name = s;
  size_t last_slash = s.rfind('/');
  if (size_t colon = s.rfind(':'); colon != std::string_view::npos && colon > last_slash) {
    out.tag = s.substr(colon + 1);
    name = s.substr(0, colon);
    if (!IsValidTag(out.tag)) return std::nullopt;
  }
  std::string_view path = name.substr(slash + 1);
  if (path.empty() || path.front() == '/' || path.back() == '/') return std::nullopt;
  for (char c : path) {
    bool ok = IsDigit(c) || (c >= 'a' && c <= 'z') || c == '.' || c == '_' || c == '-' || c == '/';
    if (!ok) return std::nullopt;
  }
  out.name = name;
  if (domain == kDefaultDomain) {
    out.name = path;
    if (path.starts_with(kOfficialRepoPrefix) &&
        path.find('/', kOfficialRepoPrefix.size()) == std::string_view::npos) {
      out.name = path.substr(kOfficialRepoPrefix.size());
    }
  }
  return out;
}

Reference TagNameOnly(Reference ref) {
  if (!ref.IsNameOnly()) return ref;
  return *ref.WithTag(kDefaultTag);
}

}  // namespace strata::image
