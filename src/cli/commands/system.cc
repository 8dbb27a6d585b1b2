// version, info, system df / prune / check.
#include <sys/utsname.h>

#include <chrono>
#include <map>

#include "cli/context.h"
#include "cli/help.h"
#include "cli/prune.h"
#include "engine/gc.h"
#include "format/table.h"
#include "format/template.h"
#include "image/reference.h"
#include "util/fs.h"
#include "util/human.h"

namespace strata::cli {
void RegisterSystemCommands(CLI::App& app, Context& ctx) {
  {
    auto fmt = std::make_shared<std::string>();
    auto* c = app.add_subcommand("version", "Show the strata version information");
    c->add_option("-f,--format", *fmt, kFormatHelp);
    c->callback([fmt, &ctx] {
      struct utsname u;
      ::uname(&u);
      nlohmann::json v = {
          {"Client",
           {{"Version", "0.1.0"}, {"ApiVersion", "1.41"}, {"Os", "linux"}, {"Arch", "amd64"}}},
          {"Server", {{"Version", "0.1.0"}, {"KernelVersion", u.release}}}};
      if (!fmt->empty()) {
        auto t = format::Template::Parse(*fmt);
        if (!t) return ctx.FailPlain("template parsing error: " + t.error().message);
        auto r = t->Execute(v);
        if (!r) return ctx.FailPlain(r.error().message);
        return Out(*r + "\n");
      }
      Out("Client:\n Version:           0.1.0\n API version:       1.41\n OS/Arch:           "
          "linux/amd64\n\n"
          "Server: strata (daemonless)\n Engine:\n  Version:          0.1.0\n  Kernel Version:   " +
          std::string(u.release) + "\n");
    });
  }
  {
    auto* c = app.add_subcommand("info", "Display system-wide information");
    c->callback([&ctx] {
      auto s = ctx.Store();
      if (!s) return ctx.Fail(s.error());
      auto imgs = (**s).metadata().ListImages();
      if (!imgs) return ctx.Fail(imgs.error());
      auto snaps = (**s).snapshots();
      if (!snaps) return ctx.Fail(snaps.error());
      Out("Server:\n Images: " + std::to_string(imgs->size()) + "\n Storage Driver: " +
          std::string((*snaps)->Driver()) + "\n Docker Root Dir: " + (**s).root() + "\n");
    });
  }
  auto* sys = app.add_subcommand("system", "Manage strata");
  sys->require_subcommand(1);
  {
    auto verbose = std::make_shared<bool>(false);
    auto* c = sys->add_subcommand("df", "Show strata disk usage");
    c->add_flag("-v,--verbose", *verbose, "Show detailed information on space usage");
    c->callback([verbose, &ctx] {
      auto s = ctx.Store();
      if (!s) return ctx.Fail(s.error());
      auto imgs = (**s).metadata().ListImages();
      if (!imgs) return ctx.Fail(imgs.error());
      // As dockerd: SIZE is the unpacked size of every distinct layer of an image; with no
      // containers yet, all of it is reclaimable. Layers only the build cache holds count
      // under Build Cache.
      std::map<std::string, int> users;  // chain ID -> images using it
      std::map<std::string, std::vector<store::LayerRecord>> chains;
      int64_t size = 0;
      for (auto& img : *imgs) {
        if (!img.top_chain_id) continue;
        auto chain = (**s).metadata().LayerChain(*img.top_chain_id);
        if (!chain) return ctx.Fail(chain.error());
        for (auto& l : *chain) {
          if (users[l.chain_id]++ == 0) size += l.size;
        }
        chains[img.id] = std::move(*chain);
      }
      auto cache = (**s).metadata().ListCache();
      if (!cache) return ctx.Fail(cache.error());
      int64_t cache_size = 0;
      for (auto& c : *cache) cache_size += c.size;
      auto reclaim = [](int64_t reclaimable, int64_t total) {
        std::string r = HumanSize(static_cast<double>(reclaimable));
        if (total > 0) r += " (" + std::to_string(100 * reclaimable / total) + "%)";
        return r;
      };
      std::string t = "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE\n";
      t += "Images\t" + std::to_string(imgs->size()) + "\t0\t" +
           HumanSize(static_cast<double>(size)) + "\t" + reclaim(size, size) + "\n";
      t += "Containers\t0\t0\t0B\t0B\nLocal Volumes\t0\t0\t0B\t0B\n";
      // No build runs while this reads (it would hold the cache): all of it is reclaimable.
      t += "Build Cache\t" + std::to_string(cache->size()) + "\t0\t" +
           HumanSize(static_cast<double>(cache_size)) + "\t" +
           HumanSize(static_cast<double>(cache_size)) + "\n";
      if (!*verbose) return Out(format::AlignTable(t));
      std::string v =
          "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS\n";
      for (auto& img : *imgs) {
        int64_t shared = 0, unique = 0;
        for (auto& l : chains[img.id]) (users[l.chain_id] > 1 ? shared : unique) += l.size;
        std::string repo = "<none>", tag = "<none>";
        if (!img.tags.empty()) {
          auto r = image::ParseNormalizedNamed(img.tags[0]);
          if (r) repo = r->FamiliarName(), tag = r->Tag();
        }
        v += repo + "\t" + tag + "\t" + img.id.substr(7, 12) + "\t" + HumanSince(img.created) +
             "\t" + HumanSizeWithPrecision(static_cast<double>(img.size), 3) + "\t" +
             HumanSize(static_cast<double>(shared)) + "\t" +
             HumanSize(static_cast<double>(unique)) + "\t0\n";
      }
      // Build cache records as docker lists BuildKit's: a short ID, "regular", the layer's
      // size, and SHARED when an image holds the same layer.
      std::string b = "CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED\n";
      for (auto& c : *cache) {
        bool shared = c.chain_id && users.count(*c.chain_id);
        b += c.key.substr(c.key.find(':') + 1, 12) + "\tregular\t" +
             HumanSize(static_cast<double>(c.size)) + "\t" + HumanSince(c.created_at) + "\t" +
             HumanSince(c.last_used * 1000000000) + "\t1\t" + (shared ? "true" : "false") + "\n";
      }
      Out("Images space usage:\n\n" + format::AlignTable(v) +
          "\nContainers space usage:\n\nCONTAINER ID   IMAGE     COMMAND   LOCAL VOLUMES   SIZE    "
          "  "
          "CREATED   STATUS    NAMES\n\nLocal Volumes space usage:\n\nVOLUME NAME   LINKS     "
          "SIZE\n\n"
          "Build cache usage: " +
          HumanSize(static_cast<double>(cache_size)) + "\n\n" + format::AlignTable(b));
    });
  }
  {
    auto force = std::make_shared<bool>(false);
    auto* c = sys->add_subcommand("prune", "Remove unused data");
    c->add_flag("-f,--force", *force, "Do not prompt for confirmation");
    c->callback([force, &ctx] {
      if (!*force && !Confirm("WARNING! This will remove all data no image references (layers, "
                              "blobs and leftovers of interrupted operations).\nAre you sure "
                              "you want to continue?")) {
        return;
      }
      auto s = ctx.Store();
      if (!s) return ctx.Fail(s.error());
      auto r = engine::CollectGarbage(**s);
      if (!r) return ctx.Fail(r.error());
      Out("Total reclaimed space: " + HumanSize(static_cast<double>(r->reclaimed_bytes)) + "\n");
    });
  }
  {
    auto verify = std::make_shared<bool>(false);
    auto* c = sys->add_subcommand("check", "Check the store for consistency");
    c->add_flag("--verify-blobs", *verify, "Also re-hash every blob");
    c->callback([verify, &ctx] {
      auto s = ctx.Store();
      if (!s) return ctx.Fail(s.error());
      auto problems = engine::CheckStore(**s, *verify);
      if (!problems) return ctx.Fail(problems.error());
      std::string out;
      for (auto& p : *problems) out += p + "\n";
      if (problems->empty()) out = "store is consistent\n";
      Out(out);
      if (!problems->empty()) ctx.exit_code = 1;
    });
  }
}

}  // namespace strata::cli
