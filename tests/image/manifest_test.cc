#include "image/manifest.h"

#include <gtest/gtest.h>

#include "image/index.h"
#include "image/media_types.h"

namespace strata::image {
namespace {

const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');
const std::string kC = "sha256:" + std::string(64, 'c');

// Docker schema 2 as Go's encoding/json writes it (distribution's field order).
std::string DockerManifest() {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
         R"("config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1469,)"
         R"("digest":")" +
         kA +
         R"("},"layers":[{"mediaType":)"
         R"("application/vnd.docker.image.rootfs.diff.tar.gzip","size":2814446,"digest":")" +
         kB + R"("}]})";
}

// OCI with fields strata does not know, at every level, and HTML-escaped text.
std::string OciManifestWithExtras() {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
         R"("x-first":{"z":1,"a":[1.5,"\u003c\u0026\u003e"]},)"
         R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         kA +
         R"(","size":7,"x-desc":true},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd",)"
         R"("digest":")" +
         kB +
         R"(","size":10,"annotations":{"b":"2","a":"1"},)"
         R"("platform":{"architecture":"arm64","os":"linux","variant":"v8","x-p":null}}],)"
         R"("annotations":{"org.opencontainers.image.created":"2024-01-01T00:00:00Z"},"x-last":[]})";
}

TEST(ManifestTest, DockerRoundTripIsByteExact) {
  auto m = Manifest::Parse(DockerManifest());
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->schema_version, 2);
  EXPECT_EQ(m->media_type, media_type::kDockerManifest);
  EXPECT_EQ(m->config.media_type, media_type::kDockerConfig);
  EXPECT_EQ(m->config.size, 1469);
  EXPECT_EQ(m->config.digest.str(), kA);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].size, 2814446);
  EXPECT_EQ(m->Marshal(), DockerManifest());
}

TEST(ManifestTest, BuiltFromScratchMatchesGoOutput) {
  Manifest m;
  m.media_type = std::string(media_type::kDockerManifest);
  m.config.media_type = std::string(media_type::kDockerConfig);
  m.config.size = 1469;
  m.config.digest = *digest::Digest::Parse(kA);
  Descriptor l;
  l.media_type = std::string(media_type::kDockerLayerGzip);
  l.size = 2814446;
  l.digest = *digest::Digest::Parse(kB);
  m.layers.push_back(l);
  EXPECT_EQ(m.Marshal(), DockerManifest());
  // Equal by value to the parsed one even though only that one has a source.
  EXPECT_EQ(m, *Manifest::Parse(DockerManifest()));

  Manifest oci;
  oci.media_type = std::string(media_type::kOciManifest);
  oci.config = DescriptorFor(media_type::kOciConfig, "{}");
  oci.annotations["b"] = "2";
  oci.annotations["a"] = "<&>";
  EXPECT_EQ(oci.Marshal(),
            R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
            R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":)"
            R"("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",)"
            R"("size":2},"layers":[],"annotations":{"a":"\u003c\u0026\u003e","b":"2"}})");
}

TEST(ManifestTest, UnknownFieldsSurviveRoundTripAndEdits) {
  auto m = Manifest::Parse(OciManifestWithExtras());
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->Marshal(), OciManifestWithExtras());
  EXPECT_EQ(m->extra.size(), 2u);
  EXPECT_TRUE(m->config.extra.contains("x-desc"));
  ASSERT_TRUE(m->layers[0].platform);
  EXPECT_EQ(m->layers[0].platform->architecture, "arm64");
  EXPECT_EQ(m->layers[0].annotations.at("a"), "1");
  EXPECT_EQ(media_type::LayerCompression(m->layers[0].media_type), media_type::Compression::kZstd);

  // An edit changes only the edited value; everything else stays where it was.
  Manifest edited = *m;
  edited.layers[0].size = 11;
  std::string want = OciManifestWithExtras();
  want.replace(want.find("\"size\":10"), 9, "\"size\":11");
  EXPECT_EQ(edited.Marshal(), want);
  EXPECT_NE(edited, *m);
  // Re-parsing what we wrote gives the same value.
  EXPECT_EQ(*Manifest::Parse(edited.Marshal()), edited);
}

struct BadCase {
  std::string doc;
  std::string expected_media_type;
  ErrorCode code;
  std::string message;
};

