#include "engine/import.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cctype>

#include "build/dockerfile/instructions.h"
#include "digest/hasher.h"
#include "engine/docker_json.h"
#include "engine/layers.h"
#include "engine/timefmt.h"
#include "image/reference.h"
#include "store/metadata.h"

namespace strata::engine {

using ojson = nlohmann::ordered_json;

ojson EmptyContainerConfig() { return ContainerConfigForInspect(ojson::object()); }

namespace {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// Exec form if the text is a JSON array of strings, else shell form.
ojson CommandOf(const std::string& rest) {
  if (!rest.empty() && rest[0] == '[') {
    auto j = ojson::parse(rest, nullptr, false);
    if (!j.is_discarded() && j.is_array() &&
        std::all_of(j.begin(), j.end(), [](const ojson& v) { return v.is_string(); })) {
      return j;
    }
  }
  return ojson::array({"/bin/sh", "-c", rest});
}

// Splits "k=v k2="v 2"" into words, honouring quotes and backslashes as the
// Dockerfile word lexer does for ENV and LABEL.
Result<std::vector<std::string>> Words(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < s.size()) {
        cur += s[++i];
      } else {
        cur += c;
      }
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '\\' && i + 1 < s.size()) {
      cur += s[++i];
    } else {
      cur += c;
    }
  }
  if (quote) return InvalidArgument("unterminated quote in \"" + s + "\"");
  if (in_word) out.push_back(std::move(cur));
  return out;
}

// ENV/LABEL: "k=v …" pairs, or the legacy "k v" single pair.
Result<std::vector<std::pair<std::string, std::string>>> Pairs(const std::string& instr,
                                                               const std::string& rest) {
  std::vector<std::pair<std::string, std::string>> out;
  STRATA_ASSIGN_OR_RETURN(auto words, Words(rest));
  if (words.empty()) return InvalidArgument(instr + " requires at least one argument");
  if (words[0].find('=') == std::string::npos) {
    auto sp = rest.find_first_of(" \t");
    if (sp == std::string::npos) return InvalidArgument(instr + " must have two arguments");
    STRATA_ASSIGN_OR_RETURN(auto key, Words(rest.substr(0, sp)));
    out.emplace_back(key.empty() ? "" : key[0], Trim(rest.substr(sp)));
    return out;
  }
  for (auto& w : words) {
    auto eq = w.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("Syntax error - can't find = in \"" + w +
                             "\". Must be of the form: name=value");
    }
    out.emplace_back(w.substr(0, eq), w.substr(eq + 1));
  }
  return out;
}

// HEALTHCHECK goes through the Dockerfile parser, as docker's import does: the same flags
// (--interval, --timeout, --start-period, --start-interval, --retries) and messages.
Result<ojson> HealthcheckChange(const std::string& line) {
  dockerfile::ParseError pe;
  auto df = dockerfile::ParseDockerfile("FROM scratch\n" + line + "\n", &pe);
  if (!df) return InvalidArgument(pe.message.empty() ? df.error().message : pe.message);
  if (df->stages.empty() || df->stages[0].commands.size() != 1) {
    return InvalidArgument("invalid HEALTHCHECK change: " + line);
  }
  const auto& c = std::get<dockerfile::HealthcheckCommand>(df->stages[0].commands[0].command);
  // ContainerConfigForInspect, which ApplyChanges ends with, leaves out the zero fields.
  return ojson{{"Test", c.test},
               {"Interval", c.interval_ns},
               {"Timeout", c.timeout_ns},
               {"StartPeriod", c.start_period_ns},
               {"StartInterval", c.start_interval_ns},
               {"Retries", c.retries}};
}

std::string HostArch() {
  struct utsname u;
  ::uname(&u);
  std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  if (m.starts_with("armv")) return "arm";
  if (m == "i686" || m == "i386") return "386";
  return m;
}

}  // namespace

