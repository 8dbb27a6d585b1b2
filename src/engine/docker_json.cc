#include "engine/docker_json.h"

#include "image/go_json.h"
#include "snapshot/storage.h"

namespace strata::engine {

using ojson = nlohmann::ordered_json;

ojson ContainerConfigForInspect(const ojson& c) {
  auto get = [&](const char* k, ojson zero) {
    if (c.is_object() && c.contains(k) && !c[k].is_null()) return c[k];
    return zero;
  };
  auto present = [&](const char* k) {
    if (!c.is_object() || !c.contains(k) || c[k].is_null()) return false;
    const ojson& v = c[k];
    if (v.is_string() || v.is_array() || v.is_object()) return !v.empty();
    if (v.is_boolean()) return v.get<bool>();
    return true;
  };
  ojson o = ojson::object();
  o["Hostname"] = get("Hostname", "");
  o["Domainname"] = get("Domainname", "");
  o["User"] = get("User", "");
  o["AttachStdin"] = get("AttachStdin", false);
  o["AttachStdout"] = get("AttachStdout", false);
  o["AttachStderr"] = get("AttachStderr", false);
  if (present("ExposedPorts")) o["ExposedPorts"] = c["ExposedPorts"];
  o["Tty"] = get("Tty", false);
  o["OpenStdin"] = get("OpenStdin", false);
  o["StdinOnce"] = get("StdinOnce", false);
  o["Env"] = get("Env", nullptr);
  o["Cmd"] = get("Cmd", nullptr);
  if (present("Healthcheck")) {
    // container.HealthConfig: fields in struct order, each omitempty.
    const ojson& h = c["Healthcheck"];
    ojson hc = ojson::object();
    for (const char* k :
         {"Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"}) {
      if (h.contains(k) && !h[k].is_null() && h[k] != ojson(0) && h[k] != ojson::array())
        hc[k] = h[k];
    }
    o["Healthcheck"] = hc;
  }
  if (present("ArgsEscaped")) o["ArgsEscaped"] = c["ArgsEscaped"];
  o["Image"] = get("Image", "");
  o["Volumes"] = get("Volumes", nullptr);
  o["WorkingDir"] = get("WorkingDir", "");
  o["Entrypoint"] = get("Entrypoint", nullptr);
  if (present("NetworkDisabled")) o["NetworkDisabled"] = c["NetworkDisabled"];
  if (present("MacAddress")) o["MacAddress"] = c["MacAddress"];
  o["OnBuild"] = get("OnBuild", nullptr);
  o["Labels"] = get("Labels", nullptr);
  if (present("StopSignal")) o["StopSignal"] = c["StopSignal"];
  if (present("StopTimeout")) o["StopTimeout"] = c["StopTimeout"];
  if (present("Shell")) o["Shell"] = c["Shell"];
  return o;
}

ojson GraphDriverForInspect(Store& s, const store::ImageRecord& img) {
  ojson g = ojson::object();
  g["Data"] = nullptr;
  // The driver a root was created with is recorded on disk; reading it spares inspect the
  // snapshotter's open (exclusive lock, crash recovery, directory fsync). Only a root that
  // has no snapshots yet needs the open, which picks and records the driver.
  auto stored = snapshot::Storage::StoredDriver(s.root());
  if (stored && !stored->empty()) {
    g["Name"] = *stored;
  } else {
    auto snaps = s.snapshots();
    g["Name"] = snaps ? std::string((*snaps)->Driver()) : std::string();
  }
  (void)img;
  return g;
}

namespace {

// Appends a string as Go's json.Marshal writes it. Strings that need no escaping (printable
// ASCII without `"`, `\`, and the HTML characters Go escapes) are copied as they are: the
// 1,000 tags of an image should not each take the general encoder.
void AppendGoString(const std::string& s, std::string& out) {
  for (char c : s) {
    bool plain = c >= 0x20 && c < 0x7F && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
    if (!plain) {
      out += image::GoMarshal(ojson(s));
      return;
    }
  }
  out += '"';
  out += s;
  out += '"';
}

void Dump(const ojson& j, int indent, int depth, std::string& out) {
  auto nl = [&](int d) {
    if (indent <= 0) return;
    out += '\n';
    out.append(static_cast<size_t>(indent * d), ' ');
  };
  switch (j.type()) {
    case ojson::value_t::object: {
      if (j.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      bool first = true;
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (!first) out += ',';
        first = false;
        nl(depth + 1);
        AppendGoString(it.key(), out);
        out += indent > 0 ? ": " : ":";
        Dump(it.value(), indent, depth + 1, out);
      }
      nl(depth);
      out += '}';
      return;
    }
    case ojson::value_t::array: {
      if (j.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (auto& v : j) {
        if (!first) out += ',';
        first = false;
        nl(depth + 1);
        Dump(v, indent, depth + 1, out);
      }
      nl(depth);
      out += ']';
      return;
    }
    case ojson::value_t::string:
      AppendGoString(j.get_ref<const std::string&>(), out);
      return;
    default:
      out += image::GoMarshal(j);  // other scalars: Go's number format
  }
}

}  // namespace

std::string GoJson(const ojson& j, int indent) {
  if (indent <= 0) return image::GoMarshal(j);
  std::string out;
  Dump(j, indent, 0, out);
  return out;
}

}  // namespace strata::engine
