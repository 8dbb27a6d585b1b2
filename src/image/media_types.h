// Media types of OCI image spec v1.1 and Docker image manifest v2 (schema 2, manifest list,
// schema 1), plus predicates that group them by role.
#pragma once

#include <string_view>

namespace strata::image::media_type {

// OCI image spec (specs-go/v1/mediatype.go).
inline constexpr std::string_view kOciDescriptor = "application/vnd.oci.descriptor.v1+json";
inline constexpr std::string_view kOciLayoutHeader = "application/vnd.oci.layout.header.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciEmptyJson = "application/vnd.oci.empty.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kOciLayerNonDistributable =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr std::string_view kOciLayerNonDistributableGzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view kOciLayerNonDistributableZstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

// Docker distribution (manifest/schema2, manifest/manifestlist, manifest/schema1).
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerLayerZstd =
    "application/vnd.docker.image.rootfs.diff.tar.zstd";
inline constexpr std::string_view kDockerForeignLayer =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
inline constexpr std::string_view kDockerPluginConfig = "application/vnd.docker.plugin.v1+json";
inline constexpr std::string_view kDockerSchema1Manifest =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1SignedManifest =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

inline bool IsManifest(std::string_view mt) { return mt == kOciManifest || mt == kDockerManifest; }
inline bool IsIndex(std::string_view mt) { return mt == kOciIndex || mt == kDockerManifestList; }
inline bool IsConfig(std::string_view mt) { return mt == kOciConfig || mt == kDockerConfig; }
inline bool IsSchema1(std::string_view mt) {
  return mt == kDockerSchema1Manifest || mt == kDockerSchema1SignedManifest;
}
inline bool IsDocker(std::string_view mt) {
  return mt.substr(0, 16) == "application/vnd." && mt.find("vnd.docker.") != std::string_view::npos;
}

// Layer compression as told by the media type.
enum class Compression { kNone, kGzip, kZstd, kUnknown };

inline bool IsLayer(std::string_view mt) {
  return mt == kOciLayer || mt == kOciLayerGzip || mt == kOciLayerZstd ||
         mt == kOciLayerNonDistributable || mt == kOciLayerNonDistributableGzip ||
         mt == kOciLayerNonDistributableZstd || mt == kDockerLayer || mt == kDockerLayerGzip ||
         mt == kDockerLayerZstd || mt == kDockerForeignLayer;
}
// Non-distributable ("foreign") layers are not pushed; registries serve them from urls.
inline bool IsNonDistributable(std::string_view mt) {
  return mt == kOciLayerNonDistributable || mt == kOciLayerNonDistributableGzip ||
         mt == kOciLayerNonDistributableZstd || mt == kDockerForeignLayer;
}
inline Compression LayerCompression(std::string_view mt) {
  if (mt == kOciLayer || mt == kOciLayerNonDistributable || mt == kDockerLayer) {
    return Compression::kNone;
  }
  if (mt == kOciLayerGzip || mt == kOciLayerNonDistributableGzip || mt == kDockerLayerGzip ||
      mt == kDockerForeignLayer) {
    return Compression::kGzip;
  }
  if (mt == kOciLayerZstd || mt == kOciLayerNonDistributableZstd || mt == kDockerLayerZstd) {
    return Compression::kZstd;
  }
  return Compression::kUnknown;
}

}  // namespace strata::image::media_type
