// ImageConfig <-> docker's container.Config JSON (the fields a Dockerfile sets), with the
// null/omitempty choices docker 20.10's `image inspect` makes.
#include <nlohmann/json.hpp>

#include "build/dockerfile/plan.h"

namespace strata::dockerfile {

namespace {

using Json = nlohmann::json;

Json NullableList(const std::optional<std::vector<std::string>>& v) {
  if (!v) return nullptr;
  return Json(*v);
}

Json Set(const std::set<std::string>& s) {
  Json o = Json::object();
  for (const std::string& k : s) o[k] = Json::object();
  return o;
}

std::vector<std::string> Strings(const Json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const Json& e : j) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

}  // namespace

std::string ConfigToJson(const ImageConfig& c, int indent) {
  Json j = Json::object();
  j["Env"] = c.env.empty() ? Json(nullptr) : Json(c.env);
  j["Cmd"] = NullableList(c.cmd);
  j["Entrypoint"] = NullableList(c.entrypoint);
  j["WorkingDir"] = c.working_dir;
  j["User"] = c.user;
  if (c.labels.empty()) {
    j["Labels"] = nullptr;
  } else {
    j["Labels"] = Json(c.labels);
  }
  if (!c.exposed_ports.empty()) j["ExposedPorts"] = Set(c.exposed_ports);
  j["Volumes"] = c.volumes.empty() ? Json(nullptr) : Set(c.volumes);
  if (!c.stop_signal.empty()) j["StopSignal"] = c.stop_signal;
  if (!c.shell.empty()) j["Shell"] = c.shell;
  if (c.healthcheck) {
    Json h = Json::object();
    const HealthConfig& hc = *c.healthcheck;
    if (!hc.test.empty()) h["Test"] = hc.test;
    if (hc.interval_ns) h["Interval"] = hc.interval_ns;
    if (hc.timeout_ns) h["Timeout"] = hc.timeout_ns;
    if (hc.start_period_ns) h["StartPeriod"] = hc.start_period_ns;
    if (hc.start_interval_ns) h["StartInterval"] = hc.start_interval_ns;
    if (hc.retries) h["Retries"] = hc.retries;
    j["Healthcheck"] = h;
  }
  j["OnBuild"] = c.on_build.empty() ? Json(nullptr) : Json(c.on_build);
  if (c.args_escaped) j["ArgsEscaped"] = true;
  // Invalid UTF-8 becomes U+FFFD, as Go's encoding/json writes it.
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

Result<ImageConfig> ConfigFromJson(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("image config: invalid JSON");
  ImageConfig c;
  c.env = Strings(j.value("Env", Json()));
  if (j.contains("Cmd") && j["Cmd"].is_array()) c.cmd = Strings(j["Cmd"]);
  if (j.contains("Entrypoint") && j["Entrypoint"].is_array())
    c.entrypoint = Strings(j["Entrypoint"]);
  if (j.contains("WorkingDir") && j["WorkingDir"].is_string()) c.working_dir = j["WorkingDir"];
  if (j.contains("User") && j["User"].is_string()) c.user = j["User"];
  if (j.contains("Labels") && j["Labels"].is_object()) {
    for (auto& [k, v] : j["Labels"].items()) {
      if (v.is_string()) c.labels[k] = v.get<std::string>();
    }
  }
  for (const char* key : {"ExposedPorts", "Volumes"}) {
    if (j.contains(key) && j[key].is_object()) {
      for (auto& [k, v] : j[key].items()) {
        (std::string(key) == "Volumes" ? c.volumes : c.exposed_ports).insert(k);
      }
    }
  }
  if (j.contains("StopSignal") && j["StopSignal"].is_string()) c.stop_signal = j["StopSignal"];
  c.shell = Strings(j.value("Shell", Json()));
  if (j.contains("Healthcheck") && j["Healthcheck"].is_object()) {
    const Json& h = j["Healthcheck"];
    HealthConfig hc;
    hc.test = Strings(h.value("Test", Json()));
    auto num = [&](const char* k) -> int64_t {
      return h.contains(k) && h[k].is_number_integer() ? h[k].get<int64_t>() : 0;
    };
    hc.interval_ns = num("Interval");
    hc.timeout_ns = num("Timeout");
    hc.start_period_ns = num("StartPeriod");
    hc.start_interval_ns = num("StartInterval");
    hc.retries = static_cast<int>(num("Retries"));
    c.healthcheck = hc;
  }
  c.on_build = Strings(j.value("OnBuild", Json()));
  if (j.contains("ArgsEscaped") && j["ArgsEscaped"].is_boolean()) c.args_escaped = j["ArgsEscaped"];
  return c;
}

}  // namespace strata::dockerfile
