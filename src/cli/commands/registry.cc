// pull, login, logout: image exchange with registries (issue 3), with docker's output.
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "cli/help.h"
#include "engine/pull.h"
#include "image/reference.h"
#include "registry/auth.h"
#include "registry/credentials.h"
#include "registry/hosts.h"
#include "registry/http.h"

namespace strata::cli {
namespace {

void Err(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stderr); }

// docker's progress display: plain status lines when stdout is not a terminal (progress
// messages such as Downloading are left out), one rewritten line per layer on a terminal.
class PullDisplay {
 public:
  explicit PullDisplay(bool quiet) : quiet_(quiet), tty_(::isatty(1) == 1) {}

  void Line(const std::string& s) {
    if (quiet_) return;
    std::lock_guard lk(mu_);
    if (tty_) {
      ids_.clear();
      order_.clear();
    }
    Out(s + "\n");
    std::fflush(stdout);
  }

  void Progress(const engine::PullProgress& p) {
    if (quiet_) return;
    std::lock_guard lk(mu_);
    bool has_progress = p.status == "Downloading" || p.status == "Extracting";
    if (!tty_) {
      if (has_progress) return;
      Out(p.id + ": " + p.status + "\n");
      std::fflush(stdout);
      return;
    }
    std::string text = p.id + ": " + p.status;
    if (has_progress && p.total > 0) {
      constexpr int kWidth = 50;
      int filled = static_cast<int>(kWidth * p.current / p.total);
      std::string bar(static_cast<size_t>(filled), '=');
      if (filled < kWidth) bar += '>';
      bar.resize(kWidth, ' ');
      text += " [" + bar + "]  " + Human(p.current) + "/" + Human(p.total);
    }
    auto it = ids_.find(p.id);
    if (it == ids_.end()) {
      ids_[p.id] = order_.size();
      order_.push_back(p.id);
      Out(text + "\n");
    } else {
      // Move up to the layer's line, rewrite it, come back down (docker's jsonmessage).
      size_t up = order_.size() - it->second;
      Out("\x1b[" + std::to_string(up) + "A\r\x1b[2K" + text + "\r\x1b[" + std::to_string(up) +
          "B");
    }
    std::fflush(stdout);
  }

