#include "registry/hosts.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "util/ascii.h"
#include "util/fs.h"

namespace strata::registry {

namespace fs = std::filesystem;

std::vector<std::string> DefaultCertsDirs() {
  std::vector<std::string> dirs = {"/etc/docker/certs.d"};
  if (::geteuid() == 0) {
    dirs.push_back("/etc/strata/certs.d");
  } else if (const char* x = std::getenv("XDG_CONFIG_HOME"); x != nullptr && *x != '\0') {
    dirs.push_back(std::string(x) + "/strata/certs.d");
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    dirs.push_back(std::string(home) + "/.config/strata/certs.d");
  }
  return dirs;
}

std::string RegistryHostFor(std::string_view domain) {
  if (domain == kDockerHubDomain || domain == "index.docker.io") {
    return std::string(kDockerHubRegistryHost);
  }
  return std::string(domain);
}

namespace {

bool IsHubHost(std::string_view host) {
  return host == kDockerHubDomain || host == "index.docker.io" || host == kDockerHubRegistryHost;
}

// host[:port] -> host (brackets of an IPv6 literal removed).
std::string HostOnly(std::string_view hostport) {
  if (!hostport.empty() && hostport.front() == '[') {
    auto close = hostport.find(']');
    return std::string(
        hostport.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  if (std::count(hostport.begin(), hostport.end(), ':') > 1) return std::string(hostport);
  return std::string(hostport.substr(0, hostport.find(':')));
}

std::string StripScheme(std::string_view s) {
  std::string lower = AsciiLower(s);
  if (lower.starts_with("http://")) return std::string(s.substr(7));
  if (lower.starts_with("https://")) return std::string(s.substr(8));
  return std::string(s);
}

}  // namespace

Result<RegistryHosts> RegistryHosts::Load(HostsOptions options) {
  RegistryHosts h;
  h.options_ = std::move(options);
  if (h.options_.certs_dirs.empty()) h.options_.certs_dirs = DefaultCertsDirs();
  if (h.options_.daemon_config.empty()) return h;
  auto text = ReadFile(h.options_.daemon_config, 4 << 20);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) return h;
    return std::move(text).error();
  }
  const std::string& path = h.options_.daemon_config;
  nlohmann::json doc = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgument("unable to configure the registries from " + path +
                           ": invalid JSON object");
  }
  auto strings = [&](const char* key) -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) return out;
    if (!it->is_array()) return InvalidArgument(path + ": " + key + " must be a list of strings");
    for (const auto& v : *it) {
      if (!v.is_string()) return InvalidArgument(path + ": " + key + " must be a list of strings");
      out.push_back(v.get<std::string>());
    }
    return out;
  };
  STRATA_ASSIGN_OR_RETURN(auto insecure, strings("insecure-registries"));
  for (const auto& e : insecure) STRATA_TRY_CTX(h.AddInsecureRegistry(e), path);
  STRATA_ASSIGN_OR_RETURN(auto mirrors, strings("registry-mirrors"));
  for (const auto& m : mirrors) STRATA_TRY_CTX(h.AddMirror(kDockerHubDomain, m), path);
  return h;
}

Status RegistryHosts::AddInsecureRegistry(std::string_view entry) {
  std::string e = StripScheme(entry);
  while (!e.empty() && e.back() == '/') e.pop_back();
  if (e.empty() || e.find('/') != std::string::npos) {
    if (auto slash = e.find('/'); slash != std::string::npos) {
      std::string addr = e.substr(0, slash);
      char* end = nullptr;
      long bits = std::strtol(e.c_str() + slash + 1, &end, 10);
      Cidr c{};
      c.bits = static_cast<int>(bits);
      bool ok = end != nullptr && *end == '\0' && slash + 1 < e.size();
      if (ok && inet_pton(AF_INET, addr.c_str(), c.addr) == 1) {
        c.v6 = false;
        ok = bits >= 0 && bits <= 32;
      } else if (ok && inet_pton(AF_INET6, addr.c_str(), c.addr) == 1) {
        c.v6 = true;
        ok = bits >= 0 && bits <= 128;
      } else {
        ok = false;
      }
      if (ok) {
        insecure_cidrs_.push_back(c);
        return Ok();
      }
    }
    return InvalidArgument("insecure registry " + std::string(entry) + " is not valid");
  }
  insecure_names_.push_back(e);
  return Ok();
}

Status RegistryHosts::AddMirror(std::string_view domain, std::string_view url) {
  auto parts = ParseUrl(url);
  if (!parts || (parts->scheme != "http" && parts->scheme != "https") ||
      std::string_view(url).find("://") == std::string_view::npos) {
    return InvalidArgument("invalid mirror: \"" + RedactUrl(url) +
                           "\" is not a valid URI: unsupported scheme");
  }
  if (std::string_view(url).find('@') != std::string_view::npos ||
      parts->path_and_query.find('?') != std::string::npos) {
    return InvalidArgument("invalid mirror: \"" + RedactUrl(url) +
                           "\" must not contain credentials or a query");
  }
  std::string u(url);
  while (u.size() > 1 && u.back() == '/') u.pop_back();
  mirrors_[RegistryHostFor(domain)].push_back(u);
  return Ok();
}

