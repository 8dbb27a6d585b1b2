// version, info, system df / prune / check.
#include <sys/utsname.h>

#include "cli/context.h"
#include "engine/gc.h"
#include "format/template.h"
#include "util/fs.h"
#include "util/human.h"

namespace strata::cli {

void RegisterSystemCommands(CLI::App& app, Context& ctx) {
  {
    auto fmt = std::make_shared<std::string>();
    auto* c = app.add_subcommand("version", "Show the strata version information");
    c->add_option("-f,--format", *fmt, "Format output using a custom template");
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
      Out("Server:\n Images: " + std::to_string(imgs->size()) + "\n Storage Driver: " +
          std::string((**s).snapshots().Driver()) + "\n Docker Root Dir: " + (**s).root() + "\n");
    });
  }
  auto* sys = app.add_subcommand("system", "Manage strata");
  sys->require_subcommand(1);
  {
    auto verbose = std::make_shared<bool>(false);
    auto* c = sys->add_subcommand("df", "Show docker disk usage");
    c->add_flag("-v,--verbose", *verbose, "Show detailed information on space usage");
    c->callback([&ctx] {
      auto s = ctx.Store();
      if (!s) return ctx.Fail(s.error());
      auto imgs = (**s).metadata().ListImages();
      if (!imgs) return ctx.Fail(imgs.error());
      uint64_t total = DiskUsage((**s).root());
      int active = 0;
      for (auto& i : *imgs) active += i.tags.empty() ? 0 : 1;
      std::string out = "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n";
      char line[256];
      std::snprintf(line, sizeof line, "%-15s %-9zu %-9d %-9s %s\n", "Images", imgs->size(), 0,
                    HumanSize(static_cast<double>(total)).c_str(),
                    HumanSize(static_cast<double>(total)).c_str());
      out += line;
      (void)active;
      Out(out);
    });
  }
  {
    auto force = std::make_shared<bool>(false);
    auto* c = sys->add_subcommand("prune", "Remove unused data");
    c->add_flag("-f,--force", *force, "Do not prompt for confirmation");
    c->callback([&ctx] {
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
