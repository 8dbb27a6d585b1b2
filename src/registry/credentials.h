// Registry credentials in docker's config file ($DOCKER_CONFIG/config.json): `auths`,
// `credsStore` and `credHelpers` (docker-credential-<name> get/store/erase), so `docker login`
// and `strata login` share them. Secrets never appear in error messages.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "registry/auth.h"
#include "util/result.h"

namespace strata::registry {

// The key docker files Docker Hub's credentials under.
inline constexpr std::string_view kDockerHubAuthKey = "https://index.docker.io/v1/";

// The credentials key for a registry name (a reference's domain or what `login` was given):
// docker.io, index.docker.io and registry-1.docker.io -> https://index.docker.io/v1/;
// otherwise the host[:port] without scheme or path.
std::string CredentialKey(std::string_view registry);

// The directory holding config.json: the --config override when given, else $DOCKER_CONFIG,
// else ~/.docker.
std::string DockerConfigDir(std::string_view override_dir = {});

// Runs docker-credential-<helper> (found on PATH) with the docker credential helper
// protocol. Get of an unknown server returns empty credentials, not an error.
Result<Credentials> HelperGet(std::string_view helper, std::string_view server);
Status HelperStore(std::string_view helper, std::string_view server, const Credentials& c);
Status HelperErase(std::string_view helper, std::string_view server);

// docker's config.json, loaded whole so that keys strata does not know survive a save.
class ConfigFile {
 public:
  // Loads <dir>/config.json; a missing file is an empty config.
  static Result<ConfigFile> Load(std::string dir);
  ConfigFile(ConfigFile&&) noexcept;
  ConfigFile& operator=(ConfigFile&&) noexcept;
  ~ConfigFile();

  const std::string& path() const { return path_; }

  // The credentials helper for a registry key: credHelpers[host], else credsStore, else "".
  std::string HelperFor(std::string_view registry) const;

  // Credentials for a registry (any name CredentialKey accepts), from its helper or from
  // `auths` (base64 `auth` user:password, `username`/`password`, `identitytoken`,
  // `registrytoken`); `auths` keys written as URLs ("https://host/v1/") match their host.
  // None known: empty credentials.
  Result<Credentials> Get(std::string_view registry) const;

  // Saves credentials (login): to the helper, leaving an empty `auths` entry as docker
  // does; else into `auths` as base64 `auth` plus `identitytoken`. Writes the file.
  Status Store(std::string_view registry, const Credentials& c);

  // Removes credentials (logout) from the helper and from `auths`; writes the file.
  // Not-found is not an error (returns false then).
  Result<bool> Erase(std::string_view registry);

  // Writes the file atomically, mode 0600, following a symlinked config.json to its target.
  Status Save() const;

  // The whole document (tests, and commands that read other keys).
  const nlohmann::ordered_json& json() const;

 private:
  ConfigFile();
  std::string FindAuthsKey(std::string_view key) const;
  std::string path_;
  std::unique_ptr<nlohmann::ordered_json> doc_;
};

}  // namespace strata::registry
