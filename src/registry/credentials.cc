#include "registry/credentials.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "util/fs.h"
#include "util/io.h"

extern char** environ;

namespace strata::registry {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

// docker's credentials.ConvertToHostname: drop the scheme and any path.
std::string ConvertToHostname(std::string_view s) {
  std::string_view v = s;
  if (v.starts_with("http://")) {
    v.remove_prefix(7);
  } else if (v.starts_with("https://")) {
    v.remove_prefix(8);
  }
  return std::string(v.substr(0, v.find('/')));
}

constexpr std::string_view kTokenUsername = "<token>";

}  // namespace

std::string CredentialKey(std::string_view registry) {
  std::string host = ConvertToHostname(registry);
  if (host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io") {
    return std::string(kDockerHubAuthKey);
  }
  return host;
}

std::string DockerConfigDir(std::string_view override_dir) {
  if (!override_dir.empty()) return std::string(override_dir);
  if (const char* d = std::getenv("DOCKER_CONFIG"); d != nullptr && *d != '\0') return d;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.docker";
}

// --- credential helpers ----------------------------------------------------------------------

namespace {

struct HelperOutput {
  int exit_status = 0;
  std::string out;
};

// Runs docker-credential-<helper> <action>, feeding `input` on stdin and returning stdout.
// stdin is a socket so that a helper which exits without reading cannot SIGPIPE us.
Result<HelperOutput> RunHelper(std::string_view helper, std::string_view action,
                               std::string_view input) {
  if (helper.empty() || helper.find('/') != std::string_view::npos) {
    return InvalidArgument("invalid credentials helper name \"" + std::string(helper) + "\"");
  }
  std::string prog = "docker-credential-" + std::string(helper);
  int in[2], out[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0)
    return ErrnoError("socketpair");
  UniqueFd in_parent(in[0]), in_child(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return ErrnoError("pipe");
  UniqueFd out_parent(out[0]), out_child(out[1]);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_child.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_child.get(), 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::string act(action);
  char* argv[] = {prog.data(), act.data(), nullptr};
  pid_t pid;
  int rc = posix_spawnp(&pid, prog.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    // docker's wording (Go's exec error), inside its "error getting credentials" frame.
    std::string what = std::string("error ") +
                       (action == "get"     ? "getting"
                        : action == "store" ? "storing"
                                            : "erasing") +
                       " credentials - err: exec: \"" + prog + "\": ";
    if (rc == ENOENT) {
      return FailedPrecondition(what + "executable file not found in $PATH, out: ``");
    }
    return FailedPrecondition(what + std::strerror(rc) + ", out: ``");
  }
  in_child.reset();
  out_child.reset();
  // Small input (well under the socket buffer): write it all, then signal EOF.
  size_t off = 0;
  while (off < input.size()) {
    ssize_t w = ::send(in_parent.get(), input.data() + off, input.size() - off, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      break;  // the helper stopped reading; its exit status tells the rest
    }
    off += static_cast<size_t>(w);
  }
  in_parent.reset();
  FdReader r(out_parent.get());
  auto text = ReadAll(r, 1 << 20);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!text) return std::move(text).error().Wrap("read output of " + prog);
  HelperOutput ho;
  ho.out = std::move(*text);
  while (!ho.out.empty() && (ho.out.back() == '\n' || ho.out.back() == '\r')) ho.out.pop_back();
  ho.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return ho;
}

bool IsNotFoundMessage(std::string_view out) {
  return out.find("credentials not found in native keychain") != std::string_view::npos;
}

std::string HelperFailure(std::string_view what, const HelperOutput& o) {
  return "error " + std::string(what) + " credentials - err: exit status " +
         std::to_string(o.exit_status) + ", out: `" + o.out + "`";
}

}  // namespace

