// Image references ("busybox", "localhost:5000/x:tag", "name@sha256:…"): Docker's grammar and
// normalization, following github.com/distribution/reference, with its exact error texts.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "digest/digest.h"
#include "util/result.h"

namespace strata::image {

// Maximum length of the path (repository name without domain) of a reference.
inline constexpr size_t kRepositoryNameTotalLengthMax = 255;
inline constexpr std::string_view kDefaultDomain = "docker.io";
inline constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
inline constexpr std::string_view kOfficialRepoPrefix = "library/";
inline constexpr std::string_view kDefaultTag = "latest";

// A parsed reference: [domain "/"] path [":" tag] ["@" digest]. A value type: a reference
// without a name carries only a digest (what ParseAnyReference returns for an ID).
// String() is the canonical form ("docker.io/library/busybox:latest" for a normalized
// reference); FamiliarString() is what the docker CLI prints ("busybox:latest").
class Reference {
 public:
  Reference() = default;

  const std::string& Domain() const { return domain_; }
  const std::string& Path() const { return path_; }
  // domain "/" path, or path alone when there is no domain; empty for digest-only references.
  std::string Name() const;
  bool HasName() const { return !path_.empty(); }
  bool HasTag() const { return !tag_.empty(); }
  const std::string& Tag() const { return tag_; }
  bool HasDigest() const { return !digest_.empty(); }
  const digest::Digest& Digest() const { return digest_; }
  // Neither tag nor digest.
  bool IsNameOnly() const { return !HasTag() && !HasDigest(); }

  // The full reference: name[:tag][@digest].
  std::string String() const;
  // Name with "docker.io/" and, for single-component paths, "library/" removed.
  std::string FamiliarName() const;
  // FamiliarName()[:tag][@digest].
  std::string FamiliarString() const;

  // Copies with the tag or digest replaced (WithTag validates the tag), or both dropped.
  Result<Reference> WithTag(std::string_view tag) const;
  Reference WithDigest(const digest::Digest& d) const;
  Reference NameOnly() const;

  bool operator==(const Reference&) const = default;

 private:
  friend Result<Reference> ParseReference(std::string_view s);
  friend Result<Reference> ParseAnyReference(std::string_view s);

  std::string domain_;
  std::string path_;
  std::string tag_;
  digest::Digest digest_;
};

// distribution/reference Parse: the strict grammar, no normalization ("ubuntu" stays
// "ubuntu" with an empty domain). Errors: "invalid reference format", "repository name
// must be lowercase", "repository name must have at least one component", "repository name
// must not be more than 255 characters", and the digest errors of go-digest.
Result<Reference> ParseReference(std::string_view s);

// distribution/reference ParseNormalizedNamed: a familiar name as the docker CLI accepts
// it, made fully qualified ("ubuntu" -> "docker.io/library/ubuntu"). Never adds a tag.
Result<Reference> ParseNormalizedNamed(std::string_view s);

// ParseDockerRef: ParseNormalizedNamed, then a name-only reference gets ":latest" and a
// reference with both tag and digest keeps only the digest.
Result<Reference> ParseDockerRef(std::string_view s);

// ParseAnyReference: a 64-hex identifier or "sha256:<hex>" becomes a digest-only reference;
// anything else goes through ParseNormalizedNamed.
Result<Reference> ParseAnyReference(std::string_view s);

// Adds the default tag "latest" when the reference has neither tag nor digest.
Reference TagNameOnly(Reference ref);

// The parts of a reference stored in canonical form (Reference::String() of a normalized
// reference, e.g. "docker.io/library/busybox:latest"), as views into that string: the
// familiar name ("busybox"), tag and digest ("" when absent). Listing 1,000 stored tags must
// not run the full grammar 1,000 times. For a string ParseNormalizedNamed accepts, the parts
// equal its FamiliarName(), Tag() and Digest(); a string that is not plainly canonical
// (legacy or implied domain, other digest algorithms, unusual characters) gives nullopt and
// the caller parses it in full. Not a validator: meant for references the store wrote.
struct FamiliarParts {
  std::string_view name, tag, digest;
};
std::optional<FamiliarParts> SplitCanonical(std::string_view canonical);

// True for a full image ID: exactly 64 lowercase hex characters.
bool IsIdentifier(std::string_view s);
// True for a valid tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
bool IsValidTag(std::string_view s);

}  // namespace strata::image
