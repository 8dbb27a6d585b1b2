#include "image/reference.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace strata::image {
namespace {

// Cases derived from distribution/reference's normalize_test.go and reference_test.go, plus
// docker CLI behaviour around them; expected strings are what the Go library returns.
const std::string kF64(64, 'f');
const std::string kHex64 = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a";
const std::string kDbcc = "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

struct NormalizedCase {
  std::string input;
  std::string canonical;  // String()
  std::string familiar;   // FamiliarString()
  std::string domain;
  std::string path;
  std::string tag;
  std::string digest;
};

std::vector<NormalizedCase> NormalizedCases() {
  return {
      {"busybox", "docker.io/library/busybox", "busybox", "docker.io", "library/busybox", "", ""},
      {"busybox:latest", "docker.io/library/busybox:latest", "busybox:latest", "docker.io",
       "library/busybox", "latest", ""},
      {"docker/docker", "docker.io/docker/docker", "docker/docker", "docker.io", "docker/docker",
       "", ""},
      {"library/debian", "docker.io/library/debian", "debian", "docker.io", "library/debian", "",
       ""},
      {"debian", "docker.io/library/debian", "debian", "docker.io", "library/debian", "", ""},
      {"docker.io/docker/docker", "docker.io/docker/docker", "docker/docker", "docker.io",
       "docker/docker", "", ""},
      {"docker.io/library/debian", "docker.io/library/debian", "debian", "docker.io",
       "library/debian", "", ""},
      {"docker.io/debian", "docker.io/library/debian", "debian", "docker.io", "library/debian", "",
       ""},
      {"index.docker.io/docker/docker", "docker.io/docker/docker", "docker/docker", "docker.io",
       "docker/docker", "", ""},
      {"index.docker.io/library/debian", "docker.io/library/debian", "debian", "docker.io",
       "library/debian", "", ""},
      {"index.docker.io/debian", "docker.io/library/debian", "debian", "docker.io",
       "library/debian", "", ""},
      {"127.0.0.1:5000/docker/docker", "127.0.0.1:5000/docker/docker",
       "127.0.0.1:5000/docker/docker", "127.0.0.1:5000", "docker/docker", "", ""},
      {"127.0.0.1:5000/library/debian", "127.0.0.1:5000/library/debian",
       "127.0.0.1:5000/library/debian", "127.0.0.1:5000", "library/debian", "", ""},
      {"127.0.0.1:5000/debian", "127.0.0.1:5000/debian", "127.0.0.1:5000/debian", "127.0.0.1:5000",
       "debian", "", ""},
      // A bare IP is a one-component name on Docker Hub, ":80" its tag.
      {"192.168.0.1", "docker.io/library/192.168.0.1", "192.168.0.1", "docker.io",
       "library/192.168.0.1", "", ""},
      {"192.168.0.1:80", "docker.io/library/192.168.0.1:80", "192.168.0.1:80", "docker.io",
       "library/192.168.0.1", "80", ""},
      {"192.168.0.1:8/debian", "192.168.0.1:8/debian", "192.168.0.1:8/debian", "192.168.0.1:8",
       "debian", "", ""},
      {"192.168.0.2:25000/debian", "192.168.0.2:25000/debian", "192.168.0.2:25000/debian",
       "192.168.0.2:25000", "debian", "", ""},
      {"thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
       "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
       "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "docker.io",
       "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "", ""},
      {"[fc00::1]:5000/docker", "[fc00::1]:5000/docker", "[fc00::1]:5000/docker", "[fc00::1]:5000",
       "docker", "", ""},
      {"[fc00::1]:5000/docker/docker", "[fc00::1]:5000/docker/docker",
       "[fc00::1]:5000/docker/docker", "[fc00::1]:5000", "docker/docker", "", ""},
      {"[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
       "[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000", "library/debian",
       "", ""},
      {"[2001:db8::1]/repo:tag", "[2001:db8::1]/repo:tag", "[2001:db8::1]/repo:tag",
       "[2001:db8::1]", "repo", "tag", ""},
      {"[::1]:5000/repo", "[::1]:5000/repo", "[::1]:5000/repo", "[::1]:5000", "repo", "", ""},
      // With a domain, a 64-hex path is not ambiguous with an image ID.
      {"docker.io/" + kHex64, "docker.io/library/" + kHex64, kHex64, "docker.io",
       "library/" + kHex64, "", ""},
      // Capitals in the first element make it a domain.
      {"Docker/docker", "Docker/docker", "Docker/docker", "Docker", "docker", "", ""},
      {"DOCKER/docker", "DOCKER/docker", "DOCKER/docker", "DOCKER", "docker", "", ""},
      {"Foo/bar", "Foo/bar", "Foo/bar", "Foo", "bar", "", ""},
      {"FOO/bar:Tag", "FOO/bar:Tag", "FOO/bar:Tag", "FOO", "bar", "Tag", ""},
      {"docker-rules/docker", "docker.io/docker-rules/docker", "docker-rules/docker", "docker.io",
       "docker-rules/docker", "", ""},
      {"docker---rules/docker", "docker.io/docker---rules/docker", "docker---rules/docker",
       "docker.io", "docker---rules/docker", "", ""},
      {"doc/docker", "docker.io/doc/docker", "doc/docker", "docker.io", "doc/docker", "", ""},
      {"d/docker", "docker.io/d/docker", "d/docker", "docker.io", "d/docker", "", ""},
      {"jess/t", "docker.io/jess/t", "jess/t", "docker.io", "jess/t", "", ""},
      {"dock__er/docker", "docker.io/dock__er/docker", "dock__er/docker", "docker.io",
       "dock__er/docker", "", ""},
      {"fooo/bar", "docker.io/fooo/bar", "fooo/bar", "docker.io", "fooo/bar", "", ""},
      {"library/ubuntu", "docker.io/library/ubuntu", "ubuntu", "docker.io", "library/ubuntu", "",
       ""},
      {"nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu", "nonlibrary/ubuntu", "docker.io",
       "nonlibrary/ubuntu", "", ""},
      {"other/library", "docker.io/other/library", "other/library", "docker.io", "other/library",
       "", ""},
      {"127.0.0.1:8000/private/moonbase", "127.0.0.1:8000/private/moonbase",
       "127.0.0.1:8000/private/moonbase", "127.0.0.1:8000", "private/moonbase", "", ""},
      {"example.com/private/moonbase", "example.com/private/moonbase",
       "example.com/private/moonbase", "example.com", "private/moonbase", "", ""},
      {"example.com:8000/privatebasee", "example.com:8000/privatebasee",
       "example.com:8000/privatebasee", "example.com:8000", "privatebasee", "", ""},
      {"ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base", "ubuntu-12.04-base", "docker.io",
       "library/ubuntu-12.04-base", "", ""},
      {"library/foo/bar", "docker.io/library/foo/bar", "library/foo/bar", "docker.io",
       "library/foo/bar", "", ""},
      {"docker.io/library/foo/bar", "docker.io/library/foo/bar", "library/foo/bar", "docker.io",
       "library/foo/bar", "", ""},
      {"store/foo/bar", "docker.io/store/foo/bar", "store/foo/bar", "docker.io", "store/foo/bar",
       "", ""},
      {"test.com/foo", "test.com/foo", "test.com/foo", "test.com", "foo", "", ""},
      {"test_com/foo", "docker.io/test_com/foo", "test_com/foo", "docker.io", "test_com/foo", "",
       ""},
      {"test.com:8080/foo", "test.com:8080/foo", "test.com:8080/foo", "test.com:8080", "foo", "",
       ""},
      {"test-com:8080/foo", "test-com:8080/foo", "test-com:8080/foo", "test-com:8080", "foo", "",
       ""},
      {"xn--n3h.com/foo", "xn--n3h.com/foo", "xn--n3h.com/foo", "xn--n3h.com", "foo", "", ""},
      {"xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo",
       "xn--n3h.com:18080", "foo", "", ""},
      {"xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com/myimage:xn--n3h.com",
       "xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", ""},
      {"sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
       "sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux",
       "some-long-tag", ""},
      {"b.gcr.io/test.example.com/my-app:test.example.com",
       "b.gcr.io/test.example.com/my-app:test.example.com",
       "b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app",
       "test.example.com", ""},
      {"localhost/foo", "localhost/foo", "localhost/foo", "localhost", "foo", "", ""},
      {"localhost:5000/x", "localhost:5000/x", "localhost:5000/x", "localhost:5000", "x", "", ""},
      {"localhost:5000/x:1.0", "localhost:5000/x:1.0", "localhost:5000/x:1.0", "localhost:5000",
       "x", "1.0", ""},
      // A bare "localhost" or "example.com" is a Docker Hub name (the library's FIXME).
      {"localhost", "docker.io/library/localhost", "localhost", "docker.io", "library/localhost",
       "", ""},
      {"example.com", "docker.io/library/example.com", "example.com", "docker.io",
       "library/example.com", "", ""},
      {"lowercase:Uppercase", "docker.io/library/lowercase:Uppercase", "lowercase:Uppercase",
       "docker.io", "library/lowercase", "Uppercase", ""},
      {"foo_bar.com:8080", "docker.io/library/foo_bar.com:8080", "foo_bar.com:8080", "docker.io",
       "library/foo_bar.com", "8080", ""},
      {"foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080", "foo/foo_bar.com:8080",
       "docker.io", "foo/foo_bar.com", "8080", ""},
      {"dbcc1", "docker.io/library/dbcc1", "dbcc1", "docker.io", "library/dbcc1", "", ""},
      {kDbcc.substr(0, 63), "docker.io/library/" + kDbcc.substr(0, 63), kDbcc.substr(0, 63),
       "docker.io", "library/" + kDbcc.substr(0, 63), "", ""},
      {kDbcc + "a", "docker.io/library/" + kDbcc + "a", kDbcc + "a", "docker.io",
       "library/" + kDbcc + "a", "", ""},
      {"redis@sha256:" + kDbcc, "docker.io/library/redis@sha256:" + kDbcc, "redis@sha256:" + kDbcc,
       "docker.io", "library/redis", "", "sha256:" + kDbcc},
      {"dmcgowan/myapp@sha256:" + kDbcc, "docker.io/dmcgowan/myapp@sha256:" + kDbcc,
       "dmcgowan/myapp@sha256:" + kDbcc, "docker.io", "dmcgowan/myapp", "", "sha256:" + kDbcc},
      {"busybox:latest@sha256:" + kF64, "docker.io/library/busybox:latest@sha256:" + kF64,
       "busybox:latest@sha256:" + kF64, "docker.io", "library/busybox", "latest", "sha256:" + kF64},
      {"test:5000/repo@sha256:" + kF64, "test:5000/repo@sha256:" + kF64,
       "test:5000/repo@sha256:" + kF64, "test:5000", "repo", "", "sha256:" + kF64},
      {"test:5000/repo:tag@sha256:" + kF64, "test:5000/repo:tag@sha256:" + kF64,
       "test:5000/repo:tag@sha256:" + kF64, "test:5000", "repo", "tag", "sha256:" + kF64},
      {"[2001:db8::1]:5000/repo:tag@sha256:" + kF64, "[2001:db8::1]:5000/repo:tag@sha256:" + kF64,
       "[2001:db8::1]:5000/repo:tag@sha256:" + kF64, "[2001:db8::1]:5000", "repo", "tag",
       "sha256:" + kF64},
      {"xn--7o8h.com/myimage:xn--7o8h.com@sha512:" + std::string(128, 'f'),
       "xn--7o8h.com/myimage:xn--7o8h.com@sha512:" + std::string(128, 'f'),
       "xn--7o8h.com/myimage:xn--7o8h.com@sha512:" + std::string(128, 'f'), "xn--7o8h.com",
       "myimage", "xn--7o8h.com", "sha512:" + std::string(128, 'f')},
      // 255 is the path limit; "docker.io/" does not count.
      {Repeat("a/", 127) + "a:tag-puts-this-over-max",
       "docker.io/" + Repeat("a/", 127) + "a:tag-puts-this-over-max",
       Repeat("a/", 127) + "a:tag-puts-this-over-max", "docker.io", Repeat("a/", 127) + "a",
       "tag-puts-this-over-max", ""},
      {"a", "docker.io/library/a", "a", "docker.io", "library/a", "", ""},
      {"a.b:123/c", "a.b:123/c", "a.b:123/c", "a.b:123", "c", "", ""},
      {"busybox:_tag", "docker.io/library/busybox:_tag", "busybox:_tag", "docker.io",
       "library/busybox", "_tag", ""},
      {"busybox:" + std::string(128, 'a'), "docker.io/library/busybox:" + std::string(128, 'a'),
       "busybox:" + std::string(128, 'a'), "docker.io", "library/busybox", std::string(128, 'a'),
       ""},
      // Looks like a host to splitDockerDomain ("."), is not one to the grammar ("_"): Go
      // returns it with an empty domain, and so do we.
      {"foo_bar.com/x", "foo_bar.com/x", "foo_bar.com/x", "", "foo_bar.com/x", "", ""},
      {"my.registry/a-b_c.d__e/f---g", "my.registry/a-b_c.d__e/f---g",
       "my.registry/a-b_c.d__e/f---g", "my.registry", "a-b_c.d__e/f---g", "", ""},
  };
}

TEST(ReferenceTest, ParseNormalizedNamedValid) {
  for (const auto& c : NormalizedCases()) {
    SCOPED_TRACE(c.input);
    auto r = ParseNormalizedNamed(c.input);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->String(), c.canonical);
    EXPECT_EQ(r->FamiliarString(), c.familiar);
    EXPECT_EQ(r->Domain(), c.domain);
    EXPECT_EQ(r->Path(), c.path);
    EXPECT_EQ(r->Tag(), c.tag);
    EXPECT_EQ(r->Digest().str(), c.digest);
    EXPECT_EQ(r->HasTag(), !c.tag.empty());
    EXPECT_EQ(r->HasDigest(), !c.digest.empty());
    // The canonical form parses back to the same value.
    auto again = ParseNormalizedNamed(c.canonical);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(*again, *r);
    // So does the familiar form, unless it reads as an image ID.
    if (IsIdentifier(c.familiar)) continue;
    auto fam = ParseNormalizedNamed(c.familiar);
    ASSERT_TRUE(fam) << fam.error().message;
    EXPECT_EQ(*fam, *r);
  }
}

struct ErrorCase {
  std::string input;
  std::string error;
};

std::vector<ErrorCase> InvalidNormalizedCases() {
  const std::string kFormat = "invalid reference format";
  return {
      {"", kFormat},
      {"https://github.com/docker/docker", kFormat},
      {"docker/Docker",
       "invalid reference format: repository name (docker/Docker) must be lowercase"},
      {"-docker", kFormat},
      {"-docker/docker", kFormat},
      {"-docker.io/docker/docker", kFormat},
      {"docker///docker", kFormat},
      {"docker.io/docker/Docker",
       "invalid reference format: repository name (docker/Docker) must be lowercase"},
      {"docker.io/docker///docker", kFormat},
      {"[fc00::1]", kFormat},
      {"[fc00::1]:5000", kFormat},
      {"fc00::1:5000/debian", kFormat},
      {"[fe80::1%eth0]:5000/debian", kFormat},
      {"[2001:db8:3:4::192.0.2.33]:5000/debian", kFormat},
      {"[fe80::1%@invalidzone]:5000/repo", kFormat},
      {kHex64,
       "invalid repository name (" + kHex64 + "), cannot specify 64-byte hexadecimal strings"},
      {kDbcc,
       "invalid repository name (" + kDbcc + "), cannot specify 64-byte hexadecimal strings"},
      {"docker-/docker", kFormat},
      {"-docker-/docker", kFormat},
      {"____/____", kFormat},
      {"_docker/_docker", kFormat},
      {"dock..er/docker", kFormat},
      {"dock_.er/docker", kFormat},
      {"dock-.er/docker", kFormat},
      {"dock___er/docker", kFormat},
      {"docker/", kFormat},
      {"this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_"
       "namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_"
       "lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_"
       "255/docker",
       "repository name must not be more than 255 characters"},
      {Repeat("a/", 128) + "a:tag", "repository name must not be more than 255 characters"},
      {"Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"},
      {"Uppercase:tag",
       "invalid reference format: repository name (library/Uppercase) must be lowercase"},
      {"test:5000/Uppercase/lowercase:tag",
       "invalid reference format: repository name (Uppercase/lowercase) must be lowercase"},
      {"localhost/Foo", "invalid reference format: repository name (Foo) must be lowercase"},
      {"1A3F5E7D9C1B3A5F7E9D1C3B5A7F9E1D3C5B7A9F1E3D5D7C9B1A3F5E7D9C1B3A",
       "invalid reference format: repository name "
       "(library/1A3F5E7D9C1B3A5F7E9D1C3B5A7F9E1D3C5B7A9F1E3D5D7C9B1A3F5E7D9C1B3A) must be "
       "lowercase"},
      {":justtag", kFormat},
      {"@sha256:" + kF64, kFormat},
      {"repo@sha256:" + std::string(34, 'f'), "invalid checksum digest length"},
      {"validname@invaliddigest:" + kF64, "unsupported digest algorithm"},
      {"busybox@sha256:" + std::string(64, 'F'), "invalid checksum digest format"},
      {"busybox@sha256:" + std::string(31, 'f'), kFormat},
      // Only the text before the first ":" is checked for capitals, "@SHA256" included.
      {"busybox@SHA256:" + kF64,
       "invalid reference format: repository name (library/busybox@SHA256) must be lowercase"},
      {"aa/asdf$$^/aa", kFormat},
      {"foo:bar:baz", kFormat},
      {"foo:bar/baz", kFormat},
      {"foo/bar:", kFormat},
      {"foo/bar@", kFormat},
      {"foo@bar@sha256:" + kF64, kFormat},
      {"foo bar", kFormat},
      {"busybox:" + std::string(129, 'a'), kFormat},
      {"busybox:-tag", kFormat},
      {"busybox:.tag", kFormat},
      {"busybox:tag@sha256:abc", kFormat},
      {"example.com./foo", kFormat},
      {"-example.com/foo", kFormat},
      {"example-.com/foo", kFormat},
      {"example.com:/foo", kFormat},
      {"f\xc3\xb6o", kFormat},  // "föo": lowercase already, but not ASCII
      // Go's strings.ToLower rewrites invalid UTF-8, so it counts as "not lowercase".
      {"foo\xff", "invalid reference format: repository name (library/foo\xff) must be lowercase"},
      {"foo/.bar", kFormat},
      {"foo/bar.", kFormat},
      {"foo/bar-", kFormat},
      {"foo//bar", kFormat},
      {"/foo", kFormat},
  };
}

TEST(ReferenceTest, ParseNormalizedNamedInvalid) {
  for (const auto& c : InvalidNormalizedCases()) {
    SCOPED_TRACE(c.input);
    auto r = ParseNormalizedNamed(c.input);
    ASSERT_FALSE(r) << "parsed as " << r->String();
    EXPECT_EQ(r.error().message, c.error);
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(ReferenceTest, TableHasAtLeastOneHundredCases) {
  EXPECT_GE(NormalizedCases().size() + InvalidNormalizedCases().size(), 100u);
}

struct StrictCase {
  std::string input;
  std::string error;  // empty: valid
  std::string domain;
  std::string name;
  std::string tag;
  std::string digest;
};

// distribution/reference Parse, no normalization (reference_test.go TestReferenceParse).
TEST(ReferenceTest, ParseReferenceStrict) {
  const std::string kFormat = "invalid reference format";
  std::vector<StrictCase> cases = {
      {"test_com", "", "", "test_com", "", ""},
      {"test.com:tag", "", "", "test.com", "tag", ""},
      {"test.com:5000", "", "", "test.com", "5000", ""},
      {"test.com/repo:tag", "", "test.com", "test.com/repo", "tag", ""},
      {"test:5000/repo", "", "test:5000", "test:5000/repo", "", ""},
      {"test:5000/repo:tag", "", "test:5000", "test:5000/repo", "tag", ""},
      {"test:5000/repo@sha256:" + kF64, "", "test:5000", "test:5000/repo", "", "sha256:" + kF64},
      {"", "repository name must have at least one component", "", "", "", ""},
      {":justtag", kFormat, "", "", "", ""},
      {"@sha256:" + kF64, kFormat, "", "", "", ""},
      {"repo@sha256:" + std::string(34, 'f'), "invalid checksum digest length", "", "", "", ""},
      {"validname@invaliddigest:" + kF64, "unsupported digest algorithm", "", "", "", ""},
      {"Uppercase:tag", "repository name must be lowercase", "", "", "", ""},
      {"test:5000/Uppercase/lowercase:tag", "repository name must be lowercase", "", "", "", ""},
      {"lowercase:Uppercase", "", "", "lowercase", "Uppercase", ""},
      // Only the path counts towards the 255 limit (distribution/reference v0.6).
      {"domain/" + std::string(256, 'a') + ":tag",
       "repository name must not be more than 255 characters", "", "", "", ""},
      {"example.com/" + std::string(255, 'a') + ":tag", "", "example.com",
       "example.com/" + std::string(255, 'a'), "tag", ""},
      {Repeat("a/", 128) + "a:tag", "", "a", Repeat("a/", 128) + "a", "tag", ""},
      {Repeat("a/", 127) + "a:tag-puts-this-over-max", "", "a", Repeat("a/", 127) + "a",
       "tag-puts-this-over-max", ""},
      {"aa/asdf$$^/aa", kFormat, "", "", "", ""},
      {"foo_bar.com:8080", "", "", "foo_bar.com", "8080", ""},
      {"foo/foo_bar.com:8080", "", "foo", "foo/foo_bar.com", "8080", ""},
      {"192.168.1.1", "", "", "192.168.1.1", "", ""},
      {"192.168.1.1:tag", "", "", "192.168.1.1", "tag", ""},
      {"192.168.1.1:5000/repo:5050", "", "192.168.1.1:5000", "192.168.1.1:5000/repo", "5050", ""},
      {"[2001:db8::1]", kFormat, "", "", "", ""},
      {"[2001:db8::1]:5000", kFormat, "", "", "", ""},
      {"[2001:db8::1]:tag", kFormat, "", "", "", ""},
      {"[2001:db8::1]/repo", "", "[2001:db8::1]", "[2001:db8::1]/repo", "", ""},
      {"[2001:db8::]:5000/repo", "", "[2001:db8::]:5000", "[2001:db8::]:5000/repo", "", ""},
      {"[fe80::1%eth0]:5000/repo", kFormat, "", "", "", ""},
      {"test.com:8000/foo:TAG5@sha256:" + kF64, "", "test.com:8000", "test.com:8000/foo", "TAG5",
       "sha256:" + kF64},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input);
    auto r = ParseReference(c.input);
    if (!c.error.empty()) {
      ASSERT_FALSE(r) << "parsed as " << r->String();
      EXPECT_EQ(r.error().message, c.error);
      continue;
    }
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->String(), c.input);
    EXPECT_EQ(r->Domain(), c.domain);
    EXPECT_EQ(r->Name(), c.name);
    EXPECT_EQ(r->Tag(), c.tag);
    EXPECT_EQ(r->Digest().str(), c.digest);
  }
}

TEST(ReferenceTest, FamiliarNameAndTagNameOnly) {
  auto r = ParseNormalizedNamed("docker.io/library/busybox");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->FamiliarName(), "busybox");
  EXPECT_TRUE(r->IsNameOnly());
  Reference tagged = TagNameOnly(*r);
  EXPECT_EQ(tagged.String(), "docker.io/library/busybox:latest");
  EXPECT_EQ(tagged.FamiliarString(), "busybox:latest");
  // A tag or digest stays as it is.
  auto t = ParseNormalizedNamed("busybox:1.36");
  ASSERT_TRUE(t);
  EXPECT_EQ(TagNameOnly(*t).String(), "docker.io/library/busybox:1.36");
  auto d = ParseNormalizedNamed("busybox@sha256:" + kDbcc);
  ASSERT_TRUE(d);
  EXPECT_EQ(TagNameOnly(*d).String(), "docker.io/library/busybox@sha256:" + kDbcc);
  EXPECT_EQ(TagNameOnly(*d).FamiliarName(), "busybox");
  auto q = ParseNormalizedNamed("quay.io/coreos/etcd");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->FamiliarName(), "quay.io/coreos/etcd");
  EXPECT_EQ(TagNameOnly(*q).FamiliarString(), "quay.io/coreos/etcd:latest");
}