 private:
  static std::string Human(uint64_t n) {
    char buf[32];
    if (n >= 1000 * 1000) {
      std::snprintf(buf, sizeof buf, "%.1fMB", n / 1e6);
    } else if (n >= 1000) {
      std::snprintf(buf, sizeof buf, "%.1fkB", n / 1e3);
    } else {
      std::snprintf(buf, sizeof buf, "%lluB", static_cast<unsigned long long>(n));
    }
    return buf;
  }
  bool quiet_;
  bool tty_;
  std::mutex mu_;
  std::map<std::string, size_t> ids_;
  std::vector<std::string> order_;
};

// Reads a line from stdin (the login prompts); without echo for passwords on a terminal.
std::string ReadLine(bool secret) {
  termios old{};
  bool tty = ::isatty(0) == 1 && secret && ::tcgetattr(0, &old) == 0;
  if (tty) {
    termios t = old;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(0, TCSANOW, &t);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    ::tcsetattr(0, TCSANOW, &old);
    Out("\n");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// The registry a login/logout names: the domain the API is asked at, and the key docker
// files the credentials under.
struct LoginServer {
  std::string key;     // "https://index.docker.io/v1/" or "host:port"
  std::string domain;  // "docker.io" or "host:port"
  bool hub = false;
};

LoginServer ServerFor(const std::string& arg) {
  LoginServer s;
  s.key = arg.empty() ? std::string(registry::kDockerHubAuthKey) : registry::CredentialKey(arg);
  s.hub = s.key == registry::kDockerHubAuthKey;
  s.domain = s.hub ? std::string(registry::kDockerHubDomain) : s.key;
  return s;
}

// Logs in at the registry's /v2/: Basic or a token for the credentials, as dockerd's
// /auth does. Returns the identity token the registry issued, if any.
Result<std::string> VerifyLogin(const LoginServer& server, const registry::Credentials& creds) {
  registry::HostsOptions ho;
  ho.certs_dirs = registry::DefaultCertsDirs();
  STRATA_ASSIGN_OR_RETURN(auto hosts, registry::RegistryHosts::Load(ho));
  STRATA_ASSIGN_OR_RETURN(auto endpoints, hosts.Endpoints(server.domain));
  registry::HttpClient http;
  std::optional<Error> last;
  for (const auto& ep : endpoints) {
    if (ep.mirror) continue;
    auto ping = registry::Ping(http, ep);
    if (!ping) {
      last = std::move(ping).error();
      continue;
    }
    if (ping->status == 200) return std::string();  // no authentication needed
    registry::AuthorizerOptions ao;
    ao.credentials = creds;
    ao.hosts = &hosts;
    ao.offline = true;
    registry::Authorizer auth(http, ao);
    auth.AddChallenges(ep.host, ping->challenges);
    registry::Request req;
    req.url = ep.BaseUrl() + "/v2/";
    req.tls = ep.tls;
    STRATA_ASSIGN_OR_RETURN(auto resp, auth.Send(req, {}));
    if (resp.status == 401 || resp.status == 403) {
      return Error{ErrorCode::kUnauthenticated,
                   "login attempt to " + req.url +
                       " failed with status: " + std::to_string(resp.status) +
                       (resp.status == 401 ? " Unauthorized" : " Forbidden")};
    }
    if (!resp.ok()) return registry::ResponseError(resp);
    return auth.refresh_token();
  }
  return last ? *last : Unavailable("no endpoint for " + server.domain);
}

}  // namespace

void RegisterRegistryCommands(CLI::App& app, Context& ctx) {
  void RegisterPushCommand(CLI::App&, Context&);  // commands/push.cc
  RegisterPushCommand(app, ctx);
  {
    struct Opts {
      bool all_tags = false, quiet = false, disable_trust = true;
      int max_concurrent_downloads = 3;
      std::string platform, name;
    };
    auto o = std::make_shared<Opts>();
    auto* c = app.add_subcommand("pull", "Pull an image or a repository from a registry");
    SetUsage(c, "[OPTIONS] NAME[:TAG|@DIGEST]", "strata image pull, strata pull");
    c->add_flag("-a,--all-tags", o->all_tags, "Download all tagged images in the repository");
    c->add_flag("--disable-content-trust", o->disable_trust, "Skip image verification")
        ->default_str("true");
    // dockerd's daemon-wide option, per pull here (there is no daemon).
    c->add_option("--max-concurrent-downloads", o->max_concurrent_downloads,
                  "Set the max concurrent downloads")
        ->type_name("int")
        ->default_str("3");
    c->add_option("--platform", o->platform, "Set platform if server is multi-platform capable")
        ->type_name("string");
    c->add_flag("-q,--quiet", o->quiet, "Suppress verbose output");
    c->add_option("name", o->name, "NAME[:TAG|@DIGEST]")->required();
    c->callback([o, &ctx] {
      // The client-side checks docker makes before asking the daemon.
      auto named = image::ParseNormalizedNamed(o->name);
      if (!named) return ctx.FailPlain(named.error().message);
      if (o->all_tags && !named->IsNameOnly()) {
        return ctx.FailPlain("tag can't be used with --all-tags/-a");
      }
      PullDisplay display(o->quiet);
      if (!o->all_tags && named->IsNameOnly() && !o->quiet) {
        display.Line("Using default tag: " + std::string(image::kDefaultTag));
      }
      auto s = ctx.Store();
      if (!s) return ctx.Fail(s.error());
      if (o->max_concurrent_downloads < 1) {
        return ctx.FailPlain("invalid --max-concurrent-downloads: must be at least 1");
      }
      engine::PullOptions po;
      po.max_concurrent_downloads = o->max_concurrent_downloads;
      po.platform = o->platform;
      po.all_tags = o->all_tags;
      po.config_dir = ctx.config_dir;
      bool started = false;
      po.on_start = [&](const std::string& what, const std::string& path) {
        started = true;
        display.Line(what + ": Pulling from " + path);
      };
      po.progress = [&](const engine::PullProgress& p) { display.Progress(p); };
      auto res = engine::Pull(**s, o->name, po, [&](const engine::PullResult& r) {
        if (o->all_tags) display.Line("Digest: " + r.digest);
      });
      if (!res) {
        // Once the stream started docker prints the error bare; before, as the daemon's.
        if (started) return ctx.FailPlain(res.error().message);
        return ctx.Fail(res.error());
      }
      if (res->empty()) return;
      if (o->all_tags) {
        bool any = false;
        for (auto& r : *res) any = any || r.updated;
        std::string name = named->FamiliarName();
        display.Line(any ? "Status: Downloaded newer image for " + name
                         : "Status: Image is up to date for " + name);
        Out(named->String() + "\n");
        return;
      }
      const auto& r = res->front();
      auto ref = image::ParseNormalizedNamed(r.reference);
      std::string familiar = ref ? ref->FamiliarString() : r.reference;
      display.Line("Digest: " + r.digest);
      display.Line(
          (r.updated ? "Status: Downloaded newer image for " : "Status: Image is up to date for ") +
          familiar);
      Out(r.reference + "\n");
    });
  }
  {
    struct Opts {
      std::string username, password, server;
      bool password_stdin = false;
    };
    auto o = std::make_shared<Opts>();
    auto* c = app.add_subcommand("login", "Log in to a Docker registry");
    SetUsage(c, "[OPTIONS] [SERVER]");
    c->footer(
        "Log in to a Docker registry.\nIf no server is specified, the default is defined by the "
        "daemon.");
    c->add_option("-p,--password", o->password, "Password")->type_name("string");
    c->add_flag("--password-stdin", o->password_stdin, "Take the password from stdin");
    c->add_option("-u,--username", o->username, "Username")->type_name("string");
    c->add_option("server", o->server, "SERVER");
    c->callback([o, &ctx] {
      if (!o->password.empty()) {
        Err("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
        if (o->password_stdin) {
          return ctx.FailPlain("--password and --password-stdin are mutually exclusive");
        }
      }
      if (o->password_stdin) {
        if (o->username.empty()) {
          return ctx.FailPlain("Must provide --username with --password-stdin");
        }
        std::string all((std::istreambuf_iterator<char>(std::cin)), {});
        while (!all.empty() && (all.back() == '\n' || all.back() == '\r')) all.pop_back();
        o->password = all;
      }
      LoginServer server = ServerFor(o->server);
      auto cf = registry::ConfigFile::Load(registry::DockerConfigDir(ctx.config_dir));
      if (!cf) return ctx.FailPlain(cf.error().message);
      registry::Credentials creds;
      creds.username = o->username;
      creds.password = o->password;
      if (creds.username.empty() || creds.password.empty()) {
        // docker's prompts, with what is stored as the default user name.
        auto stored = cf->Get(server.key);
        std::string def = stored ? stored->username : "";
        if (creds.username.empty()) {
          Out(def.empty() ? "Username: " : "Username (" + def + "): ");
          std::fflush(stdout);
          creds.username = ReadLine(false);
          if (creds.username.empty()) creds.username = def;
          if (creds.username.empty()) return ctx.FailPlain("Error: Non-null Username Required");
        }
        if (creds.password.empty()) {
          Out("Password: ");
          std::fflush(stdout);
          creds.password = ReadLine(true);
          if (creds.password.empty()) return ctx.FailPlain("Error: Password Required");
        }
      }
      auto token = VerifyLogin(server, creds);
      if (!token) return ctx.Fail(token.error());
      registry::Credentials save = creds;
      if (!token->empty()) {
        // The registry issued a refresh token: keep that instead of the password.
        save.password.clear();
        save.identity_token = *token;
      }
      if (cf->HelperFor(server.key).empty() && !save.password.empty()) {
        Err("WARNING! Your password will be stored unencrypted in " + cf->path() +
            ".\nConfigure a credential helper to remove this warning. See\n"
            "https://docs.docker.com/engine/reference/commandline/login/#credentials-store\n\n");
      }
      if (auto st = cf->Store(server.key, save); !st) {
        return ctx.FailPlain("Error saving credentials: " + st.error().message);
      }
      Out("Login Succeeded\n");
    });
  }
  {
    auto server = std::make_shared<std::string>();
    auto* c = app.add_subcommand("logout", "Log out from a Docker registry");
    SetUsage(c, "[SERVER]");
    c->footer(
        "Log out from a Docker registry.\nIf no server is specified, the default is defined by "
        "the daemon.");
    c->add_option("server", *server, "SERVER");
    c->callback([server, &ctx] {
      LoginServer s = ServerFor(*server);
      auto cf = registry::ConfigFile::Load(registry::DockerConfigDir(ctx.config_dir));
      if (!cf) return ctx.FailPlain(cf.error().message);
      auto& auths = cf->json();
      bool known = auths.contains("auths") && auths["auths"].contains(s.key);
      if (!known) {
        // docker 20.10 looks only at the config file's auths to decide.
        Out("Not logged in to " + s.key + "\n");
        return;
      }
      Out("Removing login credentials for " + s.key + "\n");
      auto erased = cf->Erase(s.key);
      if (!erased) {
        Err("WARNING: could not erase credentials: " + erased.error().message + "\n");
      }
    });
  }
}

}  // namespace strata::cli
