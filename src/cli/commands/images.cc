// images, tag, rmi, image prune, history, inspect: docker's image commands.
#include "engine/images.h"

#include <fnmatch.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "build/dockerfile/go_compat.h"
#include "cli/context.h"
#include "cli/help.h"
#include "cli/prune.h"
#include "engine/docker_json.h"
#include "engine/gc.h"
#include "engine/timefmt.h"
#include "format/gofmt.h"
#include "format/table.h"
#include "format/template.h"
#include "image/reference.h"
#include "util/human.h"

namespace strata::cli {
namespace {

using Json = nlohmann::json;

std::string TruncId(const std::string& id, bool no_trunc) {
  if (no_trunc) return id;
  return id.substr(id.find(':') + 1, 12);
}

// "2026-11-27 16:23:14 +0000 UTC": Go's time.Time String() in UTC.
std::string GoTimeString(int64_t unix_ns) {
  time_t t = static_cast<time_t>(unix_ns / 1000000000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  return buf;
}

// type_name: the Go type docker's formatter context has, for its error on an
// unknown field ("can't evaluate field X in type *formatter.imageContext").
Status PrintRows(const std::string& fmt, const Json& header, const std::vector<Json>& rows,
                 const std::string& default_table, const std::string& type_name) {
  format::ExecuteOptions opts;
  opts.root_type = type_name;
  auto out =
      format::RenderRows(fmt.empty() ? default_table : fmt, header, rows, default_table, opts);
  if (!out) return out.error();
  Out(*out);
  return Ok();
}

// label=KEY / label=KEY=VALUE (and label!= for prune) against an image's labels.
Result<bool> LabelsMatch(engine::Store& s, const std::string& image_id,
                         const std::multimap<std::string, std::string>& filters) {
  Json labels = Json::object();
  auto cfg = engine::ImageConfigBytes(s, image_id);
  if (!cfg) return cfg.error();
  auto j = Json::parse(*cfg, nullptr, false);
  if (!j.is_discarded() && j.contains("config") && j["config"].is_object() &&
      j["config"].contains("Labels") && j["config"]["Labels"].is_object()) {
    labels = j["config"]["Labels"];
  }
  auto has = [&](const std::string& f) {
    auto eq = f.find('=');
    std::string k = f.substr(0, eq);
    if (!labels.contains(k)) return false;
    return eq == std::string::npos || labels[k] == f.substr(eq + 1);
  };
  for (auto& [k, v] : filters) {
    if (k == "label" && !has(v)) return false;
    if (k == "label!" && has(v)) return false;
  }
  return true;
}

void RegisterImages(CLI::App& parent, Context& ctx, const std::string& name, bool alias) {
  struct Opts {
    bool all = false, quiet = false, digests = false, no_trunc = false;
    std::vector<std::string> filters;
    std::string format;
    std::vector<std::string> repo;
  };
  auto o = std::make_shared<Opts>();
  auto* c = parent.add_subcommand(name, "List images");
  if (alias) c->alias("list");
  SetUsage(c, "[OPTIONS] [REPOSITORY[:TAG]]", "strata image ls, strata image list, strata images");
  c->add_flag("-a,--all", o->all, "Show all images (default hides intermediate images)");
  c->add_flag("--digests", o->digests, "Show digests");
  c->add_option("-f,--filter", o->filters, "Filter output based on conditions provided")
      ->type_name("filter")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  c->add_option("--format", o->format,
                "Format output using a custom template:\n'table':            Print output in table "
                "format with column headers (default)\n'table TEMPLATE':   Print output in table "
                "format using the given Go template\n'json':             Print in JSON format\n"
                "'TEMPLATE':         Print output using the given Go template");
  c->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
  c->add_flag("-q,--quiet", o->quiet, "Only show image IDs");
  c->add_option("repository", o->repo, "[REPOSITORY[:TAG]]")->expected(0, 1);
  c->callback([o, &ctx] {
    auto sr = ctx.Store();
    if (!sr) return ctx.Fail(sr.error());
    engine::Store& s = **sr;
    auto filters =
        ParseFilters(o->filters, {"dangling", "label", "reference", "before", "since", "until"});
    if (!filters) return ctx.Fail(filters.error());
    if (!o->repo.empty()) filters->emplace("reference", o->repo[0]);
    auto list = s.metadata().ListImages();
    if (!list) return ctx.Fail(list.error());
    // before/since compare creation times with a named image.
    std::optional<int64_t> before, since;
    for (auto& [k, v] : *filters) {
      if (k != "before" && k != "since") continue;
      auto id = engine::ResolveImage(s, v);
      if (!id) return ctx.Fail(id.error());
      auto img = s.metadata().GetImage(*id);
      if (!img || !*img) return ctx.Fail(NotFound("No such image: " + v));
      (k == "before" ? before : since) = (*img)->created;
    }
    int64_t now = engine::NowUnixNanos();
    std::set<std::string> has_children;
    for (auto& i : *list)
      if (i.parent_id) has_children.insert(*i.parent_id);

    // docker's imageContext fields; every row is strings, so no JSON object per row.
    format::StringRows rows({"Containers", "CreatedAt", "CreatedSince", "Digest", "ID",
                             "Repository", "SharedSize", "Size", "Tag", "UniqueSize",
                             "VirtualSize"});
    std::string quiet_out;
    using Name = std::pair<std::string_view, std::string_view>;  // repo, tag
    std::vector<Name> names;
    std::vector<Name> digest_of_repo;  // repo, digest; sorted by repo
    for (auto& img : *list) {
      bool dangling = img.tags.empty() && img.repo_digests.empty();
      if (!o->all && dangling && has_children.count(img.id)) continue;  // intermediate
      if (before && img.created >= *before) continue;
      if (since && img.created <= *since) continue;
      bool keep = true;
      for (auto [it, end] = filters->equal_range("dangling"); it != end; ++it) {
        if ((it->second == "true" || it->second == "1") != dangling) keep = false;
      }
      if (filters->count("label")) {
        auto m = LabelsMatch(s, img.id, *filters);
        if (!m) return ctx.Fail(m.error());
        if (!*m) keep = false;
      }
      for (auto [it, end] = filters->equal_range("until"); it != end; ++it) {
        auto t = ParseTimestamp(it->second, now);
        if (!t) return ctx.Fail(t.error());
        if (img.created >= *t) keep = false;
      }
      if (!keep) continue;
      // One row per tag; digest-only references give <none> tags; neither
      // gives a dangling <none>:<none> row. Stored references are canonical,
      // so they split without the full grammar (SplitCanonical); the views
      // point into `list` or into strings `rows` keeps.
      names.clear();
      digest_of_repo.clear();
      for (auto& d : img.repo_digests) {
        Name nd;
        if (auto p = image::SplitCanonical(d)) {
          nd = {p->name, p->digest};
        } else if (auto r = image::ParseNormalizedNamed(d)) {
          nd = {rows.Keep(r->FamiliarName()), rows.Keep(r->Digest().str())};
        } else {
          continue;
        }
        // Like a std::map: one digest per repository, the last one wins.
        auto it = std::lower_bound(digest_of_repo.begin(), digest_of_repo.end(), nd,
                                   [](auto& a, auto& b) { return a.first < b.first; });
        if (it != digest_of_repo.end() && it->first == nd.first) {
          it->second = nd.second;
        } else {
          digest_of_repo.insert(it, nd);
        }
      }
      for (auto& t : img.tags) {
        if (auto p = image::SplitCanonical(t)) {
          names.emplace_back(p->name, p->tag);
        } else if (auto r = image::ParseNormalizedNamed(t)) {
          names.emplace_back(rows.Keep(r->FamiliarName()), rows.Keep(r->Tag()));
        }
      }
      for (auto& [repo, dg] : digest_of_repo) {
        bool tagged =
            std::any_of(names.begin(), names.end(), [&](auto& n) { return n.first == repo; });
        if (!tagged) names.emplace_back(repo, "<none>");
      }
      auto ref_ranges = filters->equal_range("reference");
      if (ref_ranges.first != ref_ranges.second) {
        std::vector<Name> kept;
        for (auto& n : names) {
          std::string name(n.first), name_tag = name + ":" + std::string(n.second);
          for (auto it = ref_ranges.first; it != ref_ranges.second; ++it) {
            const std::string& pat = it->second;
            // reference.FamiliarMatch: path.Match on "name:tag", then on "name".
            bool match = fnmatch(pat.c_str(), name_tag.c_str(), FNM_PATHNAME) == 0 ||
                         fnmatch(pat.c_str(), name.c_str(), FNM_PATHNAME) == 0;
            if (match) {
              kept.push_back(n);
              break;
            }
          }
        }
        if (kept.empty()) continue;
        names = kept;
      }
      if (names.empty()) names.emplace_back("<none>", "<none>");
      if (o->quiet) {  // IDs only: no rows to build
        std::string id = TruncId(img.id, o->no_trunc) + "\n";
        for (size_t i = 0; i < names.size(); ++i) quiet_out += id;
        continue;
      }
      // Fields shared by every row of this image are computed once.
      std::string_view created_at = rows.Keep(GoTimeString(img.created));
      std::string_view created_since = rows.Keep(HumanSince(img.created));
      std::string_view id = rows.Keep(TruncId(img.id, o->no_trunc));
      std::string_view size = rows.Keep(HumanSizeWithPrecision(static_cast<double>(img.size), 3));
      std::string_view virtual_size = rows.Keep(HumanSize(static_cast<double>(img.size)));
      for (auto& [repo, tag] : names) {
        std::string_view digest = "<none>";
        auto it = std::lower_bound(digest_of_repo.begin(), digest_of_repo.end(), repo,
                                   [](auto& a, std::string_view b) { return a.first < b; });
        if (it != digest_of_repo.end() && it->first == repo) digest = it->second;
        rows.Add({"N/A", created_at, created_since, digest, id, repo, "N/A", size, tag, "N/A",
                  virtual_size});
      }
    }
    if (o->quiet) return Out(quiet_out);
    Json header = {{"Repository", "REPOSITORY"},
                   {"Tag", "TAG"},
                   {"ID", "IMAGE ID"},
                   {"CreatedSince", "CREATED"},
                   {"Size", "SIZE"},
                   {"Digest", "DIGEST"},
                   {"CreatedAt", "CREATED AT"},
                   {"Containers", "CONTAINERS"},
                   {"SharedSize", "SHARED SIZE"},
                   {"UniqueSize", "UNIQUE SIZE"},
                   {"VirtualSize", "VIRTUAL SIZE"}};
    std::string def =
        o->digests
            ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
            : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
    format::ExecuteOptions opts;
    opts.root_type = "*formatter.imageContext";
    auto out =
        format::RenderStringRows(o->format.empty() ? def : o->format, header, rows, def, opts);
    if (!out) {
      ctx.FailPlain(out.error().message);
    } else {
      Out(*out);
    }
  });
}

void RegisterTag(CLI::App& parent, Context& ctx) {
  auto args = std::make_shared<std::vector<std::string>>();
  auto* c = parent.add_subcommand("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE");
  SetUsage(c, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "strata image tag, strata tag");
  c->add_option("names", *args, "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")->expected(2)->required();
  c->callback([args, &ctx] {
    auto target = image::ParseNormalizedNamed((*args)[1]);
    if (!target) {
      return ctx.FailPlain("Error parsing reference: \"" + (*args)[1] +
                           "\" is not a valid repository/tag: " + target.error().message);
    }
    if (image::IsIdentifier(target->Path())) {
      return ctx.FailPlain("Error parsing reference: \"" + (*args)[1] +
                           "\" is not a valid repository/tag: invalid repository name (" +
                           target->Path() + "), cannot specify 64-byte hexadecimal strings");
    }
    auto s = ctx.Store();
    if (!s) return ctx.Fail(s.error());
    if (auto st = engine::TagImage(**s, (*args)[0], (*args)[1]); !st) ctx.Fail(st.error());
  });
}

void RegisterRmi(CLI::App& parent, Context& ctx, const std::string& name) {
  struct Opts {
    bool force = false, no_prune = false;
    std::vector<std::string> names;
  };
  auto o = std::make_shared<Opts>();
  auto* c = parent.add_subcommand(name, "Remove one or more images");
  SetUsage(c, "[OPTIONS] IMAGE [IMAGE...]", "strata image rm, strata image remove, strata rmi");
  c->add_flag("-f,--force", o->force, "Force removal of the image");
  c->add_flag("--no-prune", o->no_prune, "Do not delete untagged parents");
  c->add_option("images", o->names, "IMAGE [IMAGE...]")->required();
  c->callback([o, &ctx] {
    auto s = ctx.Store();
    if (!s) return ctx.Fail(s.error());
    for (auto& n : o->names) {
      auto recs = engine::RemoveImage(**s, n, o->force, !o->no_prune);
      if (!recs) {
        ctx.Fail(recs.error());
        continue;
      }
      std::string out;
      for (auto& r : *recs)
        out +=
            r.untagged.empty() ? "Deleted: " + r.deleted + "\n" : "Untagged: " + r.untagged + "\n";
      Out(out);
    }
  });
}

void RegisterHistory(CLI::App& parent, Context& ctx) {
  struct Opts {
    bool human = true, no_trunc = false, quiet = false;
    std::string format, image;
  };
  auto o = std::make_shared<Opts>();
  auto* c = parent.add_subcommand("history", "Show the history of an image");
  SetUsage(c, "[OPTIONS] IMAGE", "strata image history, strata history");
  c->add_option("-H,--human", o->human, "Print sizes and dates in human readable format")
      ->default_str("true")
      ->expected(0, 1)
      ->default_val(true);
  c->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
  c->add_flag("-q,--quiet", o->quiet, "Only show image IDs");
  c->add_option("--format", o->format, "Format output using a custom template");
  c->add_option("image", o->image, "IMAGE")->required();
  c->callback([o, &ctx] {
    auto s = ctx.Store();
    if (!s) return ctx.Fail(s.error());
    auto id = engine::ResolveImage(**s, o->image);
    if (!id) return ctx.Fail(id.error());
    auto hist = engine::ImageHistory(**s, *id);
    if (!hist) return ctx.Fail(hist.error());
    std::vector<Json> rows;
    for (auto& h : *hist) {
      Json r;
      r["Comment"] = h.comment;
      r["CreatedAt"] = engine::FormatRfc3339Nano(h.created * 1000000000).substr(0, 19) + "Z";
      r["CreatedBy"] = h.created_by;
      r["CreatedSince"] = o->human ? HumanSince(h.created * 1000000000)
                                   : engine::FormatRfc3339Nano(h.created * 1000000000);
      r["ID"] = h.id == "<missing>" ? h.id : TruncId(h.id, o->no_trunc);
      r["Size"] = o->human ? HumanSizeWithPrecision(static_cast<double>(h.size), 3)
                           : std::to_string(h.size);
      std::string by = h.created_by;
      if (!o->no_trunc && by.size() > 45) by = by.substr(0, 44) + "…";
      r["CreatedBy"] = by;
      rows.push_back(r);
    }
    if (o->quiet) {
      std::string out;
      for (auto& r : rows) out += r["ID"].get<std::string>() + "\n";
      return Out(out);
    }
    Json header = {{"ID", "IMAGE"},
                   {"CreatedSince", "CREATED"},
                   {"CreatedAt", "CREATED AT"},
                   {"CreatedBy", "CREATED BY"},
                   {"Size", "SIZE"},
                   {"Comment", "COMMENT"}};
    if (auto st = PrintRows(
            o->format, header, rows,
            o->human ? "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
                     : "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
            "*formatter.historyContext");
        !st) {
      ctx.FailPlain(st.error().message);
    }
  });
}

// The value docker's CLI templates see for an image: its typed struct, where
// nil slices print "[]" and nil maps "map[]" (Healthcheck stays a nil pointer).
// `json` encodes the struct itself (field order, nil as null), so every node of the view
// remembers the node of docker's JSON it stands for.
class InspectTemplateView {
 public:
  // `inspect` must outlive the view: `json` encodes its nodes.
  explicit InspectTemplateView(const nlohmann::ordered_json& inspect) {
    view_ = Json::parse(inspect.dump());
    view_.erase("Container");
    if (view_.contains("Config") && view_["Config"].is_object()) {
      Json& c = view_["Config"];
      for (const char* k : {"Env", "Cmd", "Entrypoint", "OnBuild", "Shell"})
        if (!c.contains(k) || c[k].is_null()) c[k] = Json::array();
      for (const char* k : {"Volumes", "Labels", "ExposedPorts"}) {
        if (!c.contains(k) || c[k].is_null()) c[k] = Json::object();
        maps_.push_back(&c[k]);
        if (std::string_view(k) != "Labels") sets_.push_back(&c[k]);
      }
      if (!c.contains("Healthcheck")) c["Healthcheck"] = nullptr;
      structs_.push_back(&c);
      if (c["Healthcheck"].is_object()) structs_.push_back(healthcheck_ = &c["Healthcheck"]);
    }
    if (view_.contains("ContainerConfig") && view_["ContainerConfig"].is_object())
      structs_.push_back(&view_["ContainerConfig"]);
    if (view_.contains("RootFS")) structs_.push_back(rootfs_ = &view_["RootFS"]);
    Link(view_, inspect);
  }
  InspectTemplateView(const InspectTemplateView&) = delete;
  InspectTemplateView& operator=(const InspectTemplateView&) = delete;

  const Json& data() const { return view_; }
  bool IsMap(const Json& v) const {
    return std::find(maps_.begin(), maps_.end(), &v) != maps_.end();
  }
  // docker 20.10's CLI prints the typed struct: Config as container.Config's 25 fields,
  // RootFS as {Type Layers BaseLayer}, port and volume sets as map[k:{}].
  std::optional<std::string> Print(const Json& v) const {
    if (std::find(sets_.begin(), sets_.end(), &v) != sets_.end()) return PrintSet(v);
    if (std::find(structs_.begin(), structs_.end(), &v) == structs_.end()) return std::nullopt;
    if (&v == healthcheck_) return PrintPointee(v);
    if (&v == rootfs_) {
      return "{" + format::FormatValue(v.value("Type", Json(""))) + " " +
             format::FormatValue(v.value("Layers", Json::array())) + " " +
             format::FormatValue(v.value("BaseLayer", Json(""))) + "}";
    }
    // container.Config's fields in order, each with what Go prints for its zero value; sets
    // and pointers print their own way.
    static const std::pair<const char*, const char*> kFields[] = {{"Hostname", ""},
                                                                  {"Domainname", ""},
                                                                  {"User", ""},
                                                                  {"AttachStdin", "false"},
                                                                  {"AttachStdout", "false"},
                                                                  {"AttachStderr", "false"},
                                                                  {"ExposedPorts", nullptr},
                                                                  {"Tty", "false"},
                                                                  {"OpenStdin", "false"},
                                                                  {"StdinOnce", "false"},
                                                                  {"Env", "[]"},
                                                                  {"Cmd", "[]"},
                                                                  {"Healthcheck", nullptr},
                                                                  {"ArgsEscaped", "false"},
                                                                  {"Image", ""},
                                                                  {"Volumes", nullptr},
                                                                  {"WorkingDir", ""},
                                                                  {"Entrypoint", "[]"},
                                                                  {"NetworkDisabled", "false"},
                                                                  {"MacAddress", ""},
                                                                  {"OnBuild", "[]"},
                                                                  {"Labels", "map[]"},
                                                                  {"StopSignal", ""},
                                                                  {"StopTimeout", nullptr},
                                                                  {"Shell", "[]"}};
    std::string out = "{";
    for (const auto& [k, zero] : kFields) {
      if (k != kFields[0].first) out += ' ';
      auto it = v.find(k);
      bool set = it != v.end() && !it->is_null();
      std::string_view key = k;
      if (key == "ExposedPorts" || key == "Volumes") {
        out += PrintSet(set ? *it : Json::object());
      } else if (zero == nullptr) {
        // Go prints a pointer inside a struct as its address; the value says more.
        out += set ? "&" + PrintPointee(*it) : "<nil>";
      } else {
        out += set ? format::FormatValue(*it) : zero;
      }
    }
    return out + "}";
  }
  std::optional<std::string> Marshal(const Json& v) const {
    auto it = origin_.find(&v);
    if (it == origin_.end()) return std::nullopt;
    return format::DockerJson(*it->second);
  }

 private:
  // A set of names (map[string]struct{}): map[80/tcp:{}].
  static std::string PrintSet(const Json& v) {
    std::string out = "map[";
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (out.size() > 4) out += ' ';
      out += it.key() + ":{}";
    }
    return out + "]";
  }
  // What a pointer field points at: a HealthConfig as {Test Interval Timeout StartPeriod
  // Retries} with Go durations, a *int as the number.
  static std::string PrintPointee(const Json& v) {
    if (!v.is_object()) return format::FormatValue(v);
    auto ns = [&v](const char* k) {
      return dockerfile::go::FormatDuration(v.value(k, int64_t{0}));
    };
    return "{" + format::FormatValue(v.value("Test", Json::array())) + " " + ns("Interval") + " " +
           ns("Timeout") + " " + ns("StartPeriod") + " " +
           format::FormatValue(v.value("Retries", Json(0))) + "}";
  }

  void Link(const Json& v, const nlohmann::ordered_json& o) {
    origin_[&v] = &o;
    if (v.is_object() && o.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        auto src = o.find(it.key());
        // A field the view adds (a nil slice docker omits) encodes as null.
        if (src == o.end())
          origin_[&it.value()] = &null_;
        else
          Link(it.value(), *src);
      }
    } else if (v.is_array() && o.is_array() && v.size() == o.size()) {
      for (size_t i = 0; i < v.size(); ++i) Link(v[i], o[i]);
    }
  }

