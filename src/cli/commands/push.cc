// push: docker push with docker 28's output (jsonmessage's display: one rewritten line per
// layer on a terminal, status lines without progress otherwise).
#include "engine/push.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <mutex>

#include "cli/context.h"
#include "cli/help.h"
#include "image/reference.h"

namespace strata::cli {
namespace {

// go-units HumanSize: decimal units, 4 significant digits.
std::string HumanSize(double n) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  size_t i = 0;
  while (n >= 1000 && i + 1 < std::size(kUnits)) {
    n /= 1000;
    ++i;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g%s", n, kUnits[i]);
  return buf;
}

// docker/cli's jsonmessage.DisplayJSONMessagesStream for the messages a push sends.
class PushDisplay {
 public:
  explicit PushDisplay(bool quiet) : quiet_(quiet), tty_(::isatty(1) == 1) {
    winsize ws{};
    width_ = ::ioctl(1, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 200;
  }

  // A message without an ID: ends the block of per-layer lines.
  void Line(const std::string& s) {
    if (quiet_) return;
    std::lock_guard lk(mu_);
    ids_.clear();
    Out(s + "\n");
    std::fflush(stdout);
  }

  void Progress(const engine::PushProgress& p) {
    if (quiet_) return;
    std::lock_guard lk(mu_);
    std::string bar = ProgressString(p.current, p.total);
    if (!tty_) {
      // "disable progressbar in non-terminal": only messages without counts are shown.
      if (!bar.empty()) return;
      Out(p.id + ": " + p.status + "\n");
      std::fflush(stdout);
      return;
    }
    std::string out;
    auto it = ids_.find(p.id);
    size_t line;
    if (it == ids_.end()) {
      line = ids_.size();
      ids_[p.id] = line;
      out += "\n";
    } else {
      line = it->second;
    }
    size_t diff = ids_.size() - line;
    out += "\x1b[" + std::to_string(diff) + "A";
    out += "\x1b[2K\r" + p.id + ": " + p.status + " " + bar + "\r";
    out += "\x1b[" + std::to_string(diff) + "B";
    Out(out);
    std::fflush(stdout);
  }

 private:
  // jsonmessage.JSONProgress.String without a start time (the daemon sends none for push).
  std::string ProgressString(uint64_t current, uint64_t total) const {
    if (current == 0 && total == 0) return "";
    if (total == 0) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%8s", HumanSize(static_cast<double>(current)).c_str());
      return buf;
    }
    int pct = static_cast<int>(static_cast<double>(current) / static_cast<double>(total) * 100) / 2;
    if (pct > 50) pct = 50;
    std::string box;
    if (width_ > 110) {
      box = "[" + std::string(static_cast<size_t>(pct), '=') + ">" +
            std::string(static_cast<size_t>(std::max(0, 50 - pct)), ' ') + "] ";
    }
    char buf[64];
    std::string cur = HumanSize(static_cast<double>(current));
    if (current > total) {
      std::snprintf(buf, sizeof buf, "%8s", cur.c_str());
    } else {
      std::snprintf(buf, sizeof buf, "%8s/%s", cur.c_str(),
                    HumanSize(static_cast<double>(total)).c_str());
    }
    return box + buf;
  }

  bool quiet_;
  bool tty_;
  int width_;
  std::mutex mu_;
  std::map<std::string, size_t> ids_;
};

}  // namespace

void RegisterPushCommand(CLI::App& app, Context& ctx) {
  struct Opts {
    bool all_tags = false, quiet = false, disable_trust = true;
    int max_uploads = 5;
    int level = -1;
    std::string compression = "gzip";
    std::string name;
  };
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("push", "Upload an image to a registry");
  SetUsage(c, "[OPTIONS] NAME[:TAG]", "strata image push, strata push");
  c->add_flag("-a,--all-tags", o->all_tags, "Push all tags of an image to the repository");
  c->add_option("--compression", o->compression,
                "Compression of layers stored uncompressed (\"gzip\"|\"zstd\")")
      ->default_str("gzip")
      ->type_name("string");
  c->add_option("--compression-level", o->level,
                "Compression level (gzip: 0-3, zstd: 1-19; default: the compressor's)")
      ->type_name("int");
  c->add_flag("--disable-content-trust", o->disable_trust, "Skip image signing")
      ->default_str("true");
  c->add_option("--max-concurrent-uploads", o->max_uploads,
                "Maximum number of layers uploaded at once")
      ->default_str("5")
      ->type_name("int");
  c->add_flag("-q,--quiet", o->quiet, "Suppress verbose output");
  c->add_option("name", o->name, "NAME[:TAG]")->required();
  c->callback([o, &ctx] {
    auto named = image::ParseNormalizedNamed(o->name);
    if (!named) return ctx.FailPlain(named.error().message);
    if (o->all_tags && !named->IsNameOnly()) {
      return ctx.FailPlain("tag can't be used with --all-tags/-a");
    }
    engine::PushOptions po;
    if (o->compression == "gzip") {
      po.compression = archive::Compression::kGzip;
    } else if (o->compression == "zstd") {
      po.compression = archive::Compression::kZstd;
    } else {
      return ctx.FailPlain("invalid compression \"" + o->compression + "\": must be gzip or zstd");
    }
    if (o->max_uploads < 1) {
      return ctx.FailPlain("invalid --max-concurrent-uploads: must be at least 1");
    }
    po.compression_level = o->level;
    po.max_concurrent_uploads = o->max_uploads;
    po.all_tags = o->all_tags;
    po.config_dir = ctx.config_dir;
    PushDisplay display(o->quiet);
    image::Reference ref = *named;
    if (!o->all_tags && named->IsNameOnly()) {
      ref = image::TagNameOnly(*named);
      display.Line("Using default tag: " + ref.Tag());
    }
    auto s = ctx.Store();
    if (!s) return ctx.Fail(s.error());
    po.on_start = [&](const std::string& repo) {
      display.Line("The push refers to repository [" + repo + "]");
    };
    po.progress = [&](const engine::PushProgress& p) { display.Progress(p); };
    auto res = engine::Push(**s, ref.String(), po, [&](const engine::PushResult& r) {
      display.Line(r.tag + ": digest: " + r.digest + " size: " + std::to_string(r.size));
    });
    if (!res) return ctx.FailPlain(res.error().message);
    if (o->quiet) Out(ref.String() + "\n");
  });
}

}  // namespace strata::cli