const std::vector<std::string>& RegistryHosts::Mirrors(std::string_view domain) const {
  static const std::vector<std::string> kNone;
  auto it = mirrors_.find(RegistryHostFor(domain));
  return it == mirrors_.end() ? kNone : it->second;
}

namespace {

bool InCidr(const unsigned char* addr, bool v6, const unsigned char* net, int bits, bool net_v6) {
  if (v6 != net_v6) return false;
  int full = bits / 8, rest = bits % 8;
  if (std::memcmp(addr, net, full) != 0) return false;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (addr[full] & mask) == (net[full] & mask);
}

struct Addr {
  unsigned char b[16];
  bool v6;
};

// The addresses of a host: the literal itself, or what the resolver says (dockerd looks
// the name up too). A name that does not resolve has no addresses, hence is secure.
std::vector<Addr> Addresses(const std::string& host) {
  std::vector<Addr> out;
  Addr a{};
  if (inet_pton(AF_INET, host.c_str(), a.b) == 1) {
    a.v6 = false;
    out.push_back(a);
    return out;
  }
  if (inet_pton(AF_INET6, host.c_str(), a.b) == 1) {
    a.v6 = true;
    // An IPv4-mapped address counts as the IPv4 address, as Go's net.IP does.
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a.b, kMapped, 12) == 0) {
      std::memmove(a.b, a.b + 12, 4);
      a.v6 = false;
    }
    out.push_back(a);
    return out;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return out;
  for (addrinfo* p = res; p != nullptr; p = p->ai_next) {
    Addr x{};
    if (p->ai_family == AF_INET) {
      std::memcpy(x.b, &reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr, 4);
      x.v6 = false;
    } else if (p->ai_family == AF_INET6) {
      std::memcpy(x.b, &reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr, 16);
      x.v6 = true;
    } else {
      continue;
    }
    out.push_back(x);
  }
  freeaddrinfo(res);
  return out;
}

}  // namespace

bool RegistryHosts::IsInsecure(std::string_view hostport) const {
  if (IsHubHost(hostport)) return false;  // the official index is always secure
  for (const auto& n : insecure_names_) {
    if (n == hostport) return true;
  }
  std::string host = HostOnly(hostport);
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  static const unsigned char kLoop4[4] = {127, 0, 0, 0};
  static const unsigned char kLoop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  for (const Addr& a : Addresses(host)) {
    if (InCidr(a.b, a.v6, kLoop4, 8, false) || InCidr(a.b, a.v6, kLoop6, 128, true)) return true;
    for (const Cidr& c : insecure_cidrs_) {
      if (InCidr(a.b, a.v6, c.addr, c.bits, c.v6)) return true;
    }
  }
  return false;
}

Result<TlsConfig> RegistryHosts::TlsFor(std::string_view hostport) const {
  TlsConfig tls;
  tls.verify = !IsInsecure(hostport);
  for (const auto& base : options_.certs_dirs) {
    fs::path dir = fs::path(base) / std::string(hostport);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> files;
    for (const auto& ent : fs::directory_iterator(dir, ec)) files.push_back(ent.path());
    if (ec) return ErrnoError("read " + dir.string(), ec.value());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::string ext = f.extension().string();
      fs::path stem = f;
      if (ext == ".crt") {
        tls.ca_files.push_back(f.string());
      } else if (ext == ".cert") {
        fs::path key = stem.replace_extension(".key");
        if (!fs::exists(key, ec)) {
          return FailedPrecondition("missing key " + key.filename().string() +
                                    " for client certificate " + f.filename().string() +
                                    ". CA certificates must use the extension .crt");
        }
        if (tls.client_cert.empty()) {
          tls.client_cert = f.string();
          tls.client_key = key.string();
        }
      } else if (ext == ".key") {
        fs::path cert = stem.replace_extension(".cert");
        if (!fs::exists(cert, ec)) {
          return FailedPrecondition("missing client certificate " + cert.filename().string() +
                                    " for key " + f.filename().string());
        }
      }
    }
  }
  return tls;
}

Result<std::vector<Endpoint>> RegistryHosts::Endpoints(std::string_view domain) const {
  std::vector<Endpoint> out;
  std::string host = RegistryHostFor(domain);
  for (const auto& m : Mirrors(host)) {
    STRATA_ASSIGN_OR_RETURN(UrlParts p, ParseUrl(m));
    Endpoint e;
    e.scheme = p.scheme;
    e.host = p.HostPort();
    e.path = p.path_and_query == "/" ? "" : p.path_and_query;
    while (!e.path.empty() && e.path.back() == '/') e.path.pop_back();
    e.mirror = true;
    if (e.scheme == "https") {
      STRATA_ASSIGN_OR_RETURN(e.tls, TlsFor(e.host));
    }
    out.push_back(std::move(e));
  }
  Endpoint origin;
  origin.scheme = "https";
  origin.host = host;
  STRATA_ASSIGN_OR_RETURN(origin.tls, TlsFor(host));
  bool insecure = !origin.tls.verify;
  out.push_back(origin);
  if (insecure) {
    Endpoint plain;
    plain.scheme = "http";
    plain.host = host;
    out.push_back(std::move(plain));
  }
  return out;
}

}  // namespace strata::registry