  const nlohmann::ordered_json null_;
  Json view_;
  std::vector<const Json*> maps_;
  std::vector<const Json*> structs_;
  std::vector<const Json*> sets_;
  const Json* rootfs_ = nullptr;
  const Json* healthcheck_ = nullptr;
  std::unordered_map<const Json*, const nlohmann::ordered_json*> origin_;
};

void RegisterInspect(CLI::App& parent, Context& ctx, const std::string& name, bool generic) {
  struct Opts {
    std::string format, type;
    std::vector<std::string> names;
  };
  auto o = std::make_shared<Opts>();
  auto* c = parent.add_subcommand(name, name == "inspect"
                                            ? "Return low-level information on Docker objects"
                                            : "Display detailed information on one or more images");
  c->add_option("-f,--format", o->format, "Format output using a custom template");
  if (generic) c->add_option("--type", o->type, "Return JSON for specified type");
  SetUsage(c, generic ? "[OPTIONS] NAME|ID [NAME|ID...]" : "[OPTIONS] IMAGE [IMAGE...]");
  c->add_option("names", o->names, "IMAGE [IMAGE...]")->required();
  c->callback([o, &ctx] {
    auto s = ctx.Store();
    if (!s) return ctx.Fail(s.error());
    std::optional<format::Template> tmpl;
    if (!o->format.empty()) {
      auto t = format::Template::Parse(format::ExpandEscapes(o->format));
      if (!t) return ctx.FailPlain("template parsing error: " + t.error().message);
      tmpl = std::move(*t);
    }
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    std::string out;
    for (auto& n : o->names) {
      auto id = engine::ResolveImage(**s, n);
      if (!id) {
        std::fprintf(stderr, "Error response from daemon: no such image: %s: %s\n", n.c_str(),
                     id.error().message.c_str());
        ctx.exit_code = 1;
        continue;
      }
      auto j = engine::InspectImage(**s, *id);
      if (!j) {
        ctx.Fail(j.error());
        continue;
      }
      if (tmpl) {
        format::ExecuteOptions opts;
        opts.missing_key_error = true;  // docker's raw-map fallback: missingkey=error
        InspectTemplateView view(*j);
        opts.is_map = [&view](const Json& x) { return view.IsMap(x); };
        opts.marshal = [&view](const Json& x) { return view.Marshal(x); };
        opts.print = [&view](const Json& x) { return view.Print(x); };
        auto r = tmpl->Execute(view.data(), opts);
        if (!r) {
          std::fprintf(stderr, "template parsing error: %s\n", r.error().message.c_str());
          ctx.exit_code = 1;
          continue;
        }
        out += *r + "\n";
      } else {
        all.push_back(std::move(*j));
      }
    }
    if (!tmpl) out = engine::GoJson(all, 4) + "\n";
    Out(out);
  });
}

void RegisterPrune(CLI::App& parent, Context& ctx) {
  struct Opts {
    bool all = false, force = false;
    std::vector<std::string> filters;
  };
  auto o = std::make_shared<Opts>();
  auto* c = parent.add_subcommand("prune", "Remove unused images");
  SetUsage(c, "[OPTIONS]");
  c->add_flag("-a,--all", o->all, "Remove all unused images, not just dangling ones");
  c->add_option("--filter", o->filters, "Provide filter values (e.g. \"until=<timestamp>\")")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  c->add_flag("-f,--force", o->force, "Do not prompt for confirmation");
  c->callback([o, &ctx] {
    if (!o->force &&
        !Confirm(o->all ? "WARNING! This will remove all images without at least one container "
                          "associated to them.\nAre you sure you want to continue?"
                        : "WARNING! This will remove all dangling images.\nAre you sure you want "
                          "to continue?")) {
      return;
    }
    auto s = ctx.Store();
    if (!s) return ctx.Fail(s.error());
    auto filters = ParseFilters(o->filters, {"until", "label", "label!", "dangling"});
    if (!filters) return ctx.Fail(filters.error());
    auto before = engine::CollectGarbage(**s);  // settle garbage first so the figure is ours
    (void)before;
    uint64_t used_before = 0;
    (**s).content().Walk([&](const content::Info& i) { used_before += i.size; }).has_value();
    auto list = (**s).metadata().ListImages();
    if (!list) return ctx.Fail(list.error());
    std::string out;
    std::string deleted_lines;
    int64_t now = engine::NowUnixNanos();
    for (auto& img : *list) {
      bool dangling = img.tags.empty() && img.repo_digests.empty();
      if (!o->all && !dangling) continue;
      bool keep = false;
      for (auto [it, end] = filters->equal_range("until"); it != end; ++it) {
        auto t = ParseTimestamp(it->second, now);
        if (!t) return ctx.Fail(t.error());
        if (img.created >= *t) keep = true;
      }
      if (filters->count("label") || filters->count("label!")) {
        auto m = LabelsMatch(**s, img.id, *filters);
        if (!m) return ctx.Fail(m.error());
        if (!*m) keep = true;
      }
      if (keep) continue;
      auto recs = engine::RemoveImage(**s, img.id, /*force=*/true, /*prune=*/true);
      if (!recs) continue;
      for (auto& r : *recs)
        deleted_lines +=
            r.untagged.empty() ? "deleted: " + r.deleted + "\n" : "untagged: " + r.untagged + "\n";
    }
    auto gc = engine::CollectGarbage(**s);
    uint64_t used_after = 0;
    (**s).content().Walk([&](const content::Info& i) { used_after += i.size; }).has_value();
    (void)gc;
    if (!deleted_lines.empty()) out += "Deleted Images:\n" + deleted_lines + "\n";
    out += "Total reclaimed space: " +
           HumanSize(static_cast<double>(used_before > used_after ? used_before - used_after : 0)) +
           "\n";
    Out(out);
  });
}

}  // namespace

void RegisterImageCommands(CLI::App& app, Context& ctx, std::string_view only) {
  auto want = [only](std::string_view name) { return only.empty() || only == name; };
  if (want("images")) RegisterImages(app, ctx, "images", false);
  if (want("tag")) RegisterTag(app, ctx);
  if (want("rmi")) RegisterRmi(app, ctx, "rmi");
  if (want("history")) RegisterHistory(app, ctx);
  if (want("inspect")) RegisterInspect(app, ctx, "inspect", true);
  if (!want("image")) return;
  auto* image = app.add_subcommand("image", "Manage images");
  image->require_subcommand(1);
  RegisterImages(*image, ctx, "ls", true);
  RegisterTag(*image, ctx);
  RegisterRmi(*image, ctx, "rm");
  RegisterHistory(*image, ctx);
  RegisterInspect(*image, ctx, "inspect", false);
  RegisterPrune(*image, ctx);
  RegisterArchiveCommands(*image, ctx);
}

}  // namespace strata::cli