TEST(ReferenceTest, ParseDockerRef) {
  struct {
    std::string in, out;
  } cases[] = {
      {"busybox", "docker.io/library/busybox:latest"},
      {"busybox:1.0", "docker.io/library/busybox:1.0"},
      {"busybox@sha256:" + kDbcc, "docker.io/library/busybox@sha256:" + kDbcc},
      {"busybox:latest@sha256:" + kDbcc, "docker.io/library/busybox@sha256:" + kDbcc},
      {"localhost:5000/x", "localhost:5000/x:latest"},
  };
  for (const auto& c : cases) {
    auto r = ParseDockerRef(c.in);
    ASSERT_TRUE(r) << c.in << ": " << r.error().message;
    EXPECT_EQ(r->String(), c.out) << c.in;
  }
}

TEST(ReferenceTest, ParseAnyReference) {
  auto id = ParseAnyReference(kDbcc);
  ASSERT_TRUE(id);
  EXPECT_FALSE(id->HasName());
  EXPECT_EQ(id->String(), "sha256:" + kDbcc);
  EXPECT_EQ(id->FamiliarString(), "sha256:" + kDbcc);
  auto dg = ParseAnyReference("sha256:" + kDbcc);
  ASSERT_TRUE(dg);
  EXPECT_EQ(*dg, *id);
  auto short_id = ParseAnyReference(kDbcc.substr(0, 63));
  ASSERT_TRUE(short_id);
  EXPECT_EQ(short_id->String(), "docker.io/library/" + kDbcc.substr(0, 63));
  auto name = ParseAnyReference("redis:latest");
  ASSERT_TRUE(name);
  EXPECT_EQ(name->String(), "docker.io/library/redis:latest");
}