TEST(ManifestTest, ValidationFailures) {
  const std::string cfg = R"({"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                          kA + R"(","size":2})";
  std::vector<BadCase> cases = {
      {"not json", "", ErrorCode::kInvalidArgument, ""},
      {"[]", "", ErrorCode::kInvalidArgument, "invalid manifest: not a JSON object"},
      {R"({"config":)" + cfg + R"(,"layers":[]})", "", ErrorCode::kInvalidArgument,
       "manifest: missing schemaVersion"},
      {R"({"schemaVersion":1,"name":"x","fsLayers":[]})", "", ErrorCode::kUnimplemented,
       "manifest: Docker schema 1 manifests are not supported"},
      {R"({"schemaVersion":3,"config":)" + cfg + R"(,"layers":[]})", "",
       ErrorCode::kInvalidArgument, "manifest: unsupported schemaVersion 3"},
      {R"({"schemaVersion":"2","config":)" + cfg + R"(,"layers":[]})", "",
       ErrorCode::kInvalidArgument, "manifest.schemaVersion: expected an integer"},
      {R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":)" +
           cfg + R"(,"layers":[]})",
       "", ErrorCode::kInvalidArgument,
       "manifest: unexpected mediaType \"application/vnd.oci.image.index.v1+json\""},
      {R"({"schemaVersion":2,"config":)" + cfg + R"(,"layers":[],"manifests":[]})", "",
       ErrorCode::kInvalidArgument, "manifest: has a \"manifests\" field; is this an index?"},
      {R"({"schemaVersion":2,"layers":[]})", "", ErrorCode::kInvalidArgument,
       "manifest: missing config"},
      {R"({"schemaVersion":2,"config":)" + cfg + "}", "", ErrorCode::kInvalidArgument,
       "manifest: missing layers"},
      {R"({"schemaVersion":2,"config":)" + cfg + R"(,"layers":{}})", "",
       ErrorCode::kInvalidArgument, "manifest.layers: expected an array"},
      {R"({"schemaVersion":2,"config":)" + cfg +
           R"(,"layers":[{"mediaType":"x","digest":"sha256:abc","size":1}]})",
       "", ErrorCode::kInvalidArgument,
       "manifest.layers[0].digest: invalid digest \"sha256:abc\": invalid checksum digest format"},
      {R"({"schemaVersion":2,"config":)" + cfg + R"(,"layers":[{"mediaType":"x","digest":")" + kB +
           R"(","size":-1}]})",
       "", ErrorCode::kInvalidArgument, "manifest.layers[0].size: negative size -1"},
      {R"({"schemaVersion":2,"config":)" + cfg + R"(,"layers":[{"mediaType":"x","digest":")" + kB +
           R"("}]})",
       "", ErrorCode::kInvalidArgument, "manifest.layers[0]: missing size"},
      {R"({"schemaVersion":2,"config":{"digest":")" + kA + R"(","size":2},"layers":[]})", "",
       ErrorCode::kInvalidArgument, "manifest.config: missing mediaType"},
      {R"({"schemaVersion":2,"config":)" + cfg + R"(,"layers":[],"annotations":{"a":1}})", "",
       ErrorCode::kInvalidArgument, "manifest.annotations: expected an object of strings"},
      // The referring descriptor's media type must agree with the document.
      {R"({"schemaVersion":2,"config":)" + cfg + R"(,"layers":[]})",
       std::string(media_type::kDockerManifest), ErrorCode::kInvalidArgument,
       "manifest: missing mediaType (expected "
       "\"application/vnd.docker.distribution.manifest.v2+json\")"},
      {DockerManifest(), std::string(media_type::kOciManifest), ErrorCode::kInvalidArgument,
       "manifest: mediaType \"application/vnd.docker.distribution.manifest.v2+json\" does not "
       "match expected \"application/vnd.oci.image.manifest.v1+json\""},
      {DockerManifest(), std::string(media_type::kOciIndex), ErrorCode::kInvalidArgument,
       "manifest: expected media type \"application/vnd.oci.image.index.v1+json\" is not a "
       "manifest type"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.doc);
    auto m = Manifest::Parse(c.doc, c.expected_media_type);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code, c.code);
    if (!c.message.empty()) {
      EXPECT_EQ(m.error().message, c.message);
    }
  }
  // OCI manifests may omit mediaType, also when the descriptor names the OCI type.
  EXPECT_TRUE(Manifest::Parse(R"({"schemaVersion":2,"config":)" + cfg + R"(,"layers":[]})",
                              media_type::kOciManifest));
}

TEST(ManifestTest, DetectMediaType) {
  EXPECT_EQ(*DetectMediaType(DockerManifest()), media_type::kDockerManifest);
  EXPECT_EQ(*DetectMediaType(R"({"schemaVersion":2,"manifests":[]})"), media_type::kOciIndex);
  EXPECT_EQ(*DetectMediaType(R"({"schemaVersion":2,"config":{},"layers":[]})"),
            media_type::kOciManifest);
  EXPECT_EQ(*DetectMediaType(R"({"schemaVersion":1,"signatures":[]})"),
            media_type::kDockerSchema1SignedManifest);
  EXPECT_FALSE(DetectMediaType(R"({"schemaVersion":2})"));
}

