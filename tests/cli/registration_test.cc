// main registers only the command group named on the line: the table it picks
// from must list exactly what each group registers.
#include <gtest/gtest.h>

#include <set>

#include "cli/context.h"

namespace strata::cli {
namespace {

std::set<std::string> TopLevel(CLI::App& app) {
  std::set<std::string> out;
  for (auto* c : app.get_subcommands([](CLI::App*) { return true; })) out.insert(c->get_name());
  return out;
}

TEST(Registration, EachGroupListsWhatItRegisters) {
  std::set<std::string> all;
  for (const auto& g : CommandGroups()) {
    CLI::App app;
    Context ctx;
    g.reg(app, ctx, {});
    std::set<std::string> listed(g.commands.begin(), g.commands.end());
    EXPECT_EQ(TopLevel(app), listed);
    for (auto& n : listed) EXPECT_TRUE(all.insert(n).second) << n << " is in two groups";
  }
}

TEST(Registration, OneCommandRegistersOnlyItsGroup) {
  CLI::App app;
  Context ctx;
  RegisterCommands(app, ctx, "images");
  EXPECT_EQ(TopLevel(app), (std::set<std::string>{"images"}));
  CLI::App app2;
  RegisterCommands(app2, ctx, "pull");
  EXPECT_TRUE(TopLevel(app2).count("pull"));
  EXPECT_FALSE(TopLevel(app2).count("images"));
  CLI::App app3;  // unknown word: everything, so the error and help are the full ones
  RegisterCommands(app3, ctx, "nosuch");
  EXPECT_TRUE(TopLevel(app3).count("images"));
  EXPECT_TRUE(TopLevel(app3).count("build"));
}

TEST(Registration, CommandWordSkipsGlobalFlags) {
  auto word = [](std::vector<std::string> v) {
    std::vector<char*> argv;
    for (auto& s : v) argv.push_back(s.data());
    return std::string(CommandWord(static_cast<int>(argv.size()), argv.data()));
  };
  EXPECT_EQ(word({"strata", "images", "-a"}), "images");
  EXPECT_EQ(word({"strata", "--root", "/x", "tag", "a", "b"}), "tag");
  EXPECT_EQ(word({"strata", "--root=/x", "-l", "debug", "pull", "x"}), "pull");
  EXPECT_EQ(word({"strata", "--config", "/c", "--help"}), "");
  EXPECT_EQ(word({"strata"}), "");
}

}  // namespace
}  // namespace strata::cli