Status ApplyChanges(ojson& config, const std::vector<std::string>& changes) {
  for (const auto& line : changes) {
    std::string t = Trim(line);
    auto sp = t.find_first_of(" \t");
    std::string instr = t.substr(0, sp);
    std::string rest = sp == std::string::npos ? "" : Trim(t.substr(sp));
    std::string lower = instr;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (lower == "cmd") {
      config["Cmd"] = CommandOf(rest);
    } else if (lower == "entrypoint") {
      config["Entrypoint"] = CommandOf(rest);
    } else if (lower == "env") {
      STRATA_ASSIGN_OR_RETURN(auto pairs, Pairs("ENV", rest));
      ojson env = config["Env"].is_array() ? config["Env"] : ojson::array();
      for (auto& [k, v] : pairs) {
        const std::string& key = k;  // clang 14 cannot capture structured bindings
        auto it = std::find_if(env.begin(), env.end(), [&key](const ojson& e) {
          std::string s = e.get<std::string>();
          return s.substr(0, s.find('=')) == key;
        });
        if (it != env.end()) {
          *it = k + "=" + v;
        } else {
          env.push_back(k + "=" + v);
        }
      }
      config["Env"] = env;
    } else if (lower == "label") {
      STRATA_ASSIGN_OR_RETURN(auto pairs, Pairs("LABEL", rest));
      ojson labels = config["Labels"].is_object() ? config["Labels"] : ojson::object();
      for (auto& [k, v] : pairs) labels[k] = v;
      // container.Config.Labels is a Go map: keys marshal sorted.
      nlohmann::json sorted = labels;
      config["Labels"] = ojson::parse(sorted.dump());
    } else if (lower == "expose") {
      STRATA_ASSIGN_OR_RETURN(auto ports, Words(rest));
      nlohmann::json set = config.contains("ExposedPorts") && config["ExposedPorts"].is_object()
                               ? nlohmann::json::parse(config["ExposedPorts"].dump())
                               : nlohmann::json::object();
      for (auto p : ports) {
        if (p.find('/') == std::string::npos) p += "/tcp";
        set[p] = nlohmann::json::object();
      }
      config["ExposedPorts"] = ojson::parse(set.dump());
    } else if (lower == "user") {
      config["User"] = rest;
    } else if (lower == "workdir") {
      config["WorkingDir"] = rest;
    } else if (lower == "volume") {
      ojson vols = config["Volumes"].is_object() ? config["Volumes"] : ojson::object();
      std::vector<std::string> list;
      auto j = ojson::parse(rest, nullptr, false);
      if (!rest.empty() && rest[0] == '[' && !j.is_discarded() && j.is_array()) {
        for (auto& v : j) list.push_back(v.get<std::string>());
      } else {
        STRATA_ASSIGN_OR_RETURN(list, Words(rest));
      }
      nlohmann::json sorted = nlohmann::json::parse(vols.dump());
      for (auto& v : list) sorted[v] = nlohmann::json::object();
      config["Volumes"] = ojson::parse(sorted.dump());
    } else if (lower == "healthcheck") {
      STRATA_ASSIGN_OR_RETURN(config["Healthcheck"], HealthcheckChange(t));
    } else if (lower == "onbuild") {
      ojson ob = config["OnBuild"].is_array() ? config["OnBuild"] : ojson::array();
      ob.push_back(rest);
      config["OnBuild"] = ob;
    } else {
      return InvalidArgument(lower + " is not a valid change command");
    }
  }
  config = ContainerConfigForInspect(config);
  return Ok();
}

Result<std::string> ImportImage(Store& s, Reader& in, const ImportOptions& opts) {
  std::optional<image::Reference> ref;
  if (opts.tag) {
    STRATA_ASSIGN_OR_RETURN(auto r, image::ParseNormalizedNamed(*opts.tag));
    ref = image::TagNameOnly(r);
  }
  ojson container_config = EmptyContainerConfig();
  STRATA_TRY(ApplyChanges(container_config, opts.changes));
  std::string os = "linux", arch = HostArch(), variant;
  if (!opts.platform.empty()) {
    std::string p = opts.platform;
    auto a = p.find('/');
    os = p.substr(0, a);
    if (a != std::string::npos) {
      std::string r = p.substr(a + 1);
      auto b = r.find('/');
      arch = r.substr(0, b);
      if (b != std::string::npos) variant = r.substr(b + 1);
    }
  }

  STRATA_ASSIGN_OR_RETURN(StoreLock lock, s.Shared());
  // One pass: the decompressed tar goes both into the snapshot and into an
  // ingest that becomes the layer blob (its digest is the diff ID).
  STRATA_ASSIGN_OR_RETURN(auto blob, s.content().Ingest());
  UnpackOptions uo;
  uo.label = "from " + opts.source;
  uo.tee_uncompressed = &blob;
  auto layer = UnpackLayer(s, in, uo);
  if (!layer) {
    return Error{layer.error().code,
                 "Error processing tar file: " + std::move(layer).error().message};
  }
  STRATA_ASSIGN_OR_RETURN(auto blob_digest, blob.Commit());
  layer->blob_digest = blob_digest.str();
  layer->blob_media_type = "application/vnd.docker.image.rootfs.diff.tar";
  layer->blob_size = static_cast<int64_t>(blob.size());

  int64_t now = NowUnixNanos();
  std::string created = FormatRfc3339Nano(now);
  std::string comment = opts.message.empty() ? "Imported from " + opts.source : opts.message;
  // dockerd marshals image configs through a map, so top-level keys sort.
  ojson cfg = ojson::object();
  cfg["architecture"] = arch;
  cfg["comment"] = comment;
  cfg["config"] = container_config;
  cfg["container_config"] = EmptyContainerConfig();
  cfg["created"] = created;
  ojson h = ojson::object();
  h["created"] = created;
  h["comment"] = comment;
  cfg["history"] = ojson::array({h});
  cfg["os"] = os;
  ojson rootfs = ojson::object();
  rootfs["type"] = "layers";
  rootfs["diff_ids"] = ojson::array({layer->diff_id});
  cfg["rootfs"] = rootfs;
  if (!variant.empty()) cfg["variant"] = variant;
  std::string bytes = GoJson(cfg);
  STRATA_ASSIGN_OR_RETURN(auto config_digest, s.content().Put(bytes));

  store::ImageRecord img;
  img.id = config_digest.str();
  img.top_chain_id = layer->chain_id;
  img.created = now;
  img.size = layer->size;
  img.loaded_at = now;
  STRATA_ASSIGN_OR_RETURN(auto tx, s.db().Begin());
  STRATA_TRY(s.metadata().PutLayer(*layer));
  STRATA_TRY(s.metadata().PutImage(img));
  if (ref) STRATA_TRY(s.metadata().SetTag(ref->String(), img.id));
  STRATA_TRY(tx.Commit());
  return img.id;
}

}  // namespace strata::engine