std::string DockerList() {
  auto entry = [](const std::string& d, const std::string& platform) {
    return R"({"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":528,)"
           R"("digest":")" +
           d + R"(","platform":)" + platform + "}";
  };
  return R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",)"
         R"("manifests":[)" +
         entry(kA, R"({"architecture":"amd64","os":"linux"})") + "," +
         entry(kB, R"({"architecture":"arm","os":"linux","variant":"v6"})") + "," +
         entry(kC, R"({"architecture":"arm64","os":"linux","variant":"v8","features":["x"]})") +
         "]}";
}

TEST(IndexTest, DockerListRoundTripAndFields) {
  auto idx = Index::Parse(DockerList(), media_type::kDockerManifestList);
  ASSERT_TRUE(idx) << idx.error().message;
  ASSERT_EQ(idx->manifests.size(), 3u);
  ASSERT_TRUE(idx->manifests[2].platform);
  EXPECT_EQ(idx->manifests[2].platform->variant, "v8");
  EXPECT_TRUE(idx->manifests[2].platform->extra.contains("features"));
  EXPECT_EQ(idx->Marshal(), DockerList());
}

TEST(IndexTest, SelectsBestPlatform) {
  auto idx = Index::Parse(DockerList());
  ASSERT_TRUE(idx);
  auto select = [&](const char* spec) -> std::string {
    auto p = ParsePlatform(spec);
    EXPECT_TRUE(p) << spec;
    const Descriptor* d = idx->Select(PlatformMatcher(*p));
    return d ? d->digest.str() : "none";
  };
  EXPECT_EQ(select("linux/amd64"), kA);
  EXPECT_EQ(select("linux/arm64"), kC);
  EXPECT_EQ(select("linux/arm64/v8"), kC);
  EXPECT_EQ(select("linux/arm/v7"), kB);  // v7 runs v6
  EXPECT_EQ(select("linux/arm/v5"), "none");
  EXPECT_EQ(select("windows/amd64"), "none");
  EXPECT_EQ(select("linux/386"), "none");
  // Strict matching does not fall back to older variants.
  auto v7 = ParsePlatform("linux/arm/v7");
  EXPECT_EQ(idx->Select(PlatformMatcher::Strict(*v7)), nullptr);
}

TEST(IndexTest, PrefersBetterRankThenIndexOrder) {
  Index idx;
  idx.media_type = std::string(media_type::kOciIndex);
  auto add = [&](const std::string& d, const char* arch, const char* variant) {
    Descriptor m = DescriptorFor(media_type::kOciManifest, d);
    m.platform = Platform{};
    m.platform->os = "linux";
    m.platform->architecture = arch;
    m.platform->variant = variant;
    idx.manifests.push_back(m);
  };
  add("386", "386", "");
  add("amd64-v1", "amd64", "");
  add("amd64-v1-dup", "amd64", "v1");
  add("amd64-v2", "amd64", "v2");
  auto v3 = ParsePlatform("linux/amd64/v3");
  ASSERT_TRUE(v3);
  EXPECT_EQ(SelectManifest(idx.manifests, PlatformMatcher(*v3)), 3u);
  auto v1 = ParsePlatform("linux/amd64");
  EXPECT_EQ(SelectManifest(idx.manifests, PlatformMatcher(*v1)), 1u);
  auto i386 = ParsePlatform("linux/386");
  EXPECT_EQ(SelectManifest(idx.manifests, PlatformMatcher(*i386)), 0u);
  // Round trip of an index built from scratch.
  auto parsed = Index::Parse(idx.Marshal());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, idx);
}

TEST(IndexTest, ValidationFailures) {
  auto e1 = Index::Parse(DockerManifest());
  ASSERT_FALSE(e1);
  EXPECT_EQ(e1.error().message,
            "index: unexpected mediaType \"application/vnd.docker.distribution.manifest.v2+json\"");
  auto e2 = Index::Parse(R"({"schemaVersion":2,"manifests":[],"layers":[]})");
  ASSERT_FALSE(e2);
  EXPECT_EQ(e2.error().message, "index: has \"config\" or \"layers\" fields; is this a manifest?");
  auto e3 = Index::Parse(R"({"schemaVersion":2})");
  ASSERT_FALSE(e3);
  EXPECT_EQ(e3.error().message, "index: missing manifests");
  auto e4 = Index::Parse(
      R"({"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"md5:00","size":1}]})");
  ASSERT_FALSE(e4);
  EXPECT_EQ(e4.error().message,
            "index.manifests[0].digest: invalid digest \"md5:00\": unsupported algorithm \"md5\"");
  auto e5 = Index::Parse(R"({"schemaVersion":2,"manifests":[{"mediaType":"x","digest":")" + kA +
                         R"(","size":1,"platform":{"os":7}}]})");
  ASSERT_FALSE(e5);
  EXPECT_EQ(e5.error().message, "index.manifests[0].platform.os: expected a string");
  EXPECT_TRUE(Index::Parse(R"({"schemaVersion":2,"manifests":[]})"));
}

}  // namespace
}  // namespace strata::image
