// strata builder prune: docker's flags, prompt and output over the store's build cache.
#include <memory>
#include <string>
#include <vector>

#include "cli/context.h"
#include "cli/help.h"
#include "cli/prune.h"
#include "engine/gc.h"
#include "engine/timefmt.h"
#include "util/human.h"

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
}

}  // namespace strata::cli
