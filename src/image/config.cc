#include "image/config.h"

#include <algorithm>

namespace strata::image {
namespace {

Result<HealthConfig> HealthFromJson(const OrderedJson& j, const std::string& what) {
  if (!j.is_object()) return InvalidArgument(what + ": expected an object");
  FieldReader r(j, what);
  HealthConfig h;
  STRATA_TRY(r.StringList("Test", &h.test));
  STRATA_TRY(r.Int64("Interval", &h.interval));
  STRATA_TRY(r.Int64("Timeout", &h.timeout));
  STRATA_TRY(r.Int64("StartPeriod", &h.start_period));
  STRATA_TRY(r.Int64("StartInterval", &h.start_interval));
  STRATA_TRY(r.Int64("Retries", &h.retries));
  h.extra = r.Finish();
  h.source.object = j;
  return h;
}

OrderedJson HealthToJson(const HealthConfig& h) {
  FieldWriter w;
  w.SetStringList("Test", h.test);
  w.SetInt64("Interval", h.interval);
  w.SetInt64("Timeout", h.timeout);
  w.SetInt64("StartPeriod", h.start_period);
  w.SetInt64("StartInterval", h.start_interval);
  w.SetInt64("Retries", h.retries);
  return w.Build(h.extra, h.source);
}

Result<ContainerConfig> ContainerConfigFromJson(const OrderedJson& j) {
  const std::string what = "config.config";
  if (!j.is_object()) return InvalidArgument(what + ": expected an object");
  FieldReader r(j, what);
  ContainerConfig c;
  STRATA_TRY(r.String("User", &c.user));
  STRATA_TRY(r.StringSet("ExposedPorts", &c.exposed_ports));
  STRATA_TRY(r.StringList("Env", &c.env));
  // docker's strslice.StrSlice also accepts a bare string.
  STRATA_TRY(r.StringList("Entrypoint", &c.entrypoint, /*accept_string=*/true));
  STRATA_TRY(r.StringList("Cmd", &c.cmd, /*accept_string=*/true));
  STRATA_TRY(r.StringSet("Volumes", &c.volumes));
  STRATA_TRY(r.String("WorkingDir", &c.working_dir));
  STRATA_TRY(r.StringMap("Labels", &c.labels));
  STRATA_TRY(r.String("StopSignal", &c.stop_signal));
  STRATA_TRY(r.Bool("ArgsEscaped", &c.args_escaped));
  if (const OrderedJson* h = r.Take("Healthcheck"); h != nullptr && !h->is_null()) {
    STRATA_ASSIGN_OR_RETURN(c.healthcheck, HealthFromJson(*h, what + ".Healthcheck"));
  }
  STRATA_TRY(r.StringList("OnBuild", &c.on_build));
  STRATA_TRY(r.StringList("Shell", &c.shell, /*accept_string=*/true));
  c.extra = r.Finish();
  c.source.object = j;
  return c;
}

OrderedJson ContainerConfigToJson(const ContainerConfig& c) {
  FieldWriter w;
  w.SetString("User", c.user);
  w.SetStringSet("ExposedPorts", c.exposed_ports);
  w.SetStringList("Env", c.env);
  w.SetStringList("Entrypoint", c.entrypoint);
  w.SetStringList("Cmd", c.cmd);
  w.SetStringSet("Volumes", c.volumes);
  w.SetString("WorkingDir", c.working_dir);
  w.SetStringMap("Labels", c.labels);
  w.SetString("StopSignal", c.stop_signal);
  w.SetBool("ArgsEscaped", c.args_escaped);
  if (c.healthcheck) {
    w.Set("Healthcheck", HealthToJson(*c.healthcheck));
  } else {
    w.Omit("Healthcheck");
  }
  w.SetStringList("OnBuild", c.on_build);
  w.SetStringList("Shell", c.shell);
  return w.Build(c.extra, c.source);
}

Result<RootFs> RootFsFromJson(const OrderedJson& j) {
  if (!j.is_object()) return InvalidArgument("config.rootfs: expected an object");
  FieldReader r(j, "config.rootfs");
  RootFs fs;
  fs.type.clear();
  STRATA_TRY(r.String("type", &fs.type));
  if (fs.type != "layers") {
    return InvalidArgument("config.rootfs.type: must be \"layers\", got \"" + fs.type + "\"");
  }
  const OrderedJson* ids = r.Take("diff_ids");
  if (ids != nullptr && !ids->is_null()) {
    if (!ids->is_array()) return InvalidArgument("config.rootfs.diff_ids: expected an array");
    for (size_t i = 0; i < ids->size(); ++i) {
      const auto& e = (*ids)[i];
      std::string what = "config.rootfs.diff_ids[" + std::to_string(i) + "]";
      if (!e.is_string()) return InvalidArgument(what + ": expected a string");
      auto d = digest::Digest::Parse(e.get<std::string>());
      if (!d) return d.error().Wrap(what);
      fs.diff_ids.push_back(*d);
    }
  }
  fs.extra = r.Finish();
  fs.source.object = j;
  return fs;
}

OrderedJson RootFsToJson(const RootFs& fs) {
  FieldWriter w;
  w.SetString("type", fs.type, /*omitempty=*/false);
  OrderedJson ids = OrderedJson::array();
  for (const auto& d : fs.diff_ids) ids.push_back(d.str());
  w.Set("diff_ids", std::move(ids));
  return w.Build(fs.extra, fs.source);
}

Result<History> HistoryFromJson(const OrderedJson& j, const std::string& what) {
  if (!j.is_object()) return InvalidArgument(what + ": expected an object");
  FieldReader r(j, what);
  History h;
  STRATA_TRY(r.String("created", &h.created));
  STRATA_TRY(r.String("created_by", &h.created_by));
  STRATA_TRY(r.String("author", &h.author));
  STRATA_TRY(r.String("comment", &h.comment));
  STRATA_TRY(r.Bool("empty_layer", &h.empty_layer));
  h.extra = r.Finish();
  h.source.object = j;
  return h;
}

OrderedJson HistoryToJson(const History& h) {
  FieldWriter w;
  w.SetString("created", h.created);
  w.SetString("created_by", h.created_by);
  w.SetString("author", h.author);
  w.SetString("comment", h.comment);
  w.SetBool("empty_layer", h.empty_layer);
  return w.Build(h.extra, h.source);
}

}  // namespace

Result<Config> Config::FromJson(const OrderedJson& j) {
  if (!j.is_object()) return InvalidArgument("config: expected an object");
  FieldReader r(j, "config");
  Config c;
  STRATA_TRY(r.String("architecture", &c.architecture));
  STRATA_TRY(r.String("author", &c.author));
  STRATA_TRY(r.String("comment", &c.comment));
  if (const OrderedJson* cc = r.Take("config"); cc != nullptr && !cc->is_null()) {
    STRATA_ASSIGN_OR_RETURN(c.config, ContainerConfigFromJson(*cc));
  }
  STRATA_TRY(r.String("container", &c.container));
  STRATA_TRY(r.Raw("container_config", &c.container_config));
  STRATA_TRY(r.String("created", &c.created));
  STRATA_TRY(r.String("docker_version", &c.docker_version));
  if (const OrderedJson* h = r.Take("history"); h != nullptr && !h->is_null()) {
    if (!h->is_array()) return InvalidArgument("config.history: expected an array");
    for (size_t i = 0; i < h->size(); ++i) {
      STRATA_ASSIGN_OR_RETURN(
          History e, HistoryFromJson((*h)[i], "config.history[" + std::to_string(i) + "]"));
      c.history.push_back(std::move(e));
    }
  }
  STRATA_TRY(r.String("os", &c.os));
  STRATA_TRY(r.StringList("os.features", &c.os_features));
  STRATA_TRY(r.String("os.version", &c.os_version));
  const OrderedJson* rootfs = r.Take("rootfs");
  if (rootfs == nullptr || rootfs->is_null()) return InvalidArgument("config: missing rootfs");
  STRATA_ASSIGN_OR_RETURN(c.rootfs, RootFsFromJson(*rootfs));
  STRATA_TRY(r.String("variant", &c.variant));
  c.extra = r.Finish();
  c.source.object = j;
  return c;
}

Result<Config> Config::Parse(std::string_view bytes) {
  STRATA_ASSIGN_OR_RETURN(OrderedJson j, ParseJsonObject(bytes, "config"));
  return FromJson(j);
}

OrderedJson Config::ToJson() const {
  // Known fields in sorted key order (see the header).
  FieldWriter w;
  w.SetString("architecture", architecture);
  w.SetString("author", author);
  w.SetString("comment", comment);
  if (config) {
    w.Set("config", ContainerConfigToJson(*config));
  } else {
    w.Omit("config");
  }
  w.SetString("container", container);
  if (container_config.is_null()) {
    w.Omit("container_config");
  } else {
    w.Set("container_config", container_config);
  }
  w.SetString("created", created);
  w.SetString("docker_version", docker_version);
  if (history.empty()) {
    w.Omit("history");
  } else {
    OrderedJson h = OrderedJson::array();
    for (const auto& e : history) h.push_back(HistoryToJson(e));
    w.Set("history", std::move(h));
  }
  w.SetString("os", os);
  w.SetStringList("os.features", os_features);
  w.SetString("os.version", os_version);
  w.Set("rootfs", RootFsToJson(rootfs));
  w.SetString("variant", variant);
  OrderedJson out = w.Build(extra, source);
  if (!source.object.is_object()) {
    // A new document: every top-level key sorted, extras included, as moby writes them.
    std::vector<std::string> keys;
    for (auto it = out.begin(); it != out.end(); ++it) keys.push_back(it.key());
    std::sort(keys.begin(), keys.end());
    OrderedJson sorted = OrderedJson::object();
    for (const auto& k : keys) sorted[k] = std::move(out[k]);
    out = std::move(sorted);
  }
  return out;
}

std::string Config::Marshal() const { return GoMarshal(ToJson()); }

Platform Config::GetPlatform() const {
  Platform p;
  p.os = os;
  p.architecture = architecture;
  p.variant = variant;
  p.os_version = os_version;
  p.os_features = os_features;
  return p;
}

digest::Digest ImageId(std::string_view config_bytes) { return digest::Sha256Of(config_bytes); }

}  // namespace strata::image