TEST(ReferenceTest, WithTagAndDigest) {
  auto r = ParseNormalizedNamed("test.com:8000/foo");
  ASSERT_TRUE(r);
  auto t = r->WithTag("TAG5");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->String(), "test.com:8000/foo:TAG5");
  auto bad = r->WithTag("-foo");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "invalid tag format");
  EXPECT_FALSE(r->WithTag(std::string(129, 'a')));
  auto d = digest::Digest::Parse("sha256:" + kDbcc);
  ASSERT_TRUE(d);
  EXPECT_EQ(t->WithDigest(*d).String(), "test.com:8000/foo:TAG5@sha256:" + kDbcc);
  EXPECT_EQ(t->WithDigest(*d).NameOnly(), *r);
}

TEST(ReferenceTest, IdentifierAndTagPredicates) {
  EXPECT_TRUE(IsIdentifier(kDbcc));
  EXPECT_FALSE(IsIdentifier(kDbcc.substr(1)));
  EXPECT_FALSE(IsIdentifier(kDbcc + "0"));
  EXPECT_FALSE(IsIdentifier("1A3F5E7D9C1B3A5F7E9D1C3B5A7F9E1D3C5B7A9F1E3D5D7C9B1A3F5E7D9C1B3A"));
  EXPECT_TRUE(IsValidTag("v1.0-rc_1"));
  EXPECT_TRUE(IsValidTag(std::string(128, 'x')));
  EXPECT_FALSE(IsValidTag(std::string(129, 'x')));
  EXPECT_FALSE(IsValidTag(""));
  EXPECT_FALSE(IsValidTag(".x"));
  EXPECT_FALSE(IsValidTag("a/b"));
}

