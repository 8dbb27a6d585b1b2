#include "cli/help.h"

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>

namespace strata::cli {
namespace {

struct UsageInfo {
  std::string usage, aliases;
};

std::map<const CLI::App*, UsageInfo>& Usages() {
  static std::map<const CLI::App*, UsageInfo> m;
  return m;
}

std::string CommandPath(const CLI::App* app) {
  std::string path;
  for (const CLI::App* a = app; a; a = a->get_parent()) {
    path = a->get_name() + (path.empty() ? "" : " " + path);
  }
  return path;
}

class DockerFormatter : public CLI::Formatter {
 public:
  std::string make_help(const CLI::App* app, std::string, CLI::AppFormatMode) const override {
    std::ostringstream out;
    const UsageInfo* info = nullptr;
    if (auto it = Usages().find(app); it != Usages().end()) info = &it->second;
    auto subs = app->get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); });
    std::string usage = info ? info->usage : (subs.empty() ? "[OPTIONS]" : "COMMAND");
    out << "Usage:  " << CommandPath(app) << " " << usage << "\n\n"
        << app->get_description() << "\n";
    if (info && !info->aliases.empty()) out << "\nAliases:\n  " << info->aliases << "\n";
    if (!subs.empty()) {
      size_t w = 0;
      for (auto* s : subs) w = std::max(w, s->get_name().size());
      out << "\nCommands:\n";
      for (auto* s : subs) {
        out << "  " << s->get_name() << std::string(w - s->get_name().size() + 3, ' ')
            << s->get_description() << "\n";
      }
    }
    std::vector<std::pair<std::string, std::string>> rows;
    for (const CLI::Option* o : app->get_options()) {
      if (o->get_lnames().empty() && o->get_snames().empty()) continue;  // positionals
      if (!o->get_lnames().empty() && o->get_lnames()[0] == "help") continue;
      std::string flag = o->get_snames().empty() ? "    " : "-" + o->get_snames()[0] + ", ";
      if (!o->get_lnames().empty()) flag += "--" + o->get_lnames()[0];
      if (o->get_type_size() > 0 && o->get_expected_min() > 0) {
        std::string type = o->get_type_name();
        flag += " " + (type.empty() || type == "TEXT" ? std::string("string") : type);
      }
      rows.emplace_back("  " + flag, o->get_description());
    }
    if (!rows.empty()) {
      size_t w = 0;
      for (auto& r : rows) w = std::max(w, r.first.size());
      out << "\nOptions:\n";
      for (auto& [flag, desc] : rows) {
        out << flag << std::string(w - flag.size() + 3, ' ');
        std::string indent(w + 3, ' ');
        std::string line;
        std::istringstream d(desc);
        bool first = true;
        while (std::getline(d, line)) {
          out << (first ? "" : indent) << line << "\n";
          first = false;
        }
        if (first) out << "\n";
      }
    }
    if (!subs.empty()) {
      out << "\nRun '" << CommandPath(app)
          << " COMMAND --help' for more information on a command.\n";
    }
    return out.str();
  }
};

}  // namespace

void UseDockerHelp(CLI::App& app) { app.formatter(std::make_shared<DockerFormatter>()); }

void SetUsage(CLI::App* cmd, std::string usage, std::string aliases) {
  Usages()[cmd] = {std::move(usage), std::move(aliases)};
}

}  // namespace strata::cli
