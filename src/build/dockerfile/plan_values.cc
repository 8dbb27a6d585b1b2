#include "build/dockerfile/plan_values.h"

#include <algorithm>
#include <regex>

#include "build/dockerfile/dockerignore.h"
#include "build/dockerfile/go_compat.h"

namespace strata::dockerfile {

namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*
bool ValidPathComponent(std::string_view s) {
  size_t i = 0;
  auto alnums = [&] {
    size_t start = i;
    while (i < s.size() && IsLowerAlnum(s[i])) ++i;
    return i > start;
  };
  if (!alnums()) return false;
  while (i < s.size()) {
    if (s[i] == '.' || s[i] == '_') {
      if (s.substr(i, 2) == "__") {
        i += 2;
      } else {
        ++i;
      }
    } else if (s[i] == '-') {
      while (i < s.size() && s[i] == '-') ++i;
    } else {
      return false;
    }
    if (!alnums()) return false;
  }
  return true;
}

bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

// (?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]) joined by '.', then an optional :port.
bool ValidDomain(std::string_view s) {
  size_t colon = s.find(':');
  std::string_view host = s.substr(0, colon);
  if (colon != std::string_view::npos) {
    std::string_view port = s.substr(colon + 1);
    if (port.empty() ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
  }
  if (host.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    std::string_view label = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || !IsAlnum(label.front()) || !IsAlnum(label.back())) return false;
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool ValidTag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) { return IsAlnum(c) || c == '_'; };
  if (!word(t[0])) return false;
  for (char c : t) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

bool ValidDigest(std::string_view d) {
  static const std::regex re(
      "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}");
  return std::regex_match(d.begin(), d.end(), re);
}

Error BadFormat() { return InvalidArgument("invalid reference format"); }

}  // namespace

Result<std::string> NormalizeImageReference(std::string_view s) {
  // A bare 64-hex string would be an image ID, which FROM does not take as a name.
  if (s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      })) {
    return InvalidArgument("invalid repository name (" + std::string(s) +
                           "), cannot specify 64-byte hexadecimal strings");
  }
  // splitDockerDomain
  std::string domain;
  std::string remainder;
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) {
    domain = "docker.io";
    remainder = std::string(s);
  } else {
    std::string_view first = s.substr(0, slash);
    bool is_domain =
        first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
        first == "localhost" ||
        std::any_of(first.begin(), first.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
    if (is_domain) {
      domain = std::string(first);
      remainder = std::string(s.substr(slash + 1));
    } else {
      domain = "docker.io";
      remainder = std::string(s);
    }
  }
  if (domain == "index.docker.io") domain = "docker.io";
  if (domain == "docker.io" && remainder.find('/') == std::string::npos) {
    remainder = "library/" + remainder;
  }
  std::string remote_name = remainder.substr(0, remainder.find(':'));
  if (std::any_of(remote_name.begin(), remote_name.end(),
                  [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return InvalidArgument("invalid reference format: repository name must be lowercase");
  }
  // Split off @digest, then :tag (after the last '/').
  std::string rest = remainder;
  std::string digest;
  size_t at = rest.find('@');
  if (at != std::string::npos) {
    digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (!ValidDigest(digest)) return BadFormat();
  }
  std::string tag;
  size_t last_slash = rest.rfind('/');
  size_t colon = rest.find(':', last_slash == std::string::npos ? 0 : last_slash);
  if (colon != std::string::npos) {
    tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (!ValidTag(tag)) return BadFormat();
  }
  if (!ValidDomain(domain)) return BadFormat();
  size_t start = 0;
  while (true) {
    size_t sl = rest.find('/', start);
    std::string_view comp =
        std::string_view(rest).substr(start, sl == std::string::npos ? sl : sl - start);
    if (!ValidPathComponent(comp)) return BadFormat();
    if (sl == std::string::npos) break;
    start = sl + 1;
  }
  std::string name = domain + "/" + rest;
  if (name.size() > 255) {
    return InvalidArgument("repository name must not be more than 255 characters");
  }
  if (tag.empty() && digest.empty()) tag = "latest";
  std::string out = name;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

Status ValidateStopSignal(std::string_view raw) {
  auto bad = [&] { return InvalidArgument("Invalid signal: " + std::string(raw)); };
  if (auto n = go::ParseInt(raw, 64)) {
    if (*n == 0) return bad();
    return Ok();
  }
  std::string up(raw);
  for (char& c : up) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  if (up.rfind("SIG", 0) == 0) up = up.substr(3);
  static const char* kNames[] = {
      "ABRT", "ALRM",   "BUS",  "CHLD",   "CLD",   "CONT", "FPE",  "HUP",   "ILL",
      "INT",  "IO",     "IOT",  "KILL",   "PIPE",  "POLL", "PROF", "PWR",   "QUIT",
      "SEGV", "STKFLT", "STOP", "SYS",    "TERM",  "TRAP", "TSTP", "TTIN",  "TTOU",
      "URG",  "USR1",   "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX"};
  for (const char* n : kNames) {
    if (up == n) return Ok();
  }
  for (int i = 1; i <= 15; ++i) {
    if (up == "RTMIN+" + std::to_string(i) || up == "RTMAX-" + std::to_string(i)) return Ok();
  }
  return bad();
}

namespace {

Result<std::pair<uint64_t, uint64_t>> ParsePortRange(std::string_view ports) {
  if (ports.empty()) return InvalidArgument("empty string specified for ports");
  size_t dash = ports.find('-');
  if (dash == std::string_view::npos) {
    STRATA_ASSIGN_OR_RETURN(uint64_t p, go::ParseUint(ports, 10, 16));
    return std::make_pair(p, p);
  }
  if (ports.find('-', dash + 1) != std::string_view::npos) {
    return InvalidArgument("invalid port range format: " + std::string(ports));
  }
  STRATA_ASSIGN_OR_RETURN(uint64_t start, go::ParseUint(ports.substr(0, dash), 10, 16));
  STRATA_ASSIGN_OR_RETURN(uint64_t end, go::ParseUint(ports.substr(dash + 1), 10, 16));
  if (end < start)
    return InvalidArgument("invalid range specified for port: " + std::string(ports));
  return std::make_pair(start, end);
}

}  // namespace

Result<std::vector<std::string>> ParsePortSpec(std::string_view raw) {
  // splitParts: [ip:]host:container, IPv6 hosts in brackets keep their colons.
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t c = raw.find(':', start);
    parts.push_back(raw.substr(start, c == std::string_view::npos ? c : c - start));
    if (c == std::string_view::npos) break;
    start = c + 1;
  }
  std::string ip;
  std::string_view host_port;
  std::string_view container_port;
  size_t n = parts.size();
  if (n == 1) {
    container_port = parts[0];
  } else if (n == 2) {
    host_port = parts[0];
    container_port = parts[1];
  } else {
    for (size_t i = 0; i + 2 < n; ++i) {
      if (i) ip += ":";
      ip += std::string(parts[i]);
    }
    host_port = parts[n - 2];
    container_port = parts[n - 1];
  }
  // splitProtoPort
  size_t slash = container_port.find('/');
  std::string_view port = container_port.substr(0, slash);
  std::string proto =
      slash == std::string_view::npos ? "" : std::string(container_port.substr(slash + 1));
  if (port.empty())
    return InvalidArgument("no port specified: " + std::string(container_port) + "<empty>");
  for (char& c : proto) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (proto.empty()) proto = "tcp";
  if (proto != "tcp" && proto != "udp" && proto != "sctp") {
    return InvalidArgument("invalid proto: " + proto);
  }
  if (!ip.empty() && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  if (!ip.empty()) {
    // net.ParseIP: dotted IPv4 or an IPv6 text form.
    static const std::regex v4(R"((\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}))");
    static const std::regex v6(R"([0-9A-Fa-f:.]+)");
    std::smatch m;
    bool ok = false;
    if (std::regex_match(ip, m, v4)) {
      ok = true;
      for (int i = 1; i <= 4; ++i) ok = ok && std::stoi(m[i]) <= 255;
    } else if (ip.find(':') != std::string::npos && std::regex_match(ip, v6)) {
      ok = true;
    }
    if (!ok) return InvalidArgument("invalid IP address: " + ip);
  }
  auto range = ParsePortRange(port);
  if (!range) return InvalidArgument("invalid containerPort: " + std::string(port));
  auto [sp, ep] = *range;
  if (!host_port.empty()) {
    auto hr = ParsePortRange(host_port);
    if (!hr) return InvalidArgument("invalid hostPort: " + std::string(host_port));
    if ((ep - sp) != (hr->second - hr->first) && ep != sp) {
      return InvalidArgument("invalid ranges specified for container and host Ports: " +
                             std::string(port) + " and " + std::string(host_port));
    }
  }
  std::vector<std::string> out;
  for (uint64_t p = sp; p <= ep; ++p) out.push_back(std::to_string(p) + "/" + proto);
  return out;
}

Result<std::string> NormalizeWorkdir(std::string_view current, std::string_view requested) {
  // An absolute path is kept as written (a trailing slash stays); only joins are cleaned.
  if (!requested.empty() && requested[0] == '/') return std::string(requested);
  return CleanPath("/" + std::string(current) + "/" + std::string(requested));
}

}  // namespace strata::dockerfile