TEST(ReferenceTest, EqualityIsByValue) {
  auto a = ParseNormalizedNamed("ubuntu");
  auto b = ParseNormalizedNamed("docker.io/library/ubuntu");
  auto c = ParseNormalizedNamed("index.docker.io/ubuntu");
  auto d = ParseNormalizedNamed("ubuntu:latest");
  ASSERT_TRUE(a && b && c && d);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*a, *c);
  EXPECT_NE(*a, *d);
}

// SplitCanonical must agree with the full parser on every canonical form it accepts, and
// accept the forms the store writes.
TEST(ReferenceTest, SplitCanonicalAgreesWithParser) {
  std::vector<std::string> inputs;
  for (const auto& c : NormalizedCases()) {
    inputs.push_back(c.canonical);
    inputs.push_back(c.input);
  }
  for (const auto& c : InvalidNormalizedCases()) inputs.push_back(c.input);
  for (const char* extra :
       {"docker.io/library/busybox:latest", "docker.io/bench/app0001:latest",
        "docker.io/library/a/b:v1", "index.docker.io/library/busybox:latest",
        "docker.io/busybox:latest", "localhost/x", "localhost:5000/x/y:Tag_1.0", "[::1]:5000/x:1",
        "example.com/x@sha512:abc", "example.com/x:t@sha256:"}) {
    inputs.push_back(extra);
  }
  inputs.push_back("docker.io/library/busybox@sha256:" + kDbcc);
  inputs.push_back("quay.io/coreos/etcd:v3@sha256:" + kDbcc);
  int accepted = 0;
  for (const auto& in : inputs) {
    SCOPED_TRACE(in);
    auto split = SplitCanonical(in);
    auto full = ParseNormalizedNamed(in);
    if (!split) continue;
    ++accepted;
    if (!full) continue;  // not a validator: only stored (valid) references matter
    EXPECT_EQ(split->name, full->FamiliarName());
    EXPECT_EQ(split->tag, full->Tag());
    EXPECT_EQ(split->digest, full->Digest().str());
  }
  EXPECT_GE(accepted, 40);
  auto b = SplitCanonical("docker.io/library/busybox:latest");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->name, "busybox");
  EXPECT_EQ(b->tag, "latest");
  EXPECT_EQ(b->digest, "");
  // Not plainly canonical: the caller must parse in full.
  EXPECT_FALSE(SplitCanonical("busybox:latest"));
  EXPECT_FALSE(SplitCanonical("library/busybox"));
  EXPECT_FALSE(SplitCanonical("index.docker.io/library/busybox"));
  EXPECT_FALSE(SplitCanonical("docker.io/Library/busybox"));
  EXPECT_FALSE(SplitCanonical("docker.io/library/busybox:-x"));
}

}  // namespace
}  // namespace strata::image