Result<Credentials> HelperGet(std::string_view helper, std::string_view server) {
  STRATA_ASSIGN_OR_RETURN(HelperOutput o, RunHelper(helper, "get", server));
  if (o.exit_status != 0) {
    if (IsNotFoundMessage(o.out)) return Credentials{};
    return Unavailable(HelperFailure("getting", o));
  }
  Json doc = Json::parse(o.out, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    // Never echo the output: it is supposed to hold a secret.
    return Internal("error getting credentials - docker-credential-" + std::string(helper) +
                    " returned invalid JSON");
  }
  auto str = [&](const char* k) {
    auto it = doc.find(k);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  Credentials c;
  std::string user = str("Username"), secret = str("Secret");
  if (user == kTokenUsername) {
    c.identity_token = secret;
  } else {
    c.username = user;
    c.password = secret;
  }
  return c;
}

Status HelperStore(std::string_view helper, std::string_view server, const Credentials& c) {
  Json doc;
  doc["ServerURL"] = std::string(server);
  if (!c.identity_token.empty()) {
    doc["Username"] = std::string(kTokenUsername);
    doc["Secret"] = c.identity_token;
  } else {
    doc["Username"] = c.username;
    doc["Secret"] = c.password;
  }
  STRATA_ASSIGN_OR_RETURN(HelperOutput o, RunHelper(helper, "store", doc.dump()));
  if (o.exit_status != 0) return Unavailable(HelperFailure("storing", o));
  return Ok();
}

Status HelperErase(std::string_view helper, std::string_view server) {
  STRATA_ASSIGN_OR_RETURN(HelperOutput o, RunHelper(helper, "erase", server));
  if (o.exit_status != 0) {
    if (IsNotFoundMessage(o.out)) return NotFound("credentials not found in native keychain");
    return Unavailable(HelperFailure("erasing", o));
  }
  return Ok();
}

// --- config.json -----------------------------------------------------------------------------

ConfigFile::ConfigFile() : doc_(std::make_unique<Json>(Json::object())) {}
ConfigFile::ConfigFile(ConfigFile&&) noexcept = default;
ConfigFile& ConfigFile::operator=(ConfigFile&&) noexcept = default;
ConfigFile::~ConfigFile() = default;

const Json& ConfigFile::json() const { return *doc_; }

Result<ConfigFile> ConfigFile::Load(std::string dir) {
  ConfigFile cf;
  cf.path_ = dir + "/config.json";
  auto text = ReadFile(cf.path_, 16 << 20);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) return cf;
    return std::move(text).error();
  }
  if (text->find_first_not_of(" \t\r\n") == std::string::npos) return cf;
  Json doc = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgument("loading config file: " + cf.path_ + ": invalid JSON object");
  }
  if (auto it = doc.find("auths"); it != doc.end() && !it->is_null() && !it->is_object()) {
    return InvalidArgument("loading config file: " + cf.path_ + ": \"auths\" is not an object");
  }
  *cf.doc_ = std::move(doc);
  return cf;
}

std::string ConfigFile::HelperFor(std::string_view registry) const {
  std::string key = CredentialKey(registry);
  if (auto h = doc_->find("credHelpers"); h != doc_->end() && h->is_object()) {
    for (const std::string& k : {key, ConvertToHostname(key)}) {
      if (auto it = h->find(k); it != h->end() && it->is_string()) return it->get<std::string>();
    }
  }
  if (auto s = doc_->find("credsStore"); s != doc_->end() && s->is_string()) {
    return s->get<std::string>();
  }
  return "";
}

std::string ConfigFile::FindAuthsKey(std::string_view key) const {
  auto auths = doc_->find("auths");
  if (auths == doc_->end() || !auths->is_object()) return "";
  if (auths->contains(std::string(key))) return std::string(key);
  // Older files keep full URLs ("https://host/v1/"): match them by host.
  for (const auto& [k, v] : auths->items()) {
    if (CredentialKey(k) == key) return k;
  }
  return "";
}

