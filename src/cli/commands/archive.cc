// save, load, import: image archives in and out.
#include <fcntl.h>
#include <unistd.h>

#include "cli/context.h"
#include "cli/help.h"
#include "engine/archive_io.h"
#include "engine/import.h"
#include "image/reference.h"
#include "util/fs.h"

namespace strata::cli {

void RegisterArchiveCommands(CLI::App& app, Context& ctx) {
  {
    struct Opts {
      std::string output;
      std::vector<std::string> images;
    };
    auto o = std::make_shared<Opts>();
    auto* c = app.add_subcommand(
        "save", "Save one or more images to a tar archive (streamed to STDOUT by default)");
    c->add_option("-o,--output", o->output, "Write to a file, instead of STDOUT");
    SetUsage(c, "[OPTIONS] IMAGE [IMAGE...]", "strata image save, strata save");
    c->add_option("images", o->images, "IMAGE [IMAGE...]")->required();
    c->callback([o, &ctx] {
      if (o->output.empty() && ::isatty(1)) {
        return ctx.FailPlain(
            "cowardly refusing to save to a terminal. Use the -o flag or redirect");
      }
      auto s = ctx.Store();
      if (!s) return ctx.Fail(s.error());
      if (o->output.empty()) {
        FdWriter w(1);
        if (auto st = engine::SaveImages(**s, o->images, w); !st) ctx.Fail(st.error());
        return;
      }
      // The daemon's errors (a missing image) keep docker's prefix; the client's own file
      // errors (open, rename) do not.
      std::optional<Error> save_error;
      auto st = WriteFileAtomicStream(o->output, 0644, false, [&](Writer& w) {
        auto saved = engine::SaveImages(**s, o->images, w);
        if (!saved) save_error = saved.error();
        return saved;
      });
      if (save_error) return ctx.Fail(*save_error);
      if (!st) return ctx.FailPlain(st.error().message);
    });
  }
  {
    struct Opts {
      std::string input;
      bool quiet = false;
    };
    auto o = std::make_shared<Opts>();
    auto* c = app.add_subcommand("load", "Load an image from a tar archive or STDIN");
    c->add_option("-i,--input", o->input, "Read from tar archive file, instead of STDIN");
    SetUsage(c, "[OPTIONS]", "strata image load, strata load");
    c->add_flag("-q,--quiet", o->quiet, "Suppress the load output");
    c->callback([o, &ctx] {
      UniqueFd fd;
      if (!o->input.empty()) {
        auto f = OpenFile(o->input, O_RDONLY);
        if (!f) return ctx.FailPlain("open " + o->input + ": no such file or directory");
        fd = std::move(*f);
      } else if (::isatty(0)) {
        return ctx.FailPlain("requested load from stdin, but stdin is empty");
      }
      auto s = ctx.Store();
      if (!s) return ctx.Fail(s.error());
      FdReader r(fd.valid() ? fd.get() : 0);
      auto lines = engine::LoadImages(**s, r);
      if (!lines) return ctx.FailPlain(lines.error().message);
      std::string out;
      for (auto& l : *lines) out += l + "\n";
      Out(out);
    });
  }
  {
    struct Opts {
      std::vector<std::string> changes;
      std::string message, platform;
      std::vector<std::string> args;
    };
    auto o = std::make_shared<Opts>();
    auto* c = app.add_subcommand("import",
                                 "Import the contents from a tarball to create a filesystem image");
    SetUsage(c, "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]", "strata image import, strata import");
    c->add_option("-c,--change", o->changes, "Apply Dockerfile instruction to the created image")
        ->type_name("list")
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    c->add_option("-m,--message", o->message, "Set commit message for imported image");
    c->add_option("--platform", o->platform, "Set platform if server is multi-platform capable");
    c->add_option("args", o->args, "file|URL|- [REPOSITORY[:TAG]]")->expected(1, 2)->required();
    c->callback([o, &ctx] {
      engine::ImportOptions io;
      io.changes = o->changes;
      io.message = o->message;
      io.platform = o->platform;
      if (o->args.size() > 1) {
        auto ref = image::ParseNormalizedNamed(o->args[1]);
        if (!ref) return ctx.FailPlain(ref.error().message);
        io.tag = o->args[1];
      }
      UniqueFd fd;
      const std::string& src = o->args[0];
      if (src != "-") {
        if (src.starts_with("http://") || src.starts_with("https://")) {
          return ctx.Fail(Unimplemented("importing from a URL is not supported yet"));
        }
        auto f = OpenFile(src, O_RDONLY);
        if (!f) return ctx.FailPlain("open " + src + ": no such file or directory");
        fd = std::move(*f);
      }
      // docker's client streams a file as the request body, so the daemon
      // names the source "-" either way.
      io.source = "-";
      auto s = ctx.Store();
      if (!s) return ctx.Fail(s.error());
      FdReader r(fd.valid() ? fd.get() : 0);
      auto id = engine::ImportImage(**s, r, io);
      if (!id) return ctx.Fail(id.error());
      Out(*id + "\n");
    });
  }
}

}  // namespace strata::cli
