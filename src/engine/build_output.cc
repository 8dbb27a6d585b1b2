#include "engine/build_output.h"

#include <sys/stat.h>

#include "archive/diff.h"
#include "build/copy.h"
#include "util/csv.h"
#include "util/fs.h"

namespace strata::engine {

Result<BuildExport> ParseBuildOutputs(const std::vector<std::string>& values) {
  BuildExport e;
  if (values.empty()) return e;
  if (values.size() > 1) return InvalidArgument("multiple outputs currently unsupported");
  const std::string& v = values[0];
  // Verified with docker 20.10: `-o dest=x` makes a directory named "dest=x".
  // docker 20.10: Go's CSV reader meets EOF at once.
  if (v.empty()) return InvalidArgument("failed to parse outputs: EOF");
  if (v.find(',') == std::string::npos && !v.starts_with("type=")) {
    e.type = v == "-" ? BuildExport::Type::kTar : BuildExport::Type::kLocal;
    e.dest = v;
    return e;
  }
  STRATA_ASSIGN_OR_RETURN(auto fields, ReadCsvRecord(v, "outputs"));
  std::string type;
  for (const std::string& f : fields) {
    size_t eq = f.find('=');
    if (eq == std::string::npos)
      return InvalidArgument("failed to parse outputs: invalid value " + f);
    std::string key = f.substr(0, eq);
    if (key == "type") type = f.substr(eq + 1);
    if (key == "dest") e.dest = f.substr(eq + 1);
  }
  if (type.empty()) return InvalidArgument("failed to parse outputs: type is required for output");
  if (type == "local") {
    e.type = BuildExport::Type::kLocal;
  } else if (type == "tar") {
    e.type = BuildExport::Type::kTar;
  } else if (type == "docker") {
    e.type = BuildExport::Type::kDocker;
  } else if (type == "oci") {
    e.type = BuildExport::Type::kOci;
  } else {
    return NotFound("exporter \"" + type + "\" could not be found");
  }
  // Without dest, type=docker is the image in the store (buildx loads it into docker).
  if (e.dest.empty() && e.type != BuildExport::Type::kDocker) {
    return InvalidArgument("dest is required for " + type + " output");
  }
  return e;
}

namespace {

// One --cache-to/--cache-from value: a bare reference, or CSV type=…,ref=…[,mode=…].
Result<CacheExchange> ParseCacheValue(const std::string& v, bool to) {
  CacheExchange c;
  if (v.find('=') == std::string::npos) {
    if (v.empty()) return InvalidArgument("ref required for registry cache");
    c.ref = v;
    return c;
  }
  STRATA_ASSIGN_OR_RETURN(auto fields, ReadCsvRecord(v, to ? "cache-to" : "cache-from"));
  std::string type, mode;
  for (const std::string& f : fields) {
    size_t eq = f.find('=');
    if (eq == std::string::npos) return InvalidArgument("invalid value " + f);
    std::string key = f.substr(0, eq), val = f.substr(eq + 1);
    if (key == "type") type = val;
    if (key == "ref") c.ref = val;
    if (key == "mode") mode = val;
  }
  if (type == "inline") {
    if (!to)
      return InvalidArgument("type=inline is an export; import an image with --cache-from=REF");
    c.type = CacheExchange::Type::kInline;
    return c;
  }
  if (type != "registry") {
    return InvalidArgument("unsupported cache " + std::string(to ? "exporter" : "importer") +
                           " \"" + type + "\" (strata has registry" + (to ? " and inline)" : ")"));
  }
  if (c.ref.empty()) return InvalidArgument("ref required for registry cache");
  // mode=max would also export the layers of intermediate stages; not yet.
  if (!mode.empty() && mode != "min") {
    return InvalidArgument("cache mode " + mode + " is not supported yet (only mode=min)");
  }
  return c;
}

}  // namespace

Result<std::optional<CacheExchange>> ParseCacheTo(const std::vector<std::string>& values) {
  if (values.empty()) return std::optional<CacheExchange>();
  if (values.size() > 1) return InvalidArgument("multiple cache exports currently unsupported");
  STRATA_ASSIGN_OR_RETURN(CacheExchange c, ParseCacheValue(values[0], true));
  return std::optional<CacheExchange>(c);
}

Result<std::vector<CacheExchange>> ParseCacheFrom(const std::vector<std::string>& values) {
  std::vector<CacheExchange> out;
  for (const auto& v : values) {
    if (v.empty()) continue;  // docker 20.10 ignores an empty --cache-from
    STRATA_ASSIGN_OR_RETURN(CacheExchange c, ParseCacheValue(v, false));
    out.push_back(std::move(c));
  }
  return out;
}

Status ExportTree(const std::string& root, const BuildExport& e) {
  if (e.type == BuildExport::Type::kLocal) {
    // BuildKit creates a missing destination 0700 (verified: `-o out` on docker 20.10).
    if (::mkdir(e.dest.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoError("failed to create synctarget dest dir " + e.dest);
    }
    struct stat st;
    if (::stat(e.dest.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return FailedPrecondition("failed to create synctarget dest dir " + e.dest +
                                ": not a directory");
    }
    build::CopyRequest req;
    req.sources = {"/"};
    req.dest = "/";
    return build::Copy(build::CopySource{root, nullptr, nullptr, false}, req, e.dest);
  }
  auto write = [&](Writer& w) -> Status {
    STRATA_ASSIGN_OR_RETURN(auto tar, archive::WriteLayerTar(root, w, {}));
    (void)tar;
    return Ok();
  };
  if (e.ToStream()) return write(*e.stream);
  return WriteFileAtomicStream(e.dest, 0644, false, write);
}

}  // namespace strata::engine
