#include "cli/help.h"

#include <sys/ioctl.h>

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>

namespace strata::cli {
namespace {

// docker wraps flag help to the terminal's width (of stdin), 80 otherwise,
// minus one (docker/cli's wrappedFlagUsages).
size_t HelpWidth() {
  winsize ws{};
  if (::ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col - 1;
  return 79;
}

// pflag's wrapN: the first line of s within i columns (slop more if that
// finishes s), broken at the last blank or an earlier newline.
std::pair<std::string, std::string> WrapN(size_t i, size_t slop, const std::string& s) {
  if (i + slop > s.size()) return {s, ""};
  size_t w = s.find_last_of(" \t\n", i - 1);
  if (w == std::string::npos || w == 0) return {s, ""};
  size_t nl = s.rfind('\n', i - 1);
  if (nl != std::string::npos && nl > 0 && nl < w) return {s.substr(0, nl), s.substr(nl + 1)};
  return {s.substr(0, w), s.substr(w + 1)};
}

std::string IndentNewlines(const std::string& s, size_t i) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == '\n') out += std::string(i, ' ');
  }
  return out;
}

// pflag's wrap: text starting at column i, wrapped at width w, continuation
// lines indented to i; narrow columns move the text to column 16 first.
std::string Wrap(size_t i, size_t w, std::string s) {
  std::string r;
  if (w < i + 24) {
    i = 16;
    r = "\n" + std::string(i, ' ');
  }
  if (w < i + 24) return IndentNewlines(s, i);
  const size_t slop = 5;
  size_t width = w - i - slop;
  auto [first, rest] = WrapN(width, slop, s);
  r += IndentNewlines(first, i);
  while (!rest.empty()) {
    auto [line, more] = WrapN(width, slop, rest);
    r += "\n" + std::string(i, ' ') + IndentNewlines(line, i);
    rest = std::move(more);
  }
  return r;
}

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
    out << "Usage:  " << CommandPath(app) << (usage.empty() ? "" : " ") << usage << "\n\n"
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
    struct Row {
      std::string key, flag, desc;
    };
    std::vector<Row> rows;
    for (const CLI::Option* o : app->get_options()) {
      if (o->get_lnames().empty() && o->get_snames().empty()) continue;  // positionals
      if (!o->get_lnames().empty() && o->get_lnames()[0] == "help") continue;
      std::string flag = o->get_snames().empty() ? "    " : "-" + o->get_snames()[0] + ", ";
      if (!o->get_lnames().empty()) flag += "--" + o->get_lnames()[0];
      if (o->get_type_size() > 0 && o->get_expected_min() > 0) {
        std::string type = o->get_type_name();
        flag += " " + (type.empty() || type == "TEXT" ? std::string("string") : type);
      }
      std::string desc = o->get_description();
      // pflag shows non-zero defaults: (default true), (default "x"), (default 3).
      std::string def = o->get_default_str();
      if (!def.empty() && def != "false" && def != "0" && def != "[]") {
        bool quoted = def != "true" && o->get_type_size() > 0 &&
                      (o->get_type_name().empty() || o->get_type_name() == "TEXT" ||
                       o->get_type_name() == "string");
        if (o->get_expected_min() == 0 && def == "1") def = "true";  // CLI11 spells flags 1
        desc += quoted ? " (default \"" + def + "\")" : " (default " + def + ")";
      }
      std::string key = o->get_lnames().empty() ? o->get_snames()[0] : o->get_lnames()[0];
      rows.push_back({key, "  " + flag, desc});
    }
    // pflag lists flags sorted by their long name.
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.key < b.key; });
    if (!rows.empty()) {
      size_t w = 0;
      for (auto& r : rows) w = std::max(w, r.flag.size());
      out << "\nOptions:\n";
      for (auto& [key, flag, desc] : rows) {
        out << flag << std::string(w - flag.size() + 3, ' ') << Wrap(w + 3, HelpWidth(), desc)
            << "\n";
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
