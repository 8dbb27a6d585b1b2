// Per-registry connection settings as dockerd computes them: Docker Hub's name mapping,
// TLS from certs.d directories, insecure registries (plain HTTP fallback) and mirrors.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "registry/http.h"
#include "util/result.h"

namespace strata::registry {

// docker.io and index.docker.io, the names references use for Docker Hub.
inline constexpr std::string_view kDockerHubDomain = "docker.io";
// Where Docker Hub's registry API is served.
inline constexpr std::string_view kDockerHubRegistryHost = "registry-1.docker.io";

// One place to try for a registry's API.
struct Endpoint {
  std::string scheme;  // "https" or "http"
  std::string host;    // host[:port] as in URLs ("registry-1.docker.io", "[::1]:5000")
  std::string path;    // URL path prefix of a mirror ("" for an origin)
  bool mirror = false;
  TlsConfig tls;

  // scheme://host[path], no trailing slash; API paths are appended ("/v2/...").
  std::string BaseUrl() const { return scheme + "://" + host + path; }
  bool operator==(const Endpoint&) const = default;
};

struct HostsOptions {
  // certs.d-style directories searched in order for <host[:port]>/{*.crt,*.cert,*.key}:
  // docker's /etc/docker/certs.d and strata's own (DefaultCertsDirs()).
  std::vector<std::string> certs_dirs;
  // dockerd-style daemon.json with `insecure-registries` and `registry-mirrors`; empty or
  // missing means none.
  std::string daemon_config;
};

// /etc/docker/certs.d, then <strata config dir>/certs.d ($XDG_CONFIG_HOME/strata or
// ~/.config/strata, /etc/strata as root).
std::vector<std::string> DefaultCertsDirs();

// The host that serves a reference's domain: docker.io and index.docker.io become
// registry-1.docker.io, anything else is returned as is.
std::string RegistryHostFor(std::string_view domain);

class RegistryHosts {
 public:
  // Reads the daemon config (if any). Certificate directories are read when asked.
  static Result<RegistryHosts> Load(HostsOptions options);
  RegistryHosts() = default;

  // Settings given directly (tests, flags). Entries of `insecure` are host[:port] names or
  // CIDRs; an http:// or https:// prefix is dropped as dockerd does.
  Status AddInsecureRegistry(std::string_view entry);
  // A mirror URL ("https://mirror.example.com" or with a path prefix) for `domain`;
  // daemon.json's registry-mirrors are Docker Hub's.
  Status AddMirror(std::string_view domain, std::string_view url);

  // Whether plain HTTP (and unverified TLS) is allowed for host[:port]: loopback
  // addresses (127.0.0.0/8, ::1, localhost) always, then the insecure list by name or by
  // the CIDRs matching the host's addresses.
  bool IsInsecure(std::string_view host) const;

  // TLS settings for an https connection to host[:port]: CA files and a client pair from
  // the certs directories (a .cert without its .key, or the reverse, is an error as in
  // docker); verification off only for insecure registries.
  Result<TlsConfig> TlsFor(std::string_view host) const;

  // The endpoints to try, in order, for a reference's domain: its mirrors, then the origin
  // over https, then the origin over http when the registry is insecure (dockerd's
  // lookupV2Endpoints; strata allows mirrors for any registry, not only Docker Hub).
  Result<std::vector<Endpoint>> Endpoints(std::string_view domain) const;

  const std::vector<std::string>& Mirrors(std::string_view domain) const;

 private:
  struct Cidr {
    unsigned char addr[16];
    int bits;
    bool v6;
  };
  HostsOptions options_;
  std::vector<std::string> insecure_names_;
  std::vector<Cidr> insecure_cidrs_;
  std::map<std::string, std::vector<std::string>> mirrors_;
};

}  // namespace strata::registry