Result<Credentials> ConfigFile::Get(std::string_view registry) const {
  std::string key = CredentialKey(registry);
  if (std::string helper = HelperFor(key); !helper.empty()) {
    auto c = HelperGet(helper, key);
    if (!c) return std::move(c).error().Wrap("credentials for " + key);
    return c;
  }
  Credentials c;
  std::string k = FindAuthsKey(key);
  if (k.empty()) return c;
  const Json& e = (*doc_)["auths"][k];
  if (!e.is_object()) return c;
  auto str = [&](const char* f) {
    auto it = e.find(f);
    return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  c.username = str("username");
  c.password = str("password");
  if (std::string auth = str("auth"); !auth.empty()) {
    auto raw = Base64Decode(auth);
    auto colon = raw ? raw->find(':') : std::string::npos;
    if (!raw || colon == std::string::npos) {
      return InvalidArgument(path_ + ": invalid auth configuration file");
    }
    c.username = raw->substr(0, colon);
    c.password = raw->substr(colon + 1);
    while (!c.password.empty() && c.password.back() == '\0') c.password.pop_back();
  }
  c.identity_token = str("identitytoken");
  c.registry_token = str("registrytoken");
  return c;
}

Status ConfigFile::Store(std::string_view registry, const Credentials& c) {
  std::string key = CredentialKey(registry);
  Json& auths = (*doc_)["auths"];
  if (!auths.is_object()) auths = Json::object();
  std::string existing = FindAuthsKey(key);
  if (!existing.empty() && existing != key) auths.erase(existing);
  Json entry = Json::object();
  if (std::string helper = HelperFor(key); !helper.empty()) {
    STRATA_TRY_CTX(HelperStore(helper, key, c), "store credentials for " + key);
    // docker keeps an empty entry so that the registry is listed as logged in.
  } else {
    if (!c.username.empty() || !c.password.empty()) {
      entry["auth"] = Base64Encode(c.username + ":" + c.password);
    }
    if (!c.identity_token.empty()) entry["identitytoken"] = c.identity_token;
    if (!c.registry_token.empty()) entry["registrytoken"] = c.registry_token;
  }
  auths[key] = std::move(entry);
  return Save();
}

Result<bool> ConfigFile::Erase(std::string_view registry) {
  std::string key = CredentialKey(registry);
  bool found = false;
  if (std::string helper = HelperFor(key); !helper.empty()) {
    // docker logout also erases the http:// and https:// spellings older clients stored.
    std::vector<std::string> names = {key};
    if (key != kDockerHubAuthKey) {
      names.push_back("http://" + key);
      names.push_back("https://" + key);
    }
    for (const auto& name : names) {
      auto st = HelperErase(helper, name);
      if (st) {
        found = true;
      } else if (st.error().code != ErrorCode::kNotFound && name == key) {
        return std::move(st).error().Wrap("erase credentials for " + key);
      }
    }
  }
  auto auths = doc_->find("auths");
  if (auths != doc_->end() && auths->is_object()) {
    for (std::string k = FindAuthsKey(key); !k.empty(); k = FindAuthsKey(key)) {
      auths->erase(k);
      found = true;
    }
  }
  STRATA_TRY(Save());
  return found;
}

Status ConfigFile::Save() const {
  std::string target = path_;
  std::error_code ec;
  // A symlinked config.json (dotfile managers) is updated where it points.
  if (fs::is_symlink(target, ec)) {
    fs::path link = fs::read_symlink(target, ec);
    if (!ec) target = (link.is_absolute() ? link : fs::path(path_).parent_path() / link).string();
  }
  std::string dir = fs::path(target).parent_path().string();
  if (!dir.empty() && !fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return ErrnoError("create " + dir, ec.value());
    ::chmod(dir.c_str(), 0700);
  }
  std::string text = doc_->dump(1, '\t');
  auto st = WriteFileAtomic(target, text, 0600);
  if (!st) return std::move(st).error().Wrap("save config file");
  // WriteFileAtomic's mode is subject to the umask; the file must be 0600 exactly.
  ::chmod(target.c_str(), 0600);
  return Ok();
}

}  // namespace strata::registry
