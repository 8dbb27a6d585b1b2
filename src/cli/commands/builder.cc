// strata builder prune: docker's flags, prompt and output over the store's build cache.
// strata builder history ls|logs: the build records (docker buildx history's commands).
#include <fcntl.h>

#include <memory>
#include <string>
#include <vector>

#include "cli/context.h"
#include "cli/help.h"
#include "cli/prune.h"
#include "engine/build_history.h"
#include "engine/gc.h"
#include "engine/timefmt.h"
#include "format/tabwriter.h"
#include "util/fs.h"
#include "util/human.h"
#include "util/io.h"

namespace strata::cli {

void RegisterBuilderCommands(CLI::App& app, Context& ctx) {
  auto* builder = app.add_subcommand("builder", "Manage builds");
  SetUsage(builder, "COMMAND");
  builder->require_subcommand(1);
  struct Opts {
    bool all = false, force = false;
    std::vector<std::string> filters;
    std::string keep_storage;
  };
  auto o = std::make_shared<Opts>();
  auto* c = builder->add_subcommand("prune", "Remove build cache");
  SetUsage(c, "");
  c->add_flag("-a,--all", o->all, "Remove all unused build cache, not just dangling ones");
  c->add_option("--filter", o->filters, "Provide filter values (e.g. \"until=24h\")")
      ->type_name("filter")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  c->add_flag("-f,--force", o->force, "Do not prompt for confirmation");
  c->add_option("--keep-storage", o->keep_storage, "Amount of disk space to keep for cache")
      ->type_name("bytes");
  c->callback([o, &ctx] {
    engine::BuildCachePruneOptions po;
    po.all = o->all;
    if (!o->keep_storage.empty()) {
      auto n = RAMInBytes(o->keep_storage);
      if (!n) {
        return ctx.FailPlain("invalid argument \"" + o->keep_storage +
                             "\" for \"--keep-storage\" flag: " + n.error().message);
      }
      po.keep_bytes = static_cast<uint64_t>(*n);
    }
    // docker's CLI prints the total even when the prompt is declined.
    if (!o->force && !Confirm(o->all ? "WARNING! This will remove all build cache. Are you sure "
                                       "you want to continue?"
                                     : "WARNING! This will remove all dangling build cache. "
                                       "Are you sure you want to continue?")) {
      return Out("Total reclaimed space: 0B\n");
    }
    auto filters = ParseFilters(o->filters, {"until"});
    if (!filters) {
      return ctx.FailPlain("Error response from daemon: failed to prune build cache: " +
                           filters.error().message);
    }
    for (auto [it, end] = filters->equal_range("until"); it != end; ++it) {
      auto t = ParseTimestamp(it->second, engine::NowUnixNanos());
      if (!t) return ctx.FailPlain("Error response from daemon: " + t.error().message);
      po.until_ns = *t;
    }
    auto s = ctx.Store();
    if (!s) return ctx.Fail(s.error());
    auto r = engine::PruneBuildCache(**s, po);
    if (!r) return ctx.Fail(r.error());
    std::string out;
    if (!r->removed.empty()) {
      // docker lists BuildKit's 25-character record IDs; a cache key's first 25 hex digits
      // name a strata record the same way.
      out = "Deleted build cache objects:\n";
      for (const auto& k : r->removed) out += k.substr(k.find(':') + 1, 25) + "\n";
      out += "\n";
    }
    out += "Total reclaimed space: " + HumanSize(static_cast<double>(r->reclaimed_bytes)) + "\n";
    Out(out);
  });
  auto* history = builder->add_subcommand("history", "Commands to work on build records");
  SetUsage(history, "COMMAND");
  history->require_subcommand(1);
  {
    auto no_trunc = std::make_shared<bool>(false);
    auto* ls = history->add_subcommand("ls", "List build records");
    SetUsage(ls, "[OPTIONS]");
    ls->add_flag("--no-trunc", *no_trunc, "Don't truncate output");
    ls->callback([no_trunc, &ctx] {
      auto s = ctx.Store();
      if (!s) return ctx.Fail(s.error());
      auto records = engine::ListBuildRecords(**s);
      if (!records) return ctx.Fail(records.error());
      format::TabWriter tw(10, 1, 3, ' ', 0);
      tw.Write("BUILD ID\tNAME\tSTATUS\tCREATED AT\tDURATION\n");
      for (const auto& r : *records) {
        std::string name = r.name;
        if (!*no_trunc && format::DisplayWidth(name) > 36) name = name.substr(0, 35) + "…";
        std::string duration = "-";
        if (r.completed_ns > 0) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%.1fs", (r.completed_ns - r.started_ns) / 1e9);
          duration = buf;
        }
        tw.Write(r.id + "\t" + name + "\t" + r.status + "\t" + HumanSince(r.started_ns) + "\t" +
                 duration + "\n");
      }
      tw.Flush();
      Out(tw.Take());
    });
  }
  {
    auto ref = std::make_shared<std::string>();
    auto* logs = history->add_subcommand("logs", "Print the logs of a build record");
    SetUsage(logs, "[OPTIONS] [REF]");
    logs->add_option("REF", *ref, "Build ID, or ^N for the Nth build before the newest");
    logs->callback([ref, &ctx] {
      auto s = ctx.Store();
      if (!s) return ctx.Fail(s.error());
      auto r = engine::FindBuildRecord(**s, *ref);
      if (!r) return ctx.FailPlain("ERROR: " + r.error().message);
      // Streamed: a log is as long as the build made it.
      auto fd = OpenFile(engine::BuildLogPath(**s, *r), O_RDONLY | O_CLOEXEC);
      if (!fd) return ctx.FailPlain("ERROR: " + fd.error().message);
      FdReader in(fd->get());
      FdWriter out(1);
      if (auto st = Copy(in, out); !st) return ctx.FailPlain("ERROR: " + st.error().message);
    });
  }
}

}  // namespace strata::cli
