// End to end: `strata dockerfile parse [--plan]` on real files, its help, and its errors.
#include <gtest/gtest.h>

#include <fstream>

#include "cli_helpers.h"

namespace strata::testing {
namespace {

std::string Write(const StrataEnv& env, const std::string& name, const std::string& text) {
  std::string p = env.dir() + "/" + name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

TEST(DockerfileCli, ParsePrintsInstructions) {
  StrataEnv env;
  std::string f = Write(env, "Dockerfile", "FROM scratch AS base\nENV A=1\n");
  RunResult r = env.Run("dockerfile parse " + f);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "stage 0 \"base\"\nL1 FROM (expands)\n  image: \"scratch\"\n  as: \"base\"\n"
            "L2 ENV (expands)\n  env: \"A\" = \"1\"\n");
}

TEST(DockerfileCli, PlanWithBuildArgsTargetAndStdin) {
  StrataEnv env;
  std::string text =
      "ARG V=global\nFROM scratch AS a\nARG V\nENV SEEN=$V\nFROM scratch AS b\nENV B=1\n";
  std::string f = Write(env, "Dockerfile", text);
  RunResult r = env.Run(
      "dockerfile parse --plan --build-arg V=cli --build-arg UNUSED=1 "
      "--target a -f " +
      f);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("target 0 \"a\"\norder [0]\nglobal-arg \"V\" = \"cli\"\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\"SEEN=cli\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stage 1 \"b\" L5 (not needed)\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "[Warning] One or more build-args [UNUSED] were not consumed\n");

  RunResult s = env.Run("dockerfile parse --plan -", f);
  ASSERT_EQ(s.rc, 0) << s.err;
  // Without --target the last stage is built, and stage a is not needed.
  EXPECT_NE(s.out.find("target 1 \"b\"\norder [1]\nglobal-arg \"V\" = \"global\"\n"),
            std::string::npos)
      << s.out;
  EXPECT_NE(s.out.find("stage 0 \"a\" L2 (not needed)\n"), std::string::npos) << s.out;
  EXPECT_EQ(s.err, "");
}

TEST(DockerfileCli, ErrorsAreOneLineWithFileAndLine) {
  StrataEnv env;
  std::string f = Write(env, "app.Dockerfile", "FROM scratch\n\nRUNN x\n");
  RunResult r = env.Run("dockerfile parse " + f);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "app.Dockerfile:3: unknown instruction: RUNN (did you mean RUN?)\n");

  std::string g = Write(env, "Dockerfile", "FROM scratch AS a\nCOPY --from=a / /\n");
  r = env.Run("dockerfile parse --plan " + g);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Dockerfile:2: circular dependency detected on stage: a\n");

  r = env.Run("dockerfile parse --plan --target nope " + g);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "failed to solve: target stage \"nope\" could not be found\n");

  r = env.Run("dockerfile parse " + env.dir() + "/missing");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "open " + env.dir() + "/missing: no such file or directory\n");

  r = env.Run("dockerfile parse");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "\"strata dockerfile parse\" requires exactly 1 argument.\n");
}

TEST(DockerfileCli, Help) {
  StrataEnv env;
  RunResult r = env.Run("dockerfile parse --help");
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out.rfind("Usage:  strata dockerfile parse [OPTIONS] FILE\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("--build-arg list"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--plan"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace strata::testing
